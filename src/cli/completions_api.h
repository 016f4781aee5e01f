// cli/completions_api.h — the OpenAI-style completions API of `eqt serve`, without HTTP:
// parsing and validating a request body, the text a stream may release, and the JSON
// of responses and errors.
// Request: {"prompt": str, "max_tokens": int = min(16, the server's limit), "temperature": num = 1, "top_p": num = 1,
//           "stream": bool = false, "stop": str | [str] (<= 4), "n": 1, and the extensions
//           "top_k": int = 0, "seed": int, "max_steps": int (0 .. the server's
//           --max-request-steps), "tol": num in [0, 1]: this request's refinement limits over
//           the server's, refused by a server with --exact-steps}; other keys (model, user,
//           ...) are ignored.
// Responses carry the extension "eqt": each generated token's text, solver steps and final
// residual (streamed: the tokens since the last event), what the page at / shades by.
// What it is not: the whole OpenAI API (no logprobs, echo, best_of, n > 1, chat).
#pragma once

#include "eqt/infer/sampler.h"
#include "eqt/models/model_config.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <variant>
#include <string>
#include <vector>

namespace eqt::cli {

struct ApiError {
  int status = 400;
  std::string message, param;
  nlohmann::json body() const;  // {"error": {"message", "type", "param", "code"}}
};

struct ApiLimits {
  int64_t max_prompt_tokens = 0;  // checked by the caller after encoding (tokens, not bytes)
  int64_t max_tokens = 512;       // largest max_tokens a request may ask for
  // Largest max_steps a request may ask for: a client cannot make the server iterate longer
  // than its operator allows.
  int64_t max_request_steps = 64;
  bool fixed_steps = false;  // the server runs --exact-steps: requests cannot change it
};

struct CompletionRequest {
  std::string prompt;
  int64_t max_tokens = 16;
  infer::SamplingOptions sampling;
  bool seeded = false;  // the request gave a seed (else the server picks one)
  bool stream = false;
  std::vector<std::string> stop;
  models::RefineLimits limits;  // max_steps, tol: over the server's (RefineLimits::over)
};

// A parsed request or the 400 error naming the offending field.
std::variant<CompletionRequest, ApiError> parse_completion_request(const std::string& body, const ApiLimits& limits);

// Generated text released as it becomes final: never inside a UTF-8 sequence, never a
// piece that might turn out to begin a stop sequence; the stop sequence itself is cut.
class TextStream {
 public:
  explicit TextStream(std::vector<std::string> stops) : stops_(std::move(stops)) {}
  // Appends a token's text; true when a stop sequence now appears (the text ends before it).
  bool add(const std::string& piece);
  std::string release();  // what may be sent now
  std::string flush();    // everything not yet sent (at the end)
  const std::string& text() const { return text_; }

 private:
  std::vector<std::string> stops_;
  std::string text_;
  size_t sent_ = 0;
};

}  // namespace eqt::cli
