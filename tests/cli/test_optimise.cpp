// The optimise stage end to end at the smoke preset: experiments/match_rate.toml writes the curve,
// the over-optimisation figure and the tables; a run killed inside the stage resumes at the first
// arm it had not finished and gives the same results; bad arms are errors before anything runs.
// The optimise_map stage over M alone (reusing the pretraining) and over rho x M (a world and a
// pretraining per rho), killed and resumed.
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/files.h"
#include "tests/cli/cli_util.h"

namespace fs = std::filesystem;
using namespace caig_cli_test;
using testing::HasSubstr;

namespace {

const std::string kMatchRate = std::string(CAIG_SOURCE_DIR) + "/experiments/match_rate.toml";

}  // namespace

TEST(Optimise, MatchRateExperimentWritesTheCurveAndResumes) {
  const auto whole = scratch("optimise_whole"), killed = scratch("optimise_killed");
  const std::string args = "run " + kMatchRate + " --preset smoke --out ";
  const auto r = run_caig(args + whole.string());
  ASSERT_EQ(r.status, 0) << r.output;
  const auto m = caig::read_json(whole / "metrics.json").at("optimise");
  ASSERT_EQ(m.at("arms").size(), 5u);
  for (const auto& a : m.at("arms")) {
    EXPECT_EQ(a.at("seeds").size(), 3u) << a.at("name");
    EXPECT_EQ(a.at("summary").size(), 3u) << a.at("name");  // iterations 0..2 at smoke
    const auto& first = a.at("summary").front();
    EXPECT_TRUE(first.at("match_rate").is_object());
    // Every arm starts from the same prompt model, measured with the same seeds.
    EXPECT_EQ(first.at("match_rate"), m.at("arms")[0].at("summary").front().at("match_rate"));
  }
  EXPECT_EQ(m.at("arms")[0].at("name"), "none");
  EXPECT_EQ(m.at("arms")[3].at("name"), "dpo+oracle");
  for (const char* f :
       {"tables/optimise_match_rate.md", "tables/optimise_final.csv",
        "figures/optimise_match_rate.png", "figures/optimise_match_rate.svg",
        "figures/optimise_overoptimisation.png", "figures/optimise_overoptimisation.gp",
        "stages/optimise/models/dpo+caig/seed0/model.pt",
        "stages/optimise/models/pcpo+caig/seed0/prompt_model.json"})
    EXPECT_TRUE(fs::exists(whole / f)) << f;
  EXPECT_FALSE(fs::exists(whole / "stages/optimise/models/none"));  // nothing trained
  EXPECT_FALSE(fs::exists(whole / "stages/optimise/scratch"));
  EXPECT_THAT(caig::read_file(whole / "report.md"), HasSubstr("## CTR-driven optimisation"));
  EXPECT_THAT(caig::read_file(whole / "tables/optimise_match_rate.md"), HasSubstr("pcpo+oracle"));
  // caig report re-renders the tables from the stored JSON alone.
  const auto table = caig::read_file(whole / "tables/optimise_final.csv");
  fs::remove(whole / "tables/optimise_final.csv");
  ASSERT_EQ(run_caig("report " + whole.string()).status, 0);
  EXPECT_EQ(caig::read_file(whole / "tables/optimise_final.csv"), table);

  // SIGKILL once the first trained arm has kept its result: the resumed stage goes on from there.
  const pid_t pid = start_caig(args + killed.string(), killed.string() + ".log");
  ASSERT_TRUE(wait_for_file(killed / "stages/optimise/arms/dpo+caig/seed0.json", pid));
  ::kill(pid, SIGKILL);
  wait_exit(pid);
  const auto resumed = run_caig(args + killed.string());
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_THAT(resumed.output, HasSubstr("stage reward_accuracy: reused"));
  EXPECT_THAT(resumed.output, HasSubstr("stage optimise: resuming"));
  EXPECT_EQ(caig::read_json(killed / "metrics.json").at("optimise"), m);
  EXPECT_EQ(caig::read_file(killed / "stages/optimise/records.jsonl"),
            caig::read_file(whole / "stages/optimise/records.jsonl"));
}

