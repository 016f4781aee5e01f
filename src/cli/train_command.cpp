// cli/train_command.cpp — `eqt train` and `eqt eval`.
// train: the built-in preset <model>-<task> (configs/, embedded at build time; or --config), command-line overrides, a run
// folder with checkpoint.eqt, metrics.jsonl and config.json; --resume continues it.
// eval: rebuilds model and task from the checkpoint and prints one JSON object; with
// --solver-steps, the metrics per cap on the refinement (the internalisation curve).
#include "cli/commands.h"
#include "cli/inference_model.h"
#include "cli/preset.h"
#include "cli/restart_report.h"
#include "cli/validators.h"

#include "eqt/config/fields.h"
#include "eqt/data/make_task.h"
#include "eqt/parallel/communicator.h"
#include "eqt/parallel/launcher.h"
#include "eqt/io/folder_lock.h"
#include "eqt/io/text_file.h"
#include "eqt/models/family.h"
#include "eqt/train/evaluate.h"
#include "eqt/train/restart_eval.h"
#include "eqt/train/run_folder.h"
#include "eqt/train/trainer.h"
#include "eqt/train/weights.h"
#include "eqt/util/memory_meter.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

namespace eqt::cli {
namespace {

// Task options as flags; each is passed on only when given, and a task rejects the ones it
// does not have (naming them), so e.g. `--length` with `--task text` is an error.
struct TaskArgs {
  std::optional<int64_t> length, n_train, n_test, seq_len, size, min_path, min_clues, data_seed;
  std::optional<double> open_walls, renamed_loops;
  std::string data, tokenizer, box;
  bool no_augment = false;
  void add(CLI::App* cmd) {
    cmd->add_option("--length", length, "parity: sequence length (default 16)")->check(at_least(1));
    cmd->add_option("--n-train", n_train, "parity, sudoku, maze: training examples")->check(at_least(1));
    cmd->add_option("--n-test", n_test, "parity, sudoku, maze: held-out examples")->check(at_least(1));
    cmd->add_option("--data-seed", data_seed, "seed of the task's data (default 0)")->check(at_least(0));
    cmd->add_option("--data", data, "text: a UTF-8 file (default: the KJV Bible); sudoku, maze: a puzzle file");
    cmd->add_option("--seq-len", seq_len, "text: tokens per window (default 128)")->check(at_least(1));
    cmd->add_option("--tokenizer", tokenizer,
                    "text: a SentencePiece model from `eqt tokenizer train` (default: bytes); eval: where the run's is now");
    cmd->add_option("--size", size, "maze: side N of the N x N grid (default 11)")->check(at_least(1));
    cmd->add_option("--min-path", min_path, "maze: minimum moves from S to G (default 10)")->check(at_least(1));
    cmd->add_option("--open-walls", open_walls, "maze: fraction of inner walls removed, making loops in the maze (default 0)")
        ->check(at_least(0));
    cmd->add_option("--loops", renamed_loops, "renamed --open-walls")->group("");  // refused in apply()
    cmd->add_option("--min-clues", min_clues, "sudoku: stop blanking cells at this many clues (default: the fewest a unique puzzle can have: 4, 8, 17 for 2x2, 2x3, 3x3)")
        ->check(at_least(1));
    cmd->add_option("--box", box, "sudoku: box shape ROWSxCOLS: 2x2 (4 x 4 grids), 2x3 (6 x 6), 3x3 (9 x 9, default)");
    cmd->add_flag("--no-augment", no_augment, "sudoku, maze: train without symmetry augmentations");
  }
  void apply(nlohmann::json& o) const {
    auto set = [&o](const char* key, const auto& v) {
      if (v) o[key] = *v;
    };
    set("length", length);
    set("n_train", n_train);
    set("n_test", n_test);
    set("seed", data_seed);
    set("seq_len", seq_len);
    set("size", size);
    set("min_path", min_path);
    if (renamed_loops)
      throw std::invalid_argument("--loops is now --open-walls (the maze's fraction of inner walls removed; "
                                  "'loops' names the looped family's recurrence count, looped.loops)");
    set("open_walls", open_walls);
    set("min_clues", min_clues);
    if (!data.empty()) o["data"] = data;
    if (!box.empty()) o["box"] = box;
    if (!tokenizer.empty()) o["tokenizer"] = tokenizer;
    if (no_augment) o["augment"] = false;
  }
  // The flag that sets a task option apply() writes (for messages): seed <- --data-seed,
  // augment <- --no-augment, n_train <- --n-train, ...
  static std::string flag_of(std::string key) {
    if (key == "seed") return "--data-seed";
    if (key == "augment") return "--no-augment";
    std::replace(key.begin(), key.end(), '_', '-');
    return "--" + key;
  }
};

// Data-parallel flags: how many local workers, and how the ranks talk (dist/).
struct DistArgs {
  int nproc = 1;
  double timeout_s = 600;
  double bucket_mb = 25;
  bool no_overlap = false;
  void add(CLI::App* cmd) {
    cmd->add_option("--nproc", nproc, "data parallel: start this many local worker processes (Gloo on CPU)")
        ->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--dist-timeout", timeout_s,
                    "data parallel: seconds before a missing or hung rank ends the run (must exceed a validation pass)")
        ->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--bucket-mb", bucket_mb, "data parallel: gradient allreduce bucket size in MiB")
        ->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_flag("--no-overlap", no_overlap, "data parallel: allreduce gradients after backward, not during it");
  }
};

struct TrainArgs {
  std::optional<std::string> model, task;  // unset: attractor, parity (new runs); the checkpoint's (--resume)
  std::string config, out, device = "cpu";
  std::optional<std::string> precision;  // unset: the preset's / checkpoint's (fp32 by default)
  std::optional<std::string> init_from;  // a run folder whose (EMA) weights start this run
  bool resume = false, dry_run = false;
  std::optional<int64_t> steps, batch, seed;
  std::optional<double> lr;
  TaskArgs task_args;
  DistArgs dist;
};

// What a run is made of, resolved from preset, flags or the checkpoint being resumed.
struct Prepared {
  std::shared_ptr<models::ModelImpl> model;
  std::shared_ptr<data::Task> task;
  train::TrainOptions topt;
  std::unique_ptr<train::Checkpoint> ck;
};

Prepared prepare(const TrainArgs& a, bool talk) {
  if (a.out.empty()) throw std::invalid_argument("--out DIR is required");
  if (a.resume && a.init_from)
    throw std::invalid_argument("--init-from starts a new run from another's weights; --resume continues this one: pass one of them");
  const std::string ckpt = a.out + "/checkpoint.eqt";
  std::shared_ptr<models::ModelImpl> model;
  std::shared_ptr<data::Task> task;
  train::TrainOptions topt;
  std::unique_ptr<train::Checkpoint> ck;
  if (a.resume) {
    if (!std::filesystem::exists(ckpt)) throw std::invalid_argument("--resume: no checkpoint at '" + ckpt + "'");
    ck = std::make_unique<train::Checkpoint>(train::load_checkpoint(ckpt));
    auto t = ck->meta.at("task");
    // A resumed run is the run in its checkpoint: a flag that would describe another one is
    // refused rather than ignored (repeating the stored value is fine; --steps, --batch and
    // --lr still apply: a longer or changed schedule).
    auto refuse = [&](const std::string& flag, const std::string& given, const std::string& stored) {
      throw std::invalid_argument("--resume continues the run in '" + ckpt + "': " + flag + " " + given +
                                  " differs from its " + stored + "; drop " + flag + " or start a new --out");
    };
    const auto family = ck->model->config().family;
    if (a.model && *a.model != family) refuse("--model", *a.model, "model " + family);
    if (a.task && *a.task != t.value("name", "")) refuse("--task", *a.task, "task " + t.value("name", ""));
    if (!a.config.empty()) refuse("--config", a.config, "stored config");
    nlohmann::json given = nlohmann::json::object();
    a.task_args.apply(given);
    for (const auto& [key, v] : given.items())
      if (!t.contains(key) || t[key] != v)
        refuse(TaskArgs::flag_of(key), v.dump(), "stored " + key + " " + (t.contains(key) ? t[key].dump() : "(the default)"));
    const auto stored_train = ck->meta.value("train", nlohmann::json::object());
    if (a.seed && stored_train.value("seed", int64_t(-1)) != *a.seed)
      refuse("--seed", std::to_string(*a.seed), "seed " + stored_train.value("seed", nlohmann::json()).dump());
    task = data::make_task(t.at("name"), t);
    topt = config::from_json<train::TrainOptions>(ck->meta.value("train", nlohmann::json::object()));
    model = ck->model;  // already built from the checkpoint's config, weights loaded
    const int64_t at = ck->meta.value("step", int64_t(0));
    if (a.steps && *a.steps < at)
      throw std::invalid_argument("--resume --steps " + std::to_string(*a.steps) + ": the run in '" + ckpt +
                                  "' is already at step " + std::to_string(at) + "; expected --steps >= " +
                                  std::to_string(at) + " (a run is not shortened)");
  } else {
    if (std::filesystem::exists(ckpt) && !a.dry_run)
      throw std::invalid_argument("--out '" + a.out + "' already holds a run (" + ckpt +
                                  "); pass --resume to continue it, or choose another --out");
    // A folder with a run's files but no checkpoint is not a run: training would replace
    // its config.json and metrics.jsonl, and a stale eval.json would describe another model.
    if (!a.dry_run)
      for (const char* f : {"config.json", "metrics.jsonl", "eval.json"})
        if (std::filesystem::exists(a.out + "/" + f))
          throw std::invalid_argument("--out '" + a.out + "' holds " + f + " but no checkpoint.eqt: not a run eqt can "
                                      "resume, and a new run would overwrite it; choose another --out or remove it");
    // --init-from: the weights (EMA when kept: what its validation measured) of another run,
    // with its architecture unless --config gives one, which must then match it by name.
    std::optional<train::Checkpoint> src;
    std::string family = a.model.value_or(models::default_family());
    if (a.init_from) {
      const std::string file = *a.init_from + "/checkpoint.eqt";
      if (!std::filesystem::exists(file))
        throw std::invalid_argument("--init-from '" + *a.init_from + "': no checkpoint.eqt there; expected a run folder");
      src = train::load_for_eval(file, /*use_ema=*/true);
      const auto& from = src->model->config().family;
      if (a.model && *a.model != from)
        throw std::invalid_argument("--init-from '" + *a.init_from + "' holds a model of family " + from + ", not --model " +
                                    *a.model + "; drop --model or start from a " + *a.model + " run");
      family = from;
    }
    nlohmann::json overrides = nlohmann::json::object();
    a.task_args.apply(overrides);
    auto p = load_preset(family, a.task.value_or("parity"), a.config, overrides, talk);
    task = p.task;
    topt = p.topt;
    if (a.seed) topt.seed = uint64_t(*a.seed);
    torch::manual_seed(topt.seed);
    model = models::make_model(src && a.config.empty() ? src->model->config() : p.cfg);
    if (src && model->config().vocab != task->vocab())
      throw std::invalid_argument("--init-from '" + *a.init_from + "': its model reads " +
                                  std::to_string(model->config().vocab) + " token ids, but the " + task->name() +
                                  " task here has " + std::to_string(task->vocab()) +
                                  "; start from a run of a task with the same vocabulary");
    if (src) {
      train::load_named_tensors(*model, train::named_tensors(*src->model), "run '" + *a.init_from + "'");
      if (talk) std::printf("eqt train: weights from %s (a new optimizer state)\n", a.init_from->c_str());
    }
  }
  if (a.steps) topt.steps = *a.steps;
  if (a.batch) topt.batch = *a.batch;
  if (a.lr) topt.lr = *a.lr;
  if (a.precision) topt.precision = *a.precision;
  topt.validate();
  if (topt.batch < a.dist.nproc)
    throw std::invalid_argument("--batch " + std::to_string(topt.batch) + " does not split over --nproc " +
                                std::to_string(a.dist.nproc) + "; expected a batch >= the process count");
  return {model, task, topt, std::move(ck)};
}

// EQT_LOCK_WAIT_S: seconds to wait for a run folder's lock before refusing (default 0). A
// sweep sets it for its children: after the sweep was killed, its old child may still be
// saving a checkpoint when the resumed sweep starts the run again.
double lock_wait_s() {
  const char* v = std::getenv("EQT_LOCK_WAIT_S");
  return v ? std::max(0.0, std::atof(v)) : 0.0;
}

// eval*.json beside a checkpoint describe that checkpoint: once training goes on they are
// stale (compare and sweep would read them), so a resumed run removes them.
void remove_stale_evaluations(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const auto name = e.path().filename().string();
    if (name.rfind("eval", 0) == 0 && e.path().extension() == ".json") std::filesystem::remove(e.path(), ec);
  }
}

