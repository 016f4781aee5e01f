// eqt/nn/post_norm_block.cpp — see post_norm_block.h.
#include "eqt/nn/post_norm_block.h"

#include <stdexcept>

namespace eqt::nn {

torch::Tensor rms_unit(const torch::Tensor& x, int64_t dim) {
  return x * torch::rsqrt(x.pow(2).mean(dim, /*keepdim=*/true) + 1e-5);
}

PostNormBlockImpl::PostNormBlockImpl(const PostNormBlockOptions& o) : o_(o) {
  const int64_t C = o.attn().d_model();
  if (o.mixer() == "attention") {
    attn_ = register_module("attn", Attention(o.attn()));
  } else if (o.mixer() == "mlp") {
    if (o.seq_len() < 1)
      throw std::invalid_argument("an MLP token mixer needs the fixed sequence length, got " + std::to_string(o.seq_len()));
    token_mlp_ = register_module(
        "token_mlp", MLP(MLPOptions(o.seq_len(), std::max<int64_t>(1, int64_t(o.mlp_mult() * double(o.seq_len()))), o.mlp())));
  } else {
    throw std::invalid_argument("token mixer '" + o.mixer() + "' is unknown; expected attention | mlp");
  }
  mlp_ = register_module("mlp", MLP(MLPOptions(C, int64_t(o.mlp_mult() * double(C)), o.mlp())));
}

torch::Tensor PostNormBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor h;
  if (attn_) {
    h = rms_unit(x + attn_(x));  // (B, T, C)
  } else {
    TORCH_CHECK(x.size(1) == o_.seq_len(), "the MLP token mixer takes sequences of ", o_.seq_len(),
                " positions, got ", x.size(1));
    auto t = x.transpose(1, 2);                                 // (B, C, T)
    h = rms_unit(t + token_mlp_(t)).transpose(1, 2);            // normalised over positions, (B, T, C)
  }
  return rms_unit(h + mlp_(h));
}

}  // namespace eqt::nn
