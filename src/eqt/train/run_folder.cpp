// eqt/train/run_folder.cpp — see run_folder.h.
#include "eqt/train/run_folder.h"

#include "eqt/data/make_task.h"
#include "eqt/train/trainer.h"

namespace eqt::train {

RunFolder open_run(const std::string& dir, bool use_ema, const nlohmann::json& task_overrides) {
  RunFolder r;
  r.ck = load_checkpoint(dir + "/checkpoint.eqt");
  auto t = r.ck.meta.at("task");
  t.update(task_overrides);
  r.task = data::make_task(t.at("name"), t);
  r.ema = use_ema && !r.ck.ema.empty();
  if (r.ema) swap_parameters(*r.ck.model, r.ck.ema);
  return r;
}

}  // namespace eqt::train
