// eqt/nn/block.cpp — see block.h.
#include "eqt/nn/block.h"

namespace eqt::nn {

BlockImpl::BlockImpl(const BlockOptions& o) : o_(o) {
  const int64_t C = o.attn().d_model();
  norm_attn_ = register_module("norm_attn", Norm(NormOptions(C, o.norm())));
  attn_ = register_module("attn", Attention(o.attn()));
  norm_mlp_ = register_module("norm_mlp", Norm(NormOptions(C, o.norm())));
  mlp_ = register_module("mlp", MLP(MLPOptions(C, int64_t(o.mlp_mult() * C), o.mlp())));
  if (o.gates()) {
    gate_attn_ = register_parameter("gate_attn", torch::zeros({C}));
    gate_mlp_ = register_parameter("gate_mlp", torch::zeros({C}));
  }
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, const KVCache* past, KVCache* present) {
  auto a = attn_(norm_attn_(x), past, present);
  if (o_.gates()) a = a * (torch::sigmoid(gate_attn_) * o_.gamma_max());
  auto h = x + a;
  auto m = mlp_(norm_mlp_(h));
  if (o_.gates()) m = m * (torch::sigmoid(gate_mlp_) * o_.gamma_max());
  return h + m;
}

BlockStackImpl::BlockStackImpl(const BlockOptions& o, int64_t n) {
  for (int64_t i = 0; i < n; ++i) blocks_.push_back(register_module(std::to_string(i), Block(o)));
}

torch::Tensor BlockStackImpl::forward(torch::Tensor x, const std::vector<KVCache>* past,
                                      std::vector<KVCache>* present) {
  if (past && past->empty()) past = nullptr;  // nothing cached yet
  TORCH_CHECK(!past || past->size() == blocks_.size(), "BlockStack: ", past ? past->size() : 0,
              " caches for ", blocks_.size(), " blocks");
  if (present) present->assign(blocks_.size(), KVCache{});
  for (size_t i = 0; i < blocks_.size(); ++i)
    x = blocks_[i]->forward(x, past ? &(*past)[i] : nullptr, present ? &(*present)[i] : nullptr);
  return x;
}

}  // namespace eqt::nn
