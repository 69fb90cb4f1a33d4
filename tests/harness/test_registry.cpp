#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/registry.h"

using testing::HasSubstr;

namespace {

struct Widget {
  virtual ~Widget() = default;
  int size = 0;
};

caig::Registry<Widget> make_registry() {
  caig::Registry<Widget> r("widget");
  r.add("small", "a small widget", {{"size", 1}}, [](const nlohmann::json& c, const caig::PluginContext&) {
    auto w = std::make_unique<Widget>();
    w->size = c.at("size").get<int>();
    return w;
  });
  r.add("large", "a large widget", {{"size", 10}}, [](const nlohmann::json& c, const caig::PluginContext&) {
    auto w = std::make_unique<Widget>();
    w->size = c.at("size").get<int>();
    return w;
  });
  return r;
}

}  // namespace

TEST(Registry, CreatesFromDefaultsAndOverrides) {
  const auto r = make_registry();
  EXPECT_EQ(r.create("small", nullptr, {})->size, 1);
  EXPECT_EQ(r.create("large", {{"size", 12}}, {})->size, 12);
  EXPECT_EQ(r.names(), (std::vector<std::string>{"large", "small"}));
}

TEST(Registry, UnknownNameListsKnownOnes) {
  const auto r = make_registry();
  try {
    r.create("medium", nullptr, {});
    FAIL() << "expected an error";
  } catch (const caig::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown widget 'medium'; known: large, small"));
  }
}

TEST(Registry, DuplicateNameIsAnError) {
  auto r = make_registry();
  EXPECT_THROW(r.add("small", "again", nlohmann::json::object(), nullptr), caig::Error);
}

TEST(Registry, UnknownPluginConfigKeyIsAnError) {
  const auto r = make_registry();
  try {
    r.create("small", {{"colour", "red"}}, {}, "exp.toml");
    FAIL() << "expected an error";
  } catch (const caig::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("exp.toml"));
    EXPECT_THAT(e.what(), HasSubstr("widget.small.colour"));
  }
}

