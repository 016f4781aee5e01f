// eqt/models/model.cpp — shared parts of every family and the family factory.
#include "eqt/models/model.h"

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

ModelOutput ModelImpl::forward(const torch::Tensor& tokens, const ForwardOptions& opts) {
  check_tokens(tokens, 0);
  ModelOutput out;
  if (opts.limits.empty() && !opts.solver) {
    out = compute(tokens, nullptr, cfg_, opts.start);
  } else {
    ModelConfig cfg = cfg_;
    if (opts.solver) cfg.solver = *opts.solver;  // validated with the limits below
    out = compute(tokens, nullptr, opts.limits.applied_to(cfg), opts.start);
  }
  if (halt_ && out.halt_features.defined()) out.q_halt = halt_(out.halt_features).squeeze(-1);  // (B,)
  return out;
}

void ModelImpl::add_halt_head() {
  TORCH_CHECK(!halt_, "add_halt_head: the model has one");
  const int64_t C = cfg_.block.d_model;
  halt_ = register_module("halt", torch::nn::Linear(torch::nn::LinearOptions(C, 1)));
  torch::NoGradGuard ng;
  halt_->weight.zero_();
  halt_->bias.fill_(-5.0);
}

ModelOutput ModelImpl::forward_cached(const torch::Tensor& tokens, DecodeCache& cache, const RefineLimits& limits) {
  check_tokens(tokens, cache.length);
  TORCH_CHECK(!cache.tokens.defined() || cache.tokens.size(0) == tokens.size(0), "forward_cached: batch ",
              tokens.size(0), " differs from the cached batch ", cache.tokens.size(0));
  TORCH_CHECK(!is_training(), "forward_cached is inference only: call eval() first");
  torch::NoGradGuard ng;
  auto out = limits.empty() ? compute(tokens, &cache, cfg_, {}) : compute(tokens, &cache, limits.applied_to(cfg_), {});
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
  cfg.solver.freeze = true;  // a converged row stops where it would stop alone, whatever the others do
  auto out = compute(tokens, &view, cfg, {});
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
    if (matrix && is_linear) p.value().normal_(0.0, cfg_.block.init_std);
  }
}

std::shared_ptr<ModelImpl> make_model(const ModelConfig& cfg) {
  cfg.validate();
  auto model = find_family(cfg.family).make(cfg);
  if (cfg.halt.head) model->add_halt_head();
  return model;
}

}  // namespace eqt::models
