// eqt/train/weights.cpp — see weights.h.
#include "eqt/train/weights.h"

#include <stdexcept>

namespace eqt::train {

void swap_parameters(models::ModelImpl& model, std::vector<torch::Tensor>& a) {
  torch::NoGradGuard ng;
  auto params = model.parameters();
  TORCH_CHECK(a.size() == params.size(), "swap_parameters: ", a.size(), " tensors for ", params.size(), " parameters");
  for (size_t i = 0; i < a.size(); ++i) {
    auto raw = params[i].detach().clone();
    params[i].copy_(a[i]);
    a[i] = raw;
  }
}

namespace {
std::string shape_of(const torch::Tensor& t) {
  std::string s = "(";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + ")";
}
}  // namespace

void load_named_tensors(models::ModelImpl& to, const std::map<std::string, torch::Tensor>& tensors,
                        const std::string& label) {
  torch::NoGradGuard ng;
  const std::string family = to.config().family;
  auto dst = to.named_parameters();
  for (const auto& b : to.named_buffers()) dst.insert(b.key(), b.value());
  for (const auto& p : dst) {
    auto it = tensors.find(p.key());
    if (it == tensors.end())
      throw std::invalid_argument("parameter '" + p.key() + "' of this " + family + " model has no tensor in " + label +
                                  ": a different architecture");
    if (!it->second.sizes().equals(p.value().sizes()))
      throw std::invalid_argument("'" + p.key() + "' is " + shape_of(it->second) + " in " + label + "; the model's is " +
                                  shape_of(p.value()));
    // Integers copied into float weights (a file whose dtype label is wrong) would be
    // converted silently into nonsense: refused.
    if (it->second.is_floating_point() != p.value().is_floating_point() || it->second.is_complex())
      throw std::invalid_argument("'" + p.key() + "' is of type " + std::string(c10::toString(it->second.scalar_type())) +
                                  " in " + label + "; the model's is " + c10::toString(p.value().scalar_type()));
    if (it->second.is_floating_point() && !torch::isfinite(it->second).all().item<bool>())
      throw std::invalid_argument("'" + p.key() + "' in " + label + " holds values that are not finite (NaN or inf)");
  }
  for (const auto& [name, t] : tensors)
    if (!dst.contains(name))
      throw std::invalid_argument(label + " holds '" + name + "', which this " + family +
                                  " model does not have: a different architecture");
  for (auto& p : dst) p.value().copy_(tensors.at(p.key()));
}

std::map<std::string, torch::Tensor> named_tensors(const models::ModelImpl& from) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : from.named_parameters()) out[p.key()] = p.value();
  for (const auto& b : from.named_buffers()) out[b.key()] = b.value();
  return out;
}

}  // namespace eqt::train
