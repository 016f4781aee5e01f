// eqt/parallel/communicator.h — the process group of a data-parallel run: LibTorch's c10d
// (TCPStore rendezvous, or a FileStore when eqt's one-host launcher gives EQT_STORE_FILE, so
// nothing listens on the network; ProcessGroupGloo for CPU tensors, ProcessGroupNCCL for CUDA ones when
// eqt is built against a CUDA LibTorch), behind the few collectives training needs.
//
// Failure handling is the point of the wrapper: every collective has a deadline (the
// backend's timeout), and a failed or timed-out one is rethrown as CollectiveError naming
// this rank, the step, and which ranks had stopped making progress: each rank publishes (in
// the TCP store, or in a file of its own beside a FileStore: communicator.cpp says why) the
// last step whose gradients it was ready to reduce (mark_progress), and a rank
// whose collective failed posts that and waits 3 s for the others to post theirs; the ranks
// that stay silent are named. A dead peer closes its sockets, so the survivors fail at once;
// a hung one is found when the deadline passes.
// What it is not: gradient bucketing (dist/grad_sync.h) or process launching (dist/launcher.h).
#pragma once

#include "eqt/parallel/dist_env.h"

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace eqt::parallel {

struct CollectiveError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class Reduce { Sum, Max };

// A collective under way (c10d's Work, kept inside communicator.cpp: no other file sees a
// c10d header).
struct PendingWork;
using Pending = std::shared_ptr<PendingWork>;

// Which c10d backends this build has ("gloo", "nccl"), e.g. for `eqt env`.
std::string available_backends();

class Communicator {
 public:
  // Rendezvous with all ranks of env (blocks until they have joined, at most `timeout`).
  // device decides the backend: NCCL for CUDA, Gloo otherwise.
  static std::shared_ptr<Communicator> connect(const DistEnv& env, const torch::Device& device,
                                               std::chrono::milliseconds timeout);
  ~Communicator();

  int rank() const { return env_.rank; }
  int world() const { return env_.world; }
  const std::string& backend() const { return backend_name_; }

  // In place over all ranks; t must be contiguous. The async form returns at once; call
  // wait() on its handle before reading t.
  Pending allreduce_async(torch::Tensor& t, Reduce op = Reduce::Sum);
  void allreduce(torch::Tensor& t, Reduce op = Reduce::Sum);
  void broadcast(torch::Tensor& t, int root);  // t: contiguous; root's values everywhere
  void barrier();
  // Waits for w; a failure or timeout becomes a CollectiveError with the progress report.
  void wait(const Pending& w);

  // Publishes that this rank has reached the collectives of `step` (read by the report of a
  // failed collective: a rank whose mark is behind is the one that died or hangs).
  void mark_progress(int64_t step);

 private:
  struct Backend;
  Communicator();
  template <class Start>
  Pending start(Start&& collective);
  [[noreturn]] void fail(const std::string& what);
  std::string progress_report();
  std::string board_file(const char* what, int rank) const;
  void post(const char* what, const std::string& value);  // this rank's entry
  std::optional<std::string> posted(const char* what, int rank);

  DistEnv env_;
  std::string backend_name_;
  std::chrono::milliseconds timeout_{0};
  int64_t step_ = 0;
  std::unique_ptr<Backend> pg_;
};

}  // namespace eqt::parallel
