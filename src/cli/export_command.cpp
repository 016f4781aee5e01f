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
  int64_t seq_len = 256;
};

// The run folder an import makes: its checkpoint (step 0, no optimizer state) with `meta`
// (the task, at least) and where the weights came from.
void write_imported_run(const ImportArgs& a, const std::string& ckpt, models::ModelImpl& model, nlohmann::json meta) {
  std::filesystem::create_directories(a.out);
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
  nlohmann::json topt = {{"seq_len", a.seq_len}};
  if (!a.data.empty()) topt["data"] = a.data;
  if (!a.tokenizer.empty()) topt["tokenizer"] = a.tokenizer;
  auto task = data::make_task("text", topt);
  auto st = io::load_safetensors(a.file);
  auto mapped = models::map_attractor_reference(rc, st.tensors, task->vocab(), "'" + a.file + "'");
  mapped.config.max_seq = std::max(mapped.config.max_seq, task->seq_len());
  auto model = models::make_model(mapped.config);
  train::load_named_tensors(*model, {mapped.tensors.begin(), mapped.tensors.end()},
                            "the attractor-reference mapping of '" + a.file + "'");
  auto task_meta = task->options();
  task_meta["name"] = task->name();
  for (const auto& n : mapped.notes) std::printf("eqt import: note: %s\n", n.c_str());
  write_imported_run(a, ckpt, *model, {{"task", task_meta}, {"imported_layout", "attractor-reference"}});
  std::printf("eqt import: %s (the Attractor reference's layout: %lld + %lld blocks, d_model %lld, %lld parameters) to %s\n",
              a.file.c_str(), (long long)mapped.config.n_layers, (long long)mapped.config.head_layers,
              (long long)mapped.config.d_model, (long long)model->param_total(), ckpt.c_str());
}

void run_export(const ExportArgs& a) {
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

void run_import(const ImportArgs& a) {
  const std::string ckpt = a.out + "/checkpoint.eqt";
  if (std::filesystem::exists(ckpt))
    throw std::invalid_argument("--out '" + a.out + "' already holds a run (" + ckpt + "); choose another --out");
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
  im->add_option("--seq-len", i->seq_len, "attractor-reference: the text task's window in tokens")->capture_default_str();
  im->callback([i] { run_import(*i); });
}

}  // namespace eqt::cli
