// The reward-model table on real-format data end to end: a CreativeRanking TSV (several days per
// creative, JPEG and PNG images of mixed sizes and aspects) through `caig run` and `caig eval-rm`,
// a CG4CTR JSON through `caig eval-rm`; the seeded product split, the letterboxed image cache,
// the skipped oracle and commercial variant, and the errors of bad images and bad fractions.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "harness/files.h"
#include "tests/cli/cli_util.h"

namespace fs = std::filesystem;
using namespace caig_cli_test;
using testing::HasSubstr;
using testing::Not;

namespace {

constexpr int kItems = 60, kCreatives = 5, kDays = 3;

// Creative k of an item: a flat image whose brightness grows with k, as does its CTR (2% x
// 1.08^k), so CAIG's rule pairs neighbours (ratios 1.08-1.17). Sizes and formats cycle.
std::string image_name(int item, int k) {
  return fmt::format("it{}_c{}.{}", item, k, (item + k) % 2 ? "png" : "jpg");
}

void write_image(const fs::path& p, int item, int k) {
  static const int sizes[4][2] = {{80, 60}, {50, 90}, {64, 64}, {120, 100}};
  const auto& s = sizes[(item + 3 * k) % 4];
  const int v = 40 + 40 * k;
  cv::Mat img(s[1], s[0], CV_8UC3, cv::Scalar(v, (v + 30 * item) % 256, 255 - v));
  cv::rectangle(img, cv::Rect(s[0] / 4, s[1] / 4, s[0] / 2, s[1] / 2), cv::Scalar(20, 20, 20), -1);
  ASSERT_TRUE(cv::imwrite(p.string(), img)) << p;
}

int64_t clicks_of(int k, int64_t pv) {
  return static_cast<int64_t>(std::lround(static_cast<double>(pv) * 0.02 * std::pow(1.08, k)));
}

fs::path make_ranking_fixture(const fs::path& root) {
  fs::create_directories(root / "images");
  std::ofstream tsv(root / "ranking.tsv");
  tsv << "item_id\timage_name\tds\tpv\tclk\n";
  for (int i = 0; i < kItems; ++i)
    for (int k = 0; k < kCreatives; ++k) {
      write_image(root / "images" / image_name(i, k), i, k);
      for (int day = 0; day < kDays; ++day) {
        const int64_t pv = 900 + 100 * day;
        tsv << fmt::format("item{}\t{}\t2024010{}\t{}\t{}\n", i, image_name(i, k), day + 1, pv,
                           clicks_of(k, pv));
      }
    }
  return root / "ranking.tsv";
}

fs::path make_cg4ctr_fixture(const fs::path& root) {
  fs::create_directories(root / "images");
  nlohmann::json j = nlohmann::json::object();
  for (int i = 0; i < kItems; ++i)
    for (int k = 0; k < kCreatives; ++k) {
      const std::string hash = fmt::format("h{}x{}", i, k);
      write_image(root / "images" / (hash + ((i + k) % 2 ? ".png" : ".jpg")), i, k);
      j[fmt::format("{}", 1000 + i)].push_back({{"creative_id", fmt::format("{}-{}", i, k)},
                                                {"creative_image_hash", hash},
                                                {"exp_impression_cnt", 3000},
                                                {"exp_click_cnt", clicks_of(k, 3000)}});
    }
  caig::write_json_atomic(root / "creatives.json", j);
  return root / "creatives.json";
}

std::string cache_env(const fs::path& cache) { return "env CAIG_CACHE_DIR=" + cache.string(); }

}  // namespace

