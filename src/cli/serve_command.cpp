// cli/serve_command.cpp — `eqt serve`: one checkpoint behind an OpenAI-style HTTP API.
//   POST /v1/completions   completions_api.h (JSON, or server-sent events with "stream")
//   GET  /health           {"status": "ok", model facts}
//   GET  /                 the page (serve_page.html, compiled in): a prompt box, the
//                          completion streaming in, each token shaded by its solver steps
// Concurrency: each connection gets its own thread (connection_threads.h: slow clients
// cannot starve the others); generation is continuous batching on one decode thread
// (infer/decode_loop.h): up to --max-batch requests share every forward pass, each at its
// own length with its own sampler, joining and leaving between tokens, and each row's
// solver freezing when its own token has converged, so a request's greedy output is the
// one it gets alone. The handler threads only wait for their text and write it to their
// client, so a slow client never holds up the batch. Bodies over --max-body get 413, chunked ones too
// (counted as they arrive); a port in use is refused (SO_REUSEADDR, never SO_REUSEPORT).
// Bad requests get a 4xx JSON error and the server carries on; SIGINT / SIGTERM stop it.
// What it is not: TLS (put a proxy in front for that), or a batched prefill (prompts run one at a time).
#include "cli/commands.h"

#ifdef EQT_HAVE_HTTPLIB

#include "cli/client_socket.h"
#include "cli/completions_api.h"
#include "cli/connection_threads.h"
#include "cli/inference_model.h"
#include "cli/serve_page.h"

