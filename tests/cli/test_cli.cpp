// End-to-end tests of the `caig` executable: the commands a researcher types.
#include <sched.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/blas_kernels.h"
#include "harness/files.h"
#include "tests/cli/cli_util.h"
#include "tests/support/test_util.h"

namespace fs = std::filesystem;
using testing::HasSubstr;
using namespace caig_cli_test;

TEST(Cli, ListShowsPluginsByKind) {
  const auto r = run_caig("list");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("datasets:"));
  EXPECT_THAT(r.output, HasSubstr("shopworld_commercial"));
  EXPECT_THAT(r.output, HasSubstr("renderers:"));
  EXPECT_THAT(r.output, HasSubstr("procedural"));
  EXPECT_THAT(r.output, HasSubstr("reward models:"));
  EXPECT_THAT(r.output, HasSubstr("smoke"));
}

TEST(Cli, HelpAndVersion) {
  EXPECT_EQ(run_caig("--help").status, 0);
  for (const char* sub : {"list", "world", "run", "report", "data inspect"})
    EXPECT_EQ(run_caig(std::string(sub) + " --help").status, 0) << sub;
  // `caig run --help` states the stage contract and how a run resumes.
  const auto run_help = run_caig("run --help");
  EXPECT_THAT(run_help.output, HasSubstr("stage.json with the hash of everything it depends on"));
  EXPECT_THAT(run_help.output, HasSubstr("reuses every stage whose stage.json is complete"));
  EXPECT_THAT(run_help.output, HasSubstr("--from"));
  const auto v = run_caig("--version");
  EXPECT_THAT(v.output, HasSubstr("LibTorch"));
  EXPECT_THAT(v.output, HasSubstr("device"));
  EXPECT_THAT(v.output, HasSubstr("BLAS"));
}

// On a CPU that OpenBLAS does not recognise, `caig` must not run on the generic kernels
// (harness/blas_kernels.h): the core it reports needs no further override on this CPU.
TEST(Cli, RunsWithBlasKernelsForThisCpu) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr || std::getenv("CAIG_BLAS_AUTOCORE") != nullptr)
    GTEST_SKIP() << "the BLAS core was chosen by the environment";
  const auto v = run_caig("--version");
  const std::string marker = "BLAS OpenBLAS ";
  const auto at = v.output.find(marker);
  if (at == std::string::npos) GTEST_SKIP() << "LibTorch does not use OpenBLAS here: " << v.output;
  const auto start = at + marker.size();
  const std::string core = v.output.substr(start, v.output.find(')', start) - start);
  EXPECT_EQ(caig::openblas_core_override(core, caig::host_cpu_features()), "")
      << "caig runs on OpenBLAS's '" << core << "' kernels: " << v.output;
}

// One LibTorch thread per usable CPU unless OMP_NUM_THREADS says otherwise; and the thread
// settings that must be in the environment when OpenBLAS loads (harness/blas_kernels.h).
TEST(Cli, ThreadsDefaultToTheHardwareAndTheBlasWorkersSleep) {
  cpu_set_t set;
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  const int hardware = std::max(1, CPU_COUNT(&set));  // the CPUs this process may run on
  EXPECT_THAT(run_caig("--version", "env -u OMP_NUM_THREADS").output,
              HasSubstr(", " + std::to_string(hardware) + " intra-op threads)"));
  EXPECT_THAT(run_caig("--version", "env OMP_NUM_THREADS=1").output,
              HasSubstr(", 1 intra-op threads)"));
  const auto v = run_caig("--version");
  if (v.output.find("BLAS OpenBLAS") == std::string::npos)
    GTEST_SKIP() << "LibTorch does not use OpenBLAS here: " << v.output;
  const auto dir = scratch("thread_settings");
  const auto r = run_caig("run " + kPaper +
                              " --preset smoke --set 'run.stages=[\"world\"]' --set "
                              "'run.reports=[\"world_calibration\"]' --out " +
                              dir.string(),
                          "env -u OPENBLAS_THREAD_TIMEOUT -u OMP_WAIT_POLICY");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto blas = caig::read_json(dir / "env.json")["blas"];
  EXPECT_EQ(blas.value("thread_timeout_env", ""), "4") << blas.dump();
  EXPECT_EQ(blas.value("omp_wait_policy_env", ""), "PASSIVE") << blas.dump();
}