// `--nproc N` (N > 1) in the launching process: check the run once here, so a user error is
// reported once, then start N copies of this very command line as the workers.
void launch(const TrainArgs& a) {
  if (std::getenv("WORLD_SIZE"))
    throw std::invalid_argument("--nproc " + std::to_string(a.dist.nproc) + " starts its own workers, but WORLD_SIZE is "
                                "already set (torchrun or a scheduler started this process); leave out --nproc");
  if (parallel::available_backends().find("gloo") == std::string::npos)
    throw std::invalid_argument("--nproc needs the Gloo backend, which this eqt was built without");
  io::FolderLock lock(a.out, "eqt train --nproc " + std::to_string(a.dist.nproc), lock_wait_s());
  prepare(a, false);
  parallel::LaunchOptions o;
  o.nproc = a.dist.nproc;
  // One host and no MASTER_ADDR: rendezvous through a private file, not a TCP store that
  // would listen on every interface of the machine for the whole run.
  std::string store_dir;
  if (!std::getenv("MASTER_ADDR")) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "eqt-rendezvous-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("--nproc: cannot create a rendezvous directory in " + tmpl);
    store_dir = tmpl;
    o.store_file = store_dir + "/store";
  } else {
    o.master_addr = std::getenv("MASTER_ADDR");
  }
  auto r = parallel::launch_workers("/proc/self/exe", parallel::own_command_line(), o);
  if (!store_dir.empty()) std::filesystem::remove_all(store_dir);
  if (r.exit_code != 0) throw std::runtime_error("data-parallel run failed: " + r.message);
}

