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
  auto heads = [&](const torch::Tensor& t) { return t.view({B, T, H, hd}).transpose(1, 2); };  // (B, H, T, hd)
  auto q = heads(q_(x)), k = heads(k_(x)), v = heads(v_(x));
  if (o_.rope()) {
    q = apply_rope(q, P, o_.rope_base());
    k = apply_rope(k, P, o_.rope_base());
  }
  if (o_.qk_norm()) {
    q = rms_normalize(q);
    k = rms_normalize(k);
  }
  if (P > 0) {
    k = torch::cat({past->k, k}, 2);  // (B, H, P+T, hd)
    v = torch::cat({past->v, v}, 2);
  }
  if (present) *present = KVCache{k, v};
  auto att = torch::matmul(q, k.transpose(2, 3)) / std::sqrt(double(hd));  // (B, H, T, P+T)
  if (o_.causal()) {
    // query i sits at position P + i and may see keys 0 .. P + i
    auto qi = torch::arange(P, P + T, torch::TensorOptions().device(x.device())).unsqueeze(1);
    auto kj = torch::arange(0, P + T, torch::TensorOptions().device(x.device())).unsqueeze(0);
    att = att.masked_fill(kj > qi, -std::numeric_limits<float>::infinity());
  }
  auto y = torch::matmul(torch::softmax(att, -1), v);  // (B, H, T, hd)
  return o_proj_(y.transpose(1, 2).reshape({B, T, C}));
}

}  // namespace eqt::nn