TEST(Cli, WorldWritesDatasetAndContactSheetDeterministically) {
  const auto a = scratch("world_a"), b = scratch("world_b");
  const auto ra = run_caig("world --preset smoke --seed 7 --out " + a.string());
  ASSERT_EQ(ra.status, 0) << ra.output;
  EXPECT_THAT(ra.output, HasSubstr("oracle accuracy"));
  EXPECT_THAT(ra.output, HasSubstr("designers' match rate"));
  for (const char* f : {"manifest.jsonl", "pairs.jsonl", "world.json", "dataset.json",
                        "contact_sheet.png", "calibration.json"})
    EXPECT_TRUE(fs::exists(a / f)) << f;
  ASSERT_EQ(run_caig("world --preset smoke --seed 7 --threads 1 --out " + b.string()).status, 0);
  EXPECT_EQ(caig::read_file(a / "manifest.jsonl"), caig::read_file(b / "manifest.jsonl"));
  EXPECT_EQ(caig::read_file(a / "pairs.jsonl"), caig::read_file(b / "pairs.jsonl"));
  EXPECT_EQ(caig::read_file(a / "images/p3-c1.png"), caig::read_file(b / "images/p3-c1.png"));
  // Existing output is never overwritten silently.
  const auto again = run_caig("world --preset smoke --seed 7 --out " + a.string());
  EXPECT_EQ(again.status, 2);
  EXPECT_THAT(again.output, HasSubstr(a.string()));

  const auto inspect = run_caig("data inspect " + a.string());
  EXPECT_EQ(inspect.status, 0) << inspect.output;
  EXPECT_THAT(inspect.output, HasSubstr("products"));
  EXPECT_THAT(inspect.output, HasSubstr("pairs"));
}

