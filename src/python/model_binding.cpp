// python/model_binding.cpp — a trained run in Python: _eqt.load(...) -> Model, whose call
// gives the logits and the solver statistics of a batch of token sequences as tensors, and
// whose generate() continues a prompt token by token (train/inference_model.h,
// infer/generator.h). The inference options are the CLI's: max_steps, tol, min_steps,
// exact_steps (generate's and serve's --max-steps, ...), depth (eval --depth: supervision
// steps, each continuing from the last one's loop state), restarts, start_noise, path_noise
// and seed (eval --restarts, ...: restart r of row b starts at the family's start plus
// start_noise x N(0, I) drawn from restart_seed(seed, b, r, step), restart 0 at the start
// itself), and per_token (each position solved alone against the cache of the ones before
// it: steps and residual per token).
// What it is not: training (use `eqt train`), or a batch of prompts to generate from.
#include "python/binding.h"

#include "eqt/infer/generator.h"
#include "eqt/models/family.h"
#include "eqt/train/inference_model.h"
#include "eqt/train/restart_eval.h"

#include <pybind11/stl.h>

#include <mutex>
#include <optional>

namespace eqt::python {
namespace {

struct CallOptions {
  models::RefineLimits limits;
  int64_t depth = 1, restarts = 1;
  double start_noise = 1.0, path_noise = 0.0;
  uint64_t seed = 0;
  bool per_token = false;
};

void check_tokens(const torch::Tensor& tokens, int64_t vocab, int64_t max_seq) {
  if (!tokens.defined()) throw std::invalid_argument("tokens is None; expected an int64 tensor (B, T)");
  if (tokens.scalar_type() != torch::kLong)
    throw std::invalid_argument(std::string("tokens have dtype ") + c10::toString(tokens.scalar_type()) +
                                "; expected int64 (torch.long) token ids");
  if (tokens.dim() != 2 || tokens.size(0) < 1 || tokens.size(1) < 1) {
    throw std::invalid_argument("tokens have shape " + c10::str(tokens.sizes()) + "; expected (B, T) with B, T >= 1");
  }
  if (tokens.size(1) > max_seq)
    throw std::invalid_argument("tokens have " + std::to_string(tokens.size(1)) + " positions; this model's max_seq is " +
                                std::to_string(max_seq));
  const auto lo = tokens.min().item<int64_t>(), hi = tokens.max().item<int64_t>();
  if (lo < 0 || hi >= vocab)
    throw std::invalid_argument("token id " + std::to_string(lo < 0 ? lo : hi) + " is outside [0, " +
                                std::to_string(vocab) + ")");
}

torch::Tensor as_float(const torch::Tensor& t) { return t.defined() ? t.to(torch::kCPU, torch::kFloat64) : t; }

class Model {
 public:
  explicit Model(train::InferenceModel m) : m_(std::move(m)) {}

  // One call at a time on the model: the calls release the GIL, so two Python threads may
  // call together; they take turns here (a forward is not safe to run twice at once).
  std::mutex mu;

