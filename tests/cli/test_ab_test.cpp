// The ab_test stage end to end at the smoke preset: prompt-model arms and the designers against
// the pretrained prompt model, the same traffic per product in every arm, the tables and the
// figure, a resumed stage giving the same results, and bad arms as errors before anything runs.
#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/files.h"
#include "tests/cli/cli_util.h"

namespace fs = std::filesystem;
using namespace caig_cli_test;
using testing::HasSubstr;

namespace {

fs::path write_experiment(const fs::path& dir) {
  fs::create_directories(dir);
  const fs::path file = dir / "ab.toml";
  std::ofstream(file) << "[run]\nname = \"ab\"\nseed = 7\n"
                         "stages = [\"world\", \"pretrain\", \"ab_test\"]\n"
                         "reports = [\"ab_test\"]\n"
                         "[stages.ab_test]\nci = \"delta\"\ngallery_judge = \"oracle\"\narms = [\n"
                         "  {name = \"control\", prompt_model = \"caig\"},\n"
                         "  {prompt_model = \"template\"},\n  {prompt_model = \"random\"},\n"
                         "  {designers = true},\n]\n";
  return file;
}

std::vector<nlohmann::json> records(const fs::path& file) {
  std::vector<nlohmann::json> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

// Opens <run>/report.html in headless Chromium through a checker page beside it (file access
// between local files allowed) and returns what the checker found: "loaded <title>", then per
// image "ok <src> <width>x<height>" or "bad <src>".
std::string check_page(const fs::path& run) {
  const fs::path checker = run / "page_check.html";
  std::ofstream(checker) << R"(<!DOCTYPE html><html><body>
<iframe id="f" src="report.html" width="1280" height="800"></iframe><pre id="result">pending</pre>
<script>
document.getElementById('f').onload = function () {
  // The load event waits for every image: a decoded one has its natural size, a broken one none.
  const d = this.contentDocument;
  const r = Array.from(d.images).map(i => (i.complete && i.naturalWidth > 0)
      ? 'ok ' + i.getAttribute('src') + ' ' + i.naturalWidth + 'x' + i.naturalHeight
      : 'bad ' + i.getAttribute('src'));
  document.getElementById('result').textContent = 'loaded ' + d.title + '\n' + r.join('\n');
};
</script></body></html>)";
  const std::string cmd =
      "timeout 120 chromium --headless --no-sandbox --disable-gpu --allow-file-access-from-files "
      "--virtual-time-budget=20000 --dump-dom 'file://" +
      fs::absolute(checker).string() + "' 2>/dev/null";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  std::string dom;
  std::array<char, 4096> buf{};
  while (size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) dom.append(buf.data(), n);
  ::pclose(pipe);
  fs::remove(checker);
  const auto b = dom.find("<pre id=\"result\">"), e = dom.find("</pre>", b);
  if (b == std::string::npos || e == std::string::npos) return "no result: " + dom.substr(0, 300);
  return dom.substr(b + 17, e - b - 17);
}

}  // namespace

