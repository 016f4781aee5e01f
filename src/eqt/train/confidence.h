// eqt/train/confidence.h — scoring how far a convergence signal can be trusted (issue 29):
// the AUROC of a confidence for "the answer is right", the accuracy-vs-coverage curve
// ("answer only the most converged fraction"), and the two ways of choosing one answer among
// a puzzle's restarts: the most converged (lowest score) and the majority vote.
// What it is not: the evaluation loop that produces the signals (restart_eval.h).
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <vector>

namespace eqt::train {

// P(confidence of a right answer > confidence of a wrong one) + 1/2 P(tie), the
// Mann-Whitney statistic with tied scores given their mean rank. NaN when every answer is
// right or every one wrong (the AUROC is undefined), or when a confidence is NaN.
double auroc(const std::vector<double>& confidence, const std::vector<bool>& right);

// The answers sorted by confidence, highest first: for coverage c = k / points (k = 1..points),
// the accuracy of the ceil(c n) most confident. JSON [{"coverage", "accuracy", "answered"}].
// Ties at the cut are broken by the answers' order (stable sort).
nlohmann::json coverage_curve(const std::vector<double>& confidence, const std::vector<bool>& right,
                              int64_t points = 20);

// scores (P, B): each puzzle's restarts, lower = more converged -> (P,) int64 the restart with
// the lowest score (the first on a tie; NaN counts as +inf, so a restart without a score is
// picked only when none has one).
torch::Tensor most_converged(const torch::Tensor& scores);

// answers (P, B, T) int64 -> (P,) int64: for each puzzle the restart whose answer (the whole
// row, compared exactly) the most restarts share; on a tie the lowest-numbered restart.
torch::Tensor majority_vote(const torch::Tensor& answers);

}  // namespace eqt::train
