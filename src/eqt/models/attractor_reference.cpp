// eqt/models/attractor_reference.cpp — see attractor_reference.h.
#include "eqt/models/attractor_reference.h"

#include "eqt/solve/solver.h"

#include <cmath>
#include <map>
#include <set>
#include <stdexcept>

namespace eqt::models {
namespace {

struct Source {
  std::map<std::string, torch::Tensor> t;
  std::set<std::string> used;
  std::string where;

  bool has(const std::string& name) const { return t.count(name) > 0; }
  torch::Tensor take(const std::string& name, const std::vector<int64_t>& shape) {
    auto it = t.find(name);
    if (it == t.end()) throw std::invalid_argument(where + " lacks tensor '" + name + "'");
    if (it->second.sizes().vec() != shape)
      throw std::invalid_argument(where + ": tensor '" + name + "' has shape " + c10::str(it->second.sizes()) +
                                  ", expected " + c10::str(shape));
    used.insert(name);
    return it->second.to(torch::kFloat32);
  }
};

[[noreturn]] void refuse(const std::string& where, const std::string& what, const std::string& why) {
  throw std::invalid_argument(where + ": " + what + " — " + why + "; eqt's attractor cannot hold this model");
}

// Number of blocks named prefix.<i>. in the state dict (0, 1, ... without gaps).
int64_t count_blocks(const Source& s, const std::string& prefix) {
  int64_t n = 0;
  while (true) {
    const std::string p = prefix + std::to_string(n) + ".";
    bool any = false;
    for (const auto& [name, _] : s.t) any = any || name.rfind(p, 0) == 0;
    if (!any) return n;
    ++n;
  }
}

// Rows of a (H * hd, C) projection from the reference's interleaved RoPE pairs to eqt's
// halves: eqt row h*hd + j <- 2j, eqt row h*hd + hd/2 + j <- 2j + 1.
torch::Tensor interleaved_to_halves(const torch::Tensor& w, int64_t heads) {
  const int64_t hd = w.size(0) / heads, half = hd / 2;
  std::vector<int64_t> idx;
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t j = 0; j < half; ++j) idx.push_back(h * hd + 2 * j);
    for (int64_t j = 0; j < half; ++j) idx.push_back(h * hd + 2 * j + 1);
  }
  return w.index_select(0, torch::tensor(idx, torch::kLong));
}

}  // namespace

