// eqt/models/start_state.h — where one forward call's closed loop starts, and the noise that
// rides along its path: the family's own start, a given tensor (a carried state, a restart
// from a state the caller kept), or the family's start plus Gaussian noise (a random
// restart). Every random draw of row b comes from a generator seeded with seeds[b], drawn on
// the CPU in float32 and moved to the state's device and dtype, so a row's numbers depend on
// its seed alone: the same request batched with others equals it alone, on any device.
// What it is not: a sampler of tokens (infer/sampler.h) or the training-time noise start of
// the looped family (looped.state_init), which stays the family's own start.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace eqt::models {

struct StartState {
  enum class Policy { Family, Given, Random };
  Policy policy = Policy::Family;
  torch::Tensor given;          // Given: (B, T, C) the state to start from (detached)
  // Given: (B,) bool, the rows that start from `given`; the others start from the family's
  // own start (undefined: every row). Random with `given` and given_rows: those rows from
  // `given`, the others at random (training with EqR's random starts and carried rows). The carried state of deep supervision: a row whose
  // example was just replaced starts anew while the others continue.
  torch::Tensor given_rows;
  double scale = 1.0;           // Random: the family's start + scale * N(0, I)
  // Random: (B,) float, each row's multiplier of `scale` (undefined: 1 for every row); a row
  // at 0 starts exactly at the family's start (restart 0 of eval --restarts).
  torch::Tensor row_scale;
  double path_noise = 0.0;      // families with explicit iterations: + path_noise * N(0, I) after each
  std::vector<uint64_t> seeds;  // Random and path noise: one seed per batch row

  bool is_default() const { return policy == Policy::Family && path_noise == 0; }
  // A forward that continues from a previous one's loop state (another supervision step):
  // Given, every row from `state`, with that path noise and those per-row seeds.
  static StartState continue_from(const torch::Tensor& state, double path_noise = 0.0,
                                  std::vector<uint64_t> seeds = {});
  // std::invalid_argument naming the bad value: a negative scale or noise, seeds missing.
  void validate() const;
};

// One generator per batch row, seeded once; draw() continues each row's stream.
class RowNoise {
 public:
  explicit RowNoise(const std::vector<uint64_t>& seeds);
  // (B, ...) N(0, I), row b from generator b, shaped like `like` and on its device / dtype.
  torch::Tensor draw(const torch::Tensor& like);

 private:
  std::vector<at::Generator> gens_;
};

// The state a loop starts from under `start`: family_start itself (Family), start.given
// checked against its shape (Given), or family_start + scale * noise.draw (Random).
// `family` names the family in errors; noise must be non-null for Random.
torch::Tensor start_from(const StartState& start, const torch::Tensor& family_start, RowNoise* noise,
                         const std::string& family);

// Throws std::invalid_argument naming the family when `start` asks for what it cannot do:
// `can_start` false refuses Given and Random, `can_noise` false refuses path noise.
void check_start(const StartState& start, const std::string& family, bool can_start, bool can_noise);

}  // namespace eqt::models
