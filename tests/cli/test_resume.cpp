// The stage contract end to end (harness/stage.h, harness/runner.h): a finished run is reused, a
// changed stage config reruns only that stage, a corrupt artifact is rerun and never used, the
// stage order is checked before anything runs, a killed or interrupted run resumes to the same
// files as an uninterrupted one, and every saved reward model scores as it did when it was saved.
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/files.h"
#include "tests/cli/cli_util.h"

namespace fs = std::filesystem;
using namespace caig_cli_test;
using testing::HasSubstr;
using testing::Not;

namespace {

// The recorded hashes of a stage's files under `prefix` (e.g. the checkpoint's).
nlohmann::json recorded_files(const fs::path& run, const std::string& stage,
                              const std::string& prefix) {
  nlohmann::json out = nlohmann::json::object();
  const auto record = caig::read_json(run / "stages" / stage / "stage.json");
  for (const auto& [rel, entry] : record.at("outputs").items())
    if (rel.rfind(prefix, 0) == 0) out[rel] = entry;
  return out;
}

// Pretraining long enough, with checkpoints every few steps, to be stopped part-way through.
const std::string kResumable =
    " --preset smoke --set pretrain.max_steps=60 --set pretrain.eval_every=5";

void expect_same_results(const fs::path& a, const fs::path& b) {
  EXPECT_EQ(caig::read_file(a / "stages/world/data/manifest.jsonl"),
            caig::read_file(b / "stages/world/data/manifest.jsonl"));
  // The checkpoint's files, to the byte; its trainer state records the device seconds spent (a
  // resumed run's budget goes on from them), so that one is compared without them.
  auto ck_a = recorded_files(a, "pretrain", "checkpoint/"),
       ck_b = recorded_files(b, "pretrain", "checkpoint/");
  EXPECT_GT(ck_a.size(), 3u);
  ASSERT_TRUE(ck_a.contains("checkpoint/trainer_state.json"));
  ck_a.erase("checkpoint/trainer_state.json");
  ck_b.erase("checkpoint/trainer_state.json");
  EXPECT_EQ(ck_a, ck_b);
  EXPECT_EQ(strip_measured(caig::read_json(a / "stages/pretrain/checkpoint/trainer_state.json")),
            strip_measured(caig::read_json(b / "stages/pretrain/checkpoint/trainer_state.json")));
  EXPECT_EQ(recorded_files(a, "reward_accuracy", "models/"),
            recorded_files(b, "reward_accuracy", "models/"));
  EXPECT_EQ(strip_measured(caig::read_json(a / "metrics.json")),
            strip_measured(caig::read_json(b / "metrics.json")));
  // (The reward tables carry device seconds per seed; their figures are in metrics.json.)
  for (const char* t : {"world_calibration.csv", "pretraining.csv"})
    EXPECT_EQ(caig::read_file(a / "tables" / t), caig::read_file(b / "tables" / t)) << t;
  EXPECT_EQ(caig::read_file(a / "stages/reward_accuracy/records.jsonl"),
            caig::read_file(b / "stages/reward_accuracy/records.jsonl"));
}

}  // namespace

