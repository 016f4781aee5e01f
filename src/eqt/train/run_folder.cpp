// eqt/train/run_folder.cpp — see run_folder.h.
#include "eqt/train/run_folder.h"

#include "eqt/data/make_task.h"
#include "eqt/train/weights.h"

namespace eqt::train {

Checkpoint load_for_eval(const std::string& file, bool use_ema, bool* ema_used) {
  auto ck = load_checkpoint(file);
  const bool ema = use_ema && !ck.ema.empty();
  if (ema) swap_parameters(*ck.model, ck.ema);
  if (ema_used) *ema_used = ema;
  return ck;
}

RunFolder open_run(const std::string& dir, bool use_ema, const nlohmann::json& task_overrides) {
  RunFolder r;
  r.ck = load_for_eval(dir + "/checkpoint.eqt", use_ema, &r.ema);
  auto t = r.ck.meta.at("task");
  t.update(task_overrides);
  r.task = data::make_task(t.at("name"), t);
  return r;
}

}  // namespace eqt::train