void run_train(const TrainArgs& a) {
  // Counts every CPU tensor allocation from here on: metrics.jsonl's peak_mb is the most
  // tensor memory a training step held (parameters, optimizer state and activations).
  util::MemoryMeter::install();
  if (a.dist.nproc > 1 && !std::getenv("EQT_LAUNCHED") && !a.dry_run) return launch(a);
  const auto env = parallel::DistEnv::from_environment();
  if (std::getenv("EQT_LAUNCHED") && env.world != a.dist.nproc)
    throw std::logic_error("worker of --nproc " + std::to_string(a.dist.nproc) + " sees WORLD_SIZE " +
                           std::to_string(env.world));
  const bool main_rank = env.rank == 0;
  // One writer per run folder (docs/training.md): rank 0 of a torchrun-style job, or this
  // process alone; the workers of --nproc run under their launcher's lock.
  std::optional<io::FolderLock> lock;
  if (!a.dry_run && main_rank && !std::getenv("EQT_LAUNCHED")) lock.emplace(a.out, "eqt train", lock_wait_s());
  auto [model, task, topt, ck] = prepare(a, main_rank);
  if (ck && main_rank) remove_stale_evaluations(a.out);
  // One process per GPU: LOCAL_RANK picks it when the device names no index.
  torch::Device device = parse_device(a.device);
  if (device.is_cuda() && env.distributed() && a.device == "cuda") device = torch::Device(torch::kCUDA, env.local_rank);
  model->to(device);  // before the Trainer builds its optimizer over the parameters
  nlohmann::json resolved = {
      {"model", model->config().to_json()}, {"train", config::to_json(topt)}, {"task", task->options()}};
  if (a.init_from) resolved["init_from"] = *a.init_from;
  if (main_rank)
    std::printf("eqt train: %s on %s, %lld parameters, %lld steps, %s, %s, out %s\n", model->config().family.c_str(),
                task->name().c_str(), (long long)model->param_total(), (long long)topt.steps, device.str().c_str(),
                topt.precision.c_str(), a.out.c_str());
  if (a.dry_run) {
    std::printf("%s\n", resolved.dump(2).c_str());
    return;
  }
  std::shared_ptr<parallel::Communicator> comm;
  if (env.distributed()) {
    comm = parallel::Communicator::connect(env, device,
                                       std::chrono::milliseconds(int64_t(a.dist.timeout_s * 1000)));
    if (main_rank)
      std::printf("eqt train: data parallel over %d processes (%s), global batch %lld, %lld-%lld rows per process\n",
                  env.world, comm->backend().c_str(), (long long)topt.batch, (long long)(topt.batch / env.world),
                  (long long)((topt.batch + env.world - 1) / env.world));
  }
  auto sync = parallel::GradSyncOptions()
                  .bucket_bytes(int64_t(a.dist.bucket_mb * (1 << 20)))
                  .overlap(!a.dist.no_overlap);
  train::Trainer trainer(model, task, topt, a.out, comm, sync);
  if (ck) trainer.resume(*ck);
  if (main_rank) io::write_text_file(a.out + "/config.json", resolved.dump(2) + "\n");
  train::TrainResult res;
  try {
    res = trainer.run();
  } catch (const parallel::CollectiveError& e) {
    // Leave without unwinding: the process group's destructor waits for every collective
    // still queued, each up to --dist-timeout, on a peer that may never answer. What matters
    // is on disk (the last checkpoint; metrics lines are flushed as written).
    std::fprintf(stderr, "eqt: error: %s\n", e.what());
    std::fflush(nullptr);
    std::_Exit(1);
  }
  if (!res.stopped.empty())
    throw std::runtime_error((main_rank ? "" : "rank " + std::to_string(env.rank) + ": ") + "training stopped: " +
                             res.stopped);
  if (main_rank)
    std::printf("eqt train: done at step %lld; checkpoint %s\n", (long long)res.step,
                trainer.checkpoint_path().c_str());
}

