// Data-parallel jobs of the `caig` binary on loopback (two processes, Gloo): `caig launch` sets
// the ranks' environment and returns a failing rank's status; two ranks pretrain as one process
// does on the same global batch; a rank killed mid-run makes the other exit with an error within
// the collective timeout; ranks started with other configurations stop at the start.
#include <chrono>
#include <fstream>
#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/files.h"
#include "tests/cli/cli_util.h"

using ::testing::HasSubstr;

namespace caig_cli_test {
namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The environment of rank `rank` of a two-process job on loopback at `port`.
std::string rank_env(int rank, int port, double timeout) {
  return fmt::format(
      "env MASTER_ADDR=127.0.0.1 MASTER_PORT={} RANK={} LOCAL_RANK={} WORLD_SIZE=2 "
      "CAIG_DIST_TIMEOUT={}",
      port, rank, rank, timeout);
}

// A port unlikely to be in use: the test process's pid spread over an unprivileged range.
int test_port(int offset) { return 20000 + static_cast<int>(::getpid() % 20000) + offset; }

// `caig <args>` started in the background with `env` before it.
pid_t start_with_env(const std::string& env, const std::string& args, const fs::path& log) {
  const std::string cmd =
      "exec " + env + " " + CAIG_BINARY + " --quiet " + args + " > " + log.string() + " 2>&1";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

fs::path smoke_world() {
  static const fs::path world = [] {
    const auto w = scratch("dist_world");
    const auto r = run_caig("world --preset smoke --set world.products=60 --out " + w.string());
    EXPECT_EQ(r.status, 0) << r.output;
    return w;
  }();
  return world;
}

}  // namespace

TEST(Launch, SetsEachRanksEnvironmentAndReturnsAFailingRanksStatus) {
  const auto dir = scratch("launch_env");
  fs::create_directories(dir);
  const auto ok = run_caig(
      "launch --nproc 3 -- sh -c 'echo $RANK $LOCAL_RANK $WORLD_SIZE "
      "$MASTER_ADDR $MASTER_PORT > " +
      dir.string() + "/rank_$RANK'");
  ASSERT_EQ(ok.status, 0) << ok.output;
  std::string port;
  for (int r = 0; r < 3; ++r) {
    std::istringstream in(read_text(dir / ("rank_" + std::to_string(r))));
    std::string rank, local, world, addr, p;
    in >> rank >> local >> world >> addr >> p;
    EXPECT_EQ(rank, std::to_string(r));
    EXPECT_EQ(local, std::to_string(r));
    EXPECT_EQ(world, "3");
    EXPECT_EQ(addr, "127.0.0.1");
    if (r == 0) port = p;
    EXPECT_EQ(p, port);  // one free port for the job
    EXPECT_GT(std::stoi(p), 0);
  }
  // Rank 1 fails; rank 2 would run for a minute: it is stopped after the grace period.
  const auto start = std::chrono::steady_clock::now();
  const auto bad = run_caig(
      "launch --nproc 3 --grace 1 -- sh -c 'if [ $RANK = 1 ]; then exit 3; fi; "
      "if [ $RANK = 2 ]; then exec sleep 60; fi'");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(bad.status, 3) << bad.output;
  EXPECT_THAT(bad.output, HasSubstr("rank 1 ended with exit status 3; stopping the other ranks"));
  EXPECT_LT(seconds, 30);

  const auto none = run_caig("launch --nproc 2");
  EXPECT_NE(none.status, 0);
  const auto missing = run_caig("launch --nproc 2 -- /no/such/program");
  EXPECT_EQ(missing.status, 127);
  EXPECT_THAT(missing.output, HasSubstr("cannot run /no/such/program"));
}

// The same global batch (pretrain.batch_size 16 = 2 ranks x 8 draws): the same training up to
// float rounding (the per-rank sums are added in another order), including the composite task's
// ads and the slot head's extra ads, which each rank splits alike. The budget counts both ranks'
// samples; rank 1 writes its replica beside the checkpoint, to <out>.rank1, with the same weights.
TEST(DataParallelJob, TwoRanksPretrainAsOneProcessOnTheSameGlobalBatch) {
  const auto world = smoke_world();
  const std::string sets =
      "--set pretrain.max_steps=4 --set pretrain.eval_every=4 --set backbone.tile_embedding=true "
      "--set pretrain.composite_ads=4";
  const auto one = scratch("dp_one"), two = scratch("dp_two");
  const auto r1 = run_caig("pretrain --preset smoke " + sets + " --data " + world.string() +
                           " --out " + one.string());
  ASSERT_EQ(r1.status, 0) << r1.output;
  const auto r2 = run_caig("launch --nproc 2 -- caig --quiet pretrain --preset smoke " + sets +
                           " --data " + world.string() + " --out " + two.string());
  ASSERT_EQ(r2.status, 0) << r2.output;
  const auto a = caig::read_json(one / "pretrain_metrics.json");
  const auto b = caig::read_json(two / "pretrain_metrics.json");
  const auto b1 = caig::read_json(two.string() + ".rank1/pretrain_metrics.json");
  ASSERT_TRUE(a["metrics"]["tasks"].is_object());
  for (const auto& [task, m] : a["metrics"]["tasks"].items()) {
    const double loss = m["loss"].get<double>();
    EXPECT_NEAR(b["metrics"]["tasks"][task]["loss"].get<double>(), loss, 1e-4 * loss) << task;
    // Both ranks hold the same weights, and each evaluates the whole validation set.
    EXPECT_EQ(b1["metrics"]["tasks"][task]["loss"], b["metrics"]["tasks"][task]["loss"]) << task;
  }
  const double slot = a["metrics"]["slot_head"]["train_loss"].get<double>();
  EXPECT_NEAR(b["metrics"]["slot_head"]["train_loss"].get<double>(), slot, 1e-4 * slot);
  EXPECT_EQ(b["budget"]["samples"], a["budget"]["samples"]);
  EXPECT_EQ(b["budget"]["steps"], 4);
  EXPECT_TRUE(fs::exists(two / "model.pt"));
  EXPECT_TRUE(fs::exists(two.string() + ".rank1/model.pt"));
}

// The reward models train data-parallel through the same trainer: LR/FM/DeepFM-style scorers
// (a loss per impression), VAM and CAIG's (a mean over pairs); the same predictions as one
// process up to float rounding, and the whole step's training loss. VAM's BatchNorm normalises
// by each rank's part of the batch (its running statistics are averaged over the ranks), so its
// training is close to one process's, not the same: within 2e-3 on P(left) after its steps.
TEST(DataParallelJob, RewardModelsTrainAsOneProcessOnTheSameGlobalBatch) {
  const auto world = smoke_world();
  auto predictions = [](const fs::path& file) {
    std::map<std::string, double> p;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      const auto j = nlohmann::json::parse(line);
      p[fmt::format("{}/{}/{}/{}", j["model"].get<std::string>(), j["seed"].get<int>(),
                    j["left"].get<std::string>(), j["right"].get<std::string>())] =
          j["p_left"].get<double>();
    }
    return p;
  };
  for (const std::string model : {"fm", "vam", "caig"}) {
    const std::string args = "eval-rm --preset smoke --model " + model +
                             " --set reward_models.caig.pretrained=false --data " + world.string() +
                             " --out ";
    const auto one = scratch("dp_rm_one_" + model), two = scratch("dp_rm_two_" + model);
    const auto r1 = run_caig(args + one.string());
    ASSERT_EQ(r1.status, 0) << r1.output;
    const auto r2 = run_caig("launch --nproc 2 -- caig --quiet " + args + two.string());
    ASSERT_EQ(r2.status, 0) << r2.output;
    const auto a = predictions(one / "predictions.jsonl"),
               b = predictions(two / "predictions.jsonl");
    ASSERT_EQ(a.size(), b.size()) << model;
    ASSERT_FALSE(a.empty()) << model;
    const double tolerance = model == "vam" ? 2e-3 : 1e-4;
    for (const auto& [key, p] : a) EXPECT_NEAR(b.at(key), p, tolerance) << model << " " << key;
    EXPECT_EQ(predictions(two / "ranks/1/predictions.jsonl"), b) << model;
    const auto ma = caig::read_json(one / "metrics.json").dump();
    const auto mb = caig::read_json(two / "metrics.json").dump();
    // Every "last_loss" (one per training) in order: the whole step's on rank 0 as in one process.
    auto losses = [](const std::string& text) {
      std::vector<double> out;
      for (size_t at = text.find("\"last_loss\":"); at != std::string::npos;
           at = text.find("\"last_loss\":", at + 1))
        out.push_back(std::stod(text.substr(at + 12)));
      return out;
    };
    const auto la = losses(ma), lb = losses(mb);
    ASSERT_EQ(la.size(), lb.size()) << model;
    ASSERT_FALSE(la.empty()) << model;
    for (size_t i = 0; i < la.size(); ++i)
      EXPECT_NEAR(lb[i], la[i], (model == "vam" ? 2e-3 : 1e-4) * std::abs(la[i]) + 1e-7)
          << model << " training " << i;
  }
}