TEST(Optimise, BadArmsAreErrorsBeforeAnythingRuns) {
  const auto dir = scratch("optimise_bad");
  const std::string base = "run " + kMatchRate + " --preset smoke --out " + dir.string();
  auto err = [&](const std::string& set) {
    const auto r = run_caig(base + " --set '" + set + "'");
    EXPECT_NE(r.status, 0) << set;
    EXPECT_FALSE(fs::exists(dir / "stages/world/stage.json")) << set;
    return r.output;
  };
  EXPECT_THAT(err("stages.optimise.arms=[{optimiser=\"dpo\", beta=1}]"),
              HasSubstr("stages.optimise.arms[0]: unknown key 'beta'"));
  EXPECT_THAT(err("stages.optimise.arms=[{optimiser=\"dpo\", prompt_model=\"template\"}]"),
              HasSubstr("prompt model 'template' is not trainable"));
  EXPECT_THAT(err("stages.optimise.arms=[{optimiser=\"nope\"}]"),
              HasSubstr("unknown optimiser 'nope'"));
  EXPECT_THAT(err("stages.optimise.arms=[{optimiser=\"dpo\"}, {optimiser=\"dpo\"}]"),
              HasSubstr("two arms are named 'dpo+caig'"));
  EXPECT_THAT(err("stages.optimise.arms=[{optimiser=\"pcpo\", config={variant=\"x\"}}]"),
              HasSubstr("variant 'x' is not one of"));
  EXPECT_THAT(err("run.stages=[\"world\", \"pretrain\", \"optimise\"]"),
              HasSubstr("reward_accuracy"));
}

TEST(Optimise, MapOverTheMismatchPenaltyRedrawsClicksAndReusesThePretraining) {
  const auto dir = scratch("optimise_map");
  const std::string map = std::string(CAIG_SOURCE_DIR) + "/experiments/pcpo_map.toml";
  const auto r = run_caig("run " + map +
                          " --preset smoke --set 'stages.optimise_map.values=[0.0, 2.0]' --out " +
                          dir.string());
  ASSERT_EQ(r.status, 0) << r.output;
  const auto m = caig::read_json(dir / "metrics.json").at("optimise_map");
  ASSERT_EQ(m.at("rows").size(), 1u);
  EXPECT_TRUE(m.at("world_parameter").is_null());
  const auto& grid = m["rows"][0].at("grid");
  ASSERT_EQ(grid.size(), 2u);
  for (const auto& g : grid) {
    EXPECT_TRUE(g.at("judges").contains("caig"));
    EXPECT_EQ(g.at("arms").size(), 3u);
  }
  // The same policy is measured first under both values; the world's gold reward differs.
  const auto& a0 = grid[0]["arms"][0]["summary"][0];
  const auto& a1 = grid[1]["arms"][0]["summary"][0];
  EXPECT_EQ(a0.at("match_rate"), a1.at("match_rate"));
  EXPECT_NE(a0.at("gold_ctr"), a1.at("gold_ctr"));
  const auto table = caig::read_file(dir / "tables/optimise_map.md");
  EXPECT_THAT(table, HasSubstr("DPO - PCPO match"));
  EXPECT_THAT(table, HasSubstr("| 2 |"));
  EXPECT_TRUE(fs::exists(dir / "figures/optimise_map_match.png"));
  EXPECT_TRUE(fs::exists(dir / "figures/optimise_map_lift.svg"));
  EXPECT_FALSE(fs::exists(dir / "stages/optimise_map/scratch"));
  // A parameter the designers read changes the creatives: an error that says what to do instead.
  const auto rho =
      run_caig("run " + map + " --preset smoke --set stages.optimise_map.parameter=rho " +
               "--set 'stages.optimise_map.values=[0.5]' --out " + dir.string() + "_rho");
  EXPECT_NE(rho.status, 0);
  EXPECT_THAT(rho.output, HasSubstr("not a click-model parameter"));
}