TEST(Cli, RunWritesACompleteRunAndReportReRenders) {
  const auto dir = scratch("run");
  const auto r = run_caig("run " + kPaper + " --preset smoke --out " + dir.string());
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* f :
       {"config.json", "env.json", "metrics.json", "budget.json", "timing.json", "report.md",
        "stages/world/records.jsonl", "tables/world_calibration.md", "tables/world_calibration.tex",
        "tables/world_calibration.csv", "stages/world/data/manifest.jsonl", "tables/pretraining.md",
        "stages/pretrain/checkpoint/model.pt", "stages/pretrain/checkpoint/tokenizer.json"})
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  // Every stage's folder: its metrics with their schema version, budget, records, and stage.json
  // complete with the hash of its dependencies and of every file it wrote.
  for (const char* stage : {"world", "pretrain", "reward_accuracy"}) {
    const auto record = caig::read_json(dir / "stages" / stage / "stage.json");
    EXPECT_TRUE(record["complete"].get<bool>()) << stage;
    EXPECT_EQ(record["hash"].get<std::string>().size(), 32u) << stage;
    EXPECT_TRUE(record["outputs"].contains("metrics.json")) << stage;
    EXPECT_EQ(caig::read_json(dir / "stages" / stage / "metrics.json")["schema_version"], 1);
  }
  EXPECT_TRUE(
      caig::read_json(dir / "stages/pretrain/stage.json")["dependencies"]["inputs"].contains(
          "world/data"));
  EXPECT_THAT(r.output, HasSubstr("stage world: running (no earlier run)"));
  const auto cfg = caig::read_json(dir / "config.json");
  EXPECT_EQ(cfg["run"]["preset"], "smoke");
  EXPECT_EQ(cfg["world"]["products"], 300);
  EXPECT_TRUE(cfg["world"].contains("mismatch_penalty"));  // every world parameter is recorded
  const auto env = caig::read_json(dir / "env.json");
  for (const char* k :
       {"libtorch", "opencv", "compiler", "git_revision", "device", "torch_threads", "blas"})
    EXPECT_TRUE(env.contains(k)) << k;
  EXPECT_TRUE(env["blas"].contains("library")) << env.dump();
  const auto budget = caig::read_json(dir / "budget.json");
  EXPECT_GT(budget["world"]["samples"].get<int>(), 0);
  EXPECT_EQ(budget["pretrain"]["steps"].get<int>(), 12);  // the smoke preset's max_steps
  const auto metrics = caig::read_json(dir / "metrics.json");
  for (const char* task : {"describe", "background", "title", "prompt"})
    EXPECT_TRUE(metrics["pretrain"]["tasks"].contains(task)) << task;
  // The plan is recorded; the last step's lr is the cosine at (11 - 2) / (12 - 2) of the way:
  // 0.1 + 0.9 * (1 + cos(0.9 pi)) / 2 = 0.12202 of the peak.
  EXPECT_EQ(metrics["pretrain"]["max_steps"].get<int>(), 12);
  EXPECT_EQ(metrics["pretrain"]["stopped_by"], "steps");
  EXPECT_NEAR(metrics["pretrain"]["final_lr_fraction"].get<double>(), 0.12202, 1e-4);
  // Sampled descriptions: the smoke preset draws two per product; the interval brackets the rate.
  const auto& sampled = metrics["pretrain"]["sampled_descriptions"];
  EXPECT_EQ(sampled["samples"].get<int>(), 2 * sampled["products"].get<int>());
  EXPECT_GE(sampled["designer_creatives"].get<int>(), sampled["products"].get<int>());
  EXPECT_LE(sampled["match_rate_interval"][0].get<double>(), sampled["match_rate"].get<double>());
  EXPECT_GE(sampled["match_rate_interval"][1].get<double>(), sampled["match_rate"].get<double>());
  EXPECT_GT(sampled["count_model"]["alpha"].get<double>(), 0.0);
  EXPECT_GT(sampled["count_model"]["match_rate"].get<double>(), 0.0);
  // The reward-model table: every model on both variants, the spent budget, tables, figure,
  // records.
  const auto& ra = metrics["reward_accuracy"];
  for (const char* variant : {"commercial", "public"})
    for (const char* model :
         {"caig", "vam", "cg4ctr", "lr", "fm", "deepfm", "judge", "random", "oracle"})
      EXPECT_TRUE(ra["datasets"][variant]["models"].contains(model)) << variant << " " << model;
  EXPECT_TRUE(budget.contains("reward_accuracy/commercial/caig"));
  for (const char* f :
       {"tables/reward_accuracy.md", "tables/reward_accuracy.tex", "tables/reward_accuracy.csv",
        "figures/reward_accuracy.png", "figures/reward_accuracy.svg", "figures/reward_accuracy.gp",
        "stages/reward_accuracy/records.jsonl",
        "stages/reward_accuracy/models/commercial/vam/seed0/reward_model.json",
        "stages/reward_accuracy/models/public/caig/seed0/net.pt"})
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  // eval-rm: one model against the stored table.
  const auto ev = run_caig("eval-rm --preset smoke --data " + (dir / "stages/world/data").string() +
                           " --model lr --baseline " + dir.string());
  EXPECT_EQ(ev.status, 0) << ev.output;
  EXPECT_THAT(ev.output, HasSubstr("| lr (eval-rm) |"));
  EXPECT_THAT(ev.output, HasSubstr("| oracle |"));
  const auto ev_bad = run_caig("eval-rm --preset smoke --data " +
                               (dir / "stages/world/data").string() + " --model nope");
  EXPECT_EQ(ev_bad.status, 2);
  EXPECT_THAT(ev_bad.output, HasSubstr("unknown reward model 'nope'"));
  const std::string report = caig::read_file(dir / "report.md");
  fs::remove(dir / "report.md");
  const auto rr = run_caig("report " + dir.string());
  EXPECT_EQ(rr.status, 0) << rr.output;
  EXPECT_EQ(caig::read_file(dir / "report.md"), report);

  // Same seed, same tables.
  const auto dir2 = scratch("run2");
  ASSERT_EQ(run_caig("run " + kPaper + " --preset smoke --out " + dir2.string()).status, 0);
  EXPECT_EQ(caig::read_file(dir / "metrics.json").substr(0, 200),
            caig::read_file(dir2 / "metrics.json").substr(0, 200));
  EXPECT_EQ(caig::read_file(dir / "tables/world_calibration.csv"),
            caig::read_file(dir2 / "tables/world_calibration.csv"));
}

