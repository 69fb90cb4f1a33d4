// Dataset directories (write + load), CreativeRanking TSV, CG4CTR JSON, format detection, inspect.
#include <gtest/gtest.h>

#include "datasets/io/cg4ctr_json.h"
#include "datasets/io/creative_ranking.h"
#include "datasets/io/inspect.h"
#include "datasets/io/shopworld_dir.h"
#include "tests/io/io_test_util.h"

namespace caig::data {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::error_of;
using testing::TempDir;
using testing::touch;
using testing::write_text;

// --- ShopWorld directories ---------------------------------------------------------------------

CreativeRecord creative(const std::string& id, const std::string& product, int64_t imps,
                        int64_t clicks, const std::string& category = "shoes") {
  CreativeRecord r;
  r.creative_id = id;
  r.product_id = product;
  r.category = category;
  r.title = "title of " + product;
  r.attributes = json{{"color", "red"}};
  r.description = "a beach at dawn";
  r.slots = json{{"scene", "beach"}};
  r.impressions = imps;
  r.clicks = clicks;
  r.true_ctr = static_cast<double>(clicks) / static_cast<double>(imps) * 1.01;
  r.match = 0.75;
  r.image = "images/" + id + ".png";
  r.product_image = "products/" + product + ".png";
  r.split = "train";
  r.render_seed = 12345;
  return r;
}

Dataset small_dataset() {
  Dataset d;
  d.format = "shopworld";
  d.has_text = true;
  d.world = json{{"seed", 9},
                 {"categories", json::array({json{{"name", "shoes"}}, json{{"name", "bags"}}})}};
  d.creatives = {creative("a1", "pa", 5000, 100), creative("a2", "pa", 5000, 110),
                 creative("a3", "pa", 5000, 119), creative("b1", "pb", 3000, 60, "bags"),
                 creative("b2", "pb", 3000, 66, "bags")};
  d.pairs = build_pairs(d.creatives, PairRule{}, 5);
  return d;
}

void touch_images(const Dataset& d, const fs::path& root) {
  for (const auto& c : d.creatives) {
    touch(root / c.image);
    if (!c.product_image.empty()) touch(root / c.product_image);
  }
}

TEST(ShopWorldDir, WriteThenLoadGivesIdenticalRecords) {
  TempDir tmp;
  const Dataset d = small_dataset();
  ASSERT_EQ(d.pairs.size(), 4u);  // a1-a2, a1-a3, a2-a3, b1-b2
  const fs::path dir = tmp / "ds";
  {
    DatasetDirWriter w(dir);
    EXPECT_FALSE(fs::exists(dir));
    touch_images(d, w.staging());
    w.commit(d);
  }
  ASSERT_TRUE(fs::exists(dir / "manifest.jsonl"));
  const Dataset back = load_dataset_dir(dir);
  EXPECT_EQ(back.format, "shopworld");
  EXPECT_EQ(back.root, dir);
  EXPECT_TRUE(back.has_text);
  EXPECT_EQ(back.creatives, d.creatives);
  EXPECT_EQ(back.pairs, d.pairs);
  EXPECT_EQ(back.world, d.world);
  EXPECT_TRUE(back.report.skipped.empty());
  // Nothing but the dataset itself is left in the parent directory.
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()), 1);
}

TEST(ShopWorldDir, UncommittedWriterLeavesNothing) {
  TempDir tmp;
  const fs::path dir = tmp / "ds";
  fs::path staging;
  {
    DatasetDirWriter w(dir);
    staging = w.staging();
    touch(staging / "images" / "x.png");
    EXPECT_TRUE(fs::exists(staging));
  }
  EXPECT_FALSE(fs::exists(staging));
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_TRUE(fs::is_empty(tmp.path()));
}

TEST(ShopWorldDir, ExistingDirectoryNeedsOverwrite) {
  TempDir tmp;
  const fs::path dir = tmp / "ds";
  Dataset d = small_dataset();
  write_dataset_dir(d, dir);
  const std::string err = error_of([&] { write_dataset_dir(d, dir); });
  EXPECT_CONTAINS(err, dir.string());
  EXPECT_CONTAINS(err, "overwrite");

  touch(dir / "stale.txt");
  d.creatives.pop_back();
  d.pairs = build_pairs(d.creatives, PairRule{}, 5);
  write_dataset_dir(d, dir, /*overwrite=*/true);
  EXPECT_FALSE(fs::exists(dir / "stale.txt"));
  LoadOptions opt;
  opt.check_images = false;
  EXPECT_EQ(load_dataset_dir(dir, opt).creatives.size(), 4u);
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()), 1);

  // An existing empty directory is fine without overwrite.
  fs::create_directories(tmp / "empty");
  write_dataset_dir(d, tmp / "empty");
  EXPECT_TRUE(fs::exists(tmp / "empty" / "manifest.jsonl"));
}

