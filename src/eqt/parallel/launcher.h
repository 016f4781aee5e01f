// eqt/parallel/launcher.h — `--nproc N` on one host: starts N copies of a command as the ranks
// of one run (the torchrun variables set for each, the rendezvous on a free loopback port),
// and watches them. The run succeeds when every worker exits 0. When one dies (non-zero exit
// or a signal) the others are stopped (SIGTERM, then SIGKILL after a grace period) and the
// launcher reports every failed rank by number, pid and cause, killed ones first. Workers
// also die with the launcher (PR_SET_PDEATHSIG), so no orphan keeps a port or a GPU.
// Ctrl-C / SIGTERM sent to the launcher are passed to the workers, which save and stop.
// What it is not: a multi-host launcher (use torchrun or a scheduler; see dist_env.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace eqt::parallel {

struct LaunchOptions {
  int nproc = 2;
  std::string master_addr = "127.0.0.1";
  uint16_t master_port = 0;  // 0: a free port
  double grace_s = 10;       // between SIGTERM and SIGKILL for the surviving workers
  // Non-empty: the workers rendezvous through this file (c10d's FileStore, EQT_STORE_FILE)
  // instead of a TCP store that rank 0 would host on every interface of the machine.
  std::string store_file;
};

struct LaunchResult {
  int exit_code = 0;        // 0 when every worker succeeded
  std::string message;      // which ranks failed and how (empty on success)
};

// Runs `program` (e.g. "/proc/self/exe") with argv (argv[0] as shown by ps); the environment
// is inherited, plus RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT,
// EQT_LAUNCHED=1 and, with a store_file, EQT_STORE_FILE.
LaunchResult launch_workers(const std::string& program, const std::vector<std::string>& argv,
                            const LaunchOptions& o);

// This process's own command line (Linux: /proc/self/cmdline), to re-run as the workers.
std::vector<std::string> own_command_line();

// A TCP port that was free on the loopback interface a moment ago.
uint16_t free_port();

}  // namespace eqt::parallel
