// Tests that need the built-in plugin set (and so LibTorch, which makes the binary slow to start).
#include <unistd.h>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/budget.h"
#include "harness/config.h"
#include "harness/error.h"
#include "harness/plugins.h"
#include "methods/backbone/options.h"
#include "methods/pretraining/pretrainer.h"
#include "tests/support/test_util.h"

using caig::Error;
using caig::testing::error_of;
using caig::testing::write_temp_file;
using testing::HasSubstr;
namespace fs = std::filesystem;

TEST(Config, ResolveAppliesPresetThenFileThenPerPresetThenSets) {
  caig::register_builtin_plugins();
  const auto exp = write_temp_file("exp.toml",
                                   "[world]\nrho = 0.7\nproducts = 123\n"
                                   "[presets.smoke.world]\nproducts = 50\n");
  auto cfg = caig::resolve_config(caig::default_config(), {exp, "smoke", {"world.rho=0.6"}});
  EXPECT_EQ(cfg["world"]["products"].get<int>(), 50);  // per-preset section wins over the body
  EXPECT_DOUBLE_EQ(cfg["world"]["rho"].get<double>(), 0.6);  // --set wins over everything
  EXPECT_EQ(cfg["run"]["preset"], "smoke");
  auto cpu = caig::resolve_config(caig::default_config(), {exp, "cpu", {}});
  EXPECT_EQ(cpu["world"]["products"].get<int>(), 123);  // no cpu section: the body applies
  EXPECT_EQ(cpu["run"]["name"], fs::path(exp).stem().string());
  auto bare = caig::resolve_config(caig::default_config(), {"", "smoke", {}});
  EXPECT_EQ(bare["world"]["products"].get<int>(), 300);  // the smoke preset itself
  EXPECT_THAT(error_of([&] {
                caig::resolve_config(caig::default_config(), {"", "huge", {}});
              }),
              HasSubstr("unknown preset 'huge'; known: cpu, paper, smoke"));
  const auto typo = write_temp_file("typo.toml", "[presets.smoek.world]\nproducts = 5\n");
  EXPECT_THAT(error_of([&] {
                caig::resolve_config(caig::default_config(), {typo, "cpu", {}});
              }),
              HasSubstr("unknown preset 'smoek'"));
}

// Every preset's [backbone] and [pretrain] sections parse into their options (the paper preset is
// otherwise only read on a GPU machine).
TEST(Config, EveryPresetsModelSectionsParse) {
  caig::register_builtin_plugins();
  for (const char* preset : {"smoke", "cpu", "paper"}) {
    const auto cfg = caig::resolve_config(caig::default_config(), {"", preset, {}});
    EXPECT_NO_THROW(caig::backbone::BackboneOptions::from_json(cfg.at("backbone"))) << preset;
    const auto pretrain = caig::pretraining::PretrainOptions::from_json(cfg.at("pretrain"));
    EXPECT_GE(pretrain.samples_per_product, 1) << preset;
  }
}

// The built-in set, listed explicitly: a plugin dropped by the linker or a registration that
// goes missing fails here.
TEST(Registry, BuiltinPluginsAreAllRegistered) {
  caig::register_builtin_plugins();
  caig::register_builtin_plugins();  // idempotent
  const auto& p = caig::plugins();
  EXPECT_EQ(p.datasets.names(),
            (std::vector<std::string>{"cg4ctr_json", "creative_ranking", "shopworld_commercial",
                                      "shopworld_dir", "shopworld_public"}));
  EXPECT_EQ(p.renderers.names(), (std::vector<std::string>{"external", "procedural"}));
  EXPECT_EQ(p.reports.names(),
            (std::vector<std::string>{"ab_test", "optimise", "optimise_map", "pretraining",
                                      "reward_accuracy", "world_calibration"}));
  EXPECT_EQ(p.stages.names(), (std::vector<std::string>{"ab_test", "optimise", "optimise_map",
                                                        "pretrain", "reward_accuracy", "world"}));
  EXPECT_EQ(p.reward_models.names(),
            (std::vector<std::string>{"caig", "cg4ctr", "deepfm", "external", "fm", "judge", "lr",
                                      "oracle", "random", "slots_lr", "torchscript", "vam"}));
  for (const auto& [name, e] : p.reward_models.entries()) EXPECT_FALSE(e.help.empty()) << name;
  EXPECT_EQ(p.prompt_models.names(), (std::vector<std::string>{"caig", "random", "template"}));
  EXPECT_EQ(p.optimisers.names(),
            (std::vector<std::string>{"best_of_n", "dpo", "hinge", "ipo", "kto", "mdpo", "none",
                                      "orpo", "pcpo", "robust", "simpo"}));
  for (const auto& [name, e] : p.optimisers.entries()) EXPECT_FALSE(e.help.empty()) << name;
  for (const auto& [name, e] : p.prompt_models.entries()) EXPECT_FALSE(e.help.empty()) << name;
  for (const auto& [name, e] : p.datasets.entries()) EXPECT_FALSE(e.help.empty()) << name;
}

TEST(Budget, CountsAndStopsAtLimits) {
  caig::BudgetMeter m({10, 0, 0.0}, "cpu");
  EXPECT_FALSE(m.exhausted());
  {
    caig::BudgetMeter::Scope s(m);
    m.add_samples(4);
    m.add_steps();
  }
  EXPECT_EQ(m.samples(), 4);
  EXPECT_EQ(m.steps(), 1);
  EXPECT_FALSE(m.exhausted());
  m.add_samples(6);
  EXPECT_EQ(m.exhausted_by(), "samples");
  const auto spent = m.spent();
  EXPECT_EQ(spent["samples"], 10);
  EXPECT_GE(spent["device_seconds"].get<double>(), 0.0);
  EXPECT_GT(spent["peak_memory_bytes"].get<int64_t>(), 0);
  EXPECT_EQ(spent["limits"]["max_samples"], 10);

  caig::BudgetMeter steps({0, 2, 0.0}, "cpu");
  steps.add_steps(2);
  EXPECT_EQ(steps.exhausted_by(), "steps");
  caig::BudgetMeter secs({0, 0, 1e-9}, "cpu");
  secs.start();
  volatile double x = 0;
  for (int i = 0; i < 100000; ++i) x = x + 1;
  secs.stop();
  EXPECT_EQ(secs.exhausted_by(), "device_seconds");
  EXPECT_THROW(caig::BudgetLimits::from_json(
                   {{"max_samples", -1}, {"max_steps", 0}, {"max_device_seconds", 0}}),
               caig::Error);
}
