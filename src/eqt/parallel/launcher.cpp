// eqt/parallel/launcher.cpp — see launcher.h. POSIX processes: fork + execve, waitpid.
#include "eqt/parallel/launcher.h"

#include <fmt/format.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace eqt::parallel {
namespace {

std::atomic<int> g_forward{0};  // a signal to pass on to the workers
int g_forwarded = 0;             // the last one passed on (for the report)
void on_signal(int sig) { g_forward = sig; }

struct Worker {
  int rank;
  pid_t pid;
  bool done = false;
  int status = 0;
};

bool failed(int status) { return !WIFEXITED(status) || WEXITSTATUS(status) != 0; }

std::string cause(int status) {
  if (WIFSIGNALED(status))
    return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return fmt::format("exited with status {}", WEXITSTATUS(status));
}

// Reaps whatever has exited; with block, waits for at least one.
void reap(std::vector<Worker>& ws, bool block, std::vector<Worker*>& order) {
  for (;;) {
    int st = 0;
    pid_t pid = waitpid(-1, &st, block ? 0 : WNOHANG);
    if (pid < 0 && errno == EINTR) {
      if (int sig = g_forward.exchange(0)) {
        g_forwarded = sig;
        for (auto& w : ws)
          if (!w.done) kill(w.pid, sig);
      }
      continue;
    }
    if (pid <= 0) return;
    for (auto& w : ws)
      if (w.pid == pid) {
        w.done = true;
        w.status = st;
        order.push_back(&w);
      }
    block = false;
  }
}

bool all_done(const std::vector<Worker>& ws) {
  return std::all_of(ws.begin(), ws.end(), [](const Worker& w) { return w.done; });
}

}  // namespace

std::vector<std::string> own_command_line() {
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (size_t i = 0; i < all.size();) {
    size_t j = all.find('\0', i);
    if (j == std::string::npos) j = all.size();
    args.push_back(all.substr(i, j - i));
    i = j + 1;
  }
  if (args.empty()) throw std::runtime_error("cannot read /proc/self/cmdline to start the workers");
  return args;
}

uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    throw std::runtime_error(std::string("no free loopback port: ") + std::strerror(errno));
  }
  close(fd);
  return ntohs(a.sin_port);
}

LaunchResult launch_workers(const std::string& program, const std::vector<std::string>& argv,
                            const LaunchOptions& o) {
  if (o.nproc < 1) throw std::invalid_argument(fmt::format("--nproc {} is invalid; expected >= 1", o.nproc));
  if (argv.empty()) throw std::invalid_argument("launch_workers: empty command");
  const uint16_t port = o.master_port ? o.master_port : free_port();
  // Everything the children need is built before fork: after it, only exec.
  std::vector<std::vector<std::string>> envs(o.nproc);
  const char* ours[] = {"RANK=", "WORLD_SIZE=", "LOCAL_RANK=", "LOCAL_WORLD_SIZE=", "MASTER_ADDR=", "MASTER_PORT=",
                        "EQT_LAUNCHED=", "EQT_STORE_FILE="};
  for (int r = 0; r < o.nproc; ++r) {
    for (char** e = environ; *e; ++e)
      if (std::none_of(std::begin(ours), std::end(ours), [&](const char* p) { return std::strncmp(*e, p, std::strlen(p)) == 0; }))
        envs[r].push_back(*e);
    for (auto kv : {fmt::format("RANK={}", r), fmt::format("WORLD_SIZE={}", o.nproc), fmt::format("LOCAL_RANK={}", r),
                    fmt::format("LOCAL_WORLD_SIZE={}", o.nproc), "MASTER_ADDR=" + o.master_addr,
                    fmt::format("MASTER_PORT={}", port), std::string("EQT_LAUNCHED=1")})
      envs[r].push_back(kv);
    if (!o.store_file.empty()) envs[r].push_back("EQT_STORE_FILE=" + o.store_file);
  }
  auto ptrs = [](std::vector<std::string>& v) {
    std::vector<char*> p;
    for (auto& s : v) p.push_back(s.data());
    p.push_back(nullptr);
    return p;
  };
  std::vector<std::string> args = argv;
  auto argp = ptrs(args);
  const pid_t parent = getpid();

  struct sigaction sa {}, old_int {}, old_term {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);  // no SA_RESTART: waitpid returns EINTR
  sigaction(SIGTERM, &sa, &old_term);

  g_forwarded = 0;
  std::vector<Worker> ws;
  for (int r = 0; r < o.nproc; ++r) {
    auto envp = ptrs(envs[r]);
    std::fflush(nullptr);
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      setpgid(0, 0);  // a terminal's Ctrl-C reaches the launcher only, which passes it on once
      if (getppid() != parent) _exit(127);  // the launcher died before prctl
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      execve(program.c_str(), argp.data(), envp.data());
      _exit(127);
    }
    ws.push_back({r, pid});
  }

  std::vector<Worker*> order;  // in the order they exited
  while (!all_done(ws)) {
    reap(ws, true, order);
    if (std::none_of(order.begin(), order.end(), [](Worker* w) { return failed(w->status); })) continue;
    // One failed: give the others a moment to fail on their own (a dead peer breaks their
    // collectives at once), then stop them.
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!all_done(ws) && std::chrono::steady_clock::now() < until) {
      reap(ws, false, order);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::vector<Worker*> stopped;
    for (auto& w : ws)
      if (!w.done) {
        kill(w.pid, SIGTERM);
        kill(w.pid, SIGCONT);  // a stopped worker (SIGSTOP, ^Z) acts on SIGTERM only once continued
        stopped.push_back(&w);
      }
    until = std::chrono::steady_clock::now() + std::chrono::milliseconds(int64_t(o.grace_s * 1000));
    while (!all_done(ws) && std::chrono::steady_clock::now() < until) {
      reap(ws, false, order);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (auto& w : ws)
      if (!w.done) kill(w.pid, SIGKILL);
    while (!all_done(ws)) reap(ws, true, order);
    // Report the causes: killed by a signal first (the likely culprit), then in exit order.
    std::vector<Worker*> bad;
    for (auto* w : order)
      if (failed(w->status) && std::find(stopped.begin(), stopped.end(), w) == stopped.end()) bad.push_back(w);
    std::stable_sort(bad.begin(), bad.end(),
                     [](Worker* a, Worker* b) { return WIFSIGNALED(a->status) && !WIFSIGNALED(b->status); });
    LaunchResult res;
    res.exit_code = 1;
    if (g_forwarded) res.message = fmt::format("after {} was passed on to the workers: ", strsignal(g_forwarded));
    for (size_t i = 0; i < bad.size(); ++i)
      res.message += fmt::format("{}worker rank {} (pid {}) {}", i ? "; " : "", bad[i]->rank, bad[i]->pid,
                                 cause(bad[i]->status));
    std::string ranks;
    for (size_t i = 0; i < stopped.size(); ++i) ranks += fmt::format("{}{}", i ? ", " : "", stopped[i]->rank);
    if (!stopped.empty())
      res.message += fmt::format("{}stopped the still running rank(s) {}", bad.empty() ? "" : "; ", ranks);
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    return res;
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return {};
}

}  // namespace eqt::parallel