TEST(Cli, ConfigErrorsNameKeyAndFile) {
  const auto dir = scratch("bad_cfg");
  fs::create_directories(dir);
  const auto exp = dir / "typo.toml";
  std::ofstream(exp) << "[world]\nrhoo = 0.9\n";
  const auto r =
      run_caig("run " + exp.string() + " --preset smoke --out " + (dir / "run").string());
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.output, HasSubstr("typo.toml"));
  EXPECT_THAT(r.output, HasSubstr("world.rhoo"));
  EXPECT_FALSE(fs::exists(dir / "run"));

  const auto s = run_caig("run " + kPaper + " --preset smoke --set world.rho=high --out " +
                          (dir / "r2").string());
  EXPECT_EQ(s.status, 2);
  EXPECT_THAT(s.output, HasSubstr("world.rho"));
  const auto st =
      run_caig("run " + kPaper + " --preset smoke --set 'run.stages=[\"wrld\"]' --out " +
               (dir / "r3").string());
  EXPECT_EQ(st.status, 2);
  EXPECT_THAT(st.output, HasSubstr("unknown stage 'wrld'; known: ab_test, optimise, optimise_map, "
                                   "pretrain, reward_accuracy, world"));
  const auto pr = run_caig("world --preset huge --out " + (dir / "w").string());
  EXPECT_EQ(pr.status, 2);
  EXPECT_THAT(pr.output, HasSubstr("unknown preset 'huge'"));
}

TEST(Cli, DataInspectReadsRealFormatsAndReportsBadLines) {
  const auto dir = scratch("real");
  fs::create_directories(dir / "images");
  for (const char* img : {"a.jpg", "b.jpg", "c.jpg"}) std::ofstream(dir / "images" / img) << "x";
  std::ofstream(dir / "cr.tsv") << "item_id\timage_name\tds\tpv\tclk\n"
                                   "1\ta.jpg\t20200101\t1500\t30\n"
                                   "1\ta.jpg\t20200102\t1500\t33\n"
                                   "1\tb.jpg\t20200101\t3000\t60\n"
                                   "2\tc.jpg\t20200101\t10\t20\n";
  const auto strict = run_caig("data inspect " + (dir / "cr.tsv").string());
  EXPECT_EQ(strict.status, 2);
  EXPECT_THAT(strict.output, HasSubstr("cr.tsv:5"));
  const auto lenient = run_caig("data inspect --lenient " + (dir / "cr.tsv").string());
  EXPECT_EQ(lenient.status, 0) << lenient.output;
  EXPECT_THAT(lenient.output, HasSubstr("skipped"));
  EXPECT_THAT(lenient.output, HasSubstr("cr.tsv:5"));
  // a.jpg: 3000 impressions, 63 clicks (summed over days); b.jpg: 3000, 60 -> ratio 1.05, a pair.
  const auto json = run_caig("data inspect --lenient --json " + (dir / "cr.tsv").string());
  const auto j = nlohmann::json::parse(json.output);
  EXPECT_EQ(j["creatives"].get<int>(), 2) << json.output;

  std::ofstream(dir / "cg.json") << R"({"7": [{"creative_id": 1, "creative_image_hash": "a",
      "exp_impression_cnt": 3000, "exp_click_cnt": 63}, {"creative_id": 2, "creative_image_hash": "b",
      "exp_impression_cnt": 3000, "exp_click_cnt": 60}]})";
  const auto cg = run_caig("data inspect --json " + (dir / "cg.json").string());
  ASSERT_EQ(cg.status, 0) << cg.output;
  EXPECT_EQ(nlohmann::json::parse(cg.output)["creatives"].get<int>(), 2);

  const auto unknown = run_caig("data inspect " + (dir / "images").string());
  EXPECT_EQ(unknown.status, 2);
}

