// cli/connection_threads.h — a cpp-httplib task queue that gives every connection its own
// thread, up to a cap, instead of the library's fixed pool of ~8 workers.
// Why: a worker serves one connection until it closes, and a client that sends its headers
// one line every few seconds (or nothing at all) holds its worker for as long as it likes
// (each read has its own timeout). With 8 such clients the fixed pool answered nothing else,
// /health included. Here slow clients cost a sleeping thread each; only `cap` of them at
// once can still stall new connections (the accept loop then waits for a free slot).
// Generation itself stays serialised by the server, so threads never oversubscribe the CPU.
// What it is not: a defence against a flood of connections (put a proxy in front).
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace eqt::cli {

class ConnectionThreads final : public httplib::TaskQueue {
 public:
  explicit ConnectionThreads(size_t cap) : cap_(cap) {}
  void enqueue(std::function<void()> fn) override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return active_ < cap_; });
    ++active_;
    std::thread([this, fn = std::move(fn)] {
      fn();
      std::lock_guard<std::mutex> done(mu_);
      --active_;
      cv_.notify_all();
    }).detach();
  }
  // Waits for the connections in flight (a streamed generation finishes first).
  void shutdown() override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return active_ == 0; });
  }

 private:
  const size_t cap_;
  size_t active_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace eqt::cli
