// eqt/train/run_folder.h — a run folder written by the trainer, opened for evaluation: its
// checkpoint's model (with the EMA weights swapped in when the run kept an EMA, since that
// is what validation measured) and the task rebuilt from the options stored with it.
// What it is not: a way to resume training (Trainer::resume takes the Checkpoint itself).
#pragma once

#include "eqt/data/task.h"
#include "eqt/train/checkpoint.h"

#include <memory>
#include <string>

namespace eqt::train {

struct RunFolder {
  Checkpoint ck;                      // ck.model holds the evaluated weights
  std::shared_ptr<data::Task> task;
  bool ema = false;                   // whether ck.model holds the EMA weights
};

// A checkpoint whose model holds the weights validation measured: the EMA swapped in when
// use_ema and the run kept one (then returns true in *ema_used). The one way every
// command that evaluates, generates or serves loads a model.
Checkpoint load_for_eval(const std::string& file, bool use_ema, bool* ema_used = nullptr);

// task_overrides are merged over the stored task options (e.g. a longer parity length).
RunFolder open_run(const std::string& dir, bool use_ema = true,
                   const nlohmann::json& task_overrides = nlohmann::json::object());

}  // namespace eqt::train