TEST(Cli, PretrainWritesACheckpointAndResumes) {
  const auto world = scratch("pt_world"), ck = scratch("pt_ck");
  ASSERT_EQ(run_caig("world --preset smoke --set world.products=60 --out " + world.string()).status,
            0);
  const auto r =
      run_caig("pretrain --preset smoke --data " + world.string() + " --out " + ck.string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("token acc"));
  for (const char* f : {"config.json", "tokenizer.json", "model.pt", "optimizer.pt",
                        "trainer_state.json", "pretrain_metrics.json"})
    EXPECT_TRUE(fs::exists(ck / f)) << f;
  const auto more =
      // 24 steps of 16 cross the first epoch (about 290 training creatives) after the resume.
      run_caig("pretrain --preset smoke --set pretrain.max_steps=24 --resume --data " +
               world.string() + " --out " + ck.string());
  ASSERT_EQ(more.status, 0) << more.output;
  const auto m = caig::read_json(ck / "pretrain_metrics.json");
  EXPECT_EQ(m["metrics"]["steps"], 24);
  EXPECT_GT(m["metrics"]["examples_seen"].get<int>(), m["metrics"]["train_examples"].get<int>());
  EXPECT_EQ(m["resumed"], true);
  EXPECT_EQ(m["metrics"]["synthetic_ads"]["ads"], 16);  // the smoke preset renders a few
  EXPECT_EQ(m["metrics"]["synthetic_ads"]["renderer"], "procedural");
  // Config errors name the setting (each run stops before it writes anything).
  const std::pair<const char*, const char*> bad_settings[] = {
      {"pretrain.synthetic_renderer=nope", "unknown renderer 'nope'; known: external, procedural"},
      {"pretrain.samples_per_product=0", "samples_per_product >= 1"},
      {"pretrain.final_lr_ratio=2", "final_lr_ratio must be in [0, 1], got 2"}};
  for (const auto& [setting, message] : bad_settings) {
    const auto bad = run_caig(std::string("pretrain --preset smoke --set ") + setting + " --data " +
                              world.string() + " --out " + (ck / "y").string());
    EXPECT_EQ(bad.status, 2) << setting;
    EXPECT_THAT(bad.output, HasSubstr(message)) << setting;
  }
  const auto missing = run_caig("pretrain --preset smoke --data " + (world / "nope").string() +
                                " --out " + (ck / "x").string());
  EXPECT_EQ(missing.status, 2);
  EXPECT_THAT(missing.output, HasSubstr("no ShopWorld dataset"));
}

