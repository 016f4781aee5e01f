// eqt/train/checkpoint.h — a training checkpoint in the eqt tensor file format.
//
// meta: {"format": "eqt-checkpoint", "eqt_version", "model": <ModelConfig JSON>,
//        "task": {"name", options...}, "train": {...}, "step", "optim_steps": [...]}
// tensors: "model.<parameter or buffer>", "optim.<i>.exp_avg", "optim.<i>.exp_avg_sq"
//          (i = parameter index), "rng.train", "rng.global" (generator states), and with
//          an EMA of the weights "ema.<parameter>", and with deep supervision the rows
//          carried to the next step "carry.<name>" (RowCarry::snapshot).
// Written atomically; loading checks the format tag, builds the model from its config and
// requires every parameter with its exact shape, so a file from another model fails with
// a message naming the first mismatch.
#pragma once

#include "eqt/models/model.h"

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>

namespace eqt::train {

struct Checkpoint {
  std::shared_ptr<models::ModelImpl> model;
  nlohmann::json meta;                        // everything in the file's metadata
  std::vector<torch::Tensor> optim_exp_avg;    // per parameter, empty if absent
  std::vector<torch::Tensor> optim_exp_avg_sq;
  std::vector<int64_t> optim_steps;
  torch::Tensor rng_train, rng_global;         // uint8 generator states (undefined if absent)
  std::vector<torch::Tensor> ema;              // per parameter "ema.<name>", empty if absent
  std::map<std::string, torch::Tensor> carry;  // "carry.<name>" without the prefix, empty if absent
};

void save_checkpoint(const std::string& path, models::ModelImpl& model, torch::optim::AdamW* opt,
                     const nlohmann::json& extra_meta, at::Generator* train_gen,
                     const std::vector<torch::Tensor>& ema = {},
                     const std::map<std::string, torch::Tensor>& carry = {});

// Throws std::runtime_error naming the file and what is wrong with it.
Checkpoint load_checkpoint(const std::string& path);

// A lower bound on the parameters of a config, from its fields alone: the tied embedding
// and the blocks every model of its family has (4 C^2 attention + the MLP each). A loader
// compares it with what its file holds before building the model, so a small file whose
// metadata claims d_model 65536 or mlp_mult 1e6 is refused instead of allocating gigabytes.
double min_params(const models::ModelConfig& c);

// Copies the optimizer state of ck into opt (whose parameters are ck.model's).
void restore_optimizer(const Checkpoint& ck, torch::optim::AdamW& opt);

}  // namespace eqt::train
