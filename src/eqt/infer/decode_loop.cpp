// eqt/infer/decode_loop.cpp — see decode_loop.h.
#include "eqt/infer/decode_loop.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace eqt::infer {

DecodeLoop::DecodeLoop(models::ModelImpl& model, models::RefineLimits limits, size_t max_batch)
    : model_(model), dec_limits_(limits), dec_(model, std::move(limits)), max_batch_(max_batch) {
  if (max_batch < 1) throw std::invalid_argument("max_batch = 0 is invalid; expected at least 1");
  thread_ = std::thread([this] { run(); });
}

DecodeLoop::~DecodeLoop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void DecodeLoop::submit(std::vector<int64_t> prompt, const GenerateOptions& o, Sequence::OnToken on_token,
                        BatchDecoder::OnDone on_done) {
  Sequence check(model_.config(), prompt, o, {});  // throws for a bad prompt or options, here and now
  o.limits().over(dec_limits_).applied_to(model_.config());  // bad limits: refused here too
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(Pending{std::move(prompt), o, std::move(on_token), std::move(on_done)});
  }
  wake_.notify_one();
}

void DecodeLoop::run() {
  for (;;) {
    std::deque<Pending> admitted;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || dec_.size() > 0; });
      if (stopping_) break;
      while (!queue_.empty() && dec_.size() + admitted.size() < max_batch_) {
        admitted.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    for (auto& p : admitted) {
      try {
        dec_.add(p.prompt, p.o, p.on_token, p.on_done);
      } catch (const std::exception& e) {  // its prefill failed: it alone ends
        std::fprintf(stderr, "eqt: prefill failed: %s\n", e.what());
        end_unadmitted(p, "error");
      }
    }
    peak_ = std::max<size_t>(peak_, dec_.size());
    try {
      dec_.step();
    } catch (const std::exception& e) {  // the batch's state is unknown: end every live request
      std::fprintf(stderr, "eqt: decoding failed: %s\n", e.what());
      dec_.end_all("error");
    }
  }
  dec_.end_all("shutdown");
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& p : queue_) end_unadmitted(p, "shutdown");
  queue_.clear();
}

void DecodeLoop::end_unadmitted(const Pending& p, const std::string& why) {
  GenerateResult r;
  r.prompt_tokens = int64_t(p.prompt.size());
  r.stop = why;
  if (p.on_done) p.on_done(r);
}

}  // namespace eqt::infer