// pretrain.shards splits each batch (and the slot head's extra ads) into parts whose gradients
// are added (harness/sharded_backward.h): the same training as one piece up to float rounding,
// and the same bits run after run.
TEST(Cli, PretrainShardsTrainAsTheWholeBatchDoes) {
  const auto world = scratch("shard_world");
  ASSERT_EQ(run_caig("world --preset smoke --set world.products=60 --out " + world.string()).status,
            0);
  auto pretrain = [&](int shards, const std::string& name) {
    const auto ck = scratch(name);
    const auto r = run_caig(
        "pretrain --preset smoke --set pretrain.max_steps=4 --set "
        "pretrain.eval_every=4 --set pretrain.shards=" +
        std::to_string(shards) + " --data " + world.string() + " --out " + ck.string());
    EXPECT_EQ(r.status, 0) << r.output;
    return caig::read_json(ck / "pretrain_metrics.json")["metrics"];
  };
  const auto whole = pretrain(1, "shard_1"), halves = pretrain(2, "shard_2"),
             again = pretrain(2, "shard_2_again"), thirds = pretrain(3, "shard_3");
  ASSERT_TRUE(whole["tasks"].is_object());
  for (const auto& [task, m] : whole["tasks"].items()) {
    const double loss = m["loss"].get<double>();
    EXPECT_NEAR(halves["tasks"][task]["loss"].get<double>(), loss, 1e-4 * loss) << task;
    EXPECT_NEAR(thirds["tasks"][task]["loss"].get<double>(), loss, 1e-4 * loss) << task;
    EXPECT_EQ(again["tasks"][task]["loss"], halves["tasks"][task]["loss"]) << task;
  }
  const double slot = whole["slot_head"]["train_loss"].get<double>();
  EXPECT_GT(slot, 0.0);
  EXPECT_NEAR(halves["slot_head"]["train_loss"].get<double>(), slot, 1e-4 * slot);
  EXPECT_EQ(again["slot_head"], halves["slot_head"]);

  const auto bad = run_caig("pretrain --preset smoke --set pretrain.shards=17 --data " +
                            world.string() + " --out " + scratch("shard_bad").string());
  EXPECT_EQ(bad.status, 2);
  EXPECT_THAT(bad.output, HasSubstr("shards must be in 1..batch_size (16), got 17"));
  // Dropout masks drawn by concurrent shards would depend on thread timing.
  const auto dropout = run_caig(
      "pretrain --preset smoke --set pretrain.shards=2 --set backbone.dropout=0.1 --data " +
      world.string() + " --out " + scratch("shard_dropout").string());
  EXPECT_EQ(dropout.status, 2);
  EXPECT_THAT(dropout.output, HasSubstr("pretrain.shards = 2 needs backbone.dropout = 0"));
}

// The composite task (two ads of one product side by side, described left then right) trains
// beside the other tasks, is validated per side, splits over shards like the LM batch, and needs
// the backbone's tile embedding.
TEST(Cli, PretrainCompositeTaskTrainsIsValidatedAndShards) {
  const auto world = scratch("composite_world");
  ASSERT_EQ(run_caig("world --preset smoke --set world.products=60 --out " + world.string()).status,
            0);
  auto pretrain = [&](int shards, const std::string& name) {
    const auto ck = scratch(name);
    const auto r = run_caig(
        "pretrain --preset smoke --set pretrain.max_steps=4 --set pretrain.eval_every=4 --set "
        "backbone.tile_embedding=true --set pretrain.composite_ads=4 --set pretrain.shards=" +
        std::to_string(shards) + " --data " + world.string() + " --out " + ck.string());
    EXPECT_EQ(r.status, 0) << r.output;
    return caig::read_json(ck / "pretrain_metrics.json")["metrics"];
  };
  const auto whole = pretrain(1, "composite_1"), halves = pretrain(2, "composite_2");
  const auto& c = whole["composite"];
  ASSERT_TRUE(c.is_object()) << whole.dump();
  EXPECT_GT(c["examples"].get<int64_t>(), 0);
  const double loss = c["loss"].get<double>();
  EXPECT_GT(loss, 0.0);
  for (const char* side : {"left_token_accuracy", "right_token_accuracy"}) {
    EXPECT_GE(c[side].get<double>(), 0.0) << side;
    EXPECT_LE(c[side].get<double>(), 1.0) << side;
  }
  EXPECT_NEAR(halves["composite"]["loss"].get<double>(), loss, 1e-4 * loss);
  const auto bad = run_caig(
      "pretrain --preset smoke --set pretrain.composite_ads=4 --data " + world.string() +
      " --out " + scratch("composite_bad").string());
  EXPECT_EQ(bad.status, 2);
  EXPECT_THAT(bad.output, HasSubstr("set backbone.tile_embedding = true"));
}