TEST(ShopWorldDir, CommitRejectsInvalidRecords) {
  TempDir tmp;
  Dataset d = small_dataset();
  d.creatives[1].clicks = d.creatives[1].impressions + 1;
  EXPECT_CONTAINS(error_of([&] { write_dataset_dir(d, tmp / "ds"); }), "creative #1");
  EXPECT_FALSE(fs::exists(tmp / "ds"));
  d = small_dataset();
  d.creatives[2].creative_id = "a1";
  EXPECT_CONTAINS(error_of([&] { write_dataset_dir(d, tmp / "ds"); }), "duplicate");
}

TEST(ShopWorldDir, MissingImagesAreErrorsUnlessUnchecked) {
  TempDir tmp;
  write_dataset_dir(small_dataset(), tmp / "ds");
  const std::string err = error_of([&] { load_dataset_dir(tmp / "ds"); });
  EXPECT_CONTAINS(err, "manifest.jsonl:1");
  EXPECT_CONTAINS(err, "images/a1.png");
  LoadOptions opt;
  opt.check_images = false;
  EXPECT_EQ(load_dataset_dir(tmp / "ds", opt).creatives.size(), 5u);
}

// A hand-made directory: the good records of small_dataset(), then `extra` manifest lines.
struct HandMade {
  TempDir tmp;
  fs::path dir;
  std::vector<std::string> manifest, pairs;

  HandMade() : dir(tmp / "ds") {
    const Dataset d = small_dataset();
    for (const auto& c : d.creatives) manifest.push_back(to_json(c).dump());
    for (const auto& p : d.pairs) pairs.push_back(to_json(p).dump());
    touch_images(d, dir);
    write_text(dir / "world.json", d.world.dump());
  }
  void write() const {
    std::string m, p;
    for (const auto& l : manifest) m += l + "\n";
    for (const auto& l : pairs) p += l + "\n";
    write_text(dir / "manifest.jsonl", m);
    write_text(dir / "pairs.jsonl", p);
  }
  std::string error(const LoadOptions& opt = {}) const {
    write();
    return error_of([&] { load_dataset_dir(dir, opt); });
  }
};

std::string with(const std::string& line, const char* key, const json& value) {
  json j = json::parse(line);
  if (value.is_discarded())
    j.erase(key);
  else
    j[key] = value;
  return j.dump();
}

TEST(ShopWorldDir, HandMadeDirectoryLoads) {
  HandMade h;
  h.write();
  const Dataset d = load_dataset_dir(h.dir);
  EXPECT_EQ(d.creatives.size(), 5u);
  EXPECT_EQ(d.pairs.size(), 4u);
  EXPECT_TRUE(d.has_text);  // inferred from titles without dataset.json
}

TEST(ShopWorldDir, EachBadManifestLineNamesFileAndLine) {
  const json gone(json::value_t::discarded);
  const std::vector<std::pair<std::function<std::string(const std::string&)>, std::string>> cases =
      {
          {[](const std::string&) { return std::string("{\"creative_id\": "); }, "malformed"},
          {[&](const std::string& l) { return with(l, "clicks", gone); }, "clicks"},
          {[&](const std::string& l) { return with(l, "image", gone); }, "image"},
          {[](const std::string& l) { return with(l, "impressions", -4); }, "negative"},
          {[](const std::string& l) { return with(l, "clicks", 999999); }, "exceed"},
          {[](const std::string& l) { return with(l, "creative_id", "a1"); }, "duplicate"},
          {[](const std::string& l) { return with(l, "category", "hats"); }, "unknown category"},
          {[](const std::string& l) { return with(l, "image", "../x.png"); }, "escapes"},
          {[](const std::string& l) { return with(l, "image", "/etc/passwd"); }, "relative"},
          {[](const std::string& l) { return with(l, "image", "images/none.png"); }, "not found"},
          {[](const std::string& l) { return with(l, "product_image", "../p.png"); }, "escapes"},
      };
  for (const auto& [mutate, what] : cases) {
    HandMade h;
    h.manifest[2] = mutate(h.manifest[2]);  // line 3 (a3; no pair needs it before line 3)
    h.pairs.clear();
    const std::string err = h.error();
    EXPECT_CONTAINS(err, "manifest.jsonl:3");
    EXPECT_CONTAINS(err, what);
  }
}

