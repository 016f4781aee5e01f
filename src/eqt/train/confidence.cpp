// eqt/train/confidence.cpp — see confidence.h.
#include "eqt/train/confidence.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace eqt::train {

double auroc(const std::vector<double>& confidence, const std::vector<bool>& right) {
  if (confidence.size() != right.size())
    throw std::invalid_argument("auroc: " + std::to_string(confidence.size()) + " confidences for " +
                                std::to_string(right.size()) + " answers; expected one each");
  const size_t n = confidence.size();
  for (double c : confidence)
    if (std::isnan(c)) return std::numeric_limits<double>::quiet_NaN();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t(0));
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return confidence[a] < confidence[b]; });
  // Mann-Whitney: U = (sum of the right answers' ranks) - n_right (n_right + 1) / 2, ranks
  // 1-based with each tie group at its mean rank; AUROC = U / (n_right n_wrong).
  double rank_sum = 0, n_right = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && confidence[order[j]] == confidence[order[i]]) ++j;
    const double mean_rank = (double(i + 1) + double(j)) / 2;  // ranks i+1 .. j
    for (size_t k = i; k < j; ++k)
      if (right[order[k]]) {
        rank_sum += mean_rank;
        n_right += 1;
      }
    i = j;
  }
  const double n_wrong = double(n) - n_right;
  if (n_right == 0 || n_wrong == 0) return std::numeric_limits<double>::quiet_NaN();
  return (rank_sum - n_right * (n_right + 1) / 2) / (n_right * n_wrong);
}

nlohmann::json coverage_curve(const std::vector<double>& confidence, const std::vector<bool>& right,
                              int64_t points) {
  if (confidence.size() != right.size())
    throw std::invalid_argument("coverage_curve: " + std::to_string(confidence.size()) + " confidences for " +
                                std::to_string(right.size()) + " answers; expected one each");
  if (points < 1) throw std::invalid_argument("coverage_curve: points = " + std::to_string(points) + "; expected >= 1");
  const size_t n = confidence.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t(0));
  // NaN confidences sort last: an answer without a signal is answered last.
  auto key = [&](size_t i) { return std::isnan(confidence[i]) ? -std::numeric_limits<double>::infinity() : confidence[i]; };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key(a) > key(b); });
  std::vector<double> right_prefix(n + 1, 0);
  for (size_t i = 0; i < n; ++i) right_prefix[i + 1] = right_prefix[i] + (right[order[i]] ? 1 : 0);
  nlohmann::json curve = nlohmann::json::array();
  if (n == 0) return curve;
  for (int64_t k = 1; k <= points; ++k) {
    const double c = double(k) / double(points);
    const size_t m = std::max<size_t>(1, size_t(std::ceil(c * double(n) - 1e-9)));
    curve.push_back({{"coverage", c}, {"answered", int64_t(m)}, {"accuracy", right_prefix[m] / double(m)}});
  }
  return curve;
}

torch::Tensor most_converged(const torch::Tensor& scores) {
  if (scores.dim() != 2)
    throw std::invalid_argument("most_converged: scores of shape " + c10::str(scores.sizes()) + "; expected (P, B)");
  auto s = scores.to(torch::kCPU, torch::kFloat64);
  s = torch::where(torch::isnan(s), torch::full_like(s, std::numeric_limits<double>::infinity()), s);
  // argmin returns the first minimum on a tie in LibTorch's CPU kernel; made explicit here.
  const auto acc = s.accessor<double, 2>();
  auto out = torch::zeros({s.size(0)}, torch::kLong);
  auto o = out.accessor<int64_t, 1>();
  for (int64_t p = 0; p < s.size(0); ++p) {
    int64_t best = 0;
    for (int64_t b = 1; b < s.size(1); ++b)
      if (acc[p][b] < acc[p][best]) best = b;
    o[p] = best;
  }
  return out;
}

torch::Tensor majority_vote(const torch::Tensor& answers) {
  if (answers.dim() != 3)
    throw std::invalid_argument("majority_vote: answers of shape " + c10::str(answers.sizes()) + "; expected (P, B, T)");
  auto a = answers.to(torch::kCPU, torch::kLong);
  // same[p, i, j]: restarts i and j of puzzle p gave the same whole answer.
  auto same = a.unsqueeze(2).eq(a.unsqueeze(1)).all(-1);  // (P, B, B)
  auto votes = same.sum(-1).to(torch::kFloat64);           // (P, B) how many restarts share i's answer
  return most_converged(-votes);                            // the most shared, the first on a tie
}

}  // namespace eqt::train
