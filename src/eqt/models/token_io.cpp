// eqt/models/token_io.cpp — see token_io.h.
#include "eqt/models/token_io.h"

#include "eqt/nn/positions.h"

namespace eqt::models {

TokenIOImpl::TokenIOImpl(const ModelConfig& cfg) : sinusoidal_(cfg.block.positions == "sinusoidal") {
  table_ = register_parameter("table", torch::randn({cfg.vocab, cfg.block.d_model}) * cfg.block.init_std);
  norm_ = register_module("norm", nn::Norm(nn::NormOptions(cfg.block.d_model, cfg.block.norm)));
}

torch::Tensor TokenIOImpl::embed(const torch::Tensor& tokens, const torch::Tensor& positions) {
  auto x = torch::embedding(table_, tokens);  // (B, T, C)
  if (sinusoidal_) {
    auto pos = positions.defined() ? positions : torch::arange(tokens.size(1), tokens.options());
    x = x + nn::sinusoidal_positions(pos, table_.size(1), x.options());  // (T, C) or (B, T, C)
  }
  return x;
}

torch::Tensor TokenIOImpl::logits(const torch::Tensor& h) { return torch::matmul(norm_(h), table_.t()); }

torch::Tensor TokenIOImpl::logits_vjp(const torch::Tensor& h, const torch::Tensor& dlogits) {
  return norm_->vjp(h, torch::matmul(dlogits, table_));
}

}  // namespace eqt::models