TEST(ShopWorldDir, EachBadPairLineNamesFileAndLine) {
  const std::vector<std::pair<std::function<std::string(const std::string&)>, std::string>> cases =
      {
          {[](const std::string&) { return std::string("[1, 2"); }, "malformed"},
          {[](const std::string& l) { return with(l, "left", "nobody"); }, "unknown creative"},
          {[](const std::string& l) { return with(l, "right", "b1"); }, "different products"},
          {[](const std::string& l) { return with(l, "product_id", "pb"); }, "product"},
          {[](const std::string& l) { return with(l, "label", 2); }, "label"},
          {[](const std::string& l) {
             json j = json::parse(l);
             j["label"] = 1 - j["label"].get<int>();
             return j.dump();
           },
           "contradicts"},
      };
  for (const auto& [mutate, what] : cases) {
    HandMade h;
    h.pairs[1] = mutate(h.pairs[1]);
    const std::string err = h.error();
    EXPECT_CONTAINS(err, "pairs.jsonl:2");
    EXPECT_CONTAINS(err, what);
  }
  HandMade h;
  h.pairs.push_back(h.pairs[0]);
  EXPECT_CONTAINS(h.error(), "pairs.jsonl:5: duplicate pair");
}

TEST(ShopWorldDir, LenientSkipsAndReportsEverything) {
  HandMade h;
  h.manifest[0] = with(h.manifest[0], "clicks", 999999);  // a1: pairs 1 and 2 refer to it
  h.manifest.insert(h.manifest.begin() + 3, "not json");  // line 4
  LoadOptions opt;
  opt.lenient = true;
  h.write();
  const Dataset d = load_dataset_dir(h.dir, opt);
  EXPECT_EQ(d.creatives.size(), 4u);
  EXPECT_EQ(d.pairs.size(), 2u);
  ASSERT_EQ(d.report.skipped.size(), 4u);
  EXPECT_CONTAINS(d.report.skipped[0].file, "manifest.jsonl");
  EXPECT_EQ(d.report.skipped[0].line, 1);
  EXPECT_CONTAINS(d.report.skipped[0].reason, "exceed");
  EXPECT_EQ(d.report.skipped[1].line, 4);
  EXPECT_CONTAINS(d.report.skipped[1].reason, "malformed");
  EXPECT_CONTAINS(d.report.skipped[2].file, "pairs.jsonl");
  EXPECT_EQ(d.report.skipped[2].line, 1);
  EXPECT_CONTAINS(d.report.skipped[2].reason, "'a1' was skipped");
  EXPECT_EQ(d.report.skipped[3].line, 2);
  // Strict loading of the same files fails on the first bad record.
  EXPECT_CONTAINS(h.error(), "manifest.jsonl:1");
}

TEST(ShopWorldDir, TruncatedManifestIsDetectedThroughDatasetJson) {
  TempDir tmp;
  const Dataset d = small_dataset();
  write_dataset_dir(d, tmp / "ds");
  std::string m = read_file(tmp / "ds" / "manifest.jsonl");
  m.resize(m.rfind('\n', m.size() - 2) + 1);  // drop the last line
  write_text(tmp / "ds" / "manifest.jsonl", m);
  LoadOptions opt;
  opt.check_images = false;
  opt.rebuild_pairs = true;
  const std::string err = error_of([&] { load_dataset_dir(tmp / "ds", opt); });
  EXPECT_CONTAINS(err, "dataset.json");
  EXPECT_CONTAINS(err, "5 creatives");
}

TEST(ShopWorldDir, RebuildPairsUsesTheRule) {
  HandMade h;
  h.pairs = {"garbage that is never read"};
  h.write();
  LoadOptions opt;
  opt.rebuild_pairs = true;
  opt.seed = 5;
  EXPECT_EQ(load_dataset_dir(h.dir, opt).pairs, small_dataset().pairs);
  opt.rule.max_ratio = 1.1;  // drops a1-a3 (1.19) and a2-a3 (1.08 stays)
  EXPECT_EQ(load_dataset_dir(h.dir, opt).pairs.size(), 3u);
}

