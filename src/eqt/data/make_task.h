// eqt/data/make_task.h — build a task from its name and JSON options (as stored in
// checkpoints and given on the command line). Unknown names or options are errors.
#pragma once

#include "eqt/data/task.h"

#include <memory>

namespace eqt::data {

std::shared_ptr<Task> make_task(const std::string& name, const nlohmann::json& options);

}  // namespace eqt::data
