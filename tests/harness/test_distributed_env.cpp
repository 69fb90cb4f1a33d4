// The data-parallel job's environment (torchrun-style variables), the ranks' output directories
// and the configuration difference a mismatched rank's error names.
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "harness/distributed_env.h"
#include "harness/error.h"

namespace caig::dist {
namespace {

using Vars = std::map<std::string, std::string>;

Env from(const Vars& vars) {
  return env_from([&](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

std::string error_of(const Vars& vars) {
  try {
    from(vars);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const Vars kTwo = {{"WORLD_SIZE", "2"},
                   {"RANK", "1"},
                   {"LOCAL_RANK", "1"},
                   {"MASTER_ADDR", "10.0.0.5"},
                   {"MASTER_PORT", "29511"}};

}  // namespace

TEST(DistributedEnv, NoWorldSizeOrOneIsASingleProcess) {
  const Env none = from({});
  EXPECT_FALSE(none.distributed());
  EXPECT_EQ(none.rank, 0);
  EXPECT_EQ(none.world_size, 1);
  // A single process needs none of the other variables.
  const Env one = from({{"WORLD_SIZE", "1"}});
  EXPECT_FALSE(one.distributed());
}

TEST(DistributedEnv, ReadsEveryVariable) {
  Vars v = kTwo;
  v["CAIG_DIST_TIMEOUT"] = "12.5";
  const Env e = from(v);
  EXPECT_TRUE(e.distributed());
  EXPECT_EQ(e.rank, 1);
  EXPECT_EQ(e.world_size, 2);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.master_addr, "10.0.0.5");
  EXPECT_EQ(e.master_port, 29511);
  EXPECT_DOUBLE_EQ(e.timeout_seconds, 12.5);
  EXPECT_EQ(e.to_json().at("master_port"), 29511);
  // LOCAL_RANK defaults to 0 (one process per machine), the timeout to 300 s.
  Vars w = kTwo;
  w.erase("LOCAL_RANK");
  EXPECT_EQ(from(w).local_rank, 0);
  EXPECT_DOUBLE_EQ(from(w).timeout_seconds, 300);
}

TEST(DistributedEnv, AMissingVariableIsAnErrorNamingIt) {
  for (const char* name : {"RANK", "MASTER_ADDR", "MASTER_PORT"}) {
    Vars v = kTwo;
    v.erase(name);
    const auto msg = error_of(v);
    EXPECT_NE(msg.find(std::string(name) + " is not set"), std::string::npos) << msg;
    EXPECT_NE(msg.find("caig launch"), std::string::npos) << msg;
  }
}

TEST(DistributedEnv, ABadValueIsAnErrorNamingTheVariableAndTheValue) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"WORLD_SIZE", "two"}, {"WORLD_SIZE", "0"},        {"RANK", "2"},
      {"RANK", "-1"},        {"MASTER_PORT", "70000"},   {"MASTER_PORT", "29500x"},
      {"LOCAL_RANK", "5"},   {"CAIG_DIST_TIMEOUT", "0"}, {"CAIG_DIST_TIMEOUT", "soon"}};
  for (const auto& [name, value] : bad) {
    Vars v = kTwo;
    v[name] = value;
    const auto msg = error_of(v);
    EXPECT_NE(msg.find(name + "='" + value + "'"), std::string::npos) << name << ": " << msg;
  }
}

TEST(DistributedEnv, RankZeroWritesTheDirectoryOthersTheirReplica) {
  EXPECT_EQ(rank_output_dir("runs/a", 0), std::filesystem::path("runs/a"));
  EXPECT_EQ(rank_output_dir("runs/a", 3), std::filesystem::path("runs/a/ranks/3"));
  EXPECT_EQ(rank_sibling_dir("out/ck", 0), std::filesystem::path("out/ck"));
  EXPECT_EQ(rank_sibling_dir("out/ck", 2), std::filesystem::path("out/ck.rank2"));
  EXPECT_EQ(rank_sibling_dir("out/ck/", 1), std::filesystem::path("out/ck.rank1"));
  EXPECT_EQ(rank_sibling_dir("ck", 1), std::filesystem::path("ck.rank1"));
}

TEST(DistributedEnv, FirstDifferenceNamesTheKeyPathAndBothValues) {
  const nlohmann::json a = {{"run", {{"seed", 7}, {"device", "cpu"}}},
                            {"pretrain", {{"max_steps", 4}, {"lr", 0.001}}},
                            {"list", {1, 2, 3}}};
  EXPECT_EQ(first_difference(a, a), "");
  auto b = a;
  b["pretrain"]["max_steps"] = 5;
  EXPECT_EQ(first_difference(a, b), "pretrain.max_steps: 4 vs 5");
  b = a;
  b["list"][1] = 9;
  EXPECT_EQ(first_difference(a, b), "list[1]: 2 vs 9");
  b = a;
  b["run"].erase("seed");
  EXPECT_EQ(first_difference(a, b), "run.seed: 7 vs (absent)");
  b = a;
  b["extra"] = true;
  EXPECT_EQ(first_difference(a, b), "extra: (absent) vs true");
  // Keys in sorted order: the first differing key is named even when several differ.
  b = a;
  b["run"]["seed"] = 8;
  b["list"] = {1};
  EXPECT_EQ(first_difference(a, b), "list: [1,2,3] vs [1]");
  EXPECT_EQ(first_difference(nlohmann::json(1), nlohmann::json("x")),
            "(the whole configuration): 1 vs \"x\"");
}

}  // namespace caig::dist
