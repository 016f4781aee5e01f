// eqt/grad/implicit_backward.cpp — see implicit_backward.h.
#include "eqt/grad/implicit_backward.h"

#include "eqt/util/per_sample.h"

namespace eqt::grad::detail {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// What the backward needs, kept alive by the autograd graph (an IValue capsule).
struct ImplicitState : torch::CustomClassHolder {
  solve::Map f;
  torch::Tensor z_star;  // (B, ...)
  GradOptions opts;
  std::shared_ptr<BackwardStats> stats;
};

struct ImplicitBackward : torch::autograd::Function<ImplicitBackward> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& y,
                               c10::intrusive_ptr<ImplicitState> state) {
    ctx->saved_data["state"] = c10::IValue::make_capsule(std::move(state));
    return y.clone();
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto state = c10::static_intrusive_pointer_cast<ImplicitState>(
        ctx->saved_data["state"].toCapsule());
    const torch::Tensor v = grads[0].detach();  // (B, ...) dL/dy
    const auto& o = state->opts;
    auto& stats = *state->stats;
    stats.calls++;

    // Graph of f at z* for vector-Jacobian products, built here and dropped on return.
    torch::AutoGradMode grad_on(true);
    torch::Tensor z0 = state->z_star.detach().requires_grad_(true);
    torch::Tensor f0 = state->f(z0);
    auto JTv = [&](const torch::Tensor& w) {  // (B, ...) -> (B, ...) J^T w
      return torch::autograd::grad({f0}, {z0}, {w}, /*retain_graph=*/true,
                                   /*create_graph=*/false, /*allow_unused=*/true)[0];
    };

    torch::Tensor u;
    if (o.mode() == Mode::OneStep) {
      torch::Tensor jv = JTv(v);
      if (o.clip() > 0) {
        auto limit = o.clip() * util::sample_norm(v);                          // (B,)
        auto scale = (limit / util::sample_norm(jv).clamp_min(1e-30)).clamp_max(1.0);
        jv = jv * util::per_sample(scale, jv);
      }
      u = v + jv;
      stats.fevals = 1;
    } else {
      TORCH_CHECK(o.mode() == Mode::IFT, "implicit backward: unexpected mode ", to_string(o.mode()));
      auto res = solve::solve([&](const torch::Tensor& w) { return JTv(w) + v; }, v, o.backward());
      u = res.z;
      stats.fevals = res.fevals;
      stats.max_rel_res = res.rel_res.max().item<double>();
      stats.not_converged = res.z.size(0) - res.count(solve::Status::Converged);
    }
    return {u, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor attach_implicit(const torch::Tensor& y, const torch::Tensor& z_star,
                              const solve::Map& f, const GradOptions& opts,
                              std::shared_ptr<BackwardStats> stats) {
  auto state = c10::make_intrusive<ImplicitState>();
  state->f = f;
  state->z_star = z_star.detach();
  state->opts = opts;
  state->stats = std::move(stats);
  return ImplicitBackward::apply(y, state);
}

}  // namespace eqt::grad::detail
