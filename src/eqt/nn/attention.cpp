// eqt/nn/attention.cpp — see attention.h.
#include "eqt/nn/attention.h"

#include "eqt/nn/norm.h"
#include "eqt/nn/positions.h"

#include <cmath>

namespace eqt::nn {

AttentionImpl::AttentionImpl(const AttentionOptions& o) : o_(o) {
  TORCH_CHECK(o.d_model() % o.n_heads() == 0, "d_model ", o.d_model(), " is not divisible by n_heads ",
              o.n_heads());
  auto lin = [&](const char* name) {
    return register_module(name, torch::nn::Linear(torch::nn::LinearOptions(o.d_model(), o.d_model()).bias(false)));
  };
  q_ = lin("q");
  k_ = lin("k");
  v_ = lin("v");
  o_proj_ = lin("o");
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const KVCache* past, KVCache* present) {
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2), H = o_.n_heads(), hd = C / H;
  const int64_t P = past ? past->length() : 0;
  const torch::Tensor offset = past ? past->offset : torch::Tensor();  // (B,) or undefined
  TORCH_CHECK(!offset.defined() || offset.numel() == B, "attention: ", offset.numel(), " row offsets for a batch of ", B);
  auto heads = [&](const torch::Tensor& t) { return t.view({B, T, H, hd}).transpose(1, 2); };  // (B, H, T, hd)
  auto q = heads(q_(x)), k = heads(k_(x)), v = heads(v_(x));
  if (o_.rope()) {
    if (offset.defined()) {  // row b's new columns P .. P+T-1 are its positions less offset_b
      auto lopt = torch::TensorOptions().dtype(torch::kInt64).device(x.device());
      auto pos = torch::arange(P, P + T, lopt).unsqueeze(0) - offset.to(x.device()).unsqueeze(1);  // (B, T)
      q = apply_rope(q, pos, o_.rope_base());
      k = apply_rope(k, pos, o_.rope_base());
    } else {
      q = apply_rope(q, P, o_.rope_base());
      k = apply_rope(k, P, o_.rope_base());
    }
  }
  if (o_.qk_norm()) {
    q = rms_normalize(q);
    k = rms_normalize(k);
  }
  if (P > 0) {
    k = torch::cat({past->k, k}, 2);  // (B, H, P+T, hd)
    v = torch::cat({past->v, v}, 2);
  }
  if (present) *present = KVCache{k, v, offset};
  auto att = torch::matmul(q, k.transpose(2, 3)) / std::sqrt(double(hd));  // (B, H, T, P+T)
  // Column-space masks: causal, query i (column P + i) sees columns <= P + i; a ragged row
  // never sees its padding columns (< offset_b). Every row sees at least its own column.
  const auto lopt = torch::TensorOptions().dtype(torch::kInt64).device(x.device());
  auto kj = torch::arange(0, P + T, lopt).unsqueeze(0);  // (1, P+T)
  if (o_.causal()) {
    auto qi = torch::arange(P, P + T, lopt).unsqueeze(1);  // (T, 1)
    att = att.masked_fill(kj > qi, -std::numeric_limits<float>::infinity());
  }
  if (offset.defined()) {
    auto pad = kj < offset.to(x.device()).unsqueeze(1);  // (B, P+T)
    att = att.masked_fill(pad.view({B, 1, 1, P + T}), -std::numeric_limits<float>::infinity());
  }
  auto y = torch::matmul(torch::softmax(att, -1), v);  // (B, H, T, hd)
  return o_proj_(y.transpose(1, 2).reshape({B, T, C}));
}

}  // namespace eqt::nn
