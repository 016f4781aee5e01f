// eqt/models/token_io.h — tokens in, logits out, with one shared (tied) embedding matrix.
// embed:  E[tokens] (+ sinusoidal positions when configured)        (B, T) -> (B, T, C)
// logits: Norm(h) @ E^T                                              (B, T, C) -> (B, T, V)
#pragma once

#include "eqt/models/model_config.h"
#include "eqt/nn/norm.h"

namespace eqt::models {

class TokenIOImpl : public torch::nn::Module {
 public:
  explicit TokenIOImpl(const ModelConfig& cfg);
  // (B, T) -> (B, T, C); positions: (T,) or (B, T) int64 (decode_cache.h), undefined: 0 .. T-1.
  torch::Tensor embed(const torch::Tensor& tokens, const torch::Tensor& positions = {});
  torch::Tensor logits(const torch::Tensor& h);                         // (B, T, C) -> (B, T, V)
  // h: (..., C), dlogits: (..., V) -> dlogits^T d logits(h) / dh, (..., C), without autograd.
  torch::Tensor logits_vjp(const torch::Tensor& h, const torch::Tensor& dlogits);
  const torch::Tensor& table() const { return table_; }                 // (V, C)

 private:
  bool sinusoidal_;
  torch::Tensor table_;  // (V, C) embedding = unembedding
  nn::Norm norm_{nullptr};
};
TORCH_MODULE(TokenIO);

}  // namespace eqt::models
