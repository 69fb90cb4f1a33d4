#include "harness/runner.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <ostream>

#include <fmt/format.h>

#include "harness/config.h"
#include "harness/content_hash.h"
#include "harness/device.h"
#include "harness/distributed.h"
#include "harness/error.h"
#include "harness/files.h"
#include "harness/interrupt.h"
#include "harness/markdown_html.h"
#include "harness/plugins.h"
#include "harness/report.h"
#include "harness/run_dir.h"
#include "harness/seeds.h"
#include "harness/stage.h"

namespace fs = std::filesystem;

namespace caig {

namespace {

constexpr int kStageFormat = 1;
// Files of a stage folder the runner writes besides the stage's artifacts.
const char* const kStageRecord = "stage.json";

std::string default_run_name(const nlohmann::json& cfg) {
  const auto& run = cfg.at("run");
  std::string name = run.at("name").get<std::string>();
  if (name.empty()) name = "defaults";
  return fmt::format("{}-{}-seed{}", name, run.at("preset").get<std::string>(),
                     run.at("seed").get<uint64_t>());
}

std::vector<std::string> stage_names(const nlohmann::json& cfg) {
  return cfg.at("run").at("stages").get<std::vector<std::string>>();
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// The stages of the run, created from their resolved configs.
std::vector<std::unique_ptr<Stage>> create_stages(const nlohmann::json& cfg) {
  std::vector<std::unique_ptr<Stage>> stages;
  const PluginContext pctx{&cfg, cfg.at("run").at("seed").get<uint64_t>()};
  for (const auto& name : stage_names(cfg))
    stages.push_back(plugins().stages.create(name, cfg.at("stages").at(name), pctx,
                                             cfg.at("run").at("experiment").get<std::string>()));
  return stages;
}

// Every read names an artifact that a stage earlier in run.stages writes.
void check_stage_order(const nlohmann::json& cfg,
                       const std::vector<std::unique_ptr<Stage>>& stages) {
  const auto names = stage_names(cfg);
  for (size_t i = 0; i < stages.size(); ++i) {
    for (const auto& ref : stages[i]->reads()) {
      const auto at = std::find(names.begin(), names.end(), ref.stage);
      const std::string why = ref.why.empty() ? "" : " (" + ref.why + ")";
      if (at == names.end() || static_cast<size_t>(at - names.begin()) >= i)
        fail(
            "stage '{}' reads '{}' of stage '{}'{}, but run.stages = [{}] has no '{}' before "
            "'{}'",
            names[i], ref.artifact, ref.stage, why, join(names), ref.stage, names[i]);
      const auto writes = stages[static_cast<size_t>(at - names.begin())]->writes();
      if (std::find(writes.begin(), writes.end(), ref.artifact) == writes.end())
        fail(
            "stage '{}' reads '{}' of stage '{}'{}, which that stage does not write (it writes: "
            "{})",
            names[i], ref.artifact, ref.stage, why, join(writes));
    }
  }
}

// The code a stage's results come from: the version with its git revision and the LibTorch it
// runs on; for a build from a tree with uncommitted changes (or none known) also the executable's
// own hash, since the revision does not tell such builds apart.
std::string code_identity() {
  static const std::string identity = [] {
    std::string id = caig_version() + " LibTorch " + torch_version();
    if (id.find("dirty") != std::string::npos || id.find("unknown") != std::string::npos) {
      std::error_code ec;
      const auto exe = fs::read_symlink("/proc/self/exe", ec);
      id += " binary " + (ec ? std::string("unknown") : hash_file(exe));
    }
    return id;
  }();
  return identity;
}

// Everything a stage's results depend on, in canonical JSON: its config, the config keys it
// names, the seed, device and threads, the code's version, and the outputs of what it reads.
nlohmann::json dependencies(const Stage& stage, const std::string& name, const nlohmann::json& cfg,
                            const std::string& device,
                            const std::map<std::string, std::string>& output_hashes) {
  nlohmann::json keys = nlohmann::json::object();
  for (const auto& k : stage.config_keys()) keys[k] = at_path(cfg, k);
  nlohmann::json inputs = nlohmann::json::object();
  for (const auto& ref : stage.reads())
    inputs[ref.stage + "/" + ref.artifact] = output_hashes.at(ref.stage);
  const bool on_device = stage.uses_device();
  return {{"stage", name},
          {"config", cfg.at("stages").at(name)},
          {"config_keys", keys},
          {"seed", cfg.at("run").at("seed")},
          {"threads", on_device ? cfg.at("run").at("threads") : nlohmann::json()},
          {"device", on_device ? nlohmann::json(device) : nlohmann::json()},
          {"code", code_identity()},
          {"schema_version", stage.schema_version()},
          {"inputs", inputs},
          {"external", stage.external_fingerprint()}};
}

// A stage folder's stage.json: null when there is none, a string when it cannot be read.
nlohmann::json read_record(const fs::path& dir) {
  if (!fs::exists(dir / kStageRecord)) return nullptr;
  try {
    const auto j = read_json(dir / kStageRecord);
    return j.is_object() ? j : nlohmann::json("not a JSON object");
  } catch (const Error& e) {
    return e.what();
  }
}

// Why the stage folder `dir`, whose stage.json is `j` (read_record), cannot be reused ("" when
// it can).
std::string reuse_problem(const fs::path& dir, const nlohmann::json& j, const std::string& hash) {
  if (j.is_null()) return fs::exists(dir) ? "an earlier attempt did not finish" : "no earlier run";
  if (!j.is_object()) return "its stage.json is unreadable";
  if (!j.value("complete", false)) return "an earlier attempt did not finish";
  if (j.value("hash", "") != hash) return "its dependencies changed (config, inputs or code)";
  if (!j.contains("outputs") || !j["outputs"].is_object() || !j.contains("output_hash"))
    return "its stage.json is incomplete";
  const auto diffs = tree_differences(j.at("outputs"), dir, {kStageRecord});
  if (!diffs.empty())
    return "its files differ from those recorded: " + diffs.front() +
           (diffs.size() > 1 ? fmt::format(" (and {} more)", diffs.size() - 1) : "");
  return {};
}

nlohmann::json read_if_exists(const fs::path& path, nlohmann::json fallback) {
  return fs::exists(path) ? read_json(path) : fallback;
}

std::string resume_command(const RunRequest& r, const fs::path& dir) {
  std::string cmd = "caig run " + r.experiment.string() + " --preset " + r.preset;
  auto quoted = [](const std::string& s) {  // for a POSIX shell
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  };
  for (const auto& s : r.sets) cmd += " --set " + quoted(s);
  return cmd + " --out " + dir.string();
}

bool used_simulator(const nlohmann::json& metrics) {
  for (const auto& [stage, m] : metrics.items())
    if (m.is_object() && m.value("simulated", false)) return true;
  return false;
}

// A scalar as the config shows it; an array or table as JSON.
std::string plain(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// What a reader needs before believing a figure: where the CTRs come from and with which world
// parameters, the ceiling label noise puts on accuracy, the seed, how intervals are drawn, what
// each stage spent and how long it ran.
std::string what_to_trust(const nlohmann::json& config, const nlohmann::json& metrics,
                          const nlohmann::json& budget, const nlohmann::json& timing) {
  std::string md = "## What to trust\n\n";
  const bool sim = used_simulator(metrics);
  if (sim && config.contains("world")) {
    std::string params;
    for (const auto& [k, v] : config.at("world").items())
      if (!v.is_object())
        params += fmt::format("{}`{} = {}`", params.empty() ? "" : ", ", k, plain(v));
    md += fmt::format(
        "- **Simulated.** Every CTR, match and lift comes from ShopWorld, whose true CTR is known: "
        "the simulator treats every method alike. World parameters: {}.\n",
        params);
  } else {
    md += "- **Real logged clicks.** No simulator: there are no true-CTR figures.\n";
  }
  if (metrics.contains("world") && metrics["world"].contains("oracle_accuracy")) {
    const auto& o = metrics["world"]["oracle_accuracy"];
    md += fmt::format(
        "- **Noise ceiling.** An oracle that knows the true CTR reaches {:.3f} [{:.3f}, {:.3f}] "
        "pairwise accuracy on the observed labels ({} pairs): no reward model can beat it on "
        "those labels, and a gap of a few points near 50% is within the intervals.\n",
        o.at("accuracy").get<double>(), o.at("bootstrap_products_95").at(0).get<double>(),
        o.at("bootstrap_products_95").at(1).get<double>(), o.at("pairs").get<int64_t>());
  }
  md += fmt::format(
      "- **Seeds.** Every random number derives from run.seed = {} (the world's, each stage's, "
      "each model's); the same seed gives the same tables on the same machine. Figures over "
      "several seeds say how many in their notes.\n",
      config.at("run").at("seed").get<uint64_t>());
  md +=
      "- **Intervals.** Every interval is 95%; each table's note names its kind (Wilson for "
      "accuracies and rates, bootstrap over products, the delta method, or t over seeds). "
      "Overlapping intervals are not a difference.\n";
  md +=
      "- **Budgets.** Methods compared in one table ran under the same budget of their "
      "stage (device seconds, samples or steps, whichever binds first):\n\n";
  if (!budget.empty()) {
    md += "| stage | device | samples | steps | device s | peak memory (MiB) |\n";
    md += "| --- | --- | ---: | ---: | ---: | ---: |\n";
    for (const auto& [stage, b] : budget.items())
      md += fmt::format("| {} | {} | {} | {} | {:.2f} | {:.0f} |\n", stage,
                        b.at("device").get<std::string>(), b.at("samples").get<int64_t>(),
                        b.at("steps").get<int64_t>(), b.at("device_seconds").get<double>(),
                        static_cast<double>(b.at("peak_memory_bytes").get<int64_t>()) / (1 << 20));
  }
  if (timing.is_object() && timing.contains("stages")) {
    std::string parts;
    double total = 0;
    for (const auto& t : timing.at("stages")) {
      const double s = t.at("seconds").get<double>();
      total += s;
      parts += fmt::format("{}{} {:.0f} s{}", parts.empty() ? "" : ", ",
                           t.at("stage").get<std::string>(), s,
                           t.at("reused").get<bool>() ? " (reused)" : "");
    }
    md += fmt::format("\nWall-clock time of the stages: {:.1f} min ({}).\n", total / 60.0, parts);
  }
  return md;
}

std::string render_into(const fs::path& dir, const nlohmann::json& config,
                        const nlohmann::json& metrics, const nlohmann::json& budget,
                        const nlohmann::json& timing) {
  std::string md = fmt::format("# caig-bench run `{}` (preset `{}`, seed {})\n\n",
                               config.at("run").at("name").get<std::string>(),
                               config.at("run").at("preset").get<std::string>(),
                               config.at("run").at("seed").get<uint64_t>());
  if (used_simulator(metrics))
    md += "Every CTR in this report comes from the ShopWorld simulator, not from real users.\n\n";
  ReportContext ctx{config, metrics, budget, dir};
  PluginContext pctx{&config, config.at("run").at("seed").get<uint64_t>()};
  for (const auto& name : config.at("run").at("reports")) {
    const std::string report_name = name.get<std::string>();
    auto report = plugins().reports.create(report_name, nlohmann::json(), pctx);
    const std::string stage = report->stage();
    if (!metrics.contains(stage)) {
      md += fmt::format("## {}\n\nThis run has no `{}` metrics: the stage did not run.\n\n",
                        report_name, stage);
      continue;
    }
    const int version = metrics[stage].value("schema_version", 0);
    if (version != report->schema_version()) {
      md += fmt::format(
          "## {}\n\nNot rendered: the `{}` metrics have schema version {}, and this caig ({}) "
          "reads version {}. Re-render with the caig that wrote them, or rerun the stage.\n\n",
          report_name, stage, version, caig_version(), report->schema_version());
      continue;
    }
    md += report->render(ctx) + "\n";
  }
  md += what_to_trust(config, metrics, budget, timing);
  write_file_atomic(dir / "report.md", md);
  write_file_atomic(
      dir / "report.html",
      markdown_to_html(md, "caig-bench run " + config.at("run").at("name").get<std::string>()));
  return md;
}

}  // namespace

nlohmann::json run_config_defaults() {
  return {{"name", ""},        // defaults to the experiment file's stem
          {"experiment", ""},  // set by `caig run`
          {"preset", "cpu"},   // set by --preset
          {"seed", 7},         // derives every RNG of the run
          {"device", "auto"},  // auto, cpu, cuda, cuda:N
          {"threads", 0},  // LibTorch intra-op threads; 0: OMP_NUM_THREADS, else one per usable CPU
          {"out_dir", "runs"},  // run directories go under it
          {"stages", {"world"}}, {"reports", {"world_calibration"}}};
}

nlohmann::json resolve_run_config(const RunRequest& request) {
  nlohmann::json cfg =
      resolve_config(default_config(), {request.experiment, request.preset, request.sets});
  const std::string source = request.experiment.string();
  std::vector<std::string> seen;
  for (const auto& name : stage_names(cfg)) {
    if (std::find(seen.begin(), seen.end(), name) != seen.end())
      fail("{}: run.stages lists stage '{}' twice", source, name);
    seen.push_back(name);
    const nlohmann::json overrides =
        cfg["stages"].contains(name) ? cfg["stages"][name] : nlohmann::json();
    cfg["stages"][name] = plugins().stages.resolve_config(name, overrides, source);
  }
  for (const auto& [name, c] : cfg["stages"].items())  // configs of stages not run still check
    plugins().stages.resolve_config(name, c, source);
  return cfg;
}

RunOutcome run_experiment(const RunRequest& request, std::ostream& log) {
  const auto started = std::chrono::steady_clock::now();
  const nlohmann::json cfg = resolve_run_config(request);
  const auto names = stage_names(cfg);
  // Everything named must exist and the contract must hold before anything runs.
  const auto stages = create_stages(cfg);
  check_stage_order(cfg, stages);
  const PluginContext pctx{&cfg, cfg.at("run").at("seed").get<uint64_t>()};
  for (const auto& r : cfg.at("run").at("reports")) {
    const std::string stage =
        plugins().reports.create(r.get<std::string>(), nullptr, pctx)->stage();
    if (std::find(names.begin(), names.end(), stage) == names.end())
      fail("report '{}' reads the metrics of stage '{}', which run.stages = [{}] does not include",
           r.get<std::string>(), stage, join(names));
  }
  if (!request.from.empty() && std::find(names.begin(), names.end(), request.from) == names.end())
    fail("--from {}: no such stage in run.stages = [{}]", request.from, join(names));

  const uint64_t seed = cfg.at("run").at("seed").get<uint64_t>();
  // In a data-parallel job every rank runs every stage (the trainer splits each step's batch
  // over them); rank 0 writes the run directory, rank r a replica under <run>/ranks/<r> that it
  // resumes from.
  const std::string device =
      dist::join_job("run", {{"config", cfg}, {"force", request.force}, {"from", request.from}},
                     resolve_device(cfg.at("run").at("device").get<std::string>()));
  set_torch_threads(cfg.at("run").at("threads").get<int>());

  const fs::path out = dist::rank_output_dir(
      request.out.empty()
          ? fs::path(cfg.at("run").at("out_dir").get<std::string>()) / default_run_name(cfg)
          : request.out,
      dist::process_env().rank);
  // Rank 0 makes the run directory before the other ranks put their replicas inside it (a
  // directory with files but no run.json is refused).
  dist::Group* group = dist::group();
  if (group && group->rank() > 0) group->exchange("run-dir", out.string());
  RunDir dir(out);
  if (group && group->rank() == 0) group->exchange("run-dir", out.string());
  request_interrupt(false);
  install_interrupt_handlers();

  RunOutcome outcome;
  outcome.dir = dir.path();
  std::map<std::string, std::string> output_hashes;  // stage -> hash of its recorded files
  nlohmann::json metrics = nlohmann::json::object(), budget = nlohmann::json::object();
  nlohmann::json timing = {{"stages", nlohmann::json::array()}};  // in run order
  bool rerun_rest = request.force;
  std::string rest_reason = request.force ? "--force" : "";
  bool cleared = false;
  for (size_t i = 0; i < stages.size(); ++i) {
    const std::string& name = names[i];
    Stage& stage = *stages[i];
    const fs::path sdir = dir.stage_dir(name);
    const nlohmann::json deps = dependencies(stage, name, cfg, device, output_hashes);
    const std::string hash = hash_bytes(deps.dump());
    if (!rerun_rest && request.from == name) rerun_rest = true, rest_reason = "--from " + name;

    const nlohmann::json record = read_record(sdir);
    const std::string why = rerun_rest ? rest_reason : reuse_problem(sdir, record, hash);
    if (why.empty()) {
      output_hashes[name] = record.at("output_hash").get<std::string>();
      metrics[name] = read_json(sdir / "metrics.json");
      budget.update(read_json(sdir / "budget.json"));
      timing["stages"].push_back(
          {{"stage", name}, {"seconds", record.at("seconds")}, {"reused", true}});
      outcome.reused.push_back(name);
      log << fmt::format("stage {}: reused (complete, hash {})\n", name, hash.substr(0, 12));
      continue;
    }
    if (!cleared) {  // from here on the assembled files would be stale
      for (const char* f : {"metrics.json", "budget.json", "timing.json", "report.md"})
        fs::remove(dir.file(f));
      for (const char* d : {"tables", "figures"}) fs::remove_all(dir.file(d));
      dir.write_json("config.json", cfg);
      dir.write_json("env.json", environment_info(device));
      cleared = true;
    }
    // A resumable stage continues an interrupted attempt of the same hash from its checkpoints.
    const bool resume = stage.resumable() && !rerun_rest && record.is_object() &&
                        !record.value("complete", false) && record.value("hash", "") == hash;
    if (!resume) {
      fs::remove_all(sdir);
    } else {  // keep the artifacts to continue from; drop what a killed attempt left beside them
      const auto keep = stage.writes();
      for (const auto& entry : fs::directory_iterator(sdir)) {
        const std::string file = entry.path().filename().string();
        if (file != kStageRecord && std::find(keep.begin(), keep.end(), file) == keep.end())
          fs::remove_all(entry.path());
      }
    }
    fs::create_directories(sdir);
    write_json_atomic(sdir / kStageRecord, {{"format", kStageFormat},
                                            {"stage", name},
                                            {"complete", false},
                                            {"hash", hash},
                                            {"dependencies", deps}});
    log << fmt::format("stage {}: {} ({})\n", name, resume ? "resuming" : "running", why);
    log.flush();

    std::map<std::string, fs::path> inputs;
    for (const auto& ref : stage.reads())
      inputs[ref.stage + "/" + ref.artifact] = dir.stage_dir(ref.stage) / ref.artifact;
    StageContext ctx(name, cfg, cfg.at("stages").at(name), seed, device, sdir, resume, inputs,
                     stage.writes());
    seed_torch(derive_seed(derive_seed(seed, "torch"), name));
    const auto t0 = std::chrono::steady_clock::now();
    try {
      stage.run(ctx);
    } catch (const Interrupted& e) {
      throw Interrupted(fmt::format("{}; stage '{}' stays incomplete in {}. Resume with:\n  {}",
                                    e.what(), name, sdir.string(),
                                    resume_command(request, dir.path())));
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (const auto& artifact : stage.writes())
      if (!fs::exists(sdir / artifact))
        fail("stage '{}' declares the artifact '{}' but did not write it", name, artifact);
    nlohmann::json m = ctx.metrics;
    m["schema_version"] = stage.schema_version();
    write_json_atomic(sdir / "metrics.json", m);
    write_json_atomic(sdir / "budget.json", ctx.budget());
    write_jsonl_atomic(sdir / "records.jsonl", ctx.records);
    const nlohmann::json outputs = hash_tree(sdir, {kStageRecord});
    const std::string output_hash = hash_bytes(outputs.dump());
    write_json_atomic(sdir / kStageRecord, {{"format", kStageFormat},
                                            {"stage", name},
                                            {"hash", hash},
                                            {"dependencies", deps},
                                            {"outputs", outputs},
                                            {"output_hash", output_hash},
                                            {"seconds", seconds},
                                            {"resumed", resume},
                                            {"complete", true}});
    output_hashes[name] = output_hash;
    metrics[name] = m;
    budget.update(ctx.budget());
    timing["stages"].push_back({{"stage", name}, {"seconds", seconds}, {"reused", false}});
    outcome.ran.push_back(name);
    rerun_rest = true;
    rest_reason = "an earlier stage ran";
  }
  if (!cleared) {
    dir.write_json("config.json", cfg);
    dir.write_json("env.json", environment_info(device));
  }
  outcome.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  timing["reused"] = outcome.reused;
  timing["invocation_seconds"] = outcome.seconds;
  dir.write_json("budget.json", budget);
  dir.write_json("timing.json", timing);
  render_into(dir.path(), cfg, metrics, budget, timing);
  dir.write_json("metrics.json", metrics);  // last: its presence marks a finished run
  return outcome;
}

std::string render_reports(const fs::path& run_dir) {
  if (!fs::exists(run_dir / "metrics.json"))
    fail("{} is not a finished run (no metrics.json)", run_dir.string());
  return render_into(run_dir, read_json(run_dir / "config.json"),
                     read_json(run_dir / "metrics.json"),
                     read_if_exists(run_dir / "budget.json", nlohmann::json::object()),
                     read_if_exists(run_dir / "timing.json", nlohmann::json()));
}

}  // namespace caig
