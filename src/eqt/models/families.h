// eqt/models/families.h — the model families (REFERENCE 1's table and TRM), each composed
// from TokenIO, BlockStacks, the solvers and the gradient modes; no block is copied.
//   standard   embed -> N blocks -> logits
//   looped     embed -> prelude -> K x core(inject(s, e)) -> coda -> logits
//   deq        embed -> u = Norm(W e) -> solve z = core(z + u) - z from z = 0 -> logits
//   attractor  embed -> backbone = c -> solve y = Head(y + c) - y from y = c -> logits
//   eqt        embed -> per block: f = block(h), h = refine(f) on a learned energy -> logits
//   trm        x = rms(embed) -> T cycles of (n x z_L = L(z_L + z_H + x), z_H = L(z_H + z_L)) -> logits(z_H)
#pragma once

#include "eqt/models/closed_loop.h"
#include "eqt/models/energy.h"
#include "eqt/models/family.h"
#include "eqt/models/model.h"
#include "eqt/nn/post_norm_block.h"

namespace eqt::models {

// Each family's row of the family table (family.h), defined beside its class.
Family standard_family();
Family looped_family();
Family deq_family();
Family attractor_family();
Family eqt_family();
Family trm_family();

class StandardImpl : public ModelImpl {
 public:
  explicit StandardImpl(const ModelConfig& cfg);

 protected:
  ModelOutput compute(const torch::Tensor& tokens, DecodeCache* cache, const ModelConfig& cfg,
                      const StartState& start) override;

 private:
  TokenIO embed_{nullptr};
  nn::BlockStack blocks_{nullptr};
};

class LoopedImpl : public ModelImpl {
 public:
  explicit LoopedImpl(const ModelConfig& cfg);

 protected:
  ModelOutput compute(const torch::Tensor& tokens, DecodeCache* cache, const ModelConfig& cfg,
                      const StartState& start) override;

 private:
  // One core iteration i on state s with injection e (cached under "core.<i>").
  torch::Tensor step(const torch::Tensor& s, const torch::Tensor& e, DecodeCache* cache, int64_t i);
  TokenIO embed_{nullptr};
  nn::BlockStack prelude_{nullptr}, core_{nullptr}, coda_{nullptr};
  torch::nn::Linear adapter_{nullptr};  // (C, 2C) for concat injection
};

class DEQImpl : public ModelImpl {
 public:
  explicit DEQImpl(const ModelConfig& cfg);

 protected:
  ModelOutput compute(const torch::Tensor& tokens, DecodeCache* cache, const ModelConfig& cfg,
                      const StartState& start) override;

 private:
  TokenIO embed_{nullptr};
  torch::nn::Linear inject_{nullptr};  // (C, C)
  nn::Norm inject_norm_{nullptr};
  nn::BlockStack core_{nullptr};
};

class AttractorImpl : public ModelImpl {
 public:
  explicit AttractorImpl(const ModelConfig& cfg);

 protected:
  ModelOutput compute(const torch::Tensor& tokens, DecodeCache* cache, const ModelConfig& cfg,
                      const StartState& start) override;

 private:
  TokenIO embed_{nullptr};
  nn::BlockStack backbone_{nullptr}, head_{nullptr};
};

class EqTImpl : public ModelImpl {
 public:
  explicit EqTImpl(const ModelConfig& cfg);

 protected:
  ModelOutput compute(const torch::Tensor& tokens, DecodeCache* cache, const ModelConfig& cfg,
                      const StartState& start) override;

 private:
  TokenIO embed_{nullptr};
  std::vector<nn::Block> blocks_;
  std::vector<nn::Norm> out_norms_;  // LayerNorm after each refinement
  Energy energy_{nullptr};
};

class TRMImpl : public ModelImpl {
 public:
  explicit TRMImpl(const ModelConfig& cfg);

 protected:
  ModelOutput compute(const torch::Tensor& tokens, DecodeCache* cache, const ModelConfig& cfg,
                      const StartState& start) override;

 private:
  torch::Tensor net(torch::Tensor h);  // the shared net's blocks in order: (B, T, C) -> (B, T, C)
  TokenIO embed_{nullptr};
  std::vector<nn::PostNormBlock> net_;
  torch::Tensor h_init_, l_init_;  // (C,) the family's start of z_H and z_L
};

}  // namespace eqt::models
