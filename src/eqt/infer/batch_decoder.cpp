// eqt/infer/batch_decoder.cpp — see batch_decoder.h.
#include "eqt/infer/batch_decoder.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace eqt::infer {
namespace {

double elapsed_ms(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double stat(const torch::Tensor& t, int64_t b, double none) { return t.defined() ? t[b].item<double>() : none; }

}  // namespace

struct BatchDecoder::Live {
  Sequence seq;
  models::DecodeCache cache;
  OnDone on_done;
  models::RefineLimits limits;  // the request's over the decoder's
  bool more = true;
};

BatchDecoder::BatchDecoder(models::ModelImpl& model, models::RefineLimits limits)
    : model_(model), limits_(std::move(limits)) {
  limits_.validate();
  model_.eval();
}

BatchDecoder::~BatchDecoder() = default;

void BatchDecoder::add(std::vector<int64_t> prompt, const GenerateOptions& o, Sequence::OnToken on_token,
                       OnDone on_done) {
  if (!o.cached()) throw std::invalid_argument("batched decoding is cached decoding; cached = false is not supported");
  auto limits = o.limits().over(limits_);
  limits.applied_to(model_.config());  // refuses bad limits before any work
  auto l = std::make_unique<Live>(Live{Sequence(model_.config(), std::move(prompt), o, std::move(on_token)), {},
                                       std::move(on_done), std::move(limits)});
  l->more = l->seq.wants_more();
  if (l->more) {
    torch::NoGradGuard ng;
    const auto t0 = std::chrono::steady_clock::now();
    auto out = model_.forward_cached(token_row(l->seq.tokens(), device_of(model_)), l->cache, l->limits);
    l->more = l->seq.take(out.logits[0][-1], stat(out.stats.steps, 0, 0), stat(out.stats.residual, 0, NAN),
                          elapsed_ms(t0));
  }
  live_.push_back(std::move(l));
  finish_ended();
}

void BatchDecoder::step() {
  if (live_.empty()) return;
  torch::NoGradGuard ng;
  // Rows with equal limits form one group, one forward_rows each (usually a single group).
  std::vector<std::vector<size_t>> groups;
  for (size_t b = 0; b < live_.size(); ++b) {
    auto g = std::find_if(groups.begin(), groups.end(),
                          [&](const std::vector<size_t>& m) { return live_[m[0]]->limits == live_[b]->limits; });
    if (g == groups.end()) groups.push_back({b});
    else g->push_back(b);
  }
  struct Row {
    size_t b;
    torch::Tensor logits;  // (V,) on the CPU
    double steps, residual;
  };
  std::vector<Row> done;
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& group : groups) {
    std::vector<int64_t> last;
    std::vector<models::DecodeCache*> rows;
    for (size_t b : group) {
      last.push_back(live_[b]->seq.last());
      rows.push_back(&live_[b]->cache);
    }
    auto tokens = token_row(last, device_of(model_)).view({int64_t(last.size()), 1});  // (G, 1)
    auto out = model_.forward_rows(tokens, rows, live_[group[0]]->limits);
    auto logits = out.logits.select(1, 0).to(torch::kCPU);  // (G, V)
    auto steps = out.stats.steps.defined() ? out.stats.steps.cpu() : torch::Tensor();
    auto residual = out.stats.residual.defined() ? out.stats.residual.cpu() : torch::Tensor();
    for (size_t i = 0; i < group.size(); ++i)
      done.push_back({group[i], logits[int64_t(i)], stat(steps, int64_t(i), 0), stat(residual, int64_t(i), NAN)});
  }
  // Every row's token took the whole step (all its groups), as its wall time.
  const double ms = elapsed_ms(t0);
  for (const auto& r : done) live_[r.b]->more = live_[r.b]->seq.take(r.logits, r.steps, r.residual, ms);
  finish_ended();
}

void BatchDecoder::end_all(const std::string& why) {
  for (auto& l : live_) {
    l->seq.end(why);
    l->more = false;
  }
  finish_ended();
}

void BatchDecoder::finish_ended() {
  std::vector<std::unique_ptr<Live>> keep;
  for (auto& l : live_) {
    if (l->more) {
      keep.push_back(std::move(l));
    } else if (l->on_done) {
      l->on_done(l->seq.result());
    }
  }
  live_ = std::move(keep);
}

std::vector<GenerateResult> generate_batch(models::ModelImpl& model, const std::vector<std::vector<int64_t>>& prompts,
                                           const GenerateOptions& o, const models::RefineLimits& limits) {
  std::vector<GenerateResult> results(prompts.size());
  BatchDecoder dec(model, limits);
  for (size_t i = 0; i < prompts.size(); ++i)
    dec.add(prompts[i], o, {}, [&results, i](const GenerateResult& r) { results[i] = r; });
  while (dec.size() > 0) dec.step();
  return results;
}

}  // namespace eqt::infer