// --- CreativeRanking TSV -----------------------------------------------------------------------

struct RankingFixture {
  TempDir tmp;
  fs::path tsv = tmp / "data.tsv";
  fs::path images = tmp / "images";
  RankingFixture() {
    for (const char* name : {"i1.jpg", "i2.jpg", "i3.jpg", "j1.jpg", "j2.jpg"})
      touch(images / name);
  }
  Dataset load(const std::string& text, const LoadOptions& opt = {}) const {
    write_text(tsv, text);
    return load_creative_ranking(tsv, images, opt);
  }
  std::string error(const std::string& text, const LoadOptions& opt = {}) const {
    return error_of([&] { load(text, opt); });
  }
};

const char* const kRankingTsv =
    "item_id\timage_name\tds\tpv\tclk\n"
    "100\ti1.jpg\t20240101\t1500\t30\n"
    "100\ti2.jpg\t20240101\t1400\t30\n"
    "100\ti1.jpg\t20240102\t1500\t30\n"
    "200\tj1.jpg\t20240101\t500\t5\n"
    "\n"
    "100\ti2.jpg\t20240102\t1600\t36\r\n";

TEST(CreativeRanking, SumsOverDaysAndBuildsPairs) {
  RankingFixture f;
  LoadOptions opt;
  opt.seed = 3;
  const Dataset d = f.load(kRankingTsv, opt);
  EXPECT_EQ(d.format, "creative_ranking");
  EXPECT_FALSE(d.has_text);
  EXPECT_EQ(d.root, f.images);
  ASSERT_EQ(d.creatives.size(), 3u);
  EXPECT_EQ(d.creatives[0].creative_id, "i1.jpg");
  EXPECT_EQ(d.creatives[0].product_id, "100");
  EXPECT_EQ(d.creatives[0].image, "i1.jpg");
  EXPECT_EQ(d.creatives[0].impressions, 3000);
  EXPECT_EQ(d.creatives[0].clicks, 60);
  EXPECT_EQ(d.creatives[1].impressions, 3000);
  EXPECT_EQ(d.creatives[1].clicks, 66);
  EXPECT_TRUE(d.creatives[1].title.empty());
  EXPECT_EQ(d.creatives[2].product_id, "200");
  // 66/3000 vs 60/3000 = 1.10: one pair, the winner is i2.
  ASSERT_EQ(d.pairs.size(), 1u);
  EXPECT_EQ(d.pairs[0].label == 0 ? d.pairs[0].left : d.pairs[0].right, "i2.jpg");
  EXPECT_EQ(d.pairs, build_pairs(d.creatives, opt.rule, 3));
  // The header is optional.
  EXPECT_EQ(f.load("100\ti1.jpg\t1\t10\t1\n").creatives.size(), 1u);
}

TEST(CreativeRanking, BadRowsNameFileAndLine) {
  RankingFixture f;
  const std::string head = "item_id\timage_name\tds\tpv\tclk\n100\ti1.jpg\t1\t1500\t30\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"100\ti2.jpg\t1\t1500\n", "5 tab-separated columns"},
      {"100\ti2.jpg\t1\t1500\t30\textra\n", "columns"},
      {"100 i2.jpg 1 1500 30\n", "columns"},
      {"100\ti2.jpg\t1\t15x0\t30\n", "not an integer"},
      {"100\ti2.jpg\t1\t1500\t3.5\n", "not an integer"},
      {"100\ti2.jpg\t1\t1500\t-1\n", "negative"},
      {"100\ti2.jpg\t1\t-1500\t0\n", "negative"},
      {"100\ti2.jpg\t1\t10\t11\n", "exceeds pv"},
      {"\ti2.jpg\t1\t1500\t30\n", "empty item_id"},
      {"100\ti1.jpg\t1\t1500\t30\n", "duplicate row"},
      {"200\ti1.jpg\t2\t1500\t30\n", "already belongs to item"},
      {"100\t../i2.jpg\t1\t1500\t30\n", "escapes"},
      {"100\t/etc/passwd\t1\t1500\t30\n", "relative"},
      {"100\tmissing.jpg\t1\t1500\t30\n", "not found"},
      {"100\ti2.jpg\t1\t99999999999999999999\t30\n", "too large"},
  };
  for (const auto& [row, what] : cases) {
    const std::string err = f.error(head + row);
    EXPECT_CONTAINS(err, "data.tsv:3");
    EXPECT_CONTAINS(err, what);
  }
  EXPECT_CONTAINS(f.error("item_id\timage_name\tds\tpv\tclk\n"), "no usable rows");
  EXPECT_CONTAINS(error_of([&] { load_creative_ranking(f.tmp / "none.tsv", f.images); }),
                  "none.tsv");
}

