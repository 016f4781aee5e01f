// eqt/data/make_task.h — build a task from its name and JSON options (as stored in
// checkpoints and given on the command line). Unknown names or options are errors.
#pragma once

#include "eqt/data/task.h"

#include <memory>
#include <string>
#include <vector>

namespace eqt::data {

// The one list of task names (the CLI's choices, errors, tests read it).
const std::vector<std::string>& task_names();
std::string task_choices();  // "parity | text | sudoku | maze"
// A task from task_names(); unknown names and options throw std::invalid_argument naming them.
std::shared_ptr<Task> make_task(const std::string& name, const nlohmann::json& options);

// The grid tasks, defined beside their example conversions (options already checked).
std::shared_ptr<Task> make_sudoku_task(const nlohmann::json& options);  // sudoku_task.cpp
std::shared_ptr<Task> make_maze_task(const nlohmann::json& options);    // maze_task.cpp

}  // namespace eqt::data
