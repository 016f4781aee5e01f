// eqt/train/step_metrics.cpp — see step_metrics.h.
#include "eqt/train/step_metrics.h"

#include "eqt/parallel/communicator.h"

#include <algorithm>

namespace eqt::train {

void StepMetrics::max(const std::string& name, double v) {
  auto [it, fresh] = maxes_.emplace(name, v);
  if (!fresh) it->second = std::max(it->second, v);
}

double StepMetrics::operator[](const std::string& name) const {
  if (auto it = sums_.find(name); it != sums_.end()) return it->second;
  if (auto it = maxes_.find(name); it != maxes_.end()) return it->second;
  return 0.0;
}

void StepMetrics::reduce(parallel::Communicator& comm) {
  // One allreduce per kind, the figures in name order: (number of sums,), (number of maxima,).
  for (auto [figures, op] : {std::pair{&sums_, parallel::Reduce::Sum}, std::pair{&maxes_, parallel::Reduce::Max}}) {
    if (figures->empty()) continue;
    auto packed = torch::empty({int64_t(figures->size())}, torch::kDouble);
    auto* p = packed.data_ptr<double>();
    for (const auto& [name, v] : *figures) *p++ = v;
    comm.allreduce(packed, op);
    p = packed.data_ptr<double>();
    for (auto& [name, v] : *figures) v = *p++;
  }
}

}  // namespace eqt::train
