// cli/serve_command.cpp — `eqt serve`: one checkpoint behind an OpenAI-style HTTP API.
//   POST /v1/completions   completions_api.h (JSON, or server-sent events with "stream")
//   GET  /health           {"status": "ok", model facts}
// Concurrency: each connection gets its own thread (connection_threads.h: slow clients
// cannot starve the others); generation is one request at a time (a mutex: the others
// wait, /health never does), because a single sequence already uses every core LibTorch is
// given and interleaving would only make each request slower. Each request has its own
// DecodeCache; the model is read-only. Bodies over --max-body get 413, chunked ones too
// (counted as they arrive); a port in use is refused (SO_REUSEADDR, never SO_REUSEPORT).
// Bad requests get a 4xx JSON error and the server carries on; SIGINT / SIGTERM stop it.
// What it is not: a batching scheduler, or TLS (put a proxy in front for that).
#include "cli/commands.h"

#ifdef EQT_HAVE_HTTPLIB

#include "cli/completions_api.h"
#include "cli/connection_threads.h"
#include "cli/inference_model.h"

#include "eqt/infer/generator.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>

namespace eqt::cli {
namespace {

struct ServeArgs {
  InferenceArgs model;
  std::string host = "127.0.0.1";
  int port = 8080;
  int64_t max_prompt_tokens = 0;  // 0: the model's max_seq
  int64_t max_tokens = 512;
  size_t max_body = 1 << 20;
  size_t max_connections = 256;
};

// Compact JSON; bytes that are not UTF-8 (a byte-level model may emit them) become U+FFFD.
std::string to_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void send_json(httplib::Response& res, int status, const nlohmann::json& j) {
  res.status = status;
  res.set_content(to_text(j) + "\n", "application/json");
}

class CompletionServer {
 public:
  CompletionServer(InferenceModel m, ApiLimits limits) : m_(std::move(m)), limits_(limits) {}

  void health(httplib::Response& res) const {
    const auto& c = m_.model->config();
    send_json(res, 200, {{"status", "ok"}, {"model", c.family}, {"task", m_.task}, {"params", m_.model->param_total()},
                         {"max_seq", c.max_seq}, {"checkpoint", m_.source}});
  }

  void complete(const std::string& body, httplib::Response& res) {
    auto parsed = parse_completion_request(body, limits_);
    if (auto* err = std::get_if<ApiError>(&parsed)) return fail(res, *err);
    auto r = std::get<CompletionRequest>(parsed);
    std::vector<int64_t> prompt;
    try {
      prompt = m_.encode(r.prompt);
    } catch (const std::invalid_argument& e) {
      return fail(res, ApiError{400, e.what(), "prompt"});
    }
    if (int64_t(prompt.size()) > limits_.max_prompt_tokens)
      return fail(res, ApiError{400,
                                "the prompt has " + std::to_string(prompt.size()) + " tokens; this server accepts at most " +
                                    std::to_string(limits_.max_prompt_tokens),
                                "prompt"});
    if (prompt.empty()) return fail(res, ApiError{400, "the prompt has no tokens", "prompt"});
    if (!r.seeded) r.sampling.seed(next_seed_++);
    const auto id = "cmpl-" + std::to_string(next_id_++);
    if (!r.stream) {
      auto out = run(r, prompt, id, nullptr);
      send_json(res, 200, out);
      return;
    }
    // Streamed: the generation runs inside the provider, after this handler returns.
    res.set_chunked_content_provider("text/event-stream", [this, r, prompt, id](size_t, httplib::DataSink& sink) {
      auto last = run(r, prompt, id, &sink);
      last["choices"][0]["text"] = "";
      auto event = "data: " + to_text(last) + "\n\ndata: [DONE]\n\n";
      sink.write(event.data(), event.size());
      sink.done();
      return true;
    });
  }

 private:
  void fail(httplib::Response& res, const ApiError& e) {
    std::fprintf(stderr, "eqt serve: %d %s\n", e.status, e.message.c_str());
    send_json(res, e.status, e.body());
  }

