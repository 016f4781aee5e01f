// eqt/models/token_io.cpp — see token_io.h.
#include "eqt/models/token_io.h"

#include "eqt/nn/positions.h"

namespace eqt::models {

TokenIOImpl::TokenIOImpl(const ModelConfig& cfg) : sinusoidal_(cfg.positions == "sinusoidal") {
  table_ = register_parameter("table", torch::randn({cfg.vocab, cfg.d_model}) * cfg.init_std);
  norm_ = register_module("norm", nn::Norm(nn::NormOptions(cfg.d_model, cfg.norm)));
}

torch::Tensor TokenIOImpl::embed(const torch::Tensor& tokens, int64_t pos0) {
  auto x = torch::embedding(table_, tokens);  // (B, T, C)
  if (sinusoidal_) x = x + nn::sinusoidal_positions(tokens.size(1), table_.size(1), pos0, x.options());
  return x;
}

torch::Tensor TokenIOImpl::logits(const torch::Tensor& h) { return torch::matmul(norm_(h), table_.t()); }

torch::Tensor TokenIOImpl::logits_vjp(const torch::Tensor& h, const torch::Tensor& dlogits) {
  return norm_->vjp(h, torch::matmul(dlogits, table_));
}

}  // namespace eqt::models
