// eqt/train/checkpoint.cpp — see checkpoint.h.
#include "eqt/train/checkpoint.h"

#include "eqt/io/tensor_file.h"
#include "eqt/models/family.h"

#include <cmath>

#include <sstream>
#include <stdexcept>
#include <type_traits>

namespace eqt::train {
namespace {

// The optimizer's state map is keyed by the parameter's TensorImpl: as a string in
// LibTorch 1.13, as void* in later versions. Derive the key from the map's own type.
template <class Key>
Key key_of(const torch::Tensor& p) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream s;  // what 1.13's c10::guts::to_string does (gone in 2.x)
    s << p.unsafeGetTensorImpl();
    return s.str();
  } else
    return static_cast<Key>(p.unsafeGetTensorImpl());
}

auto state_key(torch::optim::Optimizer& opt, const torch::Tensor& p) {
  return key_of<typename std::decay_t<decltype(opt.state())>::key_type>(p);
}

torch::optim::AdamWParamState* state_of(torch::optim::AdamW& opt, const torch::Tensor& p) {
  auto it = opt.state().find(state_key(opt, p));
  if (it == opt.state().end()) return nullptr;
  return static_cast<torch::optim::AdamWParamState*>(it->second.get());
}

}  // namespace

void save_checkpoint(const std::string& path, models::ModelImpl& model, torch::optim::AdamW* opt,
                     const nlohmann::json& extra_meta, at::Generator* train_gen,
                     const std::vector<torch::Tensor>& ema, const std::map<std::string, torch::Tensor>& carry) {
  io::TensorFile f;
  f.meta = extra_meta;
  f.meta["format"] = "eqt-checkpoint";
  f.meta["eqt_version"] = EQT_VERSION;
  f.meta["model"] = model.config().to_json();
  for (const auto& p : model.named_parameters()) f.tensors.emplace_back("model." + p.key(), p.value().detach());
  for (const auto& b : model.named_buffers()) f.tensors.emplace_back("model." + b.key(), b.value().detach());
  if (!ema.empty()) {
    auto named = model.named_parameters();
    TORCH_CHECK(ema.size() == named.size(), "EMA has ", ema.size(), " tensors for ", named.size(), " parameters");
    for (size_t i = 0; i < ema.size(); ++i) f.tensors.emplace_back("ema." + named[i].key(), ema[i]);
  }
  if (opt) {
    nlohmann::json steps = nlohmann::json::array();
    auto params = model.parameters();
    for (size_t i = 0; i < params.size(); ++i) {
      auto* st = state_of(*opt, params[i]);
      steps.push_back(st ? st->step() : 0);
      if (!st) continue;
      f.tensors.emplace_back("optim." + std::to_string(i) + ".exp_avg", st->exp_avg());
      f.tensors.emplace_back("optim." + std::to_string(i) + ".exp_avg_sq", st->exp_avg_sq());
    }
    f.meta["optim_steps"] = steps;
  }
  for (const auto& [name, t] : carry) f.tensors.emplace_back("carry." + name, t.detach().cpu());
  if (train_gen) f.tensors.emplace_back("rng.train", train_gen->get_state());
  f.tensors.emplace_back("rng.global", at::detail::getDefaultCPUGenerator().get_state());
  io::save_tensor_file(path, f);
}

