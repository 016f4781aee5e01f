// cli/bench_serve.cpp — `eqt bench serve --run DIR`: requests/s and latency of `eqt serve`
// under 1, 4, 16 concurrent clients, measured over loopback HTTP against a real server
// (this binary's `serve`, started as a child process on a free port and stopped at the end).
// Every request is the same greedy completion, so the figures compare concurrency levels,
// not prompts; ratio_to_first is requests/s divided by the first level's (1 client by default)
// requests/s in this run.
// What it is not: a load generator for remote servers, or a latency SLO tool.
#include "cli/commands.h"
#include "cli/json_file.h"

#ifdef EQT_HAVE_HTTPLIB

#include <httplib.h>

#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace eqt::cli {
namespace {

struct BenchServeArgs {
  bool json = false;
  std::string run;
  std::vector<int64_t> clients = {1, 4, 16};
  int64_t requests = 32;  // per concurrency level (at least 2 per client)
  int64_t max_tokens = 16;
  std::string prompt = "In the beginning";
};

// `eqt serve` as a child on a free loopback port; stopped (SIGTERM, then waited for) on
// destruction.
class ServerProcess {
 public:
  explicit ServerProcess(const std::string& run) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("bench serve: pipe failed");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("bench serve: fork failed");
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      FILE* null = std::fopen("/dev/null", "w");
      if (null) dup2(fileno(null), STDERR_FILENO);  // the server's per-request log
      close(fds[0]);
      execl("/proc/self/exe", "eqt", "serve", "--run", run.c_str(), "--port", "0", "--max-tokens-limit", "4096",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    FILE* out = fdopen(fds[0], "r");
    char line[512] = {0};
    const bool got = out && std::fgets(line, sizeof line, out);
    if (out) std::fclose(out);
    const std::string s = got ? line : "";
    const auto at = s.find("http://127.0.0.1:");
    if (at == std::string::npos) {
      stop();
      throw std::invalid_argument("bench serve: `eqt serve --run " + run + "` did not start (is '" + run +
                                  "' a run folder? try `eqt serve --run " + run + "` to see why)");
    }
    port_ = std::stoi(s.substr(at + 17));
  }
  ~ServerProcess() { stop(); }
  int port() const { return port_; }

 private:
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  pid_t pid_ = -1;
  int port_ = 0;
};

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5))];
}

nlohmann::json run_bench(const BenchServeArgs& a) {
  ServerProcess server(a.run);
  const std::string body =
      nlohmann::json{{"prompt", a.prompt}, {"max_tokens", a.max_tokens}, {"temperature", 0}}.dump();
  auto one = [&](httplib::Client& c) {
    auto r = c.Post("/v1/completions", body, "application/json");
    if (!r || r->status != 200)
      throw std::runtime_error("bench serve: request failed: " + (r ? std::to_string(r->status) + " " + r->body
                                                                      : httplib::to_string(r.error())));
  };
  {
    httplib::Client warm("127.0.0.1", server.port());
    for (int i = 0; i < 2; ++i) one(warm);
  }
  nlohmann::json rows = nlohmann::json::array();
  double base = 0;
  for (int64_t c : a.clients) {
    const int64_t total = std::max(a.requests, 2 * c);
    std::atomic<int64_t> next{0};
    std::mutex mu;
    std::vector<double> lat_ms;
    std::string error;
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> ts;
    for (int64_t k = 0; k < c; ++k)
      ts.emplace_back([&] {
        httplib::Client cl("127.0.0.1", server.port());
        cl.set_read_timeout(600, 0);
        while (next.fetch_add(1) < total) {
          const auto s = std::chrono::steady_clock::now();
          try {
            one(cl);
          } catch (const std::exception& e) {
            std::lock_guard<std::mutex> g(mu);
            error = e.what();
            return;
          }
          const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s).count();
          std::lock_guard<std::mutex> g(mu);
          lat_ms.push_back(ms);
        }
      });
    for (auto& t : ts) t.join();
    if (!error.empty()) throw std::runtime_error(error);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double rps = double(total) / secs, p50 = percentile(lat_ms, 0.5), p99 = percentile(lat_ms, 0.99);
    if (rows.empty()) base = rps;
    rows.push_back({{"clients", c},
                    {"requests", total},
                    {"requests_per_s", rps},
                    {"tokens_per_s", rps * double(a.max_tokens)},
                    {"p50_ms", p50},
                    {"p99_ms", p99},
                    {"ratio_to_first", base > 0 ? rps / base : 0.0}});
    std::fprintf(stderr, "bench serve: %3lld clients  %7.2f requests/s  p50 %8.1f ms  p99 %8.1f ms\n", (long long)c,
                 rps, p50, p99);
  }
  return {{"run", a.run}, {"max_tokens", a.max_tokens}, {"results", rows}};
}

void print_table(const nlohmann::json& out) {
  std::printf("%8s %9s %12s %12s %10s %10s %8s\n", "clients", "requests", "requests/s", "tokens/s", "p50 ms", "p99 ms",
              "ratio");
  for (const auto& r : out["results"])
    std::printf("%8lld %9lld %12.2f %12.1f %10.1f %10.1f %7.2fx\n", (long long)r["clients"].get<int64_t>(),
                (long long)r["requests"].get<int64_t>(), r["requests_per_s"].get<double>(),
                r["tokens_per_s"].get<double>(), r["p50_ms"].get<double>(), r["p99_ms"].get<double>(),
                r["ratio_to_first"].get<double>());
}

}  // namespace

void register_bench_serve(CLI::App& bench) {
  auto a = std::make_shared<BenchServeArgs>();
  auto* cmd = bench.add_subcommand("serve", "Requests/s and p50 / p99 latency of eqt serve under concurrent clients");
  cmd->add_flag("--json", a->json, "Print exactly one JSON object on stdout");
  cmd->add_option("--run", a->run, "a trained run folder to serve")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--clients", a->clients, "concurrency levels (the first is the ratio's base)")
      ->capture_default_str()->delimiter(',')->check(CLI::Range(int64_t(1), int64_t(1024)));
  cmd->add_option("--requests", a->requests, "requests per level (at least 2 per client)")
      ->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  cmd->add_option("--max-tokens", a->max_tokens, "tokens per completion")
      ->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(4096)));
  cmd->add_option("--prompt", a->prompt, "the prompt of every request")->capture_default_str();
  cmd->callback([a] { print_result(run_bench(*a), a->json, print_table); });
}

}  // namespace eqt::cli

#else  // built without cpp-httplib

namespace eqt::cli {

void register_bench_serve(CLI::App& bench) {
  auto* cmd = bench.add_subcommand("serve", "eqt serve under load (not in this build: no cpp-httplib)");
  cmd->allow_extras();
  cmd->callback([] { throw std::runtime_error("this eqt was built without cpp-httplib"); });
}

}  // namespace eqt::cli

#endif
