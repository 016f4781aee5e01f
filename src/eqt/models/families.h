// eqt/models/families.h — the five model families (REFERENCE 1's table), each composed
// from TokenIO, BlockStacks, the solvers and the gradient modes; no block is copied.
//   standard   embed -> N blocks -> logits
//   looped     embed -> prelude -> K x core(inject(s, e)) -> coda -> logits
//   deq        embed -> u = Norm(W e) -> solve z = core(z + u) - z from z = 0 -> logits
//   attractor  embed -> backbone = c -> solve y = Head(y + c) - y from y = c -> logits
//   eqt        embed -> per block: f = block(h), h = refine(f) on a learned energy -> logits
#pragma once

#include "eqt/models/closed_loop.h"
#include "eqt/models/energy.h"
#include "eqt/models/model.h"

namespace eqt::models {

class StandardImpl : public ModelImpl {
 public:
  explicit StandardImpl(const ModelConfig& cfg);

 protected:
  ModelOutput compute(const torch::Tensor& tokens, DecodeCache* cache, const ModelConfig& cfg) override;

 private:
  TokenIO embed_{nullptr};
  nn::BlockStack blocks_{nullptr};
};

class LoopedImpl : public ModelImpl {
 public:
  explicit LoopedImpl(const ModelConfig& cfg);

 protected:
  ModelOutput compute(const torch::Tensor& tokens, DecodeCache* cache, const ModelConfig& cfg) override;

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
  ModelOutput compute(const torch::Tensor& tokens, DecodeCache* cache, const ModelConfig& cfg) override;

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
  ModelOutput compute(const torch::Tensor& tokens, DecodeCache* cache, const ModelConfig& cfg) override;

 private:
  TokenIO embed_{nullptr};
  nn::BlockStack backbone_{nullptr}, head_{nullptr};
};

class EqTImpl : public ModelImpl {
 public:
  explicit EqTImpl(const ModelConfig& cfg);

 protected:
  ModelOutput compute(const torch::Tensor& tokens, DecodeCache* cache, const ModelConfig& cfg) override;

 private:
  TokenIO embed_{nullptr};
  std::vector<nn::Block> blocks_;
  std::vector<nn::Norm> out_norms_;  // LayerNorm after each refinement
  Energy energy_{nullptr};
};

}  // namespace eqt::models