// `caig launch -- caig run`: every rank runs every stage; rank 0 writes the run directory and its
// report, rank 1 a replica run under ranks/1 with the same results (only measured times differ).
// The preference optimiser (PCPO, a loss per pair) trains as one process does: the first
// iteration's loss and KL within float rounding (later iterations sample from the trained policy,
// where a rounding difference may pick another token). A cap on the loop's device time makes the
// ranks agree on each iteration's clock (each times its own sampling).
TEST(DataParallelJob, ALaunchedRunWritesTheRunOnRankZeroAndAReplicaOnRankOne) {
  const auto dir = scratch("dp_run");
  fs::create_directories(dir);
  const auto toml = dir / "dp.toml";
  std::ofstream(toml) << "[run]\nname = \"dp\"\nseed = 7\n"
                         "stages = [\"world\", \"pretrain\", \"optimise\"]\n"
                         "reports = [\"pretraining\", \"optimise\"]\n"
                         "[stages.optimise]\njudge = \"oracle\"\nseeds = 1\n"
                         "max_device_seconds = 1000.0\narms = [{ optimiser = \"pcpo\" }]\n";
  const std::string args = " run " + toml.string() +
                           " --preset smoke --set world.products=60 --set pretrain.max_steps=4 "
                           "--set pretrain.eval_every=4 --out ";
  const auto run = dir / "run", single = dir / "single";
  const auto r = run_caig("launch --nproc 2 -- caig --quiet" + args + run.string());
  ASSERT_EQ(r.status, 0) << r.output;
  const auto r1 = run_caig(args + single.string());
  ASSERT_EQ(r1.status, 0) << r1.output;
  EXPECT_TRUE(fs::exists(run / "report.md"));
  EXPECT_TRUE(fs::exists(run / "stages/pretrain/checkpoint/model.pt"));
  const auto m0 = caig::read_json(run / "metrics.json");
  const auto m1 = caig::read_json(run / "ranks/1/metrics.json");
  ASSERT_TRUE(m0["pretrain"]["tasks"].is_object());
  EXPECT_EQ(m0["pretrain"]["tasks"], m1["pretrain"]["tasks"]);
  EXPECT_EQ(caig::read_json(run / "budget.json")["pretrain"]["steps"], 4);
  const std::string arm = "stages/optimise/arms/pcpo+oracle/seed0.json";
  auto a0 = caig::read_json(run / arm), a1 = caig::read_json(run / "ranks/1" / arm);
  const auto s = caig::read_json(single / arm);
  for (auto* a : {&a0, &a1}) (*a)["policy"].erase("checkpoint");  // the run's own path
  EXPECT_EQ(strip_measured(a0), strip_measured(a1));
  const auto& it0 = a0["iterations"][1];
  const auto& its = s["iterations"][1];
  const double loss = its["train"]["loss"].get<double>(), kl = its["kl"].get<double>();
  EXPECT_NEAR(it0["train"]["loss"].get<double>(), loss, 1e-5 * loss);
  EXPECT_NEAR(it0["kl"].get<double>(), kl, 1e-3 * kl + 1e-7);
  EXPECT_EQ(it0["train"]["pairs"], its["train"]["pairs"]);
  // Run again: both ranks reuse their finished stages.
  const auto again = run_caig("launch --nproc 2 -- caig" + args + run.string());
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("stage optimise: reused"));
}

