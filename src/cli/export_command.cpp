// cli/export_command.cpp — `eqt export` and `eqt import`: a trained run's weights as a
// safetensors file (io/safetensors.h) for the PyTorch world, and such a file back as a run
// folder that eval, generate and serve accept.
// export: the EMA weights by default (what validation measured), --raw-weights for the
// trained ones; tensor names as eqt registers them ("blocks.0.attn.q.weight"); metadata
// "eqt.model" (the model config, JSON), "eqt.task" (the task options, JSON), "eqt.weights",
// "eqt.step", "eqt.version", and "format": "pt".
// import: the model is built from "eqt.model" and every parameter and buffer must be in the
// file with its shape; a missing, extra or misshapen tensor is refused by name.
// import --from attractor-reference: a state dict of the Attractor paper's PyTorch code
// (models/attractor_reference.h) with its model config (--config, the reference's JSON), into
// a text run (bytes, or --tokenizer) that eval, generate and serve accept.
// What it is not: an optimizer-state exchange.
#include "cli/commands.h"
#include "cli/json_file.h"

#include "eqt/data/make_task.h"
#include "eqt/io/atomic_write.h"
#include "eqt/io/folder_lock.h"
#include "eqt/io/json_text.h"
#include "eqt/io/safetensors.h"
#include "eqt/models/attractor_reference.h"
#include "eqt/models/model.h"
#include "eqt/train/checkpoint.h"
#include "eqt/train/run_folder.h"
#include "eqt/train/weights.h"

#include <filesystem>

namespace eqt::cli {
namespace {

struct ExportArgs {
  std::string run, out;
  bool raw_weights = false;
};

struct ImportArgs {
  std::string file, out;
  std::string from = "eqt";  // eqt | attractor-reference
  std::string ref_config;    // attractor-reference: the reference's model config (JSON)
  std::string data, tokenizer;
  int64_t seq_len = 0;  // attractor-reference: 0 = the reference's block_size
};

// The run folder an import makes: its checkpoint (step 0, no optimizer state) with `meta`
// (the task, at least) and where the weights came from.
void write_imported_run(const ImportArgs& a, const std::string& ckpt, models::ModelImpl& model, nlohmann::json meta) {
  meta["step"] = 0;
  meta["imported_from"] = std::filesystem::absolute(a.file).string();
  train::save_checkpoint(ckpt, model, nullptr, meta, nullptr);
}

// --from attractor-reference: map the reference's names and layout, then the same checks.
void run_import_reference(const ImportArgs& a, const std::string& ckpt) {
  if (a.ref_config.empty())
    throw std::invalid_argument("--from attractor-reference needs --config FILE: the reference's model config as JSON "
                                "(n_embd, num_attention_heads, nonlin_name, ...)");
  const auto rc = read_json_file(a.ref_config);
  const std::string cfg_where = "reference config '" + a.ref_config + "'";
  // The tokenizer decides the vocabulary the mapping needs; the window is set after it, from
  // the block_size the reference was built for.
  nlohmann::json topt = {{"seq_len", 2}};
  if (!a.data.empty()) topt["data"] = a.data;
  if (!a.tokenizer.empty()) topt["tokenizer"] = a.tokenizer;
  const int64_t vocab = data::make_task("text", topt)->vocab();
  auto st = io::load_safetensors(a.file);
  auto mapped = models::map_attractor_reference(rc, st.tensors, vocab, "'" + a.file + "'", cfg_where);
  try {
    mapped.config.validate();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(cfg_where + " maps to an eqt model that is not valid: " + e.what());
  }
  const int64_t block = mapped.config.max_seq;
  if (a.seq_len > block)
    throw std::invalid_argument("--seq-len " + std::to_string(a.seq_len) + " is longer than the reference's block_size " +
                                std::to_string(block) + " (" + cfg_where +
                                "): its positions were built for windows up to that; expected --seq-len <= " +
                                std::to_string(block));
  topt["seq_len"] = a.seq_len > 0 ? a.seq_len : block;
  auto task = data::make_task("text", topt);
  auto model = models::make_model(mapped.config);
  train::load_named_tensors(*model, {mapped.tensors.begin(), mapped.tensors.end()},
                            "the attractor-reference mapping of '" + a.file + "'");
  auto task_meta = task->options();
  task_meta["name"] = task->name();
  for (const auto& n : mapped.notes) std::printf("eqt import: note: %s\n", n.c_str());
  write_imported_run(a, ckpt, *model, {{"task", task_meta}, {"imported_layout", "attractor-reference"}});
  std::printf("eqt import: %s (the Attractor reference's layout: %lld + %lld blocks, d_model %lld, %lld parameters) to %s\n",
              a.file.c_str(), (long long)mapped.config.n_layers, (long long)mapped.config.attractor.head_layers,
              (long long)mapped.config.block.d_model, (long long)model->param_total(), ckpt.c_str());
}

void run_export(const ExportArgs& a) {
  // The run's own files are its inputs: --out must not replace one of them.
  std::vector<std::string> inputs;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(a.run, ec))
    if (e.is_regular_file()) inputs.push_back(e.path().string());
  io::refuse_overwriting_inputs(a.out, inputs, "--out");
  bool ema = false;
  auto ck = train::load_for_eval(a.run + "/checkpoint.eqt", !a.raw_weights, &ema);
  io::SafeTensors st;
  st.metadata = {{"format", "pt"},
                 {"eqt.model", ck.model->config().to_json().dump()},
                 {"eqt.task", ck.meta.at("task").dump()},
                 {"eqt.weights", ema ? "ema" : "raw"},
                 {"eqt.step", std::to_string(ck.meta.value("step", int64_t(0)))},
                 {"eqt.version", EQT_VERSION}};
  for (const auto& p : ck.model->named_parameters()) st.tensors.emplace_back(p.key(), p.value());
  for (const auto& b : ck.model->named_buffers()) st.tensors.emplace_back(b.key(), b.value());
  io::save_safetensors(a.out, st);
  std::printf("eqt export: %zu tensors (%s weights, %lld parameters) of %s to %s\n", st.tensors.size(),
              ema ? "EMA" : "raw", (long long)ck.model->param_total(), a.run.c_str(), a.out.c_str());
}

void import_into(const ImportArgs& a, const std::string& ckpt);

void run_import(const ImportArgs& a) {
  const std::string ckpt = a.out + "/checkpoint.eqt";
  const bool made_out = !std::filesystem::exists(a.out);
  io::FolderLock lock(a.out, "eqt import");
  if (std::filesystem::exists(ckpt))  // under the lock: another import may have just finished
    throw std::invalid_argument("--out '" + a.out + "' already holds a run (" + ckpt + "); choose another --out");
  try {
    import_into(a, ckpt);
  } catch (...) {
    std::error_code ec;  // a refused import leaves no folder it made (only its lock file is in it)
    if (made_out && !std::filesystem::exists(ckpt)) std::filesystem::remove_all(a.out, ec);
    throw;
  }
}

void import_into(const ImportArgs& a, const std::string& ckpt) {
  if (a.from == "attractor-reference") return run_import_reference(a, ckpt);
  if (!a.ref_config.empty() || !a.data.empty() || !a.tokenizer.empty())
    throw std::invalid_argument("--config, --data and --tokenizer belong to --from attractor-reference; a file from "
                                "`eqt export` carries its own model and task");
  auto st = io::load_safetensors(a.file);
  auto need = [&](const std::string& key) {
    auto it = st.metadata.find(key);
    if (it == st.metadata.end())
      throw std::invalid_argument("safetensors file '" + a.file + "' has no '" + key +
                                  "' metadata: it was not written by `eqt export` (a state dict of the Attractor paper's code: "
                                  "--from attractor-reference)");
    return io::parse_json(it->second, "the " + key + " metadata of '" + a.file + "'");
  };
  auto cfg = models::ModelConfig::from_saved_json(need("eqt.model"));
  auto task = need("eqt.task");
  // The task must build here as it will in every later command (types, names, sizes).
  if (!task.is_object() || !task.contains("name") || !task["name"].is_string())
    throw std::invalid_argument("the eqt.task metadata of '" + a.file + "' has no task name: " + task.dump());
  auto built = data::make_task(task["name"].get<std::string>(), task);
  if (built->vocab() != cfg.vocab)
    throw std::invalid_argument("the eqt.task metadata of '" + a.file + "' describes a " + built->name() + " task of " +
                                std::to_string(built->vocab()) + " token ids; its model reads " + std::to_string(cfg.vocab));
  // Before any allocation: the config must not claim more weights than the file holds.
  double held = 0;
  for (const auto& [name, t] : st.tensors) held += double(t.numel());
  if (const double least = train::min_params(cfg); least > held)
    throw std::invalid_argument("the eqt.model metadata of '" + a.file + "' describes at least " +
                                std::to_string(int64_t(least)) + " parameters; the file holds " +
                                std::to_string(int64_t(held)) + " values (damaged or mismatched metadata)");
  auto model = models::make_model(cfg);
  train::load_named_tensors(*model, {st.tensors.begin(), st.tensors.end()}, "safetensors file '" + a.file + "'");
  write_imported_run(a, ckpt, *model, {{"task", task}});
  std::printf("eqt import: %s (%s, %lld parameters) to %s\n", a.file.c_str(), cfg.family.c_str(),
              (long long)model->param_total(), ckpt.c_str());
}

}  // namespace