TEST(RealData, TheTableRunsOnACreativeRankingTsvEndToEnd) {
  const auto root = scratch("real_ranking");
  const fs::path tsv = make_ranking_fixture(root / "data");
  const fs::path cache = root / "cache";
  const fs::path experiment = root / "real.toml";
  {
    std::ofstream e(experiment);
    e << "[run]\nname = \"real\"\nstages = [\"reward_accuracy\"]\nreports = "
         "[\"reward_accuracy\"]\n\n[stages.reward_accuracy]\ndata = \""
      << tsv.string() << "\"\nimages = \"" << (root / "data/images").string()
      << "\"\nmodels = [\"lr\", \"vam\", \"judge\", \"random\", \"oracle\"]\nseeds = 1\n";
  }
  const auto run =
      run_caig("run " + experiment.string() + " --preset smoke --out " + (root / "run").string(),
               cache_env(cache));
  ASSERT_EQ(run.status, 0) << run.output;
  const auto m = caig::read_json(root / "run/metrics.json").at("reward_accuracy");
  EXPECT_FALSE(m.at("simulated").get<bool>());
  EXPECT_EQ(m.at("dataset").at("format"), "creative_ranking");
  // The commercial variant needs text, the oracle the true CTR: both skipped, with the reason.
  EXPECT_EQ(m.at("variants"), nlohmann::json::array({"public"}));
  EXPECT_TRUE(m.at("skipped_variants").contains("commercial"));
  EXPECT_EQ(m.at("models"), nlohmann::json({"lr", "vam", "judge", "random"}));
  EXPECT_THAT(m.at("skipped_models").at("oracle").get<std::string>(), HasSubstr("true CTR"));
  // A seeded split by product, 80 / 10 / 10 of the 60 items, recorded.
  const auto& split = m.at("split");
  EXPECT_TRUE(split.at("assigned").get<bool>());
  EXPECT_EQ(split.at("products").at("train"), 48);
  EXPECT_EQ(split.at("products").at("val"), 6);
  EXPECT_EQ(split.at("products").at("test"), 6);
  const auto& d = m.at("datasets").at("public");
  EXPECT_GT(d.at("train_pairs").get<int64_t>(), 48 * 3);
  EXPECT_GT(d.at("eval_pairs").get<int64_t>(), 6 * 3);
  EXPECT_EQ(d.at("train_ads").get<int64_t>(), 48 * kCreatives);
  for (const char* model : {"lr", "vam", "judge", "random"}) {
    const double acc = d.at("models").at(model).at("observed").at("accuracy").get<double>();
    EXPECT_GE(acc, 0.0) << model;
    EXPECT_LE(acc, 1.0) << model;
  }
  // The report says the clicks are real and has no true-CTR column.
  const std::string report = caig::read_file(root / "run/report.md");
  EXPECT_THAT(report, HasSubstr("CreativeRanking test pairs"));
  EXPECT_THAT(report, HasSubstr("real logged clicks"));
  EXPECT_THAT(report, HasSubstr("Not run: model `oracle`"));
  EXPECT_THAT(report, Not(HasSubstr("acc vs true CTR")));
  EXPECT_TRUE(fs::exists(root / "run/figures/reward_accuracy.png"));

  // The letterboxed images were decoded once into the cache; eval-rm reads them from it and
  // gives the table's row.
  int entries = 0;
  for (const auto& e : fs::directory_iterator(cache))
    entries += e.path().filename().string().rfind("letterbox64-", 0) == 0;
  EXPECT_EQ(entries, 1);
  const auto eval = run_caig("eval-rm --data " + tsv.string() +
                                 " --model lr --preset smoke --out " + (root / "eval").string(),
                             cache_env(cache));
  ASSERT_EQ(eval.status, 0) << eval.output;
  EXPECT_THAT(eval.output, HasSubstr("real logged clicks"));
  const auto em = caig::read_json(root / "eval/metrics.json").at("reward_accuracy");
  EXPECT_EQ(em.at("datasets").at("public").at("models").at("lr").at("observed"),
            d.at("models").at("lr").at("observed"));

  // Asking for the oracle alone on real data is an error, not an empty table.
  const auto oracle = run_caig("eval-rm --data " + tsv.string() + " --model oracle --preset smoke",
                               cache_env(cache));
  EXPECT_NE(oracle.status, 0);
  EXPECT_THAT(oracle.output, HasSubstr("none of the listed models can run on this dataset"));
  // Bad fractions name the key.
  const auto bad = run_caig("run " + experiment.string() + " --preset smoke --set " +
                                "stages.reward_accuracy.split_fractions=[0.5,0.2,0.2] --out " +
                                (root / "bad").string(),
                            cache_env(cache));
  EXPECT_NE(bad.status, 0);
  EXPECT_THAT(bad.output, HasSubstr("stages.reward_accuracy.split_fractions: fractions sum to"));
}

TEST(RealData, EvalRmReadsACg4ctrJsonAndNamesACorruptImage) {
  const auto root = scratch("real_cg4ctr");
  const fs::path json = make_cg4ctr_fixture(root / "data");
  const fs::path cache = root / "cache";
  const auto r =
      run_caig("eval-rm --data " + json.string() + " --images " + (root / "data/images").string() +
                   " --model vam --preset smoke --out " + (root / "eval").string(),
               cache_env(cache));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("CG4CTR/CAIG test pairs"));
  const auto m = caig::read_json(root / "eval/metrics.json").at("reward_accuracy");
  EXPECT_EQ(m.at("dataset").at("format"), "cg4ctr_json");
  EXPECT_GT(m.at("datasets").at("public").at("eval_pairs").get<int64_t>(), 0);

  // A corrupt image is an error naming the creative and the file (the cache is keyed by the
  // files' sizes and times, so the changed file is decoded again).
  {
    std::ofstream broken(root / "data/images/h3x2.jpg", std::ios::trunc);
    broken << "not a jpeg";
  }
  const auto bad =
      run_caig("eval-rm --data " + json.string() + " --model vam --preset smoke", cache_env(cache));
  EXPECT_NE(bad.status, 0);
  EXPECT_THAT(bad.output, HasSubstr("creative 3-2"));
  EXPECT_THAT(bad.output, HasSubstr("h3x2.jpg"));
}