TEST(CreativeRanking, MissingImagesPassWhenUnchecked) {
  RankingFixture f;
  LoadOptions opt;
  opt.check_images = false;
  EXPECT_EQ(f.load("1\tnope.jpg\t1\t10\t1\n", opt).creatives.size(), 1u);
  EXPECT_CONTAINS(f.error("1\t../nope.jpg\t1\t10\t1\n", opt), "escapes");  // still an error
}

TEST(CreativeRanking, LenientCountsSkips) {
  RankingFixture f;
  LoadOptions opt;
  opt.lenient = true;
  const Dataset d = f.load(
      "100\ti1.jpg\t1\t1500\t30\n"
      "100\tmissing.jpg\t1\t1500\t30\n"  // 2: no image
      "100\ti2.jpg\t1\t10\t11\n"         // 3: clk > pv
      "100\tmissing.jpg\t2\t1500\t30\n"  // 4: later day of a skipped creative
      "100\ti2.jpg\t2\t1500\t33\n",
      opt);
  ASSERT_EQ(d.creatives.size(), 2u);
  EXPECT_EQ(d.creatives[1].impressions, 1500);
  ASSERT_EQ(d.report.skipped.size(), 3u);
  EXPECT_EQ(d.report.skipped[0].line, 2);
  EXPECT_EQ(d.report.skipped[1].line, 3);
  EXPECT_EQ(d.report.skipped[2].line, 4);
  EXPECT_CONTAINS(d.report.skipped[2].reason, "skipped at line 2");
  EXPECT_CONTAINS(d.report.skipped[0].file, "data.tsv");
}

// --- CG4CTR / CAIG JSON ------------------------------------------------------------------------

struct Cg4ctrFixture {
  TempDir tmp;
  fs::path file = tmp / "creatives.json";
  fs::path images = tmp / "images";
  Cg4ctrFixture() {
    for (const char* name : {"h1", "h2.jpg", "h3.png", "h4.webp", "h5.png", "h5.jpg", "h6.jpeg"})
      touch(images / name);
  }
  Dataset load(const json& j, const LoadOptions& opt = {}) const {
    write_text(file, j.dump(1));
    return load_cg4ctr_json(file, images, opt);
  }
  std::string error(const json& j, const LoadOptions& opt = {}) const {
    return error_of([&] { load(j, opt); });
  }
};

json cg(const json& id, const std::string& hash, int64_t imps, int64_t clicks) {
  return json{{"creative_id", id},
              {"creative_image_hash", hash},
              {"exp_impression_cnt", imps},
              {"exp_click_cnt", clicks},
              {"base_impression_cnt", 7}};  // extra keys are ignored
}

TEST(Cg4ctr, LoadsWithExtensionLookupInFileOrder) {
  Cg4ctrFixture f;
  // Written as text so that the item order ("9" before "1") is not re-sorted.
  write_text(f.file, "{\"9\": [" + cg(11, "h1", 2000, 40).dump() + "," +
                         cg("x12", "h2", 2000, 44).dump() + "," + cg(13, "h5", 2000, 4).dump() +
                         "], \"1\": [" + cg(21, "h3", 10, 1).dump() + "," +
                         cg(22, "h4", 10, 1).dump() + "," + cg(23, "h6", 10, 1).dump() + "]}");
  LoadOptions opt;
  opt.seed = 11;
  const Dataset d = load_cg4ctr_json(f.file, f.images, opt);
  EXPECT_EQ(d.format, "cg4ctr_json");
  EXPECT_FALSE(d.has_text);
  ASSERT_EQ(d.creatives.size(), 6u);
  EXPECT_EQ(d.creatives[0].product_id, "9");
  EXPECT_EQ(d.creatives[0].creative_id, "11");
  EXPECT_EQ(d.creatives[1].creative_id, "x12");
  EXPECT_EQ(d.creatives[0].image, "h1");
  EXPECT_EQ(d.creatives[1].image, "h2.jpg");
  EXPECT_EQ(d.creatives[2].image, "h5.jpg");  // .jpg comes before .png
  EXPECT_EQ(d.creatives[3].product_id, "1");
  EXPECT_EQ(d.creatives[3].image, "h3.png");
  EXPECT_EQ(d.creatives[4].image, "h4.webp");
  EXPECT_EQ(d.creatives[5].image, "h6.jpeg");
  EXPECT_EQ(d.creatives[1].impressions, 2000);
  EXPECT_EQ(d.creatives[1].clicks, 44);
  ASSERT_EQ(d.pairs.size(), 1u);  // 44 vs 40 clicks: 1.10
  EXPECT_EQ(d.pairs[0].product_id, "9");
}

