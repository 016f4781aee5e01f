// eqt/grad/implicit_backward.cpp — see implicit_backward.h.
#include "eqt/grad/implicit_backward.h"

#include "eqt/solve/conjugate_gradient.h"
#include "eqt/util/per_sample.h"

namespace eqt::grad {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// The transform, kept alive by the autograd graph (an IValue capsule).
struct TransformHolder : torch::CustomClassHolder {
  BackwardTransform transform;
};

struct ReplaceGradient : torch::autograd::Function<ReplaceGradient> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& y,
                               c10::intrusive_ptr<TransformHolder> holder) {
    ctx->saved_data["transform"] = c10::IValue::make_capsule(std::move(holder));
    return y.clone();
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto holder = c10::static_intrusive_pointer_cast<TransformHolder>(
        ctx->saved_data["transform"].toCapsule());
    torch::AutoGradMode grad_on(true);  // transforms differentiate f inside backward
    return {holder->transform(grads[0].detach()), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor attach_backward(const torch::Tensor& y, BackwardTransform transform) {
  auto holder = c10::make_intrusive<TransformHolder>();
  holder->transform = std::move(transform);
  return ReplaceGradient::apply(y, holder);
}

BackwardTransform proximal_transform(std::function<torch::Tensor(const torch::Tensor&)> grad_E,
                                     const torch::Tensor& h_star, double gamma, int64_t iters, double tol,
                                     std::shared_ptr<BackwardStats> stats) {
  return [grad_E = std::move(grad_E), h = h_star.detach(), gamma, iters, tol, stats](const torch::Tensor& v) {
    auto x = h.detach().requires_grad_(true);
    auto gE = grad_E(x);
    auto A = [&](const torch::Tensor& w) {  // (Hess E + I / gamma) w
      return torch::autograd::grad({gE}, {x}, {w}, /*retain_graph=*/true)[0] + w / gamma;
    };
    auto r = solve::conjugate_gradient(A, v, iters, tol);
    if (stats) {
      stats->calls++;
      stats->fevals = r.iters;
      stats->max_rel_res = r.rel_res.max().item<double>();
      stats->not_converged = (r.rel_res > tol).sum().item<int64_t>();
    }
    return torch::Tensor(r.x / gamma);
  };
}

namespace detail {

BackwardTransform implicit_transform(const torch::Tensor& z_star, const solve::Map& f,
                                     const GradOptions& o, std::shared_ptr<BackwardStats> stats) {
  return [z = z_star.detach(), f, o, stats](const torch::Tensor& v) {  // v: (B, ...) dL/dy
    stats->calls++;
    // Graph of f at z* for vector-Jacobian products, built here and dropped on return.
    torch::Tensor z0 = z.detach().requires_grad_(true);
    torch::Tensor f0 = f(z0);
    auto JTv = [&](const torch::Tensor& w) {  // (B, ...) -> (B, ...) J^T w
      return torch::autograd::grad({f0}, {z0}, {w}, /*retain_graph=*/true,
                                   /*create_graph=*/false, /*allow_unused=*/true)[0];
    };
    if (o.mode() == Mode::OneStep) {
      torch::Tensor jv = JTv(v);
      if (o.clip() > 0) {
        auto limit = o.clip() * util::sample_norm(v);  // (B,)
        auto scale = (limit / util::sample_norm(jv).clamp_min(1e-30)).clamp_max(1.0);
        jv = jv * util::per_sample(scale, jv);
      }
      stats->fevals = 1;
      return torch::Tensor(v + jv);
    }
    TORCH_CHECK(o.mode() == Mode::IFT, "implicit transform: unexpected mode ", to_string(o.mode()));
    auto res = solve::solve([&](const torch::Tensor& w) { return JTv(w) + v; }, v, o.backward());
    stats->fevals = res.fevals;
    stats->max_rel_res = res.rel_res.max().item<double>();
    stats->not_converged = res.z.size(0) - res.count(solve::Status::Converged);
    return res.z;
  };
}

}  // namespace detail
}  // namespace eqt::grad
