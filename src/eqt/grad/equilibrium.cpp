// eqt/grad/equilibrium.cpp — the gradient modes of equilibrium.h, composed from the solvers.
#include "eqt/grad/equilibrium.h"

#include "eqt/grad/implicit_backward.h"
#include "eqt/util/choices.h"

#include <stdexcept>

namespace eqt::grad {
namespace {

// k recorded damped steps from z: z <- (1 - tau) z + tau f(z).
torch::Tensor damped_steps(const solve::Map& f, torch::Tensor z, int64_t k, double tau) {
  for (int64_t i = 0; i < k; ++i) z = tau == 1.0 ? f(z) : (1.0 - tau) * z + tau * f(z);
  return z;
}

}  // namespace

Equilibrium find_equilibrium(const solve::Map& f, const torch::Tensor& z0,
                             const solve::SolverOptions& fwd, const GradOptions& g,
                             const solve::RowMap& rows) {
  TORCH_CHECK(g.k() >= 0, "find_equilibrium: k must be >= 0, got ", g.k());
  Equilibrium eq;
  const bool training = torch::GradMode::is_enabled();

  if (training && g.mode() == Mode::Unrolled) {
    auto o = fwd;
    o.method(solve::Method::Picard).damping(g.tau());
    eq.forward = solve::unroll(f, z0, o);
    eq.z = eq.forward.z;
    return eq;
  }
  if (training && g.mode() == Mode::Truncated) {
    // Fixed compute: max_iter evaluations of f in all, the last k of them recorded.
    const int64_t k = std::min(g.k(), fwd.max_iter());
    torch::Tensor z = z0.detach();
    if (fwd.max_iter() > k) {
      auto o = fwd;
      o.method(solve::Method::Picard).damping(g.tau()).tol(0.0).min_iter(0).max_iter(fwd.max_iter() - k);
      eq.forward = solve::solve(f, z, o, rows);
      z = eq.forward.z;
    }
    eq.z = damped_steps(f, z, k, g.tau());
    return eq;
  }

  eq.forward = solve::solve(f, z0, fwd, rows);
  if (!training) {
    // f(z*), which the solver already evaluated to measure z*'s residual: the same value
    // the implicit modes return while training, and with a cap of T evaluations the
    // answer has T applications of f behind it (cap 1 = f(z0), not z0).
    eq.z = eq.forward.fz;
    return eq;
  }
  switch (g.mode()) {
    case Mode::Phantom:
      eq.z = damped_steps(f, eq.forward.z, g.k(), g.tau());
      break;
    case Mode::OneStep:
    case Mode::IFT:
      eq.z = attach_backward(f(eq.forward.z), detail::implicit_transform(eq.forward.z, f, g, eq.backward));
      break;
    default:
      TORCH_CHECK(false, "find_equilibrium: unhandled mode ", to_string(g.mode()));
  }
  return eq;
}

std::string to_string(Mode m) {
  switch (m) {
    case Mode::Unrolled: return "unrolled";
    case Mode::Truncated: return "truncated";
    case Mode::Phantom: return "phantom";
    case Mode::OneStep: return "onestep";
    case Mode::IFT: return "ift";
  }
  return "?";
}

const std::vector<Mode>& all_modes() {
  static const std::vector<Mode> all = {Mode::Unrolled, Mode::Truncated, Mode::Phantom, Mode::OneStep, Mode::IFT};
  return all;
}

std::string mode_choices() {
  std::vector<std::string> names;
  for (auto m : all_modes()) names.push_back(to_string(m));
  return util::choices(names);
}

Mode mode_from_string(const std::string& s) {
  for (auto m : all_modes())
    if (to_string(m) == s) return m;
  throw std::invalid_argument("unknown gradient mode '" + s + "'; expected " + mode_choices());
}

}  // namespace eqt::grad
