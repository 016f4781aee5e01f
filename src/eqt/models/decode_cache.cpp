// eqt/models/decode_cache.cpp — see decode_cache.h.
#include "eqt/models/decode_cache.h"

#include <algorithm>

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

torch::Tensor DecodeCache::positions(int64_t T, torch::Device dev) const {
  auto pos = torch::arange(length, length + T, torch::TensorOptions().dtype(torch::kInt64).device(dev));  // (T,)
  return offset.defined() ? pos.unsqueeze(0) - offset.to(dev).unsqueeze(1) : pos;
}

namespace {

// rows' tensors t_b (1, ..., L_b along dim) left-padded with zeros to L and stacked: (B, ..., L).
torch::Tensor left_padded(const std::vector<torch::Tensor>& t, int64_t dim, int64_t L) {
  std::vector<torch::Tensor> padded;
  for (const auto& x : t) {
    std::vector<int64_t> pad(2 * (x.dim() - dim), 0);  // (last dim first) ... (dim: before, after)
    pad[pad.size() - 2] = L - x.size(dim);
    padded.push_back(torch::constant_pad_nd(x, pad, 0));
  }
  return torch::cat(padded, 0);
}

}  // namespace

DecodeCache DecodeCache::batch_of(const std::vector<DecodeCache*>& rows) {
  TORCH_CHECK(!rows.empty(), "batch_of: no rows");
  const int64_t B = int64_t(rows.size());
  std::vector<int64_t> len;
  for (const auto* r : rows) {
    TORCH_CHECK(r->length >= 1 && r->tokens.defined() && r->tokens.size(0) == 1 && !r->offset.defined(),
                "batch_of: every row must be one prefilled sequence (B = 1, length >= 1)");
    TORCH_CHECK(r->kv.size() == rows[0]->kv.size(), "batch_of: rows cache different stacks");
    len.push_back(r->length);
  }
  DecodeCache m;
  m.length = *std::max_element(len.begin(), len.end());
  const auto dev = rows[0]->tokens.device();
  m.offset = m.length - torch::tensor(len, torch::kInt64).to(dev);  // (B,)
  std::vector<torch::Tensor> toks;
  for (const auto* r : rows) toks.push_back(r->tokens);
  m.tokens = left_padded(toks, 1, m.length);  // (B, length), padding token 0 (never read)
  for (const auto& [name, blocks] : rows[0]->kv) {
    auto& merged = m.kv[name];
    for (size_t i = 0; i < blocks.size(); ++i) {
      std::vector<torch::Tensor> k, v;
      for (int64_t b = 0; b < B; ++b) {
        auto it = rows[b]->kv.find(name);
        TORCH_CHECK(it != rows[b]->kv.end() && it->second.size() == blocks.size() &&
                        it->second[i].length() == rows[b]->length,
                    "batch_of: row ", b, " has no cache of all ", rows[b]->length, " positions for '", name, "'");
        k.push_back(it->second[i].k);
        v.push_back(it->second[i].v);
      }
      merged.push_back(nn::KVCache{left_padded(k, 2, m.length), left_padded(v, 2, m.length), m.offset});
    }
  }
  return m;
}

void DecodeCache::unbatch_into(const std::vector<DecodeCache*>& rows) const {
  TORCH_CHECK(offset.defined() && int64_t(rows.size()) == offset.size(0), "unbatch_into: ", rows.size(),
              " rows for a ragged view of ", offset.defined() ? offset.size(0) : 0);
  auto off = offset.cpu();
  for (size_t b = 0; b < rows.size(); ++b) {
    const int64_t o = off[b].item<int64_t>(), n = length - o;
    DecodeCache& r = *rows[b];
    r.length = n;
    r.tokens = tokens.narrow(0, b, 1).narrow(1, o, n);
    for (const auto& [name, blocks] : kv) {
      auto& mine = r.kv[name];
      mine.clear();
      for (const auto& c : blocks) {  // a stack this call skipped keeps its shorter length (past() refuses it)
        const int64_t held = c.length() - o;
        mine.push_back(
            nn::KVCache{c.k.narrow(0, b, 1).narrow(2, o, held), c.v.narrow(0, b, 1).narrow(2, o, held), {}});
      }
    }
  }
}

}  // namespace eqt::models
