// eqt/infer/decode_loop.h — a BatchDecoder on a thread of its own, fed by other threads:
// what a server needs to share every forward pass among its concurrent requests.
//
// submit() queues a request (checked at once, in the caller's thread; its own refinement
// limits, if any, go over the loop's: batch_decoder.h); the loop admits
// queued requests between tokens while fewer than max_batch are live (each prefilled alone,
// batch_decoder.h), then computes one token for every live request, and so on. The
// callbacks run on the loop's thread: keep them short and never block on a client there
// (hand text over to the request's own thread). on_token returning false drops the request
// at once, e.g. when its client has gone away.
// What it is not: a priority scheduler (first come, first admitted) or a batched prefill.
#pragma once

#include "eqt/infer/batch_decoder.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace eqt::infer {

class DecodeLoop {
 public:
  DecodeLoop(models::ModelImpl& model, models::RefineLimits limits, size_t max_batch);
  ~DecodeLoop();  // finishes nothing: queued and live requests end with stop "shutdown"
  // Throws std::invalid_argument for a bad prompt or options (then nothing is queued).
  void submit(std::vector<int64_t> prompt, const GenerateOptions& o, Sequence::OnToken on_token,
              BatchDecoder::OnDone on_done);
  size_t max_batch() const { return max_batch_; }
  size_t peak_batch() const { return peak_; }  // the most rows one decode step has run so far

 private:
  struct Pending {
    std::vector<int64_t> prompt;
    GenerateOptions o;
    Sequence::OnToken on_token;
    BatchDecoder::OnDone on_done;
  };
  void run();
  static void end_unadmitted(const Pending& p, const std::string& why);  // its on_done, no tokens
  models::ModelImpl& model_;
  models::RefineLimits dec_limits_;  // the decoder's (a request's own limits go over them)
  BatchDecoder dec_;  // touched by the loop's thread only (after construction)
  size_t max_batch_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;  // under mu_
  bool stopping_ = false;      // under mu_
  std::atomic<size_t> peak_{0};
  std::thread thread_;
};

}  // namespace eqt::infer
