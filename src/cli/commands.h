// cli/commands.h — every `eqt` subcommand registers itself on the CLI11 app here.
// A command declares each flag once (name, default, help); CLI11 derives help and parsing
// from that declaration, and the command's run function receives the parsed struct.
#pragma once

#include <CLI/CLI.hpp>

namespace eqt::cli {

// Each adds its subcommand(s) to app; the callback runs the command and sets exit_code.
void register_env(CLI::App& app, int& exit_code);
void register_bench(CLI::App& app, int& exit_code);
void register_info(CLI::App& app, int& exit_code);
void register_train(CLI::App& app, int& exit_code);  // train and eval
void register_puzzles(CLI::App& app, int& exit_code);  // sudoku and maze
void register_plot(CLI::App& app, int& exit_code);
void register_compare(CLI::App& app, int& exit_code);

}  // namespace eqt::cli