struct EvalArgs {
  std::string run, device = "cpu";
  bool json = false;
  int64_t batch = 256;
  std::vector<std::string> solver_steps;
  std::vector<std::string> solver_set;  // KEY=VALUE under the config's solver.*
  std::vector<std::string> depth;        // supervision steps N or Nx the trained (default: the run's train.supervision)
  std::vector<int64_t> restarts;         // starting states per puzzle (issue 29)
  double start_noise = 1.0, path_noise = 0.0;
  uint64_t restart_seed = 0;
  std::string halt = "fixed";
  double halt_tol = 1e-3;
  bool raw_weights = false;
  TaskArgs task_args;
};

// --solver KEY=VALUE ... -> {"solver": {KEY: VALUE}}; a VALUE that is not JSON is a string
// (method=picard). Keys and types are checked by ModelConfig::from_json, which names them.
nlohmann::json solver_overrides(const std::vector<std::string>& items) {
  nlohmann::json s = nlohmann::json::object();
  for (const auto& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      throw std::invalid_argument("--solver " + item + ": expected KEY=VALUE, e.g. freeze=true or eval_tol=1e-5");
    auto v = nlohmann::json::parse(item.substr(eq + 1), nullptr, /*allow_exceptions=*/false);
    s[item.substr(0, eq)] = v.is_discarded() ? nlohmann::json(item.substr(eq + 1)) : v;
  }
  return {{"solver", s}};
}