TEST(Optimise, MapOverRhoGeneratesAWorldAndAPretrainingPerValue) {
  const auto dir = scratch("optimise_rho_map");
  const std::string map = std::string(CAIG_SOURCE_DIR) + "/experiments/pcpo_rho_map.toml";
  const auto r = run_caig("run " + map + " --preset smoke --out " + dir.string());
  ASSERT_EQ(r.status, 0) << r.output;
  const auto m = caig::read_json(dir / "metrics.json").at("optimise_map");
  EXPECT_EQ(m.at("world_parameter"), "rho");
  ASSERT_EQ(m.at("rows").size(), 2u);
  // Each row is its own world: the designers' logged match rate follows rho.
  const auto designers = [&](size_t i) {
    return m["rows"][i]
        .at("pretraining")
        .at("sampled_descriptions")
        .at("designer_match_rate")
        .get<double>();
  };
  EXPECT_EQ(m["rows"][0].at("value"), 0.5);
  EXPECT_LT(designers(0) + 0.15, designers(1));
  for (const auto& row : m.at("rows")) {
    ASSERT_EQ(row.at("grid").size(), 2u);
    for (const auto& g : row.at("grid")) EXPECT_EQ(g.at("arms").size(), 3u);
  }
  EXPECT_TRUE(fs::exists(dir / "stages/optimise_map/arms/rho=0.9/mismatch_penalty=2.4"));
  EXPECT_FALSE(fs::exists(dir / "stages/optimise_map/scratch"));
  const auto heat = caig::read_file(dir / "tables/optimise_map_heat_match.md");
  EXPECT_THAT(heat, HasSubstr("| rho | 0 | 2.4 |"));
  EXPECT_THAT(heat, HasSubstr("| 0.9 |"));
  EXPECT_THAT(caig::read_file(dir / "tables/optimise_map.md"), HasSubstr("pretrained match"));
  for (const char* f : {"optimise_map_heat_match.png", "optimise_map_heat_lift.svg"})
    EXPECT_TRUE(fs::exists(dir / "figures" / f)) << f;

  // SIGKILL while the second world is being pretrained: the resumed stage keeps the first world's
  // arms and the second world, and ends with the same results.
  const auto killed = scratch("optimise_rho_map_killed");
  const std::string args = "run " + map + " --preset smoke --out " + killed.string();
  const pid_t pid = start_caig(args, killed.string() + ".log");
  ASSERT_TRUE(
      wait_for_file(killed / "stages/optimise_map/scratch/worlds/rho=0.9/world_spent.json", pid));
  ::kill(pid, SIGKILL);
  wait_exit(pid);
  const auto resumed = run_caig(args);
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_THAT(resumed.output, HasSubstr("stage optimise_map: resuming"));
  EXPECT_EQ(strip_measured(caig::read_json(killed / "metrics.json").at("optimise_map")),
            strip_measured(m));

  // The two axes must differ, and the world axis needs values.
  const auto same = run_caig("run " + map + " --preset smoke --set " +
                             "stages.optimise_map.parameter=rho --out " + dir.string() + "_same");
  EXPECT_NE(same.status, 0);
  EXPECT_THAT(same.output, HasSubstr("world_parameter and parameter are both 'rho'"));
  const auto empty =
      run_caig("run " + map + " --preset smoke --set " +
               "'stages.optimise_map.world_values=[]' --out " + dir.string() + "_empty");
  EXPECT_NE(empty.status, 0);
  EXPECT_THAT(empty.output, HasSubstr("world_values is empty"));
  const auto unknown =
      run_caig("run " + map + " --preset smoke --set " +
               "stages.optimise_map.world_parameter=sunshine --out " + dir.string() + "_unknown");
  EXPECT_NE(unknown.status, 0);
  EXPECT_THAT(unknown.output, HasSubstr("'sunshine' is not a numeric key of [world]"));
}
