// eqt/solve/anderson.cpp — batched Anderson acceleration (type II), REFERENCE 2.
//
// With the last n <= m iterates X_i and images F_i = f(X_i) of a sample, and G = F - X
// (n, D), the mixing weights alpha minimise ||G^T alpha||^2 + lambda ||alpha||^2 subject to
// sum(alpha) = 1, i.e. solve the bordered system
//     [ 0   1^T            ] [ mu    ]   [ 1 ]
//     [ 1   G G^T + lam I  ] [ alpha ] = [ 0 ]
// and the next iterate is beta * alpha^T F + (1 - beta) * alpha^T X. With one column this
// is a (damped) plain step, so the first step is plain iteration by construction.
// The ridge is lambda * mean(diag(G G^T)) by default (ridge_relative): an absolute 1e-4
// dominates G G^T once ||G|| < 1e-2 and turns the method into slow averaging.
// History lives in fixed (B, m, D) ring buffers: memory does not grow with max_iter, and the
// column order does not matter because the problem is symmetric in the columns.
// The tiny (n+1)^2 system is solved in float64; if the solve throws (singular, lambda = 0)
// it falls back to the pseudo-inverse (minimum-norm least squares), and rows whose system
// is not finite fall back to the last f-value.
#include "eqt/solve/stepper.h"

namespace eqt::solve::detail {
namespace {

class Anderson final : public Stepper {
 public:
  explicit Anderson(const SolverOptions& o)
      : m_(o.window()), beta_(o.beta()), ridge_(o.ridge()), ridge_relative_(o.ridge_relative()) {}

  torch::Tensor step(const torch::Tensor& x, const torch::Tensor& fx) override {
    const int64_t B = x.size(0), D = x.size(1);
    if (!X_.defined()) {
      X_ = torch::zeros({B, m_, D}, x.options());
      F_ = torch::zeros({B, m_, D}, x.options());
    }
    const int64_t slot = count_ % m_;
    X_.select(1, slot).copy_(x);
    F_.select(1, slot).copy_(fx);
    ++count_;
    const int64_t n = std::min(count_, m_);
    auto Xn = X_.narrow(1, 0, n), Fn = F_.narrow(1, 0, n);  // (B, n, D)
    auto G = Fn - Xn;                                         // (B, n, D)
    auto GGt = torch::bmm(G, G.transpose(1, 2)).to(torch::kFloat64);  // (B, n, n)

    auto dopt = GGt.options();
    auto H = torch::zeros({B, n + 1, n + 1}, dopt);  // (B, n+1, n+1) bordered system
    H.select(1, 0).narrow(1, 1, n).fill_(1.0);
    H.select(2, 0).narrow(1, 1, n).fill_(1.0);
    auto ridge = torch::full({B, 1, 1}, ridge_, dopt);  // (B, 1, 1)
    if (ridge_relative_) ridge = ridge * GGt.diagonal(0, 1, 2).mean(1).view({B, 1, 1});
    H.narrow(1, 1, n).narrow(2, 1, n).copy_(GGt + ridge * torch::eye(n, dopt));
    auto rhs = torch::zeros({B, n + 1, 1}, dopt);  // (B, n+1, 1)
    rhs.select(1, 0).fill_(1.0);

    // Non-finite rows get an identity system; their result is replaced by fx below.
    auto bad = ~torch::isfinite(H).flatten(1).all(1);  // (B,)
    auto H_safe = torch::where(bad.view({B, 1, 1}), torch::eye(n + 1, dopt).expand({B, n + 1, n + 1}), H);
    torch::Tensor sol;  // (B, n+1, 1)
    try {
      sol = torch::linalg_solve(H_safe, rhs, /*left=*/true);
    } catch (const c10::Error&) {
      sol = torch::matmul(torch::linalg_pinv(H_safe, 1e-15, /*hermitian=*/true), rhs);
    }
    auto alpha = sol.narrow(1, 1, n).transpose(1, 2).to(x.scalar_type());  // (B, 1, n)
    auto next = torch::bmm(alpha, Fn).squeeze(1);                             // (B, D)
    if (beta_ != 1.0) next = beta_ * next + (1.0 - beta_) * torch::bmm(alpha, Xn).squeeze(1);
    return torch::where(bad.unsqueeze(1), fx, next);
  }

  void keep(const torch::Tensor& idx) override {
    if (!X_.defined()) return;
    X_ = X_.index_select(0, idx);
    F_ = F_.index_select(0, idx);
  }

 private:
  int64_t m_;
  double beta_, ridge_;
  bool ridge_relative_;
  int64_t count_ = 0;
  torch::Tensor X_, F_;  // (B, m, D) ring buffers of iterates and their images
};

}  // namespace

std::unique_ptr<Stepper> make_anderson(const SolverOptions& opts) {
  return std::make_unique<Anderson>(opts);
}

}  // namespace eqt::solve::detail