void run_eval(const EvalArgs& a) {
  nlohmann::json overrides = nlohmann::json::object();
  a.task_args.apply(overrides);
  if (overrides.contains("data")) {  // evaluate on that file's puzzles, all of them
    overrides["test_data"] = std::filesystem::absolute(overrides["data"].get<std::string>()).string();
    overrides.erase("data");
  }
  auto run = train::open_run(a.run, !a.raw_weights, overrides);
  auto& model = *run.ck.model;
  model.to(parse_device(a.device));  // checkpoints hold CPU tensors: any device evaluates them
  nlohmann::json solver_set;
  models::ForwardOptions opts;  // the model's config stays the checkpoint's
  if (!a.solver_set.empty()) {
    solver_set = solver_overrides(a.solver_set);
    opts.solver = models::ModelConfig::from_json(solver_set, model.config()).solver;  // validated there
  }
  const auto& task = run.task;
  const bool ema = run.ema;
  train::SupervisionEval sup;  // the run's own depth unless --depth says otherwise
  const auto& trained = run.ck.meta.contains("train") ? run.ck.meta["train"] : nlohmann::json::object();
  const int64_t trained_depth = trained.value("supervision", int64_t(1));
  // Test-time compute (issue 29): several depths, restarts or path noise take the restart
  // evaluation (one forward per supervision step, the state carried, every depth scored).
  if (a.depth.size() > 1 || !a.restarts.empty() || a.path_noise > 0) {
    if (!a.solver_steps.empty()) throw std::invalid_argument("--solver-steps with --restarts or several --depth: run them apart");
    if (a.halt != "fixed")
      throw std::invalid_argument("--halt " + a.halt + " with --restarts or several --depth: the restart evaluation "
                                  "prices every halting rule itself (its \"halting\" list); leave --halt fixed");
    train::RestartEval re;
    re.depths = depth_ladder(a.depth, trained_depth);
    re.breadths = restart_ladder(a.restarts);
    re.start_noise = a.start_noise;
    re.path_noise = a.path_noise;
    re.seed = a.restart_seed;
    auto out = train::evaluate_restarts(model, *task, a.batch, 0, opts, re);
    out["weights"] = ema ? "ema" : "raw";
    out["trained_depth"] = trained_depth;
    if (!solver_set.empty()) out["solver_overrides"] = solver_set["solver"];
    std::string stem = "eval.restarts";
    if (overrides.contains("test_data")) {
      out["test_data"] = overrides["test_data"];
      stem += "." + std::filesystem::path(a.task_args.data).stem().string();
    }
    io::write_text_file(a.run + "/" + stem + ".json", out.dump(2) + "\n");
    auto plots = write_restart_plots(out, a.run, stem);
    if (a.json) {
      std::cout << out.dump() << "\n";
      return;
    }
    print_restart_report(out);
    std::printf("wrote %s/%s.json", a.run.c_str(), stem.c_str());
    for (const auto& p : plots) std::printf(", %s", p.c_str());
    std::printf("\n");
    return;
  }
  sup.steps = a.depth.empty() ? trained_depth : parse_depth(a.depth.front(), trained_depth);
  sup.halt = a.halt;
  sup.tol = a.halt_tol;
  nlohmann::json out;
  if (a.solver_steps.empty()) {
    out = train::evaluate(model, *task, a.batch, 0, opts, sup);
  } else {
    out = train::evaluate_by_caps(model, *task, a.solver_steps, a.batch, 0, opts, sup);
  }
  out["weights"] = ema ? "ema" : "raw";
  if (!solver_set.empty()) out["solver_overrides"] = solver_set["solver"];
  // Kept beside the checkpoint for `eqt plot` (the internalisation curve), `eqt compare` and
  // `eqt sweep`, which read eval.json as the run's own evaluation: anything else (solver or
  // task overrides, the raw weights, a user's puzzle file) gets its own name, so that one
  // is never replaced by a differently measured figure.
  std::string name = a.solver_steps.empty() ? "eval" : "eval_by_solver_steps";
  if (!solver_set.empty()) name += ".solver";
  if (sup.steps != trained.value("supervision", int64_t(1)) || sup.halt != "fixed") name += ".depth";
  nlohmann::json task_set = overrides;
  task_set.erase("test_data");
  task_set.erase("tokenizer");  // where the run's tokenizer is now: the same task
  if (!task_set.empty()) {
    out["task_overrides"] = task_set;
    name += ".task";
  }
  if (a.raw_weights && !run.ck.ema.empty()) name += ".raw";  // the checkpoint has an EMA: not the run's own figure
  if (overrides.contains("test_data")) {
    out["test_data"] = overrides["test_data"];
    name += "." + std::filesystem::path(a.task_args.data).stem().string();
  }
  io::write_text_file(a.run + "/" + name + ".json", out.dump(2) + "\n");
  if (a.json) {
    std::cout << out.dump() << "\n";
    return;
  }
  auto line = [](const nlohmann::json& r) {
    std::printf("%-6s loss %.4f  token acc %.4f  exact %.4f  ppl %.3f  solver steps %.2f\n",
                r.value("solver_steps_cap", std::string("-")).c_str(), r["loss"].get<double>(),
                r["token_accuracy"].get<double>(), r["exact_accuracy"].get<double>(), r["perplexity"].get<double>(),
                r["solver_steps_mean"].get<double>());
  };
  std::printf("%s on %s (%lld parameters)\n", out["model"].get<std::string>().c_str(),
              out["task"].get<std::string>().c_str(), (long long)out["params_total"].get<int64_t>());
  if (out.contains("by_solver_steps"))
    for (const auto& r : out["by_solver_steps"]) line(r);
  else
    line(out);
}

}  // namespace