TEST(AbTest, ArmsGetTheSameTrafficAndTheReportReadsTheLift) {
  const auto dir = scratch("ab_test");
  const auto exp = write_experiment(dir / "exp");
  const auto run = dir / "run";
  const auto r = run_caig("run " + exp.string() + " --preset smoke --out " + run.string());
  ASSERT_EQ(r.status, 0) << r.output;
  const auto m = caig::read_json(run / "metrics.json").at("ab_test");
  ASSERT_EQ(m.at("arms").size(), 4u);
  EXPECT_EQ(m.at("control"), "control");
  EXPECT_EQ(m.at("ci"), "delta");
  EXPECT_FALSE(m["arms"][0].contains("lift"));
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_TRUE(m["arms"][i]["lift"]["observed"].is_object()) << i;
    EXPECT_TRUE(m["arms"][i]["lift"]["expected"].is_number()) << i;
    EXPECT_EQ(m["arms"][i]["impressions"], m["arms"][0]["impressions"]);  // the same traffic
  }
  EXPECT_EQ(m["arms"][3]["name"], "designers");
  EXPECT_EQ(m["arms"][3]["source"], "designers");
  EXPECT_EQ(m.at("common_categories").size(), 5u);
  EXPECT_TRUE(m.at("power").at("all").is_number());
  // One record per arm, product and ad; a product's impressions are the same in every arm.
  const auto rec = records(run / "stages/ab_test/records.jsonl");
  const auto products = m.at("products").get<size_t>();
  ASSERT_EQ(rec.size(), 4 * products * 2);
  std::map<std::string, int64_t> traffic;
  int64_t total = 0;
  for (const auto& x : rec) {
    const auto key = x.at("product_id").get<std::string>() + "/" + x.at("ad").dump();
    const auto n = x.at("impressions").get<int64_t>();
    if (x.at("arm") == "control") total += n;
    if (traffic.count(key)) {
      EXPECT_EQ(traffic[key], n) << key;
    } else {
      traffic[key] = n;
    }
    EXPECT_LE(x.at("clicks").get<int64_t>(), n);
  }
  EXPECT_EQ(total, m.at("impressions_per_arm").get<int64_t>());
  for (const char* f : {"tables/ab_test.md", "tables/ab_test.csv", "tables/ab_test_categories.md",
                        "figures/ab_test_categories.png", "figures/ab_test_categories.svg"})
    EXPECT_TRUE(fs::exists(run / f)) << f;
  const auto report = caig::read_file(run / "report.md");
  EXPECT_THAT(report, HasSubstr("## Simulated online A/B test"));
  EXPECT_THAT(report, HasSubstr("delta method"));
  // The gallery: every arm's two ads of the same products of the common categories, with their
  // images, and the judge's scores of a product's two ads summing to 1 (both orders averaged).
  const auto& g = m.at("gallery");
  EXPECT_EQ(g.at("judge"), "oracle");
  ASSERT_EQ(g.at("arms").size(), 4u);
  const auto& first = g["arms"][0]["ads"];
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first.size() % 2, 0u);
  for (const auto& arm : g.at("arms")) {
    const auto& ads = arm.at("ads");
    ASSERT_EQ(ads.size(), first.size()) << arm.at("arm");
    for (size_t i = 0; i < ads.size(); ++i) {
      EXPECT_EQ(ads[i].at("product_id"), first[i].at("product_id"));
      EXPECT_TRUE(fs::exists(run / "stages/ab_test" / ads[i].at("image").get<std::string>()));
      const double s = ads[i].at("judge_score").get<double>();
      EXPECT_GE(s, 0.0);
      EXPECT_LE(s, 1.0);
      if (i % 2 == 1) {
        EXPECT_NEAR(s + ads[i - 1].at("judge_score").get<double>(), 1.0, 1e-9);
      }
      // The oracle prefers the ad of higher true CTR.
      if (i % 2 == 1 && ads[i].at("true_ctr") != ads[i - 1].at("true_ctr")) {
        EXPECT_EQ(s > 0.5,
                  ads[i].at("true_ctr").get<double>() > ads[i - 1].at("true_ctr").get<double>());
      }
    }
  }
  EXPECT_TRUE(fs::exists(run / "figures/ab_test_gallery.png"));
  EXPECT_THAT(report, HasSubstr("### Gallery"));
  const auto html = caig::read_file(run / "report.html");
  EXPECT_THAT(html, HasSubstr("<div class=\"gallery\">"));
  EXPECT_THAT(html, HasSubstr("<img src=\"stages/ab_test/gallery/control/"));
  EXPECT_THAT(html, HasSubstr("<img src=\"figures/ab_test_gallery.png\""));

  // The page loads in a browser and every image on it decodes; it links only files inside the
  // run directory.
  ASSERT_EQ(std::system("command -v chromium > /dev/null"), 0)
      << "chromium is missing: scripts/setup.sh installs it";
  const std::string page = check_page(run);
  EXPECT_THAT(page, HasSubstr("loaded caig-bench run ab\n")) << page;
  EXPECT_EQ(page.find("bad "), std::string::npos) << page;
  size_t images = 0;
  for (size_t at = page.find("\nok "); at != std::string::npos; at = page.find("\nok ", at + 1))
    ++images;
  EXPECT_EQ(images, 2 + 4 * first.size()) << page;  // two figures and every gallery tile
  for (size_t at = html.find("src=\""); at != std::string::npos; at = html.find("src=\"", at + 1)) {
    const auto src = html.substr(at + 5, html.find('"', at + 5) - at - 5);
    EXPECT_TRUE(src.find("://") == std::string::npos && src.find("..") == std::string::npos &&
                src.front() != '/')
        << src;
  }

  // `caig report` re-renders every file from the stored JSON alone, byte for byte.
  std::map<std::string, std::string> rendered;
  for (const char* d : {"tables", "figures"})
    for (const auto& e : fs::recursive_directory_iterator(run / d))
      if (e.is_regular_file())
        rendered[fs::relative(e.path(), run).string()] = caig::read_file(e.path());
  rendered["report.md"] = report;
  rendered["report.html"] = html;
  fs::remove_all(run / "tables");
  fs::remove_all(run / "figures");
  fs::remove(run / "report.md");
  fs::remove(run / "report.html");
  ASSERT_EQ(run_caig("report " + run.string()).status, 0);
  for (const auto& [file, bytes] : rendered) {
    ASSERT_TRUE(fs::exists(run / file)) << file;
    EXPECT_TRUE(caig::read_file(run / file) == bytes) << file << " differs after caig report";
  }

  // An interrupted stage (one arm finished and kept, no stage.json) resumes to the same results.
  fs::remove(run / "stages/ab_test/stage.json");
  fs::remove(run / "stages/ab_test/arms/random.json");
  fs::remove(run / "stages/ab_test/arms/designers.json");
  const auto resumed = run_caig("run " + exp.string() + " --preset smoke --out " + run.string());
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_THAT(resumed.output, HasSubstr("stage pretrain: reused"));
  EXPECT_EQ(caig::read_json(run / "metrics.json").at("ab_test"), m);
}

