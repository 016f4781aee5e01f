// eqt/grad/jacobian.cpp — see jacobian.h.
#include "eqt/grad/jacobian.h"

#include "eqt/util/per_sample.h"

namespace eqt::grad {

torch::Tensor jacobian_frobenius_sq(const torch::Tensor& fz, const torch::Tensor& z,
                                    int64_t n_vectors, bool create_graph) {
  TORCH_CHECK(n_vectors >= 1, "jacobian_frobenius_sq: n_vectors must be >= 1, got ", n_vectors);
  TORCH_CHECK(z.requires_grad(), "jacobian_frobenius_sq: z must require grad");
  torch::Tensor total;  // (B,)
  for (int64_t i = 0; i < n_vectors; ++i) {
    auto eps = torch::randn_like(fz);
    auto vjp = torch::autograd::grad({fz}, {z}, {eps}, /*retain_graph=*/true, create_graph)[0];
    auto sq = vjp.flatten(1).pow(2).sum(1);  // (B,) ||eps^T J||^2
    total = total.defined() ? total + sq : sq;
  }
  return total / double(n_vectors);
}

torch::Tensor spectral_radius(const solve::Map& f, const torch::Tensor& z, int64_t iters, int64_t seed) {
  TORCH_CHECK(iters >= 1, "spectral_radius: iters must be >= 1, got ", iters);
  torch::AutoGradMode grad_on(true);
  auto z0 = z.detach().requires_grad_(true);
  auto fz = f(z0);
  torch::Tensor w;
  if (seed >= 0) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(uint64_t(seed));
    w = at::randn(fz.sizes(), gen, torch::kFloat64).to(fz.options());
  } else {
    w = torch::randn_like(fz);
  }
  w = w / util::per_sample(util::sample_norm(w).clamp_min(1e-30), w);
  torch::Tensor rho;  // (B,)
  for (int64_t i = 0; i < iters; ++i) {
    auto jw = torch::autograd::grad({fz}, {z0}, {w}, /*retain_graph=*/true)[0];
    rho = util::sample_norm(jw);  // ||J^T w|| with ||w|| = 1
    w = jw / util::per_sample(rho.clamp_min(1e-30), jw);
  }
  return rho.detach();
}

}  // namespace eqt::grad