  py::dict call(const torch::Tensor& tokens, const CallOptions& c) {
    auto& model = *m_.model;
    const auto& cfg = model.config();
    check_tokens(tokens, cfg.vocab, cfg.max_seq);
    c.limits.applied_to(cfg);  // bad limits named before any work
    const auto& family = models::find_family(cfg.family);
    if (c.depth < 1) throw std::invalid_argument("depth = " + std::to_string(c.depth) + " is invalid; expected >= 1");
    if (c.restarts < 1)
      throw std::invalid_argument("restarts = " + std::to_string(c.restarts) + " is invalid; expected >= 1");
    if (!(c.start_noise >= 0))
      throw std::invalid_argument("start_noise = " + std::to_string(c.start_noise) + " is invalid; expected >= 0");
    if (!(c.path_noise >= 0))
      throw std::invalid_argument("path_noise = " + std::to_string(c.path_noise) + " is invalid; expected >= 0 (0: off)");
    if ((c.depth > 1 || c.restarts > 1 || c.path_noise > 0) && !family.has_state)
      throw std::invalid_argument(std::string("this ") + family.name +
                                  " model has no loop state: depth, restarts and path_noise need one");
    if (c.per_token && (c.depth > 1 || c.restarts > 1 || c.path_noise > 0))
      throw std::invalid_argument("per_token solves each position once from the family's start: "
                                  "it cannot be combined with depth, restarts or path_noise");
    if (c.per_token && !family.can_decode)
      throw std::invalid_argument(std::string("this ") + family.name +
                                  " model reads a whole puzzle at once: per_token (cached decoding) does not apply");
    py::gil_scoped_release nogil;
    std::lock_guard<std::mutex> lock(mu);
    torch::NoGradGuard ng;
    model.eval();
    const auto dev = model.parameters().front().device();
    const auto tok = tokens.to(dev);
    return c.per_token ? per_token(tok, c) : whole(tok, c);
  }

  py::dict generate(const std::string& prompt_text, const std::vector<int64_t>& prompt_ids, int64_t max_new_tokens,
                    double temperature, int64_t top_k, double top_p, uint64_t seed, const models::RefineLimits& limits) {
    const auto& family = models::find_family(m_.model->config().family);
    if (!family.can_decode)
      throw std::invalid_argument(std::string("this ") + family.name + " model reads a whole puzzle at once; it does not generate");
    auto prompt = prompt_ids.empty() ? m_.encode(prompt_text) : prompt_ids;
    auto o = infer::GenerateOptions().max_new_tokens(max_new_tokens).limits(limits);
    o.sampling().temperature(temperature).top_k(top_k).top_p(top_p).seed(seed);
    infer::validate(o.sampling());
    limits.applied_to(m_.model->config());
    std::vector<torch::Tensor> logits;
    infer::GenerateResult res;
    {
      py::gil_scoped_release nogil;
      std::lock_guard<std::mutex> lock(mu);
      res = infer::generate(*m_.model, prompt, o, [&](const infer::TokenEvent& e) {
        logits.push_back(e.logits);
        return true;
      });
    }
    std::string text;
    py::list pieces;
    for (auto t : res.tokens) {
      auto p = m_.decode(t);
      text += p;
      pieces.append(py::bytes(p));
    }
    py::dict d;
    d["text"] = py::bytes(text);
    d["pieces"] = pieces;
    d["tokens"] = torch::tensor(res.tokens, torch::kLong);
    d["steps"] = torch::tensor(res.steps, torch::kDouble);
    d["residual"] = torch::tensor(res.residual, torch::kDouble);
    d["logits"] = logits.empty() ? torch::zeros({0, m_.model->config().vocab}) : torch::stack(logits);
    d["prompt_tokens"] = res.prompt_tokens;
    d["prefill_ms"] = res.prefill_ms;
    d["decode_tokens_per_s"] = res.decode_tokens_per_s();
    d["stop"] = res.stop;
    return d;
  }

  py::dict info() const {
    const auto& c = m_.model->config();
    py::dict d;
    d["family"] = c.family;
    d["task"] = m_.task;
    d["vocab"] = c.vocab;
    d["max_seq"] = c.max_seq;
    d["params"] = m_.model->param_total();
    d["source"] = m_.source;
    d["text"] = bool(m_.tokenizer);
    return d;
  }

  std::vector<int64_t> encode(const std::string& s) const { return m_.encode(s); }
  py::bytes decode(int64_t t) const {
    if (t < 0 || t >= m_.model->config().vocab)
      throw std::invalid_argument("token id " + std::to_string(t) + " is outside [0, " +
                                  std::to_string(m_.model->config().vocab) + ")");
    return py::bytes(m_.decode(t));
  }

