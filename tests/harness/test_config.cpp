#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/config.h"
#include "harness/error.h"
#include "tests/support/test_util.h"

using caig::Error;
using caig::testing::error_of;
using caig::testing::write_temp_file;
using testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

nlohmann::json schema() {
  return {{"run", {{"name", ""}, {"seed", 7}, {"preset", "cpu"}, {"experiment", ""}}},
          {"world",
           {{"rho", 0.85},
            {"products", 10},
            {"dataset", "commercial"},
            {"flag", true},
            {"names", nlohmann::json::array({"a"})}}},
          {"plugins", nlohmann::json::object()}};
}

}  // namespace

TEST(Config, MergesKnownKeysAndPromotesIntegersToFloats) {
  auto base = schema();
  caig::merge_checked(base, {{"world", {{"rho", 1}, {"products", 20}}}}, "test.toml");
  EXPECT_TRUE(base["world"]["rho"].is_number_float());
  EXPECT_DOUBLE_EQ(base["world"]["rho"].get<double>(), 1.0);
  EXPECT_EQ(base["world"]["products"].get<int>(), 20);
}

TEST(Config, UnknownKeyNamesKeyAndFile) {
  auto base = schema();
  const auto msg = error_of([&] {
    caig::merge_checked(base, {{"world", {{"rhoo", 0.5}}}}, "exp.toml");
  });
  EXPECT_THAT(msg, HasSubstr("exp.toml"));
  EXPECT_THAT(msg, HasSubstr("world.rhoo"));
  EXPECT_THAT(msg, HasSubstr("rho"));  // lists the known keys
}

TEST(Config, WrongTypesAreErrors) {
  auto base = schema();
  EXPECT_THAT(error_of([&] {
                caig::merge_checked(base, {{"world", {{"products", 2.5}}}}, "f");
              }),
              HasSubstr("world.products"));
  EXPECT_THAT(error_of([&] {
                caig::merge_checked(base, {{"world", {{"rho", "high"}}}}, "f");
              }),
              HasSubstr("must be float"));
  EXPECT_THAT(error_of([&] {
                caig::merge_checked(base, {{"world", 3}}, "f");
              }),
              HasSubstr("table"));
  EXPECT_THAT(error_of([&] {
                caig::merge_checked(base, {{"world", {{"names", {1, 2}}}}}, "f");
              }),
              HasSubstr("string values"));
}

TEST(Config, EmptyTableIsAnOpenMap) {
  auto base = schema();
  caig::merge_checked(base, {{"plugins", {{"vam", {{"lr", 0.1}}}}}}, "f");
  EXPECT_DOUBLE_EQ(base["plugins"]["vam"]["lr"].get<double>(), 0.1);
}

TEST(Config, RegisteredOpenSectionStaysOpenAcrossLayers) {
  // A preset, a file and two --set arguments each add keys to one plugin's entry; the entry is
  // checked later by the plugin's registry, not by the layers.
  caig::add_config_section("test_open_plugins", nlohmann::json::object());
  auto cfg = caig::default_config();
  caig::merge_checked(cfg, {{"test_open_plugins", {{"vam", {{"lr", 0.1}}}}}}, "preset");
  caig::merge_checked(cfg, {{"test_open_plugins", {{"vam", {{"width", 8}}}}}}, "file");
  caig::apply_set(cfg, "test_open_plugins.vam.lr=0.2");
  caig::apply_set(cfg, "test_open_plugins.caig.pretrained=false");
  EXPECT_DOUBLE_EQ(cfg["test_open_plugins"]["vam"]["lr"].get<double>(), 0.2);
  EXPECT_EQ(cfg["test_open_plugins"]["vam"]["width"].get<int>(), 8);
  EXPECT_EQ(cfg["test_open_plugins"]["caig"]["pretrained"].get<bool>(), false);
  EXPECT_THAT(error_of([&] { caig::apply_set(cfg, "test_open_plugins.vam=3"); }),
              HasSubstr("table"));
}

TEST(Config, SetParsesTomlValuesAndBareWords) {
  auto base = schema();
  caig::apply_set(base, "world.rho=0.9");
  caig::apply_set(base, "world.dataset=public");
  caig::apply_set(base, "world.flag=false");
  caig::apply_set(base, "world.names=[\"x\", \"y\"]");
  EXPECT_DOUBLE_EQ(base["world"]["rho"].get<double>(), 0.9);
  EXPECT_EQ(base["world"]["dataset"], "public");
  EXPECT_EQ(base["world"]["flag"], false);
  EXPECT_EQ(base["world"]["names"].size(), 2u);
  EXPECT_THAT(error_of([&] { caig::apply_set(base, "world.nope=1"); }),
              HasSubstr("--set world.nope=1"));
  EXPECT_THAT(error_of([&] { caig::apply_set(base, "novalue"); }), HasSubstr("key=value"));
}

TEST(Config, ParsesTomlAndReportsLineOfSyntaxErrors) {
  const auto good = write_temp_file("good.toml", "[world]\nrho = 0.5\n");
  EXPECT_DOUBLE_EQ(caig::parse_toml_file(good)["world"]["rho"].get<double>(), 0.5);
  const auto bad = write_temp_file("bad.toml", "[world]\nrho = = 0.5\n");
  const auto msg = error_of([&] { caig::parse_toml_file(bad); });
  EXPECT_THAT(msg, HasSubstr("bad.toml:2"));
  EXPECT_THAT(error_of([&] { caig::parse_toml_file("/nonexistent/x.toml"); }),
              HasSubstr("does not exist"));
}

TEST(Config, AtPathNamesMissingKey) {
  const auto cfg = schema();
  EXPECT_DOUBLE_EQ(caig::at_path(cfg, "world.rho").get<double>(), 0.85);
  EXPECT_THAT(error_of([&] { caig::at_path(cfg, "world.nothing"); }), HasSubstr("world.nothing"));
}
