// eqt/train/collapse_watch.cpp — see collapse_watch.h.
#include "eqt/train/collapse_watch.h"

#include "eqt/data/task.h"

#include <fmt/format.h>

namespace eqt::train {

CollapseWatch::CollapseWatch(CollapseWatchOptions o, int64_t vocab)
    : o_(o), counts_(torch::zeros({vocab}, torch::kFloat64)) {}

void CollapseWatch::observe_targets(const torch::Tensor& targets) {
  auto t = targets.flatten().cpu();
  t = t.masked_select(t != data::kIgnore);
  if (t.numel() > 0) counts_ += torch::bincount(t, {}, counts_.size(0)).to(torch::kFloat64);
}

double CollapseWatch::chance_loss() const {
  const double n = counts_.sum().item<double>();
  if (n == 0) return 0.0;
  auto p = counts_ / n;
  return -(p * torch::log(p.clamp_min(1e-300))).sum().item<double>();
}

std::string CollapseWatch::track(Condition& c, bool holds, int64_t step, const std::string& what) {
  c.run = holds ? c.run + 1 : 0;
  if (holds && c.run == o_.patience() && !c.reported) {
    c.reported = true;
    return fmt::format("warning: step {}: collapse? {} for the last {} steps: {}", step, c.name, c.run, what);
  }
  if (!holds && c.reported) {
    c.reported = false;
    return fmt::format("note: step {}: no longer {}", step, c.name);
  }
  return "";
}

std::vector<std::string> CollapseWatch::update(int64_t step, double loss, double steps_mean, double residual_mean) {
  std::vector<std::string> out;
  auto add = [&](std::string s) {
    if (!s.empty()) out.push_back(std::move(s));
  };
  if (o_.cap() > 0) {
    add(track(cap_, steps_mean >= double(o_.cap()) - 0.5, step,
              fmt::format("the solve uses its whole cap ({} iterations) and does not reach its tolerance", o_.cap())));
    add(track(diverge_, residual_mean > o_.diverge_res(), step,
              fmt::format("the solve's final relative residual is {:.3g} (> {}): it diverges", residual_mean,
                          o_.diverge_res())));
  }
  const double chance = chance_loss();
  add(track(chance_, step > o_.grace() && chance > 0 && loss >= (1 - o_.chance_margin()) * chance, step,
            fmt::format("loss {:.4f} is at the entropy of the targets' frequencies ({:.4f} nats): the model predicts "
                        "no better than a constant",
                        loss, chance)));
  return out;
}

}  // namespace eqt::train
