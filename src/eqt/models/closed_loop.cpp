// eqt/models/closed_loop.cpp — see closed_loop.h.
#include "eqt/models/closed_loop.h"

#include "eqt/grad/jacobian.h"
#include "eqt/util/autocast.h"

namespace eqt::models {

RefineStats stats_from(const grad::Equilibrium& eq, const solve::Map& f) {
  RefineStats s;
  s.steps = eq.forward.steps.to(torch::kFloat64);
  s.residual = eq.forward.rel_res;
  s.status = eq.forward.status;
  s.residual_trace = eq.forward.rel_trace;
  s.backward = eq.backward;
  s.jacobian_radius = [f, z = eq.forward.z.detach()] { return grad::spectral_radius(f, z, 20, /*seed=*/0); };
  return s;
}

torch::Tensor jacobian_penalty(const solve::Map& f, const torch::Tensor& z_star, double weight) {
  auto z = z_star.detach().requires_grad_(true);
  auto est = grad::jacobian_frobenius_sq(f(z), z, 1, /*create_graph=*/true);  // (B,)
  return weight * est.mean() / double(z[0].numel());
}

solve::Map residual_map(nn::BlockStack stack, torch::Tensor c, const std::vector<nn::KVCache>* past) {
  return [stack, c, past](const torch::Tensor& y) mutable { return stack->forward(y + c, past) - y; };
}

solve::RowMap residual_rows(nn::BlockStack stack, torch::Tensor c, const std::vector<nn::KVCache>* past) {
  return [stack, c, past](const torch::Tensor& rows) -> solve::Map {
    std::shared_ptr<std::vector<nn::KVCache>> sub;  // (n, H, P, hd) per layer, owned by the map
    if (past) {
      sub = std::make_shared<std::vector<nn::KVCache>>();
      for (const auto& kv : *past) {
        nn::KVCache s;
        if (kv.k.defined()) s.k = kv.k.index_select(0, rows), s.v = kv.v.index_select(0, rows);
        if (kv.offset.defined()) s.offset = kv.offset.index_select(0, rows.to(kv.offset.device()));
        sub->push_back(s);
      }
    }
    auto c_rows = c.index_select(0, rows);  // (n, T, C)
    return [stack, c_rows, sub](const torch::Tensor& y) mutable {
      return stack->forward(y + c_rows, sub ? sub.get() : nullptr) - y;
    };
  };
}

void cap_solver_iterations(ModelConfig& c, int64_t n) {
  c.solver.eval_max_iter = n;
  c.solver.eval_min_iter = std::min(c.solver.eval_min_iter, n);
}

ResidualSolve solve_residual(nn::BlockStack stack, torch::Tensor c, const std::vector<nn::KVCache>* past,
                             const torch::Tensor& z0, const ModelConfig& cfg, bool training) {
  ResidualSolve r;
  r.f = residual_map(stack, c, past);
  const auto opts = cfg.solver_options(training, util::low_precision_active(c.device().type()));
  r.eq = grad::find_equilibrium(r.f, z0, opts, cfg.grad_options(), residual_rows(stack, c, past));
  return r;
}

}  // namespace eqt::models