 private:
  // Every position at once: depth supervision steps, restarts as rows b R + r.
  py::dict whole(const torch::Tensor& tokens, const CallOptions& c) {
    auto& model = *m_.model;
    const int64_t B = tokens.size(0), R = c.restarts;
    auto tok = R > 1 ? tokens.repeat_interleave(R, 0) : tokens;  // (B R, T) row b R + r
    train::RestartRows rows;  // as eval --restarts: row b of this call is puzzle b
    rows.puzzles = B;
    rows.restarts = R;
    rows.start_noise = c.start_noise;
    rows.path_noise = c.path_noise;
    rows.seed = c.seed;
    const models::ForwardOptions base(c.limits);
    models::ModelOutput out;
    torch::Tensor steps;  // (B R,) loop steps summed over the supervision steps
    for (int64_t d = 0; d < c.depth; ++d) {
      out = model.forward(tok, rows.step(model, base, d, out.state));
      if (out.stats.steps.defined()) {
        auto s = as_float(out.stats.steps);
        steps = steps.defined() ? steps + s : s;
      }
    }
    auto shape = [&](torch::Tensor t) {  // (N, ...) -> (B, R, ...) with restarts
      if (!t.defined() || R == 1) return t;
      auto sizes = t.sizes().vec();
      sizes[0] = R;
      sizes.insert(sizes.begin(), B);
      return t.reshape(sizes);
    };
    py::gil_scoped_acquire gil;
    py::dict dct;
    dct["logits"] = shape(out.logits);
    dct["state"] = out.state.defined() ? py::cast(shape(out.state)) : py::none();
    dct["steps"] = steps.defined() ? py::cast(shape(steps)) : py::none();
    dct["residual"] = out.stats.residual.defined() ? py::cast(shape(as_float(out.stats.residual))) : py::none();
    dct["status"] = out.stats.status.defined() ? py::cast(shape(out.stats.status.cpu())) : py::none();
    dct["q_halt"] = out.q_halt.defined() ? py::cast(shape(out.q_halt)) : py::none();
    return dct;
  }

  // Position by position against the cache, each row with its own cache (a batched cached
  // forward would run every row until the slowest converged): logits (B, T, V) equal to the
  // whole-sequence forward up to the solver tolerance; steps and residual (B, T) per token,
  // each what generate() reports for that token.
  py::dict per_token(const torch::Tensor& tokens, const CallOptions& c) {
    auto& model = *m_.model;
    std::vector<torch::Tensor> logits, steps, residual;  // per row: (1, T, V), (T,), (T,)
    for (int64_t b = 0; b < tokens.size(0); ++b) {
      models::DecodeCache cache;
      std::vector<torch::Tensor> lg, st, rs;
      for (int64_t t = 0; t < tokens.size(1); ++t) {
        auto out = model.forward_cached(tokens.narrow(0, b, 1).narrow(1, t, 1), cache, c.limits);  // (1, 1, V)
        lg.push_back(out.logits);
        if (out.stats.steps.defined()) st.push_back(as_float(out.stats.steps));
        if (out.stats.residual.defined()) rs.push_back(as_float(out.stats.residual));
      }
      logits.push_back(torch::cat(lg, 1));
      if (!st.empty()) steps.push_back(torch::cat(st));
      if (!rs.empty()) residual.push_back(torch::cat(rs));
    }
    py::gil_scoped_acquire gil;
    py::dict d;
    d["logits"] = torch::cat(logits, 0);
    d["steps"] = steps.empty() ? py::none() : py::cast(torch::stack(steps));           // (B, T)
    d["residual"] = residual.empty() ? py::none() : py::cast(torch::stack(residual));  // (B, T)
    d["state"] = py::none();
    d["status"] = py::none();
    d["q_halt"] = py::none();
    return d;
  }

