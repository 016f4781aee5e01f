// cli/completions_api.cpp — see completions_api.h.
#include "cli/completions_api.h"

#include "cli/inference_model.h"
#include "eqt/io/json_text.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace eqt::cli {
namespace {

ApiError bad(const std::string& param, const std::string& message) { return ApiError{400, message, param}; }

}  // namespace

nlohmann::json ApiError::body() const {
  return {{"error",
           {{"message", message},
            {"type", status >= 500 ? "server_error" : "invalid_request_error"},
            {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param)},
            {"code", nullptr}}}};
}

std::variant<CompletionRequest, ApiError> parse_completion_request(const std::string& body, const ApiLimits& limits) {
  nlohmann::json j;
  try {
    j = io::parse_json(body, "the request body");
  } catch (const std::exception& e) {
    return bad("", e.what());
  }
  if (!j.is_object()) return bad("", "the request body must be a JSON object");
  CompletionRequest r;
  if (!j.contains("prompt")) return bad("prompt", "'prompt' is required");
  const auto& p = j["prompt"];
  if (p.is_array() && p.size() == 1 && p[0].is_string()) r.prompt = p[0];
  else if (p.is_string()) r.prompt = p;
  else return bad("prompt", "'prompt' must be a string (or an array of one string)");
  if (r.prompt.empty()) return bad("prompt", "'prompt' is empty; this model has no start token to begin from");

  auto integer = [&](const char* key, int64_t lo, int64_t hi, int64_t& out) -> std::optional<ApiError> {
    if (!j.contains(key) || j[key].is_null()) return std::nullopt;
    if (!j[key].is_number_integer()) return bad(key, std::string("'") + key + "' must be an integer");
    // Above INT64_MAX the parser stores an unsigned value: never read it as a negative one.
    if (j[key].is_number_unsigned() && j[key].get<uint64_t>() > uint64_t(INT64_MAX))
      return bad(key, std::string("'") + key + "' = " + j[key].dump() + " is out of range; expected " + std::to_string(lo) +
                          " .. " + std::to_string(hi));
    const int64_t v = j[key].get<int64_t>();
    if (v < lo || v > hi)
      return bad(key, std::string("'") + key + "' = " + std::to_string(v) + " is out of range; expected " +
                          std::to_string(lo) + " .. " + std::to_string(hi));
    out = v;
    return std::nullopt;
  };
  auto number = [&](const char* key, double lo, double hi, bool lo_open, double& out) -> std::optional<ApiError> {
    if (!j.contains(key) || j[key].is_null()) return std::nullopt;
    if (!j[key].is_number()) return bad(key, std::string("'") + key + "' must be a number");
    const double v = j[key];
    if (!std::isfinite(v) || v > hi || v < lo || (lo_open && v == lo))
      return bad(key, std::string("'") + key + "' = " + j[key].dump() + " is out of range; expected " +
                          (lo_open ? "(" : "[") + nlohmann::json(lo).dump() + ", " + nlohmann::json(hi).dump() + "]");
    out = v;
    return std::nullopt;
  };
  double temperature = 1.0, top_p = 1.0;
  int64_t top_k = 0, seed = 0, n = 1;
  // Without max_tokens the API's default of 16 applies, but never above the server's limit.
  r.max_tokens = std::min<int64_t>(r.max_tokens, limits.max_tokens);
  if (auto e = integer("max_tokens", 0, limits.max_tokens, r.max_tokens)) return *e;
  if (auto e = number("temperature", 0.0, 2.0, false, temperature)) return *e;
  if (auto e = number("top_p", 0.0, 1.0, true, top_p)) return *e;
  if (auto e = integer("top_k", 0, int64_t(1) << 30, top_k)) return *e;
  if (auto e = integer("seed", 0, INT64_MAX, seed)) return *e;
  if (auto e = integer("n", 1, 1, n)) return *e;
  for (const char* key : {"max_steps", "tol"})
    if (limits.fixed_steps && j.contains(key) && !j[key].is_null())
      return bad(key, std::string("'") + key + "': this server runs a fixed number of steps per token (--exact-steps); "
                                              "a request cannot change it");
  if (j.contains("max_steps") && !j["max_steps"].is_null()) {
    int64_t steps = 0;
    if (auto e = integer("max_steps", 0, limits.max_request_steps, steps)) return *e;
    r.limits.max_steps = steps;
  }
  if (j.contains("tol") && !j["tol"].is_null()) {
    double tol = 0;
    if (auto e = number("tol", 0.0, 1.0, false, tol)) return *e;
    r.limits.tol = tol;
  }
  r.seeded = j.contains("seed") && !j["seed"].is_null();
  r.sampling.temperature(temperature).top_p(top_p).top_k(top_k).seed(uint64_t(seed));
  if (j.contains("stream") && !j["stream"].is_null()) {
    if (!j["stream"].is_boolean()) return bad("stream", "'stream' must be true or false");
    r.stream = j["stream"];
  }
  if (j.contains("stop") && !j["stop"].is_null()) {
    const auto& s = j["stop"];
    if (s.is_string()) r.stop = {s.get<std::string>()};
    else if (s.is_array() && s.size() <= 4 && std::all_of(s.begin(), s.end(), [](const auto& x) { return x.is_string(); }))
      for (const auto& x : s) r.stop.push_back(x);
    else return bad("stop", "'stop' must be a string or an array of at most 4 strings");
    for (const auto& x : r.stop)
      if (x.empty()) return bad("stop", "'stop' sequences must not be empty");
  }
  return r;
}

bool TextStream::add(const std::string& piece) {
  const size_t before = text_.size();
  text_ += piece;
  for (const auto& s : stops_) {
    // Only a match that ends in the new piece is new.
    const size_t from = before >= s.size() ? before - s.size() + 1 : 0;
    const size_t at = text_.find(s, from);
    if (at != std::string::npos) {
      text_.resize(std::max(at, sent_));
      return true;
    }
  }
  return false;
}

std::string TextStream::release() {
  size_t end = utf8_complete_prefix(text_);
  // Hold back a tail that could still grow into a stop sequence.
  size_t hold = 0;
  for (const auto& s : stops_)
    for (size_t k = std::min(s.size() - 1, end - sent_); k > hold; --k)
      if (text_.compare(end - k, k, s, 0, k) == 0) {
        hold = k;
        break;
      }
  end -= hold;
  if (end <= sent_) return "";
  auto out = text_.substr(sent_, end - sent_);
  sent_ = end;
  return out;
}

std::string TextStream::flush() {
  auto out = text_.substr(sent_);
  sent_ = text_.size();
  return out;
}

}  // namespace eqt::cli
