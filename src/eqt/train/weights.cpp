// eqt/train/weights.cpp — see weights.h.
#include "eqt/train/weights.h"

#include <map>
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

void copy_weights_by_name(const models::ModelImpl& from, const std::vector<torch::Tensor>& from_values,
                          models::ModelImpl& to, const std::string& label) {
  torch::NoGradGuard ng;
  const auto src = from.named_parameters();
  TORCH_CHECK(from_values.empty() || from_values.size() == src.size(), "copy_weights_by_name: ", from_values.size(),
              " values for ", src.size(), " parameters");
  std::map<std::string, torch::Tensor> by_name;
  for (size_t i = 0; i < src.size(); ++i) by_name[src[i].key()] = from_values.empty() ? src[i].value() : from_values[i];
  auto dst = to.named_parameters();
  const std::string where = " (the new model is a " + to.config().family + ")";
  for (const auto& p : dst) {
    auto it = by_name.find(p.key());
    if (it == by_name.end())
      throw std::invalid_argument("parameter '" + p.key() + "' of the new model has no tensor in " + label +
                                  ": a different architecture" + where);
    if (!it->second.sizes().equals(p.value().sizes()))
      throw std::invalid_argument("parameter '" + p.key() + "' is " + shape_of(p.value()) + " in the new model but " +
                                  shape_of(it->second) + " in " + label + where);
  }
  for (const auto& [name, t] : by_name)
    if (!dst.contains(name))
      throw std::invalid_argument("'" + name + "' of " + label + " has no parameter in the new model: a different architecture" +
                                  where);
  for (auto& p : dst) p.value().copy_(by_name.at(p.key()));
  auto dst_buffers = to.named_buffers();
  for (const auto& b : from.named_buffers())
    if (dst_buffers.contains(b.key()) && dst_buffers[b.key()].sizes().equals(b.value().sizes()))
      dst_buffers[b.key()].copy_(b.value());
}

}  // namespace eqt::train