void register_train(CLI::App& app, int& /*exit_code*/) {
  auto a = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand("train", "Train a model on a task; writes DIR/checkpoint.eqt and metrics.jsonl");
  cmd->add_option("--model", a->model, models::family_choices() + " (default: attractor)")
      ->check(CLI::IsMember(models::family_names()));
  cmd->add_option("--task", a->task, data::task_choices() + " (default: parity)")
      ->check(CLI::IsMember(data::task_names()));
  cmd->add_option("--config", a->config, "JSON {model, train, task} (default: the built-in preset <model>-<task>, from configs/ at build time)");
  cmd->add_option("--out", a->out, "run folder")->required();
  cmd->add_flag("--resume", a->resume, "continue the run in --out from its checkpoint");
  cmd->add_option("--init-from", a->init_from,
                  "start from this run folder's weights (EMA if kept; its architecture unless --config), new optimizer");
  cmd->add_flag("--dry-run", a->dry_run, "build task and model, print the resolved config, and stop");
  cmd->add_option("--steps", a->steps, "override the preset's optimizer steps")->check(at_least(1));
  cmd->add_option("--batch", a->batch, "override the preset's batch size")->check(at_least(1));
  cmd->add_option("--lr", a->lr, "override the preset's peak learning rate")->check(above(0));
  cmd->add_option("--seed", a->seed, "override the preset's seed")->check(at_least(0));
  cmd->add_option("--device", a->device, "cpu, cuda or cuda:N (with --nproc and plain cuda: cuda:LOCAL_RANK)")
      ->capture_default_str();
  cmd->add_option("--precision", a->precision, "fp32 | bf16: the forward under bfloat16 autocast (default: fp32)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  a->task_args.add(cmd);
  a->dist.add(cmd);
  cmd->callback([a] { run_train(*a); });

  auto e = std::make_shared<EvalArgs>();
  auto* ev = app.add_subcommand("eval", "Evaluate a trained run on its task's held-out set");
  ev->add_option("--run", e->run, "run folder (with checkpoint.eqt)")->required();
  ev->add_flag("--json", e->json, "print exactly one JSON object");
  ev->add_option("--batch", e->batch, "evaluation batch size")->capture_default_str()->check(at_least(1));
  ev->add_flag("--raw-weights", e->raw_weights, "evaluate the trained weights, not their EMA");
  ev->add_option("--device", e->device, "cpu, cuda or cuda:N")->capture_default_str();
  ev->add_option("--solver-steps", e->solver_steps, "caps on refinement steps, e.g. 0,1,2,4,max")->delimiter(',');
  ev->add_option("--depth", e->depth,
                 "supervision steps per example, N or Nx (N times the run's train.supervision, the default); "
                 "a step is one forward from the last loop state: looped K more core iterations, trm T more cycles, "
                 "deq / attractor one more solve. Several (1x,2x,4x) or with --restarts: every depth up to it is scored")
      ->delimiter(',');
  ev->add_option("--restarts", e->restarts,
                 "starting states per puzzle (restart 0 the family's own, the others it plus --start-noise x N(0, I); "
                 "attractor: the proposal perturbed), ranked by convergence; one value B scores 1, 4, 16, ... B")
      ->delimiter(',')->check(at_least(1));
  ev->add_option("--start-noise", e->start_noise, "with --restarts: the scale of a restart's perturbation")
      ->capture_default_str()->check(at_least(0));
  ev->add_option("--path-noise", e->path_noise,
                 "noise N(0, path_noise^2) added after every update (looped, unrolled trm; EqR's noisy path)")
      ->capture_default_str()->check(at_least(0));
  ev->add_option("--restart-seed", e->restart_seed, "seed of the restarts' and the path's noise")->capture_default_str();
  ev->add_option("--halt", e->halt, "when a row stops before --depth: fixed (never) | learned (q_halt > 0) | converged (residual < --halt-tol)")
      ->capture_default_str()->check(CLI::IsMember({"fixed", "learned", "converged"}));
  ev->add_option("--halt-tol", e->halt_tol, "converged: the loop residual below which a row stops")
      ->capture_default_str()->check(at_least(0));
  ev->add_option("--solver", e->solver_set,
                 "KEY=VALUE: an inference solver setting over the checkpoint's (solver.* keys of eqt info), "
                 "e.g. freeze=true compact=0 eval_tol=1e-5 method=picard; repeatable");
  e->task_args.add(ev);
  ev->get_option("--data")->description(
      "sudoku, maze: score every puzzle of this file (81-character lines, '.' or 0 blank, optional ,solution)");
  ev->callback([e] { run_eval(*e); });
}

}  // namespace eqt::cli