void register_export(CLI::App& app, int& /*exit_code*/) {
  auto e = std::make_shared<ExportArgs>();
  auto* ex = app.add_subcommand("export", "Write a run's weights as a safetensors file (EMA weights by default)");
  ex->add_option("--run", e->run, "run folder (with checkpoint.eqt)")->required();
  ex->add_option("--out", e->out, "the .safetensors file to write")->required();
  ex->add_flag("--raw-weights", e->raw_weights, "the trained weights, not their EMA");
  ex->callback([e] { run_export(*e); });
  auto i = std::make_shared<ImportArgs>();
  auto* im = app.add_subcommand("import", "Make a run folder from a safetensors file (eqt export, or the Attractor reference's)");
  im->add_option("file", i->file, "the .safetensors file")->required();
  im->add_option("--out", i->out, "run folder to create")->required();
  im->add_option("--from", i->from, "eqt (a file from eqt export) | attractor-reference (a state dict of jacobfa/Attractor)")
      ->capture_default_str()->check(CLI::IsMember({"eqt", "attractor-reference"}));
  im->add_option("--config", i->ref_config, "attractor-reference: the reference's model config as JSON");
  im->add_option("--data", i->data, "attractor-reference: the text task's UTF-8 file (default: the KJV Bible)");
  im->add_option("--tokenizer", i->tokenizer, "attractor-reference: the SentencePiece model its ids come from (default: bytes)");
  im->add_option("--seq-len", i->seq_len,
                 "attractor-reference: the text task's window in tokens (default: the reference's block_size; "
                 "at most that)")
      ->check(CLI::PositiveNumber);
  im->callback([i] { run_import(*i); });
}

}  // namespace eqt::cli
