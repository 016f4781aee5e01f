// cli/commands.h — every `eqt` subcommand registers itself on the CLI11 app here.
// A command declares each flag once (name, default, help); CLI11 derives help and parsing
// from that declaration, and the command's run function receives the parsed struct.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace eqt::cli {

// Each adds its subcommand(s) to app; the callback runs the command and sets exit_code.
void register_env(CLI::App& app, int& exit_code);
void register_bench(CLI::App& app, int& exit_code);
void register_info(CLI::App& app, int& exit_code);
void register_train(CLI::App& app, int& exit_code);  // train and eval
void register_puzzles(CLI::App& app, int& exit_code);  // sudoku and maze
void register_plot(CLI::App& app, int& exit_code);
void register_compare(CLI::App& app, int& exit_code);
void register_generate(CLI::App& app, int& exit_code);
void register_serve(CLI::App& app, int& exit_code);
void register_sweep(CLI::App& app, int& exit_code);
void register_export(CLI::App& app, int& exit_code);  // export and import
void register_tokenizer(CLI::App& app, int& exit_code);  // tokenizer train
// `bench generate`, added to the `bench` subcommand that register_bench creates.
void register_bench_generate(CLI::App& bench);
void register_bench_train(CLI::App& bench);
void register_bench_serve(CLI::App& bench);

}  // namespace eqt::cli
