// eqt/train/evaluate.cpp — see evaluate.h.
#include "eqt/train/evaluate.h"

#include "eqt/train/trainer.h"

#include <cmath>

namespace eqt::train {

nlohmann::json evaluate(models::ModelImpl& model, const data::Task& task, int64_t batch, int64_t max_batches,
                        const models::RefineLimits& limits) {
  torch::NoGradGuard ng;
  const bool was_training = model.is_training();
  model.eval();
  double nll = 0, steps = 0;
  int64_t counted = 0, correct = 0, seqs = 0, exact = 0, steps_n = 0;
  torch::Tensor pos_correct, pos_count;  // (T,) per position
  const auto buckets = task.bucket_names();
  std::vector<double> b_hit(buckets.size()), b_n(buckets.size()), b_exact(buckets.size()), b_seqs(buckets.size());
  auto batches = task.eval_batches(batch);
  if (max_batches > 0 && int64_t(batches.size()) > max_batches) batches.resize(size_t(max_batches));
  const torch::Device device = model.parameters().front().device();
  for (const auto& batch : batches) {
    data::Batch b = batch;  // on the model's device
    b.tokens = b.tokens.to(device);
    b.targets = b.targets.to(device);
    if (b.bucket.defined()) b.bucket = b.bucket.to(device);
    auto out = model.forward(b.tokens, limits);
    auto valid = b.targets.ne(data::kIgnore);                                // (B, T)
    auto n = valid.sum().item<int64_t>();
    nll += token_loss(out.logits, b.targets).item<double>() * double(n);
    auto hit = out.logits.argmax(-1).eq(b.targets) & valid;                 // (B, T)
    counted += n;
    correct += hit.sum().item<int64_t>();
    seqs += b.tokens.size(0);
    auto whole = (hit | ~valid).all(1);                                      // (B,)
    exact += whole.sum().item<int64_t>();
    if (b.bucket.defined())
      for (size_t k = 0; k < buckets.size(); ++k) {
        auto in = b.bucket.eq(int64_t(k));                                     // (B,)
        b_hit[k] += (hit & in.unsqueeze(1)).sum().item<double>();
        b_n[k] += (valid & in.unsqueeze(1)).sum().item<double>();
        b_exact[k] += (whole & in).sum().item<double>();
        b_seqs[k] += in.sum().item<double>();
      }
    auto pc = hit.sum(0).to(torch::kFloat64), pn = valid.sum(0).to(torch::kFloat64);
    pos_correct = pos_correct.defined() ? pos_correct + pc : pc;
    pos_count = pos_count.defined() ? pos_count + pn : pn;
    if (out.stats.steps.defined()) {
      steps += out.stats.steps.sum().item<double>();
      steps_n += out.stats.steps.size(0);
    }
  }
  if (was_training) model.train();
  const double loss = nll / double(std::max<int64_t>(counted, 1));
  nlohmann::json breakdown = nlohmann::json::array();
  if (task.breakdown_by() == "length")
    for (int64_t t = 0; t < pos_count.size(0); ++t) {
      double c = pos_count[t].item<double>();
      if (c > 0) breakdown.push_back({{"length", t + 1}, {"token_accuracy", pos_correct[t].item<double>() / c}});
    }
  if (task.breakdown_by() == "difficulty")
    for (size_t k = 0; k < buckets.size(); ++k)
      if (b_seqs[k] > 0)
        breakdown.push_back({{"difficulty", buckets[k]}, {"puzzles", int64_t(b_seqs[k])},
                             {"token_accuracy", b_n[k] > 0 ? b_hit[k] / b_n[k] : 1.0},
                             {"exact_accuracy", b_exact[k] / b_seqs[k]}});
  return {{"task", task.name()},
          {"model", model.config().family},
          {"params_total", model.param_total()},
          {"loss", loss},
          {"perplexity", std::exp(loss)},
          {"bits_per_byte", loss / std::log(2.0) / task.bytes_per_token()},
          {"token_accuracy", double(correct) / double(std::max<int64_t>(counted, 1))},
          {"exact_accuracy", double(exact) / double(std::max<int64_t>(seqs, 1))},
          {"mean_solver_steps", steps_n ? steps / double(steps_n) : 0.0},
          {"breakdown", breakdown}};
}

nlohmann::json evaluate_by_caps(models::ModelImpl& model, const data::Task& task, const std::vector<std::string>& caps,
                                int64_t batch, int64_t max_batches) {
  if (caps.empty()) throw std::invalid_argument("--solver-steps: give at least one cap, e.g. 0,1,2,4,max");
  std::vector<int64_t> limits;  // -1 = max; all parsed before any (slow) evaluation runs
  for (const auto& cap : caps) {
    int64_t n = -1;
    if (cap != "max") {
      size_t used = 0;
      try {
        n = std::stoll(cap, &used);
      } catch (...) {
        used = 0;
      }
      if (used != cap.size() || n < 0)
        throw std::invalid_argument("--solver-steps: '" + cap + "' is not a whole number >= 0 or 'max'");
    }
    limits.push_back(n);
  }
  nlohmann::json rows = nlohmann::json::array();
  for (size_t i = 0; i < caps.size(); ++i) {
    models::RefineLimits capped;
    if (limits[i] >= 0) capped.max_steps = limits[i];
    auto r = evaluate(model, task, batch, max_batches, capped);
    r["solver_steps_cap"] = caps[i];
    rows.push_back(r);
  }
  auto out = rows.back();
  out["by_solver_steps"] = rows;
  return out;
}

}  // namespace eqt::train
