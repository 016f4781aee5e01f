// eqt/solve/conjugate_gradient.cpp — see conjugate_gradient.h. Textbook CG (Hestenes-Stiefel)
// with per-sample step sizes; finished samples get zero step sizes.
#include "eqt/solve/conjugate_gradient.h"

#include "eqt/util/per_sample.h"

namespace eqt::solve {

CGResult conjugate_gradient(const Map& A, const torch::Tensor& b, int64_t max_iter, double tol) {
  TORCH_CHECK(max_iter >= 1, "conjugate_gradient: max_iter must be >= 1, got ", max_iter);
  torch::NoGradGuard no_grad;
  auto dot = [](const torch::Tensor& u, const torch::Tensor& w) { return (u * w).flatten(1).sum(1); };  // (B,)
  auto bc = [](const torch::Tensor& s, const torch::Tensor& like) { return util::per_sample(s, like); };
  torch::Tensor x = torch::zeros_like(b);
  torch::Tensor r = b.clone(), p = b.clone();
  torch::Tensor rr = dot(r, r);                      // (B,)
  const torch::Tensor bnorm = rr.sqrt().clamp_min(1e-30);
  torch::Tensor active = rr.sqrt() > tol * bnorm;    // (B,) bool
  torch::Tensor indefinite = torch::zeros_like(active);
  CGResult out;
  for (int64_t k = 0; k < max_iter && active.any().item<bool>(); ++k) {
    torch::Tensor Ap = A(p);
    ++out.iters;
    torch::Tensor pAp = dot(p, Ap);
    torch::Tensor bad = active & (pAp <= 0);
    indefinite = indefinite | bad;
    active = active & ~bad;
    torch::Tensor alpha = torch::where(active, rr / torch::where(active, pAp, torch::ones_like(pAp)),
                                       torch::zeros_like(rr));
    x = x + bc(alpha, x) * p;
    r = r - bc(alpha, r) * Ap;
    torch::Tensor rr_new = dot(r, r);
    torch::Tensor beta = torch::where(active, rr_new / rr.clamp_min(1e-300), torch::zeros_like(rr));
    p = torch::where(bc(active, p), r + bc(beta, p) * p, p);
    rr = torch::where(active, rr_new, rr);
    active = active & (rr.sqrt() > tol * bnorm);
  }
  out.x = x;
  out.rel_res = (rr.sqrt() / bnorm).to(torch::kFloat64);
  out.indefinite = indefinite.sum().item<int64_t>();
  return out;
}

}  // namespace eqt::solve