TEST(Cg4ctr, BadCreativesNameFileItemAndPosition) {
  Cg4ctrFixture f;
  auto doc = [](const json& second) {
    return json{{"123", json::array({cg(1, "h1", 100, 5), second})}};
  };
  json no_hash = cg(2, "h2", 10, 1);
  no_hash.erase("creative_image_hash");
  json float_clicks = cg(2, "h2", 10, 1);
  float_clicks["exp_click_cnt"] = 2.5;
  const std::vector<std::pair<json, std::string>> cases = {
      {cg(2, "h2", 3, 5), "exp_click_cnt (5) exceeds exp_impression_cnt (3)"},
      {cg(2, "h2", -3, 0), "negative"},
      {cg(1, "h2", 30, 5), "duplicate creative_id '1'"},
      {cg(2.5, "h2", 30, 5), "creative_id"},
      {no_hash, "creative_image_hash"},
      {float_clicks, "not an integer"},
      {cg(2, "../h2", 30, 5), "escapes"},
      {cg(2, "/etc/passwd", 30, 5), "relative"},
      {cg(2, "nothing", 30, 5), "no image"},
      {json::array(), "expected an object"},
  };
  for (const auto& [second, what] : cases) {
    const std::string err = f.error(doc(second));
    EXPECT_CONTAINS(err, "creatives.json");
    EXPECT_CONTAINS(err, "item \"123\" creative #2");
    EXPECT_CONTAINS(err, what);
  }
  EXPECT_CONTAINS(f.error(json{{"5", 3}}), "item \"5\"");
  EXPECT_CONTAINS(f.error(json::array()), "expected an object");
  write_text(f.file, "{\"1\": [");
  EXPECT_CONTAINS(error_of([&] { load_cg4ctr_json(f.file, f.images, {}); }), "malformed JSON");
  // Integral floats from pandas dumps are accepted.
  json ok = cg(2, "h2", 10, 1);
  ok["exp_impression_cnt"] = 10.0;
  EXPECT_EQ(f.load(doc(ok)).creatives[1].impressions, 10);
}

TEST(Cg4ctr, LenientCountsSkips) {
  Cg4ctrFixture f;
  LoadOptions opt;
  opt.lenient = true;
  const Dataset d =
      f.load(json{{"1", json::array({cg(1, "h1", 100, 5), cg(2, "h2", 3, 5), cg(1, "h3", 9, 1)})},
                  {"2", "not a list"},
                  {"3", json::array({cg(4, "missing", 10, 1), cg(5, "h4", 10, 1)})}},
             opt);
  EXPECT_EQ(d.creatives.size(), 2u);
  ASSERT_EQ(d.report.skipped.size(), 4u);
  for (const auto& s : d.report.skipped) EXPECT_CONTAINS(s.file, "creatives.json");
  EXPECT_CONTAINS(d.report.skipped[0].reason, "item \"1\" creative #2");
  EXPECT_CONTAINS(d.report.skipped[1].reason, "duplicate");
  EXPECT_CONTAINS(d.report.skipped[2].reason, "item \"2\"");
  EXPECT_CONTAINS(d.report.skipped[3].reason, "no image");
}

// --- detection and inspect ---------------------------------------------------------------------