Checkpoint load_checkpoint(const std::string& path) {
  auto f = io::load_tensor_file(path);
  auto fail = [&](const std::string& what) -> std::runtime_error {
    return std::runtime_error("checkpoint '" + path + "': " + what);
  };
  const auto& meta = f.meta;
  if (!meta.is_object() || !meta.contains("format") || meta["format"] != "eqt-checkpoint")
    throw fail("not an eqt checkpoint (no format tag)");
  if (!meta.contains("model") || !meta["model"].is_object()) throw fail("has no model config (meta.model object)");
  if (!meta.contains("task") || !meta["task"].is_object() || !meta["task"].contains("name") ||
      !meta["task"]["name"].is_string())
    throw fail("has no task (meta.task object with a name)");
  if (meta.contains("step") && !(meta["step"].is_number_unsigned()))
    throw fail("meta.step = " + meta["step"].dump() + "; expected an integer >= 0");
  if (meta.contains("train") && !meta["train"].is_object()) throw fail("meta.train is not an object");
  if (meta.contains("optim_steps") && !meta["optim_steps"].is_array()) throw fail("meta.optim_steps is not an array");
  models::ModelConfig cfg;
  try {
    cfg = models::ModelConfig::from_saved_json(meta["model"]);
  } catch (const std::exception& e) {
    throw fail(std::string("bad model config: ") + e.what());
  }
  double held = 0;  // model.* elements in the file
  for (const auto& [name, t] : f.tensors)
    if (name.rfind("model.", 0) == 0) held += double(t.numel());
  if (const double least = min_params(cfg); least > held)
    throw fail("its model config describes at least " + std::to_string(int64_t(least)) +
               " parameters, the file holds " + std::to_string(int64_t(held)) + " (damaged metadata?)");
  Checkpoint ck;
  ck.meta = meta;
  try {
    ck.model = models::make_model(cfg);
  } catch (const std::exception& e) {
    throw fail(std::string("bad model config: ") + e.what());
  }
  std::map<std::string, torch::Tensor> by_name(f.tensors.begin(), f.tensors.end());
  torch::NoGradGuard ng;
  auto copy_in = [&](const std::string& name, torch::Tensor dst) {
    auto it = by_name.find("model." + name);
    if (it == by_name.end()) throw fail("missing tensor model." + name);
    if (it->second.sizes() != dst.sizes())
      throw fail("tensor model." + name + " has shape " + c10::str(it->second.sizes()) + ", the model expects " +
                 c10::str(dst.sizes()));
    dst.copy_(it->second);
  };
  for (auto& p : ck.model->named_parameters()) copy_in(p.key(), p.value());
  for (auto& b : ck.model->named_buffers()) copy_in(b.key(), b.value());
  if (by_name.count("ema." + ck.model->named_parameters()[0].key()))
    for (auto& p : ck.model->named_parameters()) {
      auto it = by_name.find("ema." + p.key());
      if (it == by_name.end() || it->second.sizes() != p.value().sizes())
        throw fail("EMA tensor ema." + p.key() + " is missing or has the wrong shape");
      ck.ema.push_back(it->second);
    }
  if (f.meta.contains("optim_steps")) {
    for (const auto& s : f.meta["optim_steps"])
      if (!s.is_number_unsigned()) throw fail("meta.optim_steps holds " + s.dump() + "; expected integers >= 0");
    ck.optim_steps = f.meta["optim_steps"].get<std::vector<int64_t>>();
    if (ck.optim_steps.size() != ck.model->parameters().size())
      throw fail("meta.optim_steps has " + std::to_string(ck.optim_steps.size()) + " entries for " +
                 std::to_string(ck.model->parameters().size()) + " parameters");
    for (size_t i = 0; i < ck.optim_steps.size(); ++i) {
      auto a = by_name.find("optim." + std::to_string(i) + ".exp_avg");
      auto b = by_name.find("optim." + std::to_string(i) + ".exp_avg_sq");
      ck.optim_exp_avg.push_back(a == by_name.end() ? torch::Tensor() : a->second);
      ck.optim_exp_avg_sq.push_back(b == by_name.end() ? torch::Tensor() : b->second);
    }
  }
  for (const auto& [name, t] : by_name)
    if (name.rfind("carry.", 0) == 0) ck.carry[name.substr(6)] = t;
  if (by_name.count("rng.train")) ck.rng_train = by_name["rng.train"];
  if (by_name.count("rng.global")) ck.rng_global = by_name["rng.global"];
  return ck;
}

void restore_optimizer(const Checkpoint& ck, torch::optim::AdamW& opt) {
  auto params = ck.model->parameters();
  TORCH_CHECK(ck.optim_steps.empty() || ck.optim_steps.size() == params.size(),
              "checkpoint optimizer state has ", ck.optim_steps.size(), " entries for ", params.size(), " parameters");
  for (size_t i = 0; i < ck.optim_steps.size(); ++i) {
    if (!ck.optim_exp_avg[i].defined()) continue;
    auto st = std::make_unique<torch::optim::AdamWParamState>();
    st->step(ck.optim_steps[i]);
    // On the parameter's device: a run saved on one device resumes on another.
    st->exp_avg(ck.optim_exp_avg[i].to(params[i].device(), /*non_blocking=*/false, /*copy=*/true));
    st->exp_avg_sq(ck.optim_exp_avg_sq[i].to(params[i].device(), /*non_blocking=*/false, /*copy=*/true));
    opt.state()[state_key(opt, params[i])] = std::move(st);
  }
}

double min_params(const models::ModelConfig& c) {
  const int64_t blocks = models::find_family(c.family).blocks(c);
  const double C = double(c.block.d_model), H = std::floor(c.block.mlp_mult * C);
  return double(c.vocab) * C + double(blocks) * (4 * C * C + (c.block.mlp == "swiglu" ? 3 : 2) * H * C);
}

}  // namespace eqt::train
