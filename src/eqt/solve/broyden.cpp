// eqt/solve/broyden.cpp — limited-memory "good" Broyden on the root problem g(x) = f(x) - x = 0.
//
// The inverse Jacobian of g is approximated as B^-1 = -I + U V^T with at most m rank-one
// terms (ring buffer, oldest dropped). After a step dx with residual change dg the update
//     u = (dx - B^-1 dg) / (dx^T B^-1 dg),  v^T = dx^T B^-1
// makes B^-1 dg = dx (the secant condition). The step is x <- x - B^-1 g(x); the first one,
// with B^-1 = -I, is a plain step x <- f(x). A vanishing denominator skips the update.
// When all m slots are used the approximation restarts from -I: overwriting the oldest
// term instead (a ring) leaves the later terms inconsistent and diverged in our tests
// whenever m < D (docs/solvers.md).
#include "eqt/solve/stepper.h"

namespace eqt::solve::detail {
namespace {

class Broyden final : public Stepper {
 public:
  explicit Broyden(const SolverOptions& o) : m_(o.memory()) {}

  torch::Tensor step(const torch::Tensor& x, const torch::Tensor& fx) override {
    const int64_t B = x.size(0), D = x.size(1);
    if (!U_.defined()) {
      U_ = torch::zeros({B, D, m_}, x.options());
      VT_ = torch::zeros({B, m_, D}, x.options());
    }
    auto g = fx - x;  // (B, D)
    if (x_prev_.defined()) {
      auto dx = x - x_prev_, dg = g - g_prev_;  // (B, D)
      auto vT = rmatvec(dx);                    // (B, D) dx^T B^-1
      auto den = (vT * dg).sum(1, /*keepdim=*/true);  // (B, 1)
      auto ok = den.abs() > 1e-30;
      auto u = torch::where(ok, (dx - matvec(dg)) / torch::where(ok, den, torch::ones_like(den)),
                            torch::zeros_like(dx));
      if (count_ == m_) {  // full: restart from B^-1 = -I
        U_.zero_();
        VT_.zero_();
        count_ = 0;
      }
      const int64_t slot = count_;
      U_.select(2, slot).copy_(u);
      VT_.select(1, slot).copy_(torch::where(ok, vT, torch::zeros_like(vT)));
      ++count_;
    }
    x_prev_ = x;
    g_prev_ = g;
    return x - matvec(g);
  }

  void keep(const torch::Tensor& idx) override {
    if (!U_.defined()) return;
    U_ = U_.index_select(0, idx);
    VT_ = VT_.index_select(0, idx);
    if (x_prev_.defined()) x_prev_ = x_prev_.index_select(0, idx), g_prev_ = g_prev_.index_select(0, idx);
  }

 private:
  // B^-1 v = -v + U (V^T v)        v: (B, D) -> (B, D)
  torch::Tensor matvec(const torch::Tensor& v) const {
    return -v + torch::bmm(U_, torch::bmm(VT_, v.unsqueeze(2))).squeeze(2);
  }
  // v^T B^-1 = -v^T + (v^T U) V^T  v: (B, D) -> (B, D)
  torch::Tensor rmatvec(const torch::Tensor& v) const {
    return -v + torch::bmm(torch::bmm(v.unsqueeze(1), U_), VT_).squeeze(1);
  }

  int64_t m_;
  int64_t count_ = 0;
  torch::Tensor U_;   // (B, D, m)
  torch::Tensor VT_;  // (B, m, D)
  torch::Tensor x_prev_, g_prev_;  // (B, D)
};

}  // namespace

std::unique_ptr<Stepper> make_broyden(const SolverOptions& opts) {
  return std::make_unique<Broyden>(opts);
}

}  // namespace eqt::solve::detail
