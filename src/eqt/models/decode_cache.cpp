// eqt/models/decode_cache.cpp — see decode_cache.h.
#include "eqt/models/decode_cache.h"

namespace eqt::models {

const std::vector<nn::KVCache>* DecodeCache::past(const std::string& name) {
  auto& slot = kv[name];
  const int64_t held = slot.empty() ? 0 : slot[0].length();
  TORCH_CHECK(held == length, "decode cache '", name, "' holds ", held, " positions, expected ", length,
              " (a layer was skipped in an earlier call, e.g. refinement switched off mid-sequence)");
  return &slot;
}

torch::Tensor DecodeCache::extend(nn::BlockStack& stack, const std::string& name, const torch::Tensor& x) {
  const auto* p = past(name);
  std::vector<nn::KVCache> grown;
  auto y = stack->forward(x, p, &grown);
  kv[name] = std::move(grown);
  return y;
}

torch::Tensor DecodeCache::extend(nn::Block& block, const std::string& name, const torch::Tensor& x) {
  const auto* p = past(name);
  nn::KVCache grown;
  auto y = block->forward(x, p->empty() ? nullptr : &(*p)[0], &grown);
  kv[name] = {grown};
  return y;
}

void DecodeCache::advance(const torch::Tensor& new_tokens) {
  tokens = with(new_tokens);
  length = tokens.size(1);
}

torch::Tensor DecodeCache::with(const torch::Tensor& new_tokens) const {
  return tokens.defined() ? torch::cat({tokens, new_tokens}, 1) : new_tokens;
}

}  // namespace eqt::models
