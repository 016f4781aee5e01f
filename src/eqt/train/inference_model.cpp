// eqt/train/inference_model.cpp — see inference_model.h.
#include "eqt/train/inference_model.h"

#include "eqt/train/run_folder.h"

#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace eqt::train {

torch::Device parse_device(const std::string& name) {
  std::unique_ptr<torch::Device> d;
  try {
    d = std::make_unique<torch::Device>(name);
  } catch (const c10::Error&) {
    throw std::invalid_argument("device '" + name + "' is invalid; expected cpu, cuda or cuda:N");
  }
  if (d->is_cuda() && (!torch::cuda::is_available() || d->index() >= int(torch::cuda::device_count())))
    throw std::invalid_argument("device '" + name + "' is not available: LibTorch sees " +
                                std::to_string(torch::cuda::device_count()) + " CUDA devices");
  if (!d->is_cpu() && !d->is_cuda()) throw std::invalid_argument("device '" + name + "': expected cpu or cuda");
  return *d;
}

InferenceModel open_inference_model(const InferenceSource& s) {
  if (s.run().empty() == s.checkpoint().empty())
    throw std::invalid_argument("give the model as a run folder (--run DIR) or a checkpoint file (--checkpoint FILE)");
  InferenceModel m;
  m.source = s.checkpoint().empty() ? s.run() + "/checkpoint.eqt" : s.checkpoint();
  if (!std::filesystem::exists(m.source)) throw std::invalid_argument("no checkpoint at '" + m.source + "'");
  const auto dev = parse_device(s.device());
  auto ck = load_for_eval(m.source, s.ema());
  m.model = ck.model;
  m.task = ck.meta.at("task").value("name", std::string("?"));
  if (m.task == "text") m.tokenizer = data::tokenizer_from_options(ck.meta.at("task"), s.tokenizer());
  else if (!s.tokenizer().empty())
    throw std::invalid_argument("tokenizer '" + s.tokenizer() + "': this " + m.task + " model reads token ids, not text");
  m.model->to(dev);
  m.model->eval();
  return m;
}

std::vector<int64_t> InferenceModel::encode(const std::string& prompt) const {
  std::vector<int64_t> ids;
  if (tokenizer) return tokenizer->encode(prompt);
  std::istringstream in(prompt);
  std::string word;
  const int64_t V = model->config().vocab;
  while (in >> word) {
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != word.size() || v < 0 || v >= V)
      throw std::invalid_argument("prompt word '" + word + "' is not a token id in [0, " + std::to_string(V) +
                                  ") (this " + task + " model reads whitespace-separated ids)");
    ids.push_back(v);
  }
  return ids;
}

std::string InferenceModel::decode(int64_t token) const {
  return tokenizer ? tokenizer->token_bytes(token) : std::to_string(token) + " ";
}

}  // namespace eqt::train