TEST(RunResume, ReusesFinishedStagesAndRerunsWhatChangedOrBroke) {
  const auto dir = scratch("resume_reuse");
  const std::string run = "run " + kPaper + " --preset smoke --out " + dir.string();
  ASSERT_EQ(run_caig(run).status, 0);
  const std::string metrics = caig::read_file(dir / "metrics.json");
  const auto model_pt = recorded_files(dir, "pretrain", "checkpoint/model.pt");

  // Again: every stage reused, the same assembled results.
  const auto again = run_caig(run);
  ASSERT_EQ(again.status, 0) << again.output;
  for (const char* stage : {"world", "pretrain", "reward_accuracy", "optimise", "ab_test"})
    EXPECT_THAT(again.output, HasSubstr(std::string("stage ") + stage + ": reused")) << stage;
  EXPECT_THAT(again.output,
              HasSubstr("stages reused: world, pretrain, reward_accuracy, optimise, ab_test; ran: "
                        "none"));
  EXPECT_EQ(caig::read_file(dir / "metrics.json"), metrics);
  const auto timing = caig::read_json(dir / "timing.json")["stages"];
  ASSERT_EQ(timing.size(), 5u);
  EXPECT_EQ(timing[1]["stage"], "pretrain");
  EXPECT_TRUE(timing[1]["reused"].get<bool>());

  // One key of [stages.reward_accuracy]: world and pretraining reused, the reward stage reruns.
  const std::string changed = run + " --set stages.reward_accuracy.bootstrap=50";
  const auto c = run_caig(changed);
  ASSERT_EQ(c.status, 0) << c.output;
  EXPECT_THAT(c.output, HasSubstr("stage world: reused"));
  EXPECT_THAT(c.output, HasSubstr("stage pretrain: reused"));
  EXPECT_THAT(c.output, HasSubstr("stage reward_accuracy: running (its dependencies changed"));
  EXPECT_EQ(caig::read_json(dir / "metrics.json")["reward_accuracy"]["bootstrap"], 50);

  // A truncated checkpoint is seen by the hash check and rerun (to the same bytes), never used;
  // the stages after it rerun too.
  const fs::path pt = dir / "stages/pretrain/checkpoint/model.pt";
  fs::resize_file(pt, fs::file_size(pt) / 2);
  const auto t = run_caig(changed);
  ASSERT_EQ(t.status, 0) << t.output;
  EXPECT_THAT(t.output, HasSubstr("stage world: reused"));
  EXPECT_THAT(t.output, HasSubstr("stage pretrain: running (its files differ from those "
                                  "recorded: changed checkpoint/model.pt"));
  EXPECT_THAT(t.output, HasSubstr("stage reward_accuracy: running (an earlier stage ran)"));
  EXPECT_EQ(recorded_files(dir, "pretrain", "checkpoint/model.pt"), model_pt);

  // A missing file of the world's dataset likewise.
  fs::remove(dir / "stages/world/data/pairs.jsonl");
  const auto m = run_caig(changed);
  ASSERT_EQ(m.status, 0) << m.output;
  EXPECT_THAT(m.output, HasSubstr("stage world: running (its files differ from those recorded: "
                                  "missing data/pairs.jsonl"));

  // --from and --force.
  const auto from = run_caig(changed + " --from reward_accuracy");
  ASSERT_EQ(from.status, 0) << from.output;
  EXPECT_THAT(from.output, HasSubstr("stage pretrain: reused"));
  EXPECT_THAT(from.output, HasSubstr("stage reward_accuracy: running (--from reward_accuracy)"));
  const auto force = run_caig(changed + " --force");
  ASSERT_EQ(force.status, 0) << force.output;
  EXPECT_THAT(force.output, HasSubstr("stage world: running (--force)"));
  EXPECT_THAT(force.output, HasSubstr("ran: world, pretrain, reward_accuracy"));
  const auto bad_from = run_caig(changed + " --from nope");
  EXPECT_EQ(bad_from.status, 2);
  EXPECT_THAT(bad_from.output, HasSubstr("--from nope: no such stage in run.stages"));

  // A report meets metrics of a schema version it does not know with a note, not a missing key.
  auto stored = caig::read_json(dir / "metrics.json");
  stored["pretrain"]["schema_version"] = 99;
  caig::write_json_atomic(dir / "metrics.json", stored);
  const auto report = run_caig("report " + dir.string());
  EXPECT_EQ(report.status, 0) << report.output;
  EXPECT_THAT(report.output, HasSubstr("Not rendered: the `pretrain` metrics have schema version "
                                       "99, and this caig"));
  EXPECT_THAT(report.output, HasSubstr("## Reward models"));  // the others still render
  EXPECT_THAT(report.output, HasSubstr("comes from the ShopWorld simulator"));
  EXPECT_THAT(report.output, HasSubstr("## What to trust"));
  EXPECT_THAT(report.output, HasSubstr("- **Simulated.**"));
  EXPECT_THAT(report.output, HasSubstr("- **Noise ceiling.** An oracle"));
  EXPECT_THAT(report.output, HasSubstr("| reward_accuracy/"));  // the budgets spent
  // The page has what report.md has.
  const std::string html = caig::read_file(dir / "report.html");
  EXPECT_THAT(html, HasSubstr("<h2>What to trust</h2>"));
  EXPECT_THAT(html, HasSubstr("<h2>Reward models (pairwise accuracy)</h2>"));
  // A run whose stages read no simulated data gets no simulator's disclaimer.
  for (auto& [stage, stage_metrics] : stored.items()) stage_metrics["simulated"] = false;
  stored["pretrain"]["schema_version"] = 1;
  caig::write_json_atomic(dir / "metrics.json", stored);
  const auto real = run_caig("report " + dir.string());
  EXPECT_EQ(real.status, 0) << real.output;
  EXPECT_THAT(real.output, Not(HasSubstr("Every CTR in this report comes from")));
  EXPECT_THAT(real.output, HasSubstr("The figures are on real logged clicks, not simulated"));
  EXPECT_THAT(real.output, HasSubstr("- **Real logged clicks.**"));

  // A directory that is not a run is never written into.
  const auto other = scratch("resume_not_a_run");
  fs::create_directories(other);
  std::ofstream(other / "notes.txt") << "mine";
  const auto refused = run_caig("run " + kPaper + " --preset smoke --out " + other.string());
  EXPECT_EQ(refused.status, 2);
  EXPECT_THAT(refused.output, HasSubstr("is not a run directory"));
}

