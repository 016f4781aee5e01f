// eqt/parallel/communicator.cpp — see communicator.h.
#include "eqt/parallel/communicator.h"

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/version.h>
#ifdef EQT_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef EQT_HAVE_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

namespace eqt::parallel {

// LibTorch 2.x moved the collectives from ProcessGroup to Backend (which ProcessGroupGloo and
// ProcessGroupNCCL now derive from); the calls themselves are unchanged.
#if TORCH_VERSION_MAJOR >= 2
using BackendBase = c10d::Backend;
#else
using BackendBase = c10d::ProcessGroup;
#endif

// How long a rank whose collective failed waits for the others to report theirs.
constexpr std::chrono::milliseconds kReportWindow{3000};

struct Communicator::Backend {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<BackendBase> pg;
};

struct PendingWork {
  c10::intrusive_ptr<c10d::Work> work;
};

std::string available_backends() {
  std::string s;
#ifdef EQT_HAVE_GLOO
  s += "gloo";
#endif
#ifdef EQT_HAVE_NCCL
  s += s.empty() ? "nccl" : " nccl";
#endif
  return s.empty() ? "none" : s;
}

Communicator::Communicator() = default;
Communicator::~Communicator() = default;

std::shared_ptr<Communicator> Communicator::connect(const DistEnv& env, const torch::Device& device,
                                                    std::chrono::milliseconds timeout) {
  std::shared_ptr<Communicator> c(new Communicator());
  c->env_ = env;
  c->timeout_ = timeout;
  c10d::TCPStoreOptions so;
  so.port = env.master_port;
  so.isServer = env.rank == 0 && !env.agent_store;
  so.numWorkers = env.world;
  so.waitWorkers = !env.agent_store;
  so.timeout = timeout;
  c->pg_ = std::make_unique<Backend>();
  try {
    if (!env.store_file.empty()) {  // one host: a file, nothing listening on the network
      c->pg_->store = c10::make_intrusive<c10d::FileStore>(env.store_file, env.world);
      c->pg_->store->setTimeout(timeout);
    } else {
      c->pg_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
    }
  } catch (const std::exception& e) {
    throw CollectiveError(fmt::format(
        "rank {}: no rendezvous with the other {} rank(s) at {}:{} within {} s ({}); check that every rank "
        "was started with the same MASTER_ADDR, MASTER_PORT and WORLD_SIZE and that the port is free on rank 0",
        env.rank, env.world - 1, env.master_addr, env.master_port, timeout.count() / 1000, e.what()));
  }
  if (device.is_cuda()) {
#ifdef EQT_HAVE_NCCL
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = timeout;
    c->pg_->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(c->pg_->store, env.rank, env.world, opts);
    c->backend_name_ = "nccl";
#else
    throw std::invalid_argument("device " + device.str() + " needs the NCCL backend, which this eqt was built "
                                "without (built with: " + available_backends() + "); train on --device cpu");
#endif
  } else {
#ifdef EQT_HAVE_GLOO
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    // The interface peers reach this host on: GLOO_SOCKET_IFNAME if set (as in PyTorch),
    // loopback for a single-host run, else the address the hostname resolves to.
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"))
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (env.master_addr == "127.0.0.1" || env.master_addr == "localhost")
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    try {
      c->pg_->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(c->pg_->store, env.rank, env.world, opts);
    } catch (const std::exception& e) {
      throw CollectiveError(fmt::format("rank {}: the Gloo process group did not form within {} s: {}", env.rank,
                                        timeout.count() / 1000, e.what()));
    }
    c->backend_name_ = "gloo";
#else
    throw std::invalid_argument("this eqt was built without the Gloo backend (built with: " +
                                available_backends() + "); install libgloo-dev and rebuild");
#endif
  }
  c->mark_progress(0);
  return c;
}

// Starts a collective; a failure to even start it is reported like a failure to finish it.
template <class Start>
Pending Communicator::start(Start&& collective) {
  try {
    return std::make_shared<PendingWork>(PendingWork{collective()});
  } catch (const std::exception& e) {
    fail(e.what());
  }
}

Pending Communicator::allreduce_async(torch::Tensor& t, Reduce op) {
  TORCH_CHECK(t.is_contiguous(), "allreduce: tensor must be contiguous");
  std::vector<torch::Tensor> v{t};
  c10d::AllreduceOptions o;
  o.reduceOp = op == Reduce::Sum ? c10d::ReduceOp::SUM : c10d::ReduceOp::MAX;
  return start([&] { return pg_->pg->allreduce(v, o); });
}

void Communicator::wait(const Pending& w) {
  try {
    w->work->wait();
  } catch (const std::exception& e) {
    fail(e.what());
  }
}

void Communicator::allreduce(torch::Tensor& t, Reduce op) { wait(allreduce_async(t, op)); }

void Communicator::broadcast(torch::Tensor& t, int root) {
  TORCH_CHECK(t.is_contiguous(), "broadcast: tensor must be contiguous");
  std::vector<torch::Tensor> v{t};
  c10d::BroadcastOptions o;
  o.rootRank = root;
  wait(start([&] { return pg_->pg->broadcast(v, o); }));
}

void Communicator::barrier() {
  wait(start([&] { return pg_->pg->barrier(); }));
}

// The progress board: the keys "progress/<rank>" and "failed/<rank>". Across hosts they live
// in the TCP store (its server is a thread of rank 0: a stopped peer cannot block it). On one
// host they are files beside the FileStore's file and never go through the FileStore itself:
// every FileStore operation takes an flock on its one file, so a rank stopped (SIGSTOP, a
// debugger) in the middle of one would block every other rank's next operation forever;
// per-step marks made that window open once per step (issue 26: the "hung worker" test hung
// about once in three runs). A file per rank needs no lock: each has one writer.
std::string Communicator::board_file(const char* what, int rank) const {
  return fmt::format("{}.{}.{}", env_.store_file, what, rank);
}

void Communicator::post(const char* what, const std::string& value) {
  if (env_.store_file.empty()) {
    pg_->store->set(fmt::format("eqt/{}/{}", what, env_.rank), std::vector<uint8_t>(value.begin(), value.end()));
    return;
  }
  const std::string path = board_file(what, env_.rank);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;  // the board only names culprits; training does not depend on it
  // Fixed width, one pwrite at offset 0: a reader sees the old or the new number.
  const std::string padded = fmt::format("{:<24}", value);
  [[maybe_unused]] const ssize_t written = ::pwrite(fd, padded.data(), padded.size(), 0);
  ::close(fd);
}

std::optional<std::string> Communicator::posted(const char* what, int rank) {
  if (env_.store_file.empty()) {
    const std::string key = fmt::format("eqt/{}/{}", what, rank);
    if (!pg_->store->check({key})) return std::nullopt;
    auto raw = pg_->store->get(key);
    return std::string(raw.begin(), raw.end());
  }
  int fd = ::open(board_file(what, rank).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[32];
  const ssize_t n = ::pread(fd, buf, sizeof buf, 0);
  ::close(fd);
  std::string v(buf, n > 0 ? size_t(n) : 0);
  v.erase(v.find_last_not_of(' ') + 1);
  return v;
}

void Communicator::mark_progress(int64_t step) {
  step_ = step;
  post("progress", std::to_string(step));
}

// Who is to blame. A rank whose progress mark is behind never reached this step's
// collectives. But a rank that froze *inside* them is level with us, so each rank that sees a
// collective fail also posts that on the board and waits a moment for the others to do the
// same: the live ones fail too (they wait on the same collectives, or on us once we exit);
// the ranks that stay silent are dead or hung.
std::string Communicator::progress_report() {
  try {
    if (env_.store_file.empty())
      pg_->store->setTimeout(std::chrono::seconds(5));  // the store lives in rank 0, which may be the culprit
    post("failed", std::to_string(step_));
    const auto until = std::chrono::steady_clock::now() + kReportWindow;
    std::vector<int> silent;
    for (;;) {
      silent.clear();
      for (int r = 0; r < env_.world; ++r)
        if (r != env_.rank && !posted("failed", r)) silent.push_back(r);
      if (silent.empty() || std::chrono::steady_clock::now() >= until) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::string out;
    for (int r : silent)
      out += fmt::format("{}rank {} (last reached step {})", out.empty() ? "" : ", ", r,
                         posted("progress", r).value_or("?"));
    if (out.empty()) return "every other rank reported the failure too";
    return fmt::format("stopped making progress: {}: no failure report from it within {} s, so it died or hangs", out,
                       std::chrono::duration_cast<std::chrono::seconds>(kReportWindow).count());
  } catch (const std::exception&) {
    return fmt::format("the rendezvous store on rank 0 ({}:{}) is unreachable, so rank 0 has probably died or hangs",
                       env_.master_addr, env_.master_port);
  }
}

void Communicator::fail(const std::string& what) {
  std::string first = what.substr(0, what.find('\n'));  // c10d appends a C++ backtrace
  throw CollectiveError(fmt::format("rank {}: a collective failed at step {} (timeout {} s): {}; {}", env_.rank,
                                    step_, timeout_.count() / 1000, first, progress_report()));
}

}  // namespace eqt::parallel