TEST(AbTest, BadArmsAreErrorsBeforeAnythingRuns) {
  const auto dir = scratch("ab_test_bad");
  const auto exp = write_experiment(dir / "exp");
  const std::string base =
      "run " + exp.string() + " --preset smoke --out " + (dir / "run").string();
  auto err = [&](const std::string& set) {
    const auto r = run_caig(base + " --set '" + set + "'");
    EXPECT_NE(r.status, 0) << set;
    EXPECT_FALSE(fs::exists(dir / "run/stages/world/stage.json")) << set;
    return r.output;
  };
  EXPECT_THAT(err("stages.ab_test.arms=[{prompt_model=\"nope\"}]"),
              HasSubstr("unknown prompt model 'nope'"));
  EXPECT_THAT(
      err("stages.ab_test.arms=[{name=\"control\", prompt_model=\"caig\", designers=true}]"),
      HasSubstr("exactly one of prompt_model, optimise_arm or designers"));
  EXPECT_THAT(err("stages.ab_test.arms=[{name=\"a\", prompt_model=\"caig\"}]"),
              HasSubstr("control 'control' is not an arm"));
  EXPECT_THAT(err("stages.ab_test.arms=[{name=\"control\", prompt_model=\"caig\"}, "
                  "{optimise_arm=\"dpo+caig\"}]"),
              HasSubstr("optimise"));
  EXPECT_THAT(err("stages.ab_test.ci=\"jackknife\""), HasSubstr("bootstrap or delta"));
}
