// eqt/parallel/dist_env.h — who this process is in a data-parallel run, read from the
// environment with torchrun's names, so `torchrun --no-python eqt train ...`, a cluster
// scheduler, or `eqt train --nproc N` (which sets them for its workers) all look the same:
//   RANK         global rank, 0 .. WORLD_SIZE-1
//   WORLD_SIZE   number of processes in the run
//   LOCAL_RANK   rank on this host (picks the GPU: cuda:LOCAL_RANK)
//   MASTER_ADDR  host of rank 0, where the rendezvous store (c10d TCPStore) listens
//   MASTER_PORT  its port
//   TORCHELASTIC_USE_AGENT_STORE=True  torchrun's agent already hosts the store
// What it is not: a launcher (dist/launcher.h) or a process group (dist/communicator.h).
#pragma once

#include <cstdint>
#include <string>

namespace eqt::parallel {

struct DistEnv {
  int rank = 0;
  int world = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  uint16_t master_port = 29500;
  bool agent_store = false;  // true: rank 0 joins an existing store instead of hosting it
  std::string store_file;    // EQT_STORE_FILE (eqt train --nproc on one host): a FileStore, no TCP store

  bool distributed() const { return world > 1; }
  // From the environment; with none of the variables set, a single process (world 1).
  // Throws std::invalid_argument naming the variable and what it should hold.
  static DistEnv from_environment();
};

}  // namespace eqt::parallel