#include "eqt/infer/decode_loop.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
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
  int64_t max_request_steps = 64;
  size_t max_body = 1 << 20;
  size_t max_connections = 256;
  size_t max_batch = 32;
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
  CompletionServer(InferenceModel m, ApiLimits limits, size_t max_batch)
      : m_(std::move(m)), limits_(limits), loop_(*m_.model, m_.limits, max_batch) {}

  void health(httplib::Response& res) const {
    const auto& c = m_.model->config();
    send_json(res, 200, {{"status", "ok"}, {"model", c.family}, {"task", m_.task}, {"params", m_.model->param_total()},
                         {"max_seq", c.max_seq}, {"checkpoint", m_.source},
                         {"batch", {{"max", loop_.max_batch()}, {"peak", loop_.peak_batch()}}}});
  }

  void complete(const httplib::Request& req, const std::string& body, httplib::Response& res) {
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
      // Not streamed: nothing is written until the end, so the client's socket is watched
      // while it waits; a client that closed it stops its generation (docs/inference.md).
      const int client = find_client_socket(req);
      auto out = run(r, prompt, id, nullptr, client);
      send_json(res, 200, out);
      return;
    }
    // Streamed: the generation runs inside the provider, after this handler returns. The
    // last event carries what the stop-sequence scanner held back until the end.
    res.set_chunked_content_provider("text/event-stream", [this, r, prompt, id](size_t, httplib::DataSink& sink) {
      auto last = run(r, prompt, id, &sink, -1);
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

  // A generated token as the page shows it: its own text (bytes that are not UTF-8 become
  // U+FFFD when sent), the solver / refinement steps behind it and its final relative
  // residual (null: no loop).
  struct TokenInfo {
    std::string text;
    double steps = 0, residual = NAN;
  };
  static nlohmann::json tokens_json(const std::vector<TokenInfo>& t) {
    auto out = nlohmann::json::array();
    for (const auto& x : t)
      out.push_back({{"text", x.text},
                     {"steps", x.steps},
                     {"residual", std::isnan(x.residual) ? nlohmann::json(nullptr) : nlohmann::json(x.residual)}});
    return out;
  }

  // What the decode thread hands a request's own thread: text released so far, the end.
  struct Job {
    explicit Job(std::vector<std::string> stops) : text(std::move(stops)) {}
    std::mutex mu;
    std::condition_variable cv;
    TextStream text;            // under mu
    std::string unsent;         // under mu: released text the handler has not written yet
    std::vector<TokenInfo> new_tokens;  // under mu: tokens the handler has not written yet
    bool stopped = false;       // under mu: a stop sequence ended it
    bool done = false;          // under mu
    infer::GenerateResult res;  // under mu, once done
    std::atomic<bool> gone{false};  // the client went away: the decode thread drops it
  };

  // Queues the generation on the decode loop and waits for it; with a sink, streams each
  // released piece as an event. Returns the whole completion (non-streamed response, or
  // the stream's last event).
  // client: the socket of a non-streamed request (find_client_socket), polled every
  // kClientPoll while waiting; -1: not watched.
  nlohmann::json run(const CompletionRequest& r, const std::vector<int64_t>& prompt, const std::string& id,
                     httplib::DataSink* sink, int client) {
    auto job = std::make_shared<Job>(r.stop);
    auto o = infer::GenerateOptions().max_new_tokens(r.max_tokens).sampling(r.sampling).limits(r.limits);
    const bool streaming = sink != nullptr;
    loop_.submit(
        prompt, o,
        [this, job, streaming](const infer::TokenEvent& e) {  // on the decode thread: no I/O here
          std::lock_guard<std::mutex> lock(job->mu);
          const std::string piece = m_.decode(e.token);
          job->stopped = job->text.add(piece);
          job->new_tokens.push_back({piece, e.steps, e.residual});
          if (streaming) job->unsent += job->text.release();
          job->cv.notify_one();
          return !job->stopped && !job->gone;
        },
        [job](const infer::GenerateResult& res) {
          std::lock_guard<std::mutex> lock(job->mu);
          job->res = res;
          job->done = true;
          job->cv.notify_one();
        });
    std::unique_lock<std::mutex> lock(job->mu);
    for (;;) {
      // Not streamed: woken at the end only, so that the client's socket is polled every
      // kClientPoll (waking per token would starve the poll); its tokens are taken at the end.
      const auto ready = [&] { return job->done || !job->unsent.empty() || (sink && !job->new_tokens.empty()); };
      if (client >= 0) {
        if (!job->cv.wait_for(lock, kClientPoll, ready)) {
          if (!job->gone && client_gone(client)) job->gone = true;  // the decode thread drops the row
          continue;
        }
      } else {
        job->cv.wait(lock, ready);
      }
      if (job->unsent.empty() && (!sink || job->new_tokens.empty())) break;  // done, everything written
      std::string piece;
      piece.swap(job->unsent);
      std::vector<TokenInfo> tokens;
      tokens.swap(job->new_tokens);
      if (sink && !job->gone) {
        auto c = chunk(id, piece, nullptr);
        c["eqt"] = {{"tokens", tokens_json(tokens)}};
        auto event = "data: " + to_text(c) + "\n\n";
        lock.unlock();  // the client may be slow: write without holding up the decode thread
        job->gone = !sink->write(event.data(), event.size());
        lock.lock();
      }
    }
    if (!sink && (job->res.stop == "error" || job->res.stop == "shutdown"))
      throw std::runtime_error("generation ended early (" + job->res.stop + "); see the server's log");
    const auto& res = job->res;
    const std::vector<TokenInfo> all_tokens = sink ? std::vector<TokenInfo>{} : job->new_tokens;  // not streamed: every token
    auto all = job->text.text();
    auto rest = job->text.flush();
    const bool stopped = job->stopped;
    auto out = chunk(id, sink ? rest : all, stopped ? "stop" : "length");
    const int64_t n = int64_t(res.tokens.size());
    out["usage"] = {{"prompt_tokens", res.prompt_tokens}, {"completion_tokens", n}, {"total_tokens", res.prompt_tokens + n}};
    out["eqt"] = {{"solver_steps_mean", res.mean_decode_steps()},
                  {"decode_tokens_per_s", res.decode_tokens_per_s()},
                  {"prefill_ms", res.prefill_ms},
                  {"tokens", tokens_json(all_tokens)}};
    std::fprintf(stderr, "eqt serve: %s prompt %lld tokens, %lld generated (%s), %.1f tokens/s, %.2f steps/token%s\n",
                 id.c_str(), (long long)res.prompt_tokens, (long long)n, stopped ? "stop" : res.stop.c_str(),
                 res.decode_tokens_per_s(), res.mean_decode_steps(), job->gone ? ", client went away" : "");
    return out;
  }

  static constexpr std::chrono::milliseconds kClientPoll{50};
  InferenceModel m_;
  ApiLimits limits_;
  infer::DecodeLoop loop_;  // the one thread that runs the model
  std::atomic<uint64_t> next_seed_{1}, next_id_{1};
};

void run_serve(const ServeArgs& a) {
  // SIGINT / SIGTERM: blocked in every thread (so before any is started: the decode loop's
  // too), taken by one that stops the server.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  auto m = load_inference_model(a.model);
  ApiLimits limits;
  limits.max_tokens = a.max_tokens;
  limits.max_request_steps = a.max_request_steps;
  limits.fixed_steps = m.limits.exact_steps.has_value();
  limits.max_prompt_tokens = a.max_prompt_tokens > 0 ? a.max_prompt_tokens : m.model->config().max_seq;
  if (limits.max_prompt_tokens > m.model->config().max_seq)
    throw std::invalid_argument("--max-prompt-tokens " + std::to_string(a.max_prompt_tokens) +
                                " exceeds the model's max_seq = " + std::to_string(m.model->config().max_seq));
  const std::string family = m.model->config().family;
  CompletionServer server(std::move(m), limits, a.max_batch);

  httplib::Server http;
  http.new_task_queue = [cap = a.max_connections] { return new ConnectionThreads(cap); };
  int listener = -1;  // the listening socket, to raise its backlog once bound
  http.set_socket_options([&listener](int sock) {  // the library's default adds SO_REUSEPORT: two servers on one port
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listener = sock;
  });
  http.set_payload_max_length(a.max_body);  // larger bodies with a Content-Length: 413 before reading
  http.Get("/health", [&](const httplib::Request&, httplib::Response& res) { server.health(res); });
  http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(serve_page_html(), "text/html; charset=utf-8");
  });
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
              // Two Content-Length headers: which one a proxy in front believed is unknowable
              // (request smuggling); refused, and the connection closed.
              if (req.get_header_value_count("Content-Length") > 1) {
                res.set_header("Connection", "close");
                return send_json(res, 400,
                                 ApiError{400, "the request has more than one Content-Length header", ""}.body());
              }
              server.complete(req, body, res);
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
                                                      "; this server has POST /v1/completions, GET /health and GET /"
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
  // The shared library was compiled with a listen backlog of 5: clients that connect at once
  // beyond it lose their SYN and retry a second later. listen() again on the bound socket
  // raises it (as many as --max-connections may be waiting to be accepted).
  if (listener >= 0) ::listen(listener, int(std::min<size_t>(a.max_connections, SOMAXCONN)));
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&sigs, &sig);
    if (sig != 0) http.stop();
  });
  std::printf("eqt serve: %s listening on http://%s:%d (the page at /, POST /v1/completions, GET /health)\n", family.c_str(),
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
  cmd->add_option("--max-batch", a->max_batch,
                  "requests decoded together (continuous batching; more wait their turn)")
      ->capture_default_str()
      ->check(CLI::Range(size_t(1), size_t(4096)));
  cmd->add_option("--port", a->port, "port (0: any free port, printed on start)")
      ->capture_default_str()->check(CLI::Range(0, 65535));
  cmd->add_option("--max-prompt-tokens", a->max_prompt_tokens, "longest prompt accepted (0: the model's max_seq)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-tokens-limit", a->max_tokens, "largest max_tokens a request may ask for")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-request-steps", a->max_request_steps,
                  "largest per-request step cap (the request field max_steps) a client may ask for")
      ->capture_default_str()->check(CLI::Range(int64_t(0), int64_t(100000)));
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
