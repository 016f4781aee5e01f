// eqt/models/model.cpp — shared parts of every family and the family factory.
#include "eqt/models/model.h"

#include "eqt/models/families.h"
#include "eqt/models/family.h"

namespace eqt::models {

std::map<std::string, int64_t> ModelImpl::param_counts() const {
  std::map<std::string, int64_t> counts;
  for (const auto& p : named_parameters()) {
    auto top = p.key().substr(0, p.key().find('.'));
    counts[top] += p.value().numel();
  }
  return counts;
}

int64_t ModelImpl::param_total() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

ModelOutput ModelImpl::forward(const torch::Tensor& tokens, const RefineLimits& limits) {
  check_tokens(tokens, 0);
  if (limits.empty()) return compute(tokens, nullptr, cfg_);
  return compute(tokens, nullptr, limits.applied_to(cfg_));
}

ModelOutput ModelImpl::forward_cached(const torch::Tensor& tokens, DecodeCache& cache, const RefineLimits& limits) {
  check_tokens(tokens, cache.length);
  TORCH_CHECK(!cache.tokens.defined() || cache.tokens.size(0) == tokens.size(0), "forward_cached: batch ",
              tokens.size(0), " differs from the cached batch ", cache.tokens.size(0));
  TORCH_CHECK(!is_training(), "forward_cached is inference only: call eval() first");
  torch::NoGradGuard ng;
  auto out = limits.empty() ? compute(tokens, &cache, cfg_) : compute(tokens, &cache, limits.applied_to(cfg_));
  cache.advance(tokens);
  return out;
}

ModelOutput ModelImpl::forward_rows(const torch::Tensor& tokens, const std::vector<DecodeCache*>& rows,
                                    const RefineLimits& limits) {
  TORCH_CHECK(tokens.dim() == 2 && tokens.size(0) == int64_t(rows.size()), "forward_rows: tokens ", tokens.sizes(),
              " for ", rows.size(), " rows");
  TORCH_CHECK(!is_training(), "forward_rows is inference only: call eval() first");
  torch::NoGradGuard ng;
  auto view = DecodeCache::batch_of(rows);
  check_tokens(tokens, view.length);  // the longest row
  ModelConfig cfg = limits.applied_to(cfg_);
  cfg.freeze = true;  // a converged row stops where it would stop alone, whatever the others do
  auto out = compute(tokens, &view, cfg);
  view.advance(tokens);
  view.unbatch_into(rows);
  return out;
}

void ModelImpl::check_tokens(const torch::Tensor& tokens, int64_t pos0) const {
  TORCH_CHECK(tokens.dim() == 2 && tokens.scalar_type() == torch::kLong, "tokens must be (B, T) int64, got ",
              tokens.sizes(), " ", tokens.scalar_type());
  TORCH_CHECK(pos0 + tokens.size(1) <= cfg_.max_seq, "sequence length ", pos0 + tokens.size(1), " exceeds max_seq ",
              cfg_.max_seq);
  if (tokens.numel() > 0)
    TORCH_CHECK(tokens.min().item<int64_t>() >= 0 && tokens.max().item<int64_t>() < cfg_.vocab,
                "token ids must lie in [0, ", cfg_.vocab, ")");
}

void ModelImpl::init_weights() {
  torch::NoGradGuard ng;
  for (auto& p : named_parameters()) {
    const auto& name = p.key();
    bool matrix = p.value().dim() == 2;
    bool is_linear = name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
    if (matrix && is_linear) p.value().normal_(0.0, cfg_.init_std);
  }
}

std::shared_ptr<ModelImpl> make_model(const ModelConfig& cfg) {
  cfg.validate();
  switch (find_family(cfg.family).kind) {
    case FamilyKind::Standard: return std::make_shared<StandardImpl>(cfg);
    case FamilyKind::Looped: return std::make_shared<LoopedImpl>(cfg);
    case FamilyKind::DEQ: return std::make_shared<DEQImpl>(cfg);
    case FamilyKind::Attractor: return std::make_shared<AttractorImpl>(cfg);
    case FamilyKind::EqT: return std::make_shared<EqTImpl>(cfg);
  }
  TORCH_CHECK(false, "make_model: family '", cfg.family, "' has no constructor");
}

}  // namespace eqt::models