  nlohmann::json chunk(const std::string& id, const std::string& text, const nlohmann::json& finish) const {
    return {{"id", id},
            {"object", "text_completion"},
            {"created", std::time(nullptr)},
            {"model", m_.model->config().family},
            {"choices", {{{"text", text}, {"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish}}}}};
  }

  // Generates under the lock; with a sink, streams each released piece as an event. Returns
  // the whole completion (non-streamed response, or the stream's last event).
  nlohmann::json run(const CompletionRequest& r, const std::vector<int64_t>& prompt, const std::string& id,
                     httplib::DataSink* sink) {
    std::lock_guard<std::mutex> one_at_a_time(mu_);
    auto o = infer::GenerateOptions().max_new_tokens(r.max_tokens).sampling(r.sampling).limits(m_.limits);
    TextStream text(r.stop);
    bool stopped = false, gone = false;
    auto res = infer::generate(*m_.model, prompt, o, [&](const infer::TokenEvent& e) {
      stopped = text.add(m_.decode(e.token));
      if (sink) {
        auto piece = text.release();
        if (!piece.empty()) {
          auto event = "data: " + to_text(chunk(id, piece, nullptr)) + "\n\n";
          gone = !sink->write(event.data(), event.size());
        }
      }
      return !stopped && !gone;
    });
    auto all = text.text();
    auto rest = text.flush();
    auto out = chunk(id, sink ? rest : all, stopped ? "stop" : "length");
    const int64_t n = int64_t(res.tokens.size());
    out["usage"] = {{"prompt_tokens", res.prompt_tokens}, {"completion_tokens", n}, {"total_tokens", res.prompt_tokens + n}};
    out["eqt"] = {{"mean_solver_steps", res.mean_decode_steps()},
                  {"decode_tokens_per_s", res.decode_tokens_per_s()},
                  {"prefill_ms", res.prefill_ms}};
    std::fprintf(stderr, "eqt serve: %s prompt %lld tokens, %lld generated (%s), %.1f tokens/s, %.2f steps/token%s\n",
                 id.c_str(), (long long)res.prompt_tokens, (long long)n, stopped ? "stop" : res.stop.c_str(),
                 res.decode_tokens_per_s(), res.mean_decode_steps(), gone ? ", client went away" : "");
    return out;
  }

  InferenceModel m_;
  ApiLimits limits_;
  std::mutex mu_;
  std::atomic<uint64_t> next_seed_{1}, next_id_{1};
};

void run_serve(const ServeArgs& a) {
  auto m = load_inference_model(a.model);
  ApiLimits limits;
  limits.max_tokens = a.max_tokens;
  limits.max_prompt_tokens = a.max_prompt_tokens > 0 ? a.max_prompt_tokens : m.model->config().max_seq;
  if (limits.max_prompt_tokens > m.model->config().max_seq)
    throw std::invalid_argument("--max-prompt-tokens " + std::to_string(a.max_prompt_tokens) +
                                " exceeds the model's max_seq = " + std::to_string(m.model->config().max_seq));
  const std::string family = m.model->config().family;
  CompletionServer server(std::move(m), limits);

  httplib::Server http;
  http.new_task_queue = [cap = a.max_connections] { return new ConnectionThreads(cap); };
  http.set_socket_options([](int sock) {  // the library's default adds SO_REUSEPORT: two servers on one port
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  http.set_payload_max_length(a.max_body);  // larger bodies with a Content-Length: 413 before reading
  http.Get("/health", [&](const httplib::Request&, httplib::Response& res) { server.health(res); });
  http.Post("/v1/completions",
            [&](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
              // A declared Content-Length over the limit is refused unread (the library skips
              // it and never calls the receiver); chunked bodies have no length up front, so
              // they are counted as they arrive.
              std::string body;
              bool too_large = false;
              const bool whole = read([&](const char* data, size_t n) {
                too_large = body.size() + n > a.max_body;
                if (!too_large) body.append(data, n);
                return !too_large;
              });
              const std::string declared = req.get_header_value("Content-Length");
              if (!declared.empty() && declared.find_first_not_of("0123456789") == std::string::npos &&
                  (declared.size() > 18 || std::stoull(declared) > a.max_body))
                too_large = true;
              if (!whole && !too_large)
                return send_json(res, 400, ApiError{400, "the request body could not be read in full", ""}.body());
              if (too_large) {
                res.set_header("Connection", "close");
                return send_json(res, 413,
                                 ApiError{413,
                                          "the request body is larger than this server's --max-body of " +
                                              std::to_string(a.max_body) + " bytes",
                                          ""}
                                     .body());
              }
              server.complete(body, res);
            });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const c10::Error& e) {
      what = e.what_without_backtrace();
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    std::fprintf(stderr, "eqt serve: 500 %s\n", what.c_str());
    send_json(res, 500, ApiError{500, what, ""}.body());
  });
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // already a JSON error
    const std::string msg = res.status == 404   ? "no route " + req.method + " " + req.path +
                                                      "; this server has POST /v1/completions and GET /health"
                            : res.status == 413 ? "the request body is too large"
                                                : "HTTP error " + std::to_string(res.status);
    send_json(res, res.status, ApiError{res.status, msg, ""}.body());
  });

  int port = a.port;
  if (port == 0) port = http.bind_to_any_port(a.host);
  else if (!http.bind_to_port(a.host, port)) port = -1;
  if (port <= 0)
    throw std::runtime_error("cannot listen on " + a.host + ":" + std::to_string(a.port) +
                             " (in use, or not an address of this machine)");
  // SIGINT / SIGTERM: blocked in every thread, taken by one that stops the server.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&sigs, &sig);
    if (sig != 0) http.stop();
  });
  std::printf("eqt serve: %s listening on http://%s:%d (POST /v1/completions, GET /health)\n", family.c_str(),
              a.host.c_str(), port);
  std::fflush(stdout);
  http.listen_after_bind();
  pthread_kill(stopper.native_handle(), SIGTERM);  // stopped some other way: release the waiter
  stopper.join();
  std::printf("eqt serve: stopped\n");
}

}  // namespace

void register_serve(CLI::App& app, int& /*exit_code*/) {
  auto a = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand("serve", "Serve a trained model over HTTP (OpenAI-style /v1/completions)");
  a->model.add(cmd);
  cmd->add_option("--host", a->host, "address to listen on")->capture_default_str();
  cmd->add_option("--max-connections", a->max_connections,
                  "connections served at once (each has a thread; more wait to be accepted)")
      ->capture_default_str()
      ->check(CLI::Range(size_t(1), size_t(65536)));
  cmd->add_option("--port", a->port, "port (0: any free port, printed on start)")
      ->capture_default_str()->check(CLI::Range(0, 65535));
  cmd->add_option("--max-prompt-tokens", a->max_prompt_tokens, "longest prompt accepted (0: the model's max_seq)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-tokens-limit", a->max_tokens, "largest max_tokens a request may ask for")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-body", a->max_body, "largest request body in bytes (larger: 413)")
      ->capture_default_str()
      ->check(CLI::Range(size_t(1), size_t(1) << 34));
  cmd->callback([a] { run_serve(*a); });
}

}  // namespace eqt::cli

#else  // built without cpp-httplib

namespace eqt::cli {

void register_serve(CLI::App& app, int& /*exit_code*/) {
  auto* cmd = app.add_subcommand("serve", "Serve a trained model over HTTP (not in this build: no cpp-httplib)");
  cmd->allow_extras();
  cmd->callback([] {
    throw std::runtime_error("this eqt was built without cpp-httplib; install libcpp-httplib-dev and rebuild");
  });
}

}  // namespace eqt::cli

#endif