ReferenceImport map_attractor_reference(const nlohmann::json& rc, const std::vector<std::pair<std::string, torch::Tensor>>& state,
                                        int64_t vocab, const std::string& where, const std::string& config_where) {
  Source s;
  s.where = where;
  for (const auto& [name, t] : state) s.t[name] = t;
  ReferenceImport out;
  auto& cfg = out.config;
  cfg = ModelConfig::preset("attractor");

  // The config's fields, typed: a field of the wrong type or a non-integral count is refused
  // naming the file and the key, never truncated or passed on as a bare JSON error.
  auto field = [&](const nlohmann::json& obj, const char* key) -> const nlohmann::json* {
    return obj.is_object() && obj.contains(key) && !obj[key].is_null() ? &obj[key] : nullptr;
  };
  auto bad = [&](const std::string& key, const nlohmann::json& v, const std::string& expected) {
    throw std::invalid_argument(config_where + ": '" + key + "' is " + v.dump() + ", expected " + expected);
  };
  auto real_in = [&](const nlohmann::json& obj, const std::string& prefix, const char* key, double dflt) {
    const auto* v = field(obj, key);
    if (!v) return dflt;
    if (!v->is_number()) bad(prefix + key, *v, "a number");
    const double x = v->get<double>();
    if (!std::isfinite(x)) bad(prefix + key, *v, "a finite number");
    return x;
  };
  auto real = [&](const char* key, double dflt) { return real_in(rc, "", key, dflt); };
  auto integer_in = [&](const nlohmann::json& obj, const std::string& prefix, const char* key, int64_t dflt) {
    const auto* v = field(obj, key);
    if (!v) return dflt;
    const double x = v->is_number() ? v->get<double>() : NAN;
    if (!v->is_number() || x != std::floor(x) || std::abs(x) > 1e15) bad(prefix + key, *v, "an integer");
    return int64_t(x);
  };
  auto integer = [&](const char* key, int64_t dflt) { return integer_in(rc, "", key, dflt); };
  auto boolean_in = [&](const nlohmann::json& obj, const std::string& prefix, const char* key, bool dflt) {
    const auto* v = field(obj, key);
    if (!v) return dflt;
    if (!v->is_boolean()) bad(prefix + key, *v, "true or false");
    return v->get<bool>();
  };
  auto flag = [&](const char* key) { return boolean_in(rc, "", key, false); };
  auto str = [&](const char* key, const std::string& dflt) {
    const auto* v = field(rc, key);
    if (!v) return dflt;
    if (!v->is_string()) bad(key, *v, "a string");
    return v->get<std::string>();
  };
  auto scale_of = [&](const char* key) {
    if (field(rc, key)) return real(key, 1.0);
    if (const auto* init = field(rc, "init")) return real_in(*init, "init.", key, 1.0);
    return 1.0;
  };
  if (!rc.is_object()) throw std::invalid_argument(config_where + ": expected a JSON object (the reference's model config)");

  if (!s.has("transformer.wte.weight")) refuse(where, "no 'transformer.wte.weight'", "not an Attractor state dict");
  const auto wte = s.t.at("transformer.wte.weight");
  if (wte.dim() != 2) refuse(where, "'transformer.wte.weight' of shape " + c10::str(wte.sizes()), "expected (rows, n_embd)");
  const int64_t rows = wte.size(0), C = wte.size(1);
  if (integer("n_embd", C) != C) refuse(where, "n_embd " + std::to_string(integer("n_embd", C)), "the embedding is " + std::to_string(C) + " wide");
  if (vocab > rows)
    refuse(where, "an embedding of " + std::to_string(rows) + " rows", "the task here uses " + std::to_string(vocab) + " ids");
  const int64_t H = integer("num_attention_heads", 0);
  if (H <= 0 || C % H != 0) refuse(where, "num_attention_heads " + std::to_string(H), "expected a divisor of n_embd " + std::to_string(C));
  if (integer("num_key_value_heads", H) != H)
    refuse(where, "num_key_value_heads " + std::to_string(integer("num_key_value_heads", H)),
           "grouped-query attention; eqt has one key/value head per query head");
  for (const char* k : {"bias", "qk_bias"})
    if (flag(k)) refuse(where, std::string(k) + " true", "eqt's linear layers have no biases");
  if (field(rc, "clip_qkv")) refuse(where, "clip_qkv " + rc["clip_qkv"].dump(), "eqt does not clip q, k, v");
  if (field(rc, "logit_softcap")) refuse(where, "logit_softcap " + rc["logit_softcap"].dump(), "eqt's logits are not soft-capped");
  if (scale_of("logit_scale") != 1.0) refuse(where, "logit_scale " + std::to_string(scale_of("logit_scale")), "eqt's logits are unscaled");
  if (scale_of("embedding_scale") != 1.0)
    refuse(where, "embedding_scale " + std::to_string(scale_of("embedding_scale")), "eqt's embeddings are unscaled");
  if (!boolean_in(rc, "", "tie_embeddings", true)) refuse(where, "tie_embeddings false", "eqt ties embedding and unembedding");
  if (!boolean_in(rc, "", "causal", true)) refuse(where, "causal false", "a language model here attends to the past only");
  cfg.block.rope_base = 50000.0;  // the reference's default
  if (const auto* r = field(rc, "rope_settings")) {
    if (!r->is_object()) bad("rope_settings", *r, "an object");
    if (!boolean_in(*r, "rope_settings.", "use_rope", true)) refuse(where, "rope_settings.use_rope false", "eqt's attractor uses RoPE");
    const int64_t condense = integer_in(*r, "rope_settings.", "rope_condense_ratio", 1);
    if (condense != 1) refuse(where, "rope_settings.rope_condense_ratio " + std::to_string(condense), "eqt's RoPE is not condensed");
    cfg.block.rope_base = real_in(*r, "rope_settings.", "rope_base", 50000.0);
  }
  if (str("mlp_class_name", "BaseMLP") != "BaseMLP")
    refuse(where, "mlp_class_name " + str("mlp_class_name", ""), "eqt maps the reference's BaseMLP (fc, nonlinearity, proj) only");
  const std::string nonlin = str("nonlin_name", "GELU");
  if (nonlin != "GELU" && nonlin != "ReLU2") refuse(where, "nonlin_name " + nonlin, "eqt has GELU and ReLU2 (relu2, gelu)");
  const std::string norm = str("norm_class_name", "LayerNorm");
  if (norm != "LayerNorm" && norm != "RMSNorm") refuse(where, "norm_class_name " + norm, "eqt has LayerNorm and RMSNorm");
  if (rc.contains("layer_scale_init") && rc["layer_scale_init"].is_null())
    refuse(where, "layer_scale_init null", "its head has no LayerScale gates; eqt's head is gated");

  cfg.vocab = vocab;
  cfg.block.d_model = C;
  cfg.block.n_heads = H;
  cfg.block.mlp = nonlin == "GELU" ? "gelu" : "relu2";
  cfg.block.norm = norm == "RMSNorm" ? "rms" : "layer";
  cfg.block.positions = "rope";
  cfg.block.qk_norm = flag("qk_norm");
  cfg.block.causal = true;
  cfg.attractor.gamma_max = real("gamma_max", 1.0);
  cfg.max_seq = integer("block_size", kReferenceBlockSize);
  // The solver's knobs, bounded here so that the message names the reference's key.
  auto bounded = [&](const char* key, int64_t lo, int64_t hi) {
    const int64_t v = integer(key, lo);
    if (v < lo || v > hi) bad(key, rc[key], "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return v;
  };
  if (field(rc, "max_iter")) cfg.solver.eval_max_iter = cfg.solver.train_max_iter = bounded("max_iter", 1, solve::kMaxIterations);
  if (field(rc, "tol")) cfg.solver.eval_tol = cfg.solver.train_tol = real("tol", 0);
  if (field(rc, "anderson_m")) cfg.solver.window = bounded("anderson_m", 1, solve::kMaxHistory);  // Anderson's window
  const double eps = real("norm_eps", 1e-5);
  if (eps != 1e-6)
    out.notes.push_back("norm_eps " + c10::str(eps) + " becomes eqt's 1e-06: logits move by ~eps / mean(x^2), "
                        "about 1e-5 relative");

  const int64_t n_pre = count_blocks(s, "transformer.prelude."), n_core = count_blocks(s, "transformer.core_block.");
  if (integer("n_layers_in_prelude", n_pre) != n_pre)
    refuse(where, "n_layers_in_prelude " + rc["n_layers_in_prelude"].dump(), std::to_string(n_pre) + " prelude blocks are in the state dict");
  if (integer("n_layers_in_recurrent_block", n_core) != n_core)
    refuse(where, "n_layers_in_recurrent_block " + rc["n_layers_in_recurrent_block"].dump(),
           std::to_string(n_core) + " core blocks are in the state dict");
  if (n_core == 0) refuse(where, "no transformer.core_block.0", "an attractor needs its head");
  cfg.n_layers = n_pre;
  cfg.attractor.head_layers = n_core;
  const std::string fc0 = n_pre > 0 ? "transformer.prelude.0.mlp.fc.weight" : "transformer.core_block.0.mlp.fc.weight";
  if (!s.has(fc0)) refuse(where, "no '" + fc0 + "'", "eqt maps the reference's BaseMLP (mlp.fc, mlp.proj)");
  const int64_t hidden = s.t.at(fc0).size(0);
  cfg.block.mlp_mult = double(hidden) / double(C);
  if (int64_t(cfg.block.mlp_mult * double(C)) != hidden) cfg.block.mlp_mult = std::nextafter(cfg.block.mlp_mult, 1e9);

  auto& t = out.tensors;
  t.emplace_back("embed.table", s.take("transformer.wte.weight", {rows, C}).narrow(0, 0, vocab).clone());
  if (s.has("lm_head.weight")) {
    auto head = s.take("lm_head.weight", {rows, C});
    if (!torch::equal(head, wte.to(torch::kFloat32))) refuse(where, "lm_head.weight differs from transformer.wte.weight", "untied embeddings");
  }
  auto norm_into = [&](const std::string& from, const std::string& to) {
    t.emplace_back(to + ".weight", s.take(from + ".weight", {C}));
    if (cfg.block.norm == "layer")
      t.emplace_back(to + ".bias", s.has(from + ".bias") ? s.take(from + ".bias", {C}) : torch::zeros({C}));
  };
  auto block_into = [&](const std::string& from, const std::string& to, bool gated) {
    norm_into(from + "norm_1", to + "norm_attn");
    norm_into(from + "norm_2", to + "norm_mlp");
    torch::Tensor q, k, v;
    if (s.has(from + "attn.c_q.weight")) {
      q = s.take(from + "attn.c_q.weight", {C, C});
      k = s.take(from + "attn.c_k.weight", {C, C});
      v = s.take(from + "attn.c_v.weight", {C, C});
    } else if (s.has(from + "attn.Wqkv.weight")) {
      auto qkv = s.take(from + "attn.Wqkv.weight", {3 * C, C});
      q = qkv.narrow(0, 0, C), k = qkv.narrow(0, C, C), v = qkv.narrow(0, 2 * C, C);
    } else {
      refuse(where, "no " + from + "attn.c_q.weight (or attn.Wqkv.weight)", "the attention's projections are missing");
    }
    t.emplace_back(to + "attn.q.weight", interleaved_to_halves(q, H));
    t.emplace_back(to + "attn.k.weight", interleaved_to_halves(k, H));
    t.emplace_back(to + "attn.v.weight", v.clone());
    t.emplace_back(to + "attn.o.weight", s.take(from + "attn.c_proj.weight", {C, C}));
    t.emplace_back(to + "mlp.up.weight", s.take(from + "mlp.fc.weight", {hidden, C}));
    // The reference's Relu2 is relu(x).pow(2).mul(0.5) (attractor/modules/basic.py), eqt's
    // relu2 is 0.5 relu(x)^2: the same function, so proj is copied as it is.
    t.emplace_back(to + "mlp.down.weight", s.take(from + "mlp.proj.weight", {C, hidden}));
    if (gated) {
      t.emplace_back(to + "gate_attn", s.take(from + "raw_gamma_attn", {C}));
      t.emplace_back(to + "gate_mlp", s.take(from + "raw_gamma_mlp", {C}));
    }
  };
  for (int64_t i = 0; i < n_pre; ++i)
    block_into("transformer.prelude." + std::to_string(i) + ".", "backbone." + std::to_string(i) + ".", false);
  for (int64_t i = 0; i < n_core; ++i) {
    const std::string from = "transformer.core_block." + std::to_string(i) + ".";
    if (!s.has(from + "raw_gamma_attn")) refuse(where, "no '" + from + "raw_gamma_attn'", "a head without LayerScale gates");
    block_into(from, "head." + std::to_string(i) + ".", true);
  }
  norm_into("transformer.ln_f", "embed.norm");

  bool coda = false;
  for (const auto& [name, _] : s.t) {
    if (s.used.count(name)) continue;
    if (name.rfind("transformer.coda.", 0) == 0) {
      coda = true;
      continue;
    }
    if (name == "freqs_cis") continue;
    std::string why = "not in eqt's mapping of the Attractor model (docs/interop.md)";
    if (name.find("value_embeds") != std::string::npos || name.find("ve_gate") != std::string::npos)
      why = "value embeddings, which eqt's attractor does not have";
    else if (name.find("q_norm") != std::string::npos || name.find("k_norm") != std::string::npos)
      why = "a learned QK norm; eqt's QK norm has no weights";
    else if (name.find(".bias") != std::string::npos)
      why = "a bias; eqt's linear layers have none";
    refuse(where, "tensor '" + name + "'", why);
  }
  if (coda) out.notes.push_back("transformer.coda.* skipped: the reference builds its coda but its forward never applies it");
  return out;
}

}  // namespace eqt::models