TEST(RunResume, StageOrderIsCheckedBeforeAnythingRuns) {
  const auto dir = scratch("resume_order");
  const auto r = run_caig("run " + kPaper +
                          " --preset smoke --set 'run.stages=[\"world\", \"reward_accuracy\"]' "
                          "--set 'run.reports=[\"reward_accuracy\"]' --out " +
                          dir.string());
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.output, HasSubstr("stage 'reward_accuracy' reads 'checkpoint' of stage 'pretrain' "
                                  "(reward model 'caig' starts from the pretrained backbone), but "
                                  "run.stages = [world, reward_accuracy] has no 'pretrain' before "
                                  "'reward_accuracy'"));
  EXPECT_FALSE(fs::exists(dir));
  const auto swapped = run_caig("run " + kPaper +
                                " --preset smoke --set 'run.stages=[\"pretrain\", \"world\"]' "
                                "--set 'run.reports=[\"pretraining\"]' --out " +
                                dir.string());
  EXPECT_EQ(swapped.status, 2);
  EXPECT_THAT(swapped.output, HasSubstr("stage 'pretrain' reads 'data' of stage 'world'"));
  const auto report = run_caig("run " + kPaper +
                               " --preset smoke --set 'run.stages=[\"world\"]' --set "
                               "'run.reports=[\"pretraining\"]' --out " +
                               dir.string());
  EXPECT_EQ(report.status, 2);
  EXPECT_THAT(report.output, HasSubstr("report 'pretraining' reads the metrics of stage "
                                       "'pretrain', which run.stages = [world] does not include"));
  EXPECT_FALSE(fs::exists(dir));
  // Without a model that needs the backbone, the reward table needs no pretraining.
  const auto ok = run_caig("run " + kPaper +
                           " --preset smoke --set 'run.stages=[\"world\", \"reward_accuracy\"]' "
                           "--set 'run.reports=[\"reward_accuracy\"]' --set "
                           "'stages.reward_accuracy.models=[\"lr\", \"random\"]' --out " +
                           dir.string());
  EXPECT_EQ(ok.status, 0) << ok.output;
  // LibTorch's thread count is part of a training stage's hash, not of the simulator's.
  const auto threads =
      run_caig("run " + kPaper +
               " --preset smoke --set 'run.stages=[\"world\", \"reward_accuracy\"]' "
               "--set 'run.reports=[\"reward_accuracy\"]' --set "
               "'stages.reward_accuracy.models=[\"lr\", \"random\"]' --set "
               "run.threads=1 --out " +
               dir.string());
  EXPECT_EQ(threads.status, 0) << threads.output;
  EXPECT_THAT(threads.output, HasSubstr("stage world: reused"));
  EXPECT_THAT(threads.output,
              HasSubstr("stage reward_accuracy: running (its dependencies changed"));
}