TEST(Cli, PretrainFitsItsScheduleToTheTimeCapAndKeepsItOnResume) {
  const auto world = scratch("fit_world"), ck = scratch("fit_ck");
  ASSERT_EQ(run_caig("world --preset smoke --set world.products=60 --out " + world.string()).status,
            0);
  // A million planned steps cannot fit 4 device seconds: the steps are timed in windows of 3
  // from step 10 (after the warm-up and the process's first steps), and at the end of each the
  // cosine is laid out over what fits the rest of the cap. (A smoke step takes a few ms; 13 steps
  // in 4 s leave room for a machine far slower than this one.)
  const std::string capped =
      "pretrain --preset smoke --set pretrain.max_steps=1000000 --set "
      "pretrain.max_device_seconds=4 --set pretrain.schedule_probe_steps=3 --set "
      "pretrain.eval_every=1000000 --data " +
      world.string() + " --out " + ck.string();
  const auto r = run_caig(capped);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto m = caig::read_json(ck / "pretrain_metrics.json")["metrics"];
  EXPECT_EQ(m["stopped_by"], "device_seconds");
  const auto& s = m["schedule"];
  ASSERT_TRUE(s["fitted"].get<bool>()) << s.dump();
  const auto steps = m["steps"].get<int64_t>(), last_fit = s["fitted_at_step"].get<int64_t>();
  EXPECT_EQ((last_fit - 10) % 3, 0);
  EXPECT_EQ(s["fits"].get<int64_t>(), (last_fit - 10) / 3);
  EXPECT_GT(last_fit, steps - 3);  // the last window closed within the last 3 steps
  EXPECT_GT(s["horizon"].get<int64_t>(), last_fit);
  EXPECT_LT(s["horizon"].get<int64_t>(), 1000000);
  EXPECT_GT(s["seconds_per_step"].get<double>(), 0.0);
  EXPECT_EQ(caig::read_json(ck / "trainer_state.json")["schedule"], s);
  // The same command resumed: the cap is spent (the checkpoint holds the device seconds), so
  // nothing more trains and the results are the same.
  const auto same = run_caig(capped + " --resume");
  ASSERT_EQ(same.status, 0) << same.output;
  const auto m_same = caig::read_json(ck / "pretrain_metrics.json")["metrics"];
  EXPECT_EQ(m_same["steps"], m["steps"]);
  EXPECT_EQ(m_same["history"].size(), m["history"].size());
  EXPECT_EQ(m_same["schedule"], s);
  // Resumed with a larger cap, it starts from the recorded horizon and fits the rest of the cap
  // as it goes; its learning rate never rises above the annealed one it resumed from.
  std::string larger = capped;
  larger.replace(larger.find("max_device_seconds=4"), 20, "max_device_seconds=8");
  const auto more = run_caig(larger + " --resume");
  ASSERT_EQ(more.status, 0) << more.output;
  const auto m2 = caig::read_json(ck / "pretrain_metrics.json")["metrics"];
  EXPECT_EQ(caig::read_json(ck / "pretrain_metrics.json")["resumed"], true);
  EXPECT_GT(m2["schedule"]["fits"].get<int64_t>(), s["fits"].get<int64_t>());
  EXPECT_LE(m2["final_lr_fraction"].get<double>(), m["final_lr_fraction"].get<double>());
  EXPECT_NEAR(caig::read_json(ck / "trainer_state.json")["last_lr"].get<double>(),
              m2["final_lr_fraction"].get<double>() * 2e-3, 1e-15);  // the smoke preset's peak
}

// `caig bench` runs the benchmark binaries beside it into a result directory, and compares two.
TEST(Cli, BenchWritesResultsAndComparesTwo) {
  const auto out = scratch("bench_out");
  const auto r = run_caig("bench --binaries bench_render --filter BM_RenderAd64 --min-time 0.01 "
                          "--out " + out.string());
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* f : {"bench_render.json", "env.json", "results.md"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  EXPECT_THAT(caig::read_file(out / "results.md"), HasSubstr("| bench_render | `BM_RenderAd64` |"));
  const auto same = run_caig("bench --compare " + out.string() + " " + out.string());
  ASSERT_EQ(same.status, 0) << same.output;
  EXPECT_THAT(same.output, HasSubstr("| 1.00 | items_per_second"));
  const auto bad = run_caig("bench --binaries bench_nope --out " + scratch("bench_bad").string());
  EXPECT_EQ(bad.status, 2);
  EXPECT_THAT(bad.output, HasSubstr("no benchmark binary"));
}