  train::InferenceModel m_;
};

models::RefineLimits limits_of(std::optional<int64_t> max_steps, std::optional<double> tol,
                               std::optional<int64_t> min_steps, std::optional<int64_t> exact_steps) {
  models::RefineLimits l;
  l.max_steps = max_steps;
  l.tol = tol;
  l.min_steps = min_steps;
  l.exact_steps = exact_steps;
  l.validate();
  return l;
}

}  // namespace

void add_model(py::module_& m) {
  py::class_<Model>(m, "Model", "a trained eqt run in eval mode (eqt.load)")
      .def(
          "__call__",
          [](Model& self, const torch::Tensor& tokens, std::optional<int64_t> max_steps, std::optional<double> tol,
             std::optional<int64_t> min_steps, std::optional<int64_t> exact_steps, int64_t depth, int64_t restarts,
             double start_noise, double path_noise, uint64_t seed, bool per_token) {
            CallOptions c;
            c.limits = limits_of(max_steps, tol, min_steps, exact_steps);
            c.depth = depth;
            c.restarts = restarts;
            c.start_noise = start_noise;
            c.path_noise = path_noise;
            c.seed = seed;
            c.per_token = per_token;
            return self.call(tokens, c);
          },
          py::arg("tokens"), py::kw_only(), py::arg("max_steps") = py::none(), py::arg("tol") = py::none(),
          py::arg("min_steps") = py::none(), py::arg("exact_steps") = py::none(), py::arg("depth") = 1,
          py::arg("restarts") = 1, py::arg("start_noise") = 1.0, py::arg("path_noise") = 0.0, py::arg("seed") = 0,
          py::arg("per_token") = false)
      .def(
          "generate",
          [](Model& self, const py::object& prompt, int64_t max_new_tokens, double temperature, int64_t top_k,
             double top_p, uint64_t seed, std::optional<int64_t> max_steps, std::optional<double> tol,
             std::optional<int64_t> min_steps, std::optional<int64_t> exact_steps) {
            std::string text;
            std::vector<int64_t> ids;
            if (py::isinstance<py::str>(prompt)) {
              text = prompt.cast<std::string>();
            } else {
              try {
                ids = prompt.cast<std::vector<int64_t>>();
              } catch (const py::cast_error&) {
                throw std::invalid_argument("prompt " + py::repr(prompt).cast<std::string>().substr(0, 80) +
                                            " is invalid; expected text or a list of token ids");
              }
            }
            if (text.empty() && ids.empty()) throw std::invalid_argument("the prompt is empty; give text or token ids");
            if (max_new_tokens < 0)
              throw std::invalid_argument("max_new_tokens = " + std::to_string(max_new_tokens) + " is invalid; expected >= 0");
            return self.generate(text, ids, max_new_tokens, temperature, top_k, top_p, seed,
                                 limits_of(max_steps, tol, min_steps, exact_steps));
          },
          py::arg("prompt"), py::kw_only(), py::arg("max_new_tokens") = 64, py::arg("temperature") = 1.0,
          py::arg("top_k") = 0, py::arg("top_p") = 1.0, py::arg("seed") = 0, py::arg("max_steps") = py::none(),
          py::arg("tol") = py::none(), py::arg("min_steps") = py::none(), py::arg("exact_steps") = py::none())
      .def("info", &Model::info)
      .def("encode", &Model::encode, py::arg("text"))
      .def("decode", &Model::decode, py::arg("token"));

  m.def(
      "load",
      [](const std::string& run, const std::string& checkpoint, const std::string& device, bool ema,
         const std::string& tokenizer) {
        return std::make_unique<Model>(train::open_inference_model(
            train::InferenceSource().run(run).checkpoint(checkpoint).device(device).ema(ema).tokenizer(tokenizer)));
      },
      py::arg("run") = "", py::arg("checkpoint") = "", py::arg("device") = "cpu", py::arg("ema") = true,
      py::arg("tokenizer") = "");
}

}  // namespace eqt::python