TEST(RunResume, KilledOrInterruptedRunsResumeToTheSameFiles) {
  const auto whole = scratch("resume_whole"), killed = scratch("resume_killed"),
             stopped = scratch("resume_stopped");
  ASSERT_EQ(run_caig("run " + kPaper + kResumable + " --out " + whole.string()).status, 0);

  // SIGKILL once pretraining has saved its first checkpoint.
  const std::string args = "run " + kPaper + kResumable + " --out ";
  const pid_t pid = start_caig(args + killed.string(), killed.string() + ".log");
  ASSERT_TRUE(wait_for_file(killed / "stages/pretrain/checkpoint/trainer_state.json", pid));
  ::kill(pid, SIGKILL);
  EXPECT_EQ(wait_exit(pid), 128 + SIGKILL);
  EXPECT_FALSE(caig::read_json(killed / "stages/pretrain/stage.json")["complete"].get<bool>());
  EXPECT_FALSE(fs::exists(killed / "metrics.json"));
  // What a kill can leave beside the checkpoint (a half-written temporary) is dropped.
  const fs::path stray = killed / "stages/pretrain/.checkpoint.tmp-1-2";
  fs::create_directories(stray);
  std::ofstream(stray / "model.pt") << "half";
  const auto resumed = run_caig(args + killed.string());
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_THAT(resumed.output, HasSubstr("stage world: reused"));
  EXPECT_THAT(resumed.output, HasSubstr("stage pretrain: resuming"));
  EXPECT_FALSE(fs::exists(stray));
  expect_same_results(whole, killed);
  // The same files, by name, in every stage.
  for (const char* stage : {"world", "pretrain", "reward_accuracy"}) {
    std::vector<std::string> a, b;
    const auto in_whole = recorded_files(whole, stage, ""),
               in_killed = recorded_files(killed, stage, "");
    for (const auto& [rel, e] : in_whole.items()) a.push_back(rel);
    for (const auto& [rel, e] : in_killed.items()) b.push_back(rel);
    EXPECT_EQ(a, b) << stage;
  }

  // SIGTERM: the stage stops at a step boundary, says how to resume, and stays incomplete.
  const pid_t pid2 = start_caig(args + stopped.string(), stopped.string() + ".log");
  ASSERT_TRUE(wait_for_file(stopped / "stages/pretrain/checkpoint/trainer_state.json", pid2));
  ::kill(pid2, SIGTERM);
  EXPECT_EQ(wait_exit(pid2), 130);
  const std::string log = caig::read_file(stopped.string() + ".log");
  EXPECT_THAT(log, HasSubstr("interrupted by SIGTERM"));
  EXPECT_THAT(log, HasSubstr("stage 'pretrain' stays incomplete"));
  EXPECT_THAT(log, HasSubstr("Resume with:"));
  EXPECT_FALSE(caig::read_json(stopped / "stages/pretrain/stage.json")["complete"].get<bool>());
  const auto resumed2 = run_caig(args + stopped.string());
  ASSERT_EQ(resumed2.status, 0) << resumed2.output;
  EXPECT_THAT(resumed2.output, HasSubstr("stage pretrain: resuming"));
  expect_same_results(whole, stopped);
}

// Every trainable reward model kept by the reward stage, loaded by `caig eval-rm --load`, gives
// the same probabilities, to the bit, as the model that was saved gave in the table.
TEST(RunResume, SavedRewardModelsScoreBitIdentically) {
  const auto dir = scratch("saved_models");
  ASSERT_EQ(run_caig("run " + kPaper + " --preset smoke --out " + dir.string()).status, 0);
  std::map<std::string, std::vector<nlohmann::json>> table;  // model -> records of seed 0
  caig::read_jsonl(dir / "stages/reward_accuracy/records.jsonl",
                   [&](const nlohmann::json& r, int64_t) {
                     if (r["dataset"] == "commercial" && r["seed"] == 0)
                       table[r["model"].get<std::string>()].push_back(r);
                   });
  for (const char* model : {"caig", "vam", "cg4ctr", "lr", "fm", "deepfm"}) {
    const auto out = dir / (std::string("eval_") + model);
    const auto saved = dir / "stages/reward_accuracy/models/commercial" / model / "seed0";
    const auto r =
        run_caig("eval-rm --preset smoke --data " + (dir / "stages/world/data").string() +
                 " --load " + saved.string() + " --out " + out.string());
    ASSERT_EQ(r.status, 0) << model << r.output;
    std::vector<nlohmann::json> loaded;
    caig::read_jsonl(out / "predictions.jsonl",
                     [&](const nlohmann::json& row, int64_t) { loaded.push_back(row); });
    ASSERT_EQ(loaded.size(), table[model].size()) << model;
    ASSERT_FALSE(loaded.empty()) << model;
    for (size_t i = 0; i < loaded.size(); ++i) {
      EXPECT_EQ(loaded[i]["p_left"], table[model][i]["p_left"]) << model << " pair " << i;
      EXPECT_EQ(loaded[i]["p_left_swapped"], table[model][i]["p_left_swapped"]) << model;
    }
  }
  // Errors name what is wrong.
  const auto missing = run_caig("eval-rm --preset smoke --data " +
                                (dir / "stages/world/data").string() + " --load " + dir.string());
  EXPECT_EQ(missing.status, 2);
  EXPECT_THAT(missing.output, HasSubstr("no reward_model.json"));
  const fs::path vam = dir / "stages/reward_accuracy/models/commercial/vam/seed0";
  fs::resize_file(vam / "weights.pt", 100);
  const auto corrupt = run_caig("eval-rm --preset smoke --data " +
                                (dir / "stages/world/data").string() + " --load " + vam.string());
  EXPECT_EQ(corrupt.status, 2);
  EXPECT_THAT(corrupt.output, HasSubstr("cannot load the weights"));
}
