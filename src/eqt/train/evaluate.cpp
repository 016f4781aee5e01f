// eqt/train/evaluate.cpp — see evaluate.h.
#include "eqt/train/evaluate.h"

#include "eqt/models/family.h"
#include "eqt/train/trainer.h"

#include <cmath>

namespace eqt::train {

void SupervisionEval::validate() const {
  if (steps < 1) throw std::invalid_argument("supervision depth " + std::to_string(steps) + " is invalid; expected >= 1");
  if (halt != "fixed" && halt != "learned" && halt != "converged")
    throw std::invalid_argument("halting rule '" + halt + "' is unknown; expected fixed | learned | converged");
  if (!(tol >= 0)) throw std::invalid_argument("halting tolerance " + std::to_string(tol) + " is invalid; expected >= 0");
}

namespace {

// One batch under deep supervision: the forward of each step from the last one's state, on
// the rows still running only (a stopped row leaves the batch and keeps its logits).
// out.stats.steps becomes the loop steps summed over the supervision steps a row used;
// returns those (B,) supervision steps.
torch::Tensor supervised_forward(models::ModelImpl& model, const torch::Tensor& tokens,
                                 const models::ForwardOptions& opts, const SupervisionEval& sup,
                                 models::ModelOutput& out) {
  out = model.forward(tokens, opts);
  const int64_t B = tokens.size(0);
  auto used = torch::ones({B}, torch::kFloat64);
  if (sup.steps <= 1) return used;
  if (!out.state.defined()) {
    if (models::find_family(model.config().family).has_state) return used;  // a cap of 0: no loop ran, nothing to continue
    throw std::invalid_argument("supervision depth " + std::to_string(sup.steps) + ": family '" +
                                model.config().family + "' has no loop state to continue from; expected depth 1");
  }
  if (sup.halt == "learned" && !out.q_halt.defined())
    throw std::invalid_argument("halting rule 'learned' needs a halting head (model halt.head); this " +
                                model.config().family + " model has none: use fixed or converged");
  auto live = torch::arange(B, torch::kLong);              // (n,) the batch rows still running
  auto live_active = torch::ones({B}, torch::kBool);      // (n,) of those, the ones not stopped
  auto logits = out.logits.clone();                       // (B, T, V) each row's last step
  auto loop_steps = out.stats.steps.defined() ? out.stats.steps.to(torch::kCPU, torch::kFloat64) : used.clone();
  for (int64_t d = 1; d < sup.steps; ++d) {
    torch::Tensor stop = torch::zeros({live_active.size(0)}, torch::kBool);
    if (sup.halt == "learned") stop = out.q_halt.cpu() > 0;
    if (sup.halt == "converged" && out.stats.residual.defined()) stop = out.stats.residual.cpu() < sup.tol;
    // out holds the rows of `live` (the rows still running at the last step), in order.
    live_active = live_active & ~stop;
    const auto keep = torch::nonzero(live_active).squeeze(1);            // (n,) of the last step's rows
    if (keep.numel() == 0) break;
    live = live.index_select(0, keep);                                   // (n,) batch rows still running
    const auto dev_live = live.to(tokens.device());
    models::ForwardOptions o = opts;  // the caller's limits and solver; the start is the last step's state
    o.start = models::StartState::continue_from(out.state.index_select(0, keep.to(out.state.device())));  // (n, T, S)
    out = model.forward(tokens.index_select(0, dev_live), o);            // halted rows leave the batch
    logits.index_copy_(0, dev_live.to(logits.device()), out.logits);
    used.index_add_(0, live, torch::ones({live.size(0)}, torch::kFloat64));
    if (out.stats.steps.defined())
      loop_steps.index_add_(0, live, out.stats.steps.to(torch::kCPU, torch::kFloat64));
    live_active = torch::ones({live.size(0)}, torch::kBool);
  }
  out.logits = logits;
  out.stats.steps = loop_steps;
  return used;
}

}  // namespace

nlohmann::json evaluate(models::ModelImpl& model, const data::Task& task, int64_t batch, int64_t max_batches,
                        const models::ForwardOptions& opts, const SupervisionEval& sup) {
  sup.validate();
  torch::NoGradGuard ng;
  const bool was_training = model.is_training();
  model.eval();
  double nll = 0, steps = 0, halt_sum = 0, halt_max = 0;
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
    models::ModelOutput out;
    const auto used = supervised_forward(model, b.tokens, opts, sup, out);  // (B,) supervision steps
    halt_sum += used.sum().item<double>();
    halt_max = std::max(halt_max, used.max().item<double>());
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
  nlohmann::json r = {{"task", task.name()},
          {"model", model.config().family},
          {"params_total", model.param_total()},
          {"loss", loss},
          {"perplexity", std::exp(loss)},
          {"bits_per_byte", loss / std::log(2.0) / task.bytes_per_token()},
          {"token_accuracy", double(correct) / double(std::max<int64_t>(counted, 1))},
          {"exact_accuracy", double(exact) / double(std::max<int64_t>(seqs, 1))},
          {"solver_steps_mean", steps_n ? steps / double(steps_n) : 0.0},
          {"breakdown", breakdown}};
  if (sup.steps > 1) {  // supervision steps per row: the halting rule's result
    r["halt_steps_mean"] = halt_sum / double(std::max<int64_t>(seqs, 1));
    r["halt_steps_max"] = halt_max;
    r["supervision"] = {{"depth", sup.steps}, {"halt", sup.halt}, {"tol", sup.tol}};
  }
  return r;
}

nlohmann::json evaluate_by_caps(models::ModelImpl& model, const data::Task& task, const std::vector<std::string>& caps,
                                int64_t batch, int64_t max_batches, const models::ForwardOptions& opts,
                                const SupervisionEval& sup) {
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
    models::ForwardOptions capped = opts;
    capped.limits.max_steps = limits[i] >= 0 ? std::optional<int64_t>(limits[i]) : opts.limits.max_steps;
    auto r = evaluate(model, task, batch, max_batches, capped, sup);
    r["solver_steps_cap"] = caps[i];
    rows.push_back(r);
  }
  auto out = rows.back();
  out["by_solver_steps"] = rows;
  return out;
}

}  // namespace eqt::train