// SIGTERM to the launcher reaches every rank; the ranks agree on the step at which they stop
// (the signal is part of each step's collective), so each ends cleanly with status 130, and the
// same command resumes the job to its end.
TEST(DataParallelJob, ASignalStopsEveryRankAtTheSameStepAndTheJobResumes) {
  const auto dir = scratch("dp_signal");
  fs::create_directories(dir);
  const auto toml = dir / "dp.toml";
  std::ofstream(toml) << "[run]\nname = \"dp\"\nseed = 7\nstages = [\"world\", \"pretrain\"]\n"
                         "reports = [\"pretraining\"]\n";
  const auto run = dir / "run";
  const std::string args = "launch --nproc 2 -- caig --quiet run " + toml.string() +
                           " --preset smoke --set world.products=60 --set pretrain.max_steps=60 "
                           "--set pretrain.eval_every=2 --out " +
                           run.string();
  const auto log = dir.string() + ".log";
  const pid_t pid = start_caig(args, log);
  ASSERT_TRUE(wait_for_file(run / "stages/pretrain/checkpoint/trainer_state.json", pid))
      << read_text(log);
  ::kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid), 130) << read_text(log);
  const auto text = read_text(log);
  // Both ranks (rank 1's errors reach the launcher's stderr too).
  size_t stops = 0;
  const std::string stop = "during pretrain; stage 'pretrain' stays incomplete";
  for (size_t at = text.find(stop); at != std::string::npos; at = text.find(stop, at + 1)) ++stops;
  EXPECT_EQ(stops, 2u) << text;
  EXPECT_THAT(text, ::testing::Not(HasSubstr("distributed:"))) << text;
  const auto resumed = run_caig(args);
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_EQ(caig::read_json(run / "budget.json")["pretrain"]["steps"], 60);
}