TEST(LoadAny, DetectsEachFormat) {
  TempDir tmp;
  const Dataset sw = small_dataset();
  write_dataset_dir(sw, tmp / "sw");
  touch_images(sw, tmp / "sw");
  EXPECT_EQ(load_any_dataset(tmp / "sw", {}).format, "shopworld");
  EXPECT_EQ(load_any_dataset(tmp / "sw" / "manifest.jsonl", {}).format, "shopworld");

  touch(tmp / "images" / "i1.jpg");
  touch(tmp / "images" / "h1.png");
  write_text(tmp / "log.tsv", "1\ti1.jpg\t1\t10\t1\n");
  write_text(tmp / "log.TXT", "1\ti1.jpg\t1\t10\t1\n");
  write_text(tmp / "log.json", json{{"1", json::array({cg(1, "h1", 10, 1)})}}.dump());
  EXPECT_EQ(load_any_dataset(tmp / "log.tsv", {}).format, "creative_ranking");  // ./images
  EXPECT_EQ(load_any_dataset(tmp / "log.TXT", {}).format, "creative_ranking");
  const Dataset cj = load_any_dataset(tmp / "log.json", {});
  EXPECT_EQ(cj.format, "cg4ctr_json");
  EXPECT_EQ(cj.root, tmp / "images");

  touch(tmp / "other" / "i1.jpg");
  EXPECT_EQ(load_any_dataset(tmp / "log.tsv", tmp / "other").root, tmp / "other");

  write_text(tmp / "log.csv", "1,i1.jpg,1,10,1\n");
  std::string err = error_of([&] { load_any_dataset(tmp / "log.csv", {}); });
  EXPECT_CONTAINS(err, "log.csv");
  EXPECT_CONTAINS(err, "supported");
  err = error_of([&] { load_any_dataset(tmp / "nothing.tsv", {}); });
  EXPECT_CONTAINS(err, "nothing.tsv");
  fs::create_directories(tmp / "emptydir");
  EXPECT_CONTAINS(error_of([&] { load_any_dataset(tmp / "emptydir", {}); }), "manifest.jsonl");
}

TEST(Inspect, SummarisesCountsPairsAndSkips) {
  Dataset d = small_dataset();
  d.report.skipped.push_back({"m.jsonl", 7, "clicks (9) exceed impressions (3)"});
  PairRule strict;
  strict.max_ratio = 1.1;
  const json s = inspect_dataset(d, strict);
  EXPECT_EQ(s["format"], "shopworld");
  EXPECT_EQ(s["products"], 2);
  EXPECT_EQ(s["creatives"], 5);
  EXPECT_EQ(s["creatives_per_product"]["min"], 2);
  EXPECT_EQ(s["creatives_per_product"]["median"], 2.5);
  EXPECT_EQ(s["creatives_per_product"]["max"], 3);
  EXPECT_EQ(s["impressions"]["total"], 21000);
  EXPECT_EQ(s["impressions"]["median"], 5000.0);
  EXPECT_EQ(s["impressions"]["min"], 3000);
  EXPECT_EQ(s["clicks"]["total"], 455);
  EXPECT_EQ(s["pairs"]["stored"], 4);
  EXPECT_EQ(s["pairs"]["under_rule"], 3);
  EXPECT_EQ(s["categories"], 2);
  EXPECT_EQ(s["skipped"]["count"], 1);
  EXPECT_EQ(s["skipped"]["first"][0], "m.jsonl:7: clicks (9) exceed impressions (3)");
  const double mean = (0.02 + 0.022 + 0.0238 + 0.02 + 0.022) / 5;
  EXPECT_NEAR(s["mean_observed_ctr"].get<double>(), mean, 1e-12);

  const std::string text = format_inspect(s);
  EXPECT_CONTAINS(text, "shopworld");
  EXPECT_CONTAINS(text, "creatives         5 (per product: min 2, median 2.5, max 3)");
  EXPECT_CONTAINS(text, "4 stored; 3 under the rule");
  EXPECT_CONTAINS(text, "m.jsonl:7: clicks");

  for (int i = 0; i < 30; ++i) d.report.skipped.push_back({"f", i + 1, "bad"});
  const json many = inspect_dataset(d, PairRule{});
  EXPECT_EQ(many["skipped"]["count"], 31);
  EXPECT_EQ(many["skipped"]["first"].size(), 20u);
  EXPECT_CONTAINS(format_inspect(many), "... and 11 more");
}

}  // namespace
}  // namespace caig::data
