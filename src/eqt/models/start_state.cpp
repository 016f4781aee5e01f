// eqt/models/start_state.cpp — see start_state.h.
#include "eqt/models/start_state.h"

#include "eqt/util/per_sample.h"

#include <ATen/CPUGeneratorImpl.h>

#include <stdexcept>

namespace eqt::models {

StartState StartState::continue_from(const torch::Tensor& state, double path_noise, std::vector<uint64_t> seeds) {
  StartState s;
  s.policy = Policy::Given;
  s.given = state;
  s.path_noise = path_noise;
  s.seeds = std::move(seeds);
  return s;
}

void StartState::validate() const {
  auto bad = [](const std::string& what) { throw std::invalid_argument("start state: " + what); };
  if (!(scale >= 0)) bad("scale = " + std::to_string(scale) + " is invalid; expected a number >= 0");
  if (!(path_noise >= 0)) bad("path_noise = " + std::to_string(path_noise) + " is invalid; expected a number >= 0");
  if (policy == Policy::Given && !given.defined()) bad("policy 'given' without a tensor");
  if ((policy == Policy::Random || path_noise > 0) && seeds.empty())
    bad("a random start or path noise needs one seed per batch row, got none");
}

RowNoise::RowNoise(const std::vector<uint64_t>& seeds) {
  for (auto s : seeds) gens_.push_back(at::make_generator<at::CPUGeneratorImpl>(s));
}

torch::Tensor RowNoise::draw(const torch::Tensor& like) {
  if (int64_t(gens_.size()) != like.size(0))
    throw std::invalid_argument("start state: " + std::to_string(gens_.size()) + " seeds for a batch of " +
                                std::to_string(like.size(0)) + " rows; expected one per row");
  auto row_shape = like.sizes().slice(1);
  std::vector<torch::Tensor> rows;
  rows.reserve(gens_.size());
  for (auto& g : gens_) rows.push_back(torch::randn(row_shape, g, torch::kFloat32));
  return torch::stack(rows).to(like.device(), like.scalar_type());  // (B, ...)
}

torch::Tensor start_from(const StartState& start, const torch::Tensor& family_start, RowNoise* noise,
                         const std::string& family) {
  switch (start.policy) {
    case StartState::Policy::Family: return family_start;
    case StartState::Policy::Given:
      if (start.given.sizes() != family_start.sizes())
        throw std::invalid_argument("start state for " + family + ": the given state has shape " +
                                    c10::str(start.given.sizes()) + ", expected " + c10::str(family_start.sizes()));
      if (!start.given_rows.defined()) return start.given.detach().to(family_start.device(), family_start.scalar_type());
      if (start.given_rows.dim() != 1 || start.given_rows.size(0) != family_start.size(0))
        throw std::invalid_argument("start state for " + family + ": given_rows has shape " +
                                    c10::str(start.given_rows.sizes()) + ", expected (" +
                                    std::to_string(family_start.size(0)) + ",)");
      {
        std::vector<int64_t> shape(size_t(family_start.dim()), 1);
        shape[0] = family_start.size(0);
        auto rows = start.given_rows.to(family_start.device(), torch::kBool).view(shape);  // (B, 1, ...)
        return torch::where(rows, start.given.detach().to(family_start.device(), family_start.scalar_type()),
                            family_start);
      }
    case StartState::Policy::Random:
      TORCH_CHECK(noise, "start_from: a random start without a generator");
      if (start.given.defined()) {  // the given rows from `given`, the others at random
        StartState given = start, rand = start;
        given.policy = StartState::Policy::Given;
        rand.given = rand.given_rows = torch::Tensor();
        const auto r = start_from(rand, family_start, noise, family);  // draws for every row
        return start_from(given, r, noise, family);
      }
      if (!start.row_scale.defined()) return family_start + start.scale * noise->draw(family_start);
      if (start.row_scale.dim() != 1 || start.row_scale.size(0) != family_start.size(0))
        throw std::invalid_argument("start state for " + family + ": row_scale has shape " +
                                    c10::str(start.row_scale.sizes()) + ", expected (" +
                                    std::to_string(family_start.size(0)) + ",)");
      {
        const auto k = util::per_sample(start.row_scale.to(family_start.device(), family_start.scalar_type()),
                                        family_start);  // (B, 1, ...)
        return family_start + start.scale * k * noise->draw(family_start);
      }
  }
  return family_start;
}

void check_start(const StartState& start, const std::string& family, bool can_start, bool can_noise) {
  start.validate();
  if (!can_start && start.policy != StartState::Policy::Family)
    throw std::invalid_argument("start state: family '" + family +
                                "' has no loop state to start elsewhere; expected the family's own start");
  if (!can_noise && start.path_noise > 0)
    throw std::invalid_argument("start state: family '" + family +
                                "' takes no path noise (its loop is a solve or has none); expected path_noise 0");
}

}  // namespace eqt::models
