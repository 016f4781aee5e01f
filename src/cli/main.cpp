// cli/main.cpp — the `eqt` binary: one tool, one subcommand per user job.
// What it is not: a place for logic; commands compose library pieces.
#include "cli/commands.h"

#include "eqt/util/malloc_tuning.h"

#include <torch/torch.h>

#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <stdexcept>

int main(int argc, char** argv) {
  // A child of `eqt sweep` (sweep_command.cpp) ends with its parent: SIGINT when the sweep
  // dies (the trainer then saves a checkpoint and stops), or at once when it already has.
  if (const char* parent = std::getenv("EQT_DIE_WITH_PARENT")) {
    prctl(PR_SET_PDEATHSIG, SIGINT);
    if (std::to_string(getppid()) != parent) {
      std::fprintf(stderr, "eqt: the sweep that started this process (pid %s) is gone; not starting\n", parent);
      return 1;
    }
    unsetenv("EQT_DIE_WITH_PARENT");  // for this process only, not its own children (--nproc workers)
  }
  eqt::util::keep_freed_memory();  // large temporaries would page-fault on every op otherwise
  CLI::App app{"eqt: closed-loop (equilibrium) transformers in C++"};
  app.set_version_flag("--version", std::string("eqt ") + EQT_VERSION);
  app.require_subcommand(1);
  // 0 keeps LibTorch's choice. Forcing 2 OpenMP threads on a 2-core machine measured ~7x
  // slower (they compete with OpenBLAS's own threads): docs/performance.md.
  int threads = 0;
  app.add_option("--threads", threads, "LibTorch intra-op CPU threads (0 = LibTorch's default)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.parse_complete_callback([&] {
    if (threads > 0) torch::set_num_threads(threads);
  });

  int exit_code = 0;
  eqt::cli::register_env(app, exit_code);
  eqt::cli::register_bench(app, exit_code);
  eqt::cli::register_info(app, exit_code);
  eqt::cli::register_train(app, exit_code);
  eqt::cli::register_puzzles(app, exit_code);
  eqt::cli::register_plot(app, exit_code);
  eqt::cli::register_compare(app, exit_code);
  eqt::cli::register_generate(app, exit_code);
  eqt::cli::register_serve(app, exit_code);
  eqt::cli::register_sweep(app, exit_code);
  eqt::cli::register_export(app, exit_code);
  eqt::cli::register_tokenizer(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "eqt: error: %s\n", e.what());
    return 2;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "eqt: internal error: %s\n", e.what_without_backtrace());
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "eqt: error: %s\n", e.what());
    return 1;
  }
  return exit_code;
}