TEST(DataParallelJob, ARankKilledMidRunMakesTheOtherExitWithAnErrorNotHang) {
  const auto world = smoke_world();
  const auto out = scratch("dp_killed");
  const int port = test_port(1);
  // Long enough that rank 0 is still training when rank 1 dies; a checkpoint every step says
  // when training has started.
  const std::string args =
      "pretrain --preset smoke --set pretrain.max_steps=100000 --set "
      "pretrain.eval_every=1 --data " +
      world.string() + " --out " + out.string();
  const auto log0 = out.string() + ".rank0.log", log1 = out.string() + ".rank1.log";
  const pid_t r0 = start_with_env(rank_env(0, port, 20), args, log0);
  const pid_t r1 = start_with_env(rank_env(1, port, 20), args, log1);
  ASSERT_TRUE(wait_for_file(out / "trainer_state.json", r0)) << read_text(log0);
  ::kill(r1, SIGKILL);
  wait_exit(r1);
  const auto killed_at = std::chrono::steady_clock::now();
  const int status = wait_exit(r0);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  const auto log = read_text(log0);
  EXPECT_EQ(status, 2) << log;
  EXPECT_THAT(log, HasSubstr("distributed:"));
  EXPECT_THAT(log, HasSubstr("rank 0 of 2"));
  EXPECT_LT(seconds, 20 + 15) << log;  // within the collective timeout (plus start-up slack)
}

TEST(DataParallelJob, RanksWithAnotherConfigurationStopAtTheStartNamingTheRankAndKey) {
  const auto world = smoke_world();
  const auto out = scratch("dp_mismatch");
  const int port = test_port(2);
  auto args = [&](int steps) {
    return "pretrain --preset smoke --set pretrain.max_steps=" + std::to_string(steps) +
           " --data " + world.string() + " --out " + out.string();
  };
  const auto log0 = out.string() + ".rank0.log", log1 = out.string() + ".rank1.log";
  const pid_t r0 = start_with_env(rank_env(0, port, 30), args(4), log0);
  const pid_t r1 = start_with_env(rank_env(1, port, 30), args(5), log1);
  EXPECT_EQ(wait_exit(r0), 2);
  EXPECT_EQ(wait_exit(r1), 2);
  for (const auto& log : {read_text(log0), read_text(log1)}) {
    EXPECT_THAT(log,
                HasSubstr("rank 1 runs `caig pretrain` with another configuration than rank 0"))
        << log;
    EXPECT_THAT(log, HasSubstr("config.pretrain.max_steps: 4 vs 5")) << log;
  }
  EXPECT_FALSE(fs::exists(out / "model.pt"));
}

TEST(DataParallelJob, ABadEnvironmentIsAnErrorNamingTheVariable) {
  const auto world = smoke_world();
  const auto r = run_caig("pretrain --preset smoke --data " + world.string() + " --out " +
                              scratch("dp_badenv").string(),
                          "env WORLD_SIZE=2 RANK=0 MASTER_ADDR=127.0.0.1");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("MASTER_PORT is not set"));
}

}  // namespace caig_cli_test
