// eqt/solve/picard.cpp — plain and damped fixed-point iteration,
// z_{k+1} = (1 - tau) z_k + tau f(z_k). Converges for any contraction when tau in (0, 1];
// damping (tau < 1) widens that to maps whose Jacobian eigenvalues lie in a disc around 1 - 1/tau.
#include "eqt/solve/stepper.h"

namespace eqt::solve::detail {
namespace {

class Picard final : public Stepper {
 public:
  explicit Picard(double tau) : tau_(tau) {}
  torch::Tensor step(const torch::Tensor& x, const torch::Tensor& fx) override {
    if (tau_ == 1.0) return fx;
    return (1.0 - tau_) * x + tau_ * fx;  // (B, D)
  }
  void keep(const torch::Tensor&) override {}  // no history

 private:
  double tau_;
};

}  // namespace

std::unique_ptr<Stepper> make_picard(const SolverOptions& opts) {
  return std::make_unique<Picard>(opts.damping());
}

}  // namespace eqt::solve::detail
