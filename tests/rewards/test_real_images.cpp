// Real datasets' images: letterboxing by hand-computed pixels, the on-disk tensor cache (hit,
// miss on a changed file, an unreadable entry rebuilt), and a dataset's letterboxed images.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>

#include "../support/test_util.h"
#include "harness/image_tensor.h"
#include "harness/tensor_cache.h"
#include "rewards/ad_set.h"

namespace fs = std::filesystem;
using namespace caig;

TEST(Letterbox, AWideImageIsScaledToTheWidthAndCentredOnGrey) {
  // 4 x 2 (w x h) of pure BGR blue -> 4 x 4: rows 1 and 2 blue, rows 0 and 3 grey.
  const cv::Mat blue(2, 4, CV_8UC3, cv::Scalar(255, 0, 0));
  const auto t = letterbox_tensor(blue, 4);
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{3, 4, 4}));
  for (int64_t x = 0; x < 4; ++x) {
    for (int64_t y : {0, 3}) {
      for (int64_t ch = 0; ch < 3; ++ch) EXPECT_EQ(t[ch][y][x].item<int>(), 128);
    }
    for (int64_t y : {1, 2}) {
      EXPECT_EQ(t[0][y][x].item<int>(), 0);    // R
      EXPECT_EQ(t[2][y][x].item<int>(), 255);  // B
    }
  }
}

TEST(Letterbox, ATallImageIsCentredAndASquareOneOnlyScaled) {
  // 2 x 6 (w x h) -> 3 x 3: width round(2 * 3 / 6) = 1, centred at column 1.
  const cv::Mat red(6, 2, CV_8UC3, cv::Scalar(0, 0, 255));
  const auto t = letterbox_tensor(red, 3);
  for (int64_t y = 0; y < 3; ++y) {
    EXPECT_EQ(t[0][y][1].item<int>(), 255);
    EXPECT_EQ(t[0][y][0].item<int>(), 128);
    EXPECT_EQ(t[0][y][2].item<int>(), 128);
  }
  // A flat square image keeps its colour at any size, up or down.
  const cv::Mat flat(10, 10, CV_8UC3, cv::Scalar(10, 20, 30));
  for (int64_t s : {4, 10, 16}) {
    const auto f = letterbox_tensor(flat, s);
    EXPECT_EQ(f[0].min().item<int>(), 30) << s;  // R = the BGR triple's last
    EXPECT_EQ(f[2].max().item<int>(), 10) << s;
  }
}

TEST(Letterbox, FilesOfAnySizeAreReadAndCorruptOnesNamed) {
  const fs::path dir = caig::testing::process_temp_dir() / "letterbox_files";
  fs::create_directories(dir);
  const cv::Mat img(30, 50, CV_8UC3, cv::Scalar(0, 255, 0));
  ASSERT_TRUE(cv::imwrite((dir / "a.png").string(), img));
  const auto t = read_image_letterboxed((dir / "a.png").string(), 10);
  EXPECT_EQ(t.sizes(), (std::vector<int64_t>{3, 10, 10}));
  EXPECT_EQ(t[1][5][5].item<int>(), 255);  // green in the middle
  EXPECT_EQ(t[1][0][5].item<int>(), 128);  // grey band on top: height round(30 / 5) = 6
  std::ofstream(dir / "bad.jpg") << "not an image";
  const std::string err =
      caig::testing::error_of([&] { read_image_letterboxed((dir / "bad.jpg").string(), 10); });
  EXPECT_NE(err.find("bad.jpg"), std::string::npos) << err;
}

TEST(TensorCache, BuildsOnceThenReadsAndRebuildsABrokenEntry) {
  const fs::path dir = caig::testing::process_temp_dir() / "tensor_cache";
  fs::remove_all(dir);
  int builds = 0;
  auto build = [&] {
    ++builds;
    return torch::arange(24, torch::kUInt8).reshape({2, 3, 4});
  };
  const auto first = cached_uint8_tensor(dir, "t", "k1", build);
  EXPECT_FALSE(first.hit);
  EXPECT_TRUE(fs::exists(first.file));
  const auto second = cached_uint8_tensor(dir, "t", "k1", build);
  EXPECT_TRUE(second.hit);
  EXPECT_EQ(builds, 1);
  EXPECT_TRUE(torch::equal(first.tensor, second.tensor));
  EXPECT_EQ(second.tensor.sizes(), (std::vector<int64_t>{2, 3, 4}));
  // A truncated entry is not trusted: it is built again and replaced.
  fs::resize_file(first.file, 20);
  const auto third = cached_uint8_tensor(dir, "t", "k1", build);
  EXPECT_FALSE(third.hit);
  EXPECT_EQ(builds, 2);
  EXPECT_TRUE(torch::equal(first.tensor, third.tensor));
  // Another key is another entry; no directory means no cache.
  cached_uint8_tensor(dir, "t", "k2", build);
  EXPECT_EQ(builds, 3);
  EXPECT_FALSE(cached_uint8_tensor({}, "t", "k1", build).hit);
  EXPECT_EQ(builds, 4);
}

TEST(TensorCache, TheFilesKeyChangesWithAFilesContentAndTheExtra) {
  const fs::path dir = caig::testing::process_temp_dir() / "files_key";
  fs::create_directories(dir);
  std::ofstream(dir / "a") << "one";
  const std::string k = files_key({dir / "a"}, "64");
  EXPECT_EQ(k, files_key({dir / "a"}, "64"));
  EXPECT_NE(k, files_key({dir / "a"}, "32"));
  std::ofstream(dir / "a", std::ios::trunc) << "three";  // another size
  EXPECT_NE(k, files_key({dir / "a"}, "64"));
}

TEST(RealImages, ADatasetsImagesAreLetterboxedOnceIntoTheCache) {
  const fs::path root = caig::testing::process_temp_dir() / "real_images";
  const fs::path cache = root / "cache";
  fs::create_directories(root / "images");
  data::Dataset d;
  d.root = root / "images";
  const int sizes[3][2] = {{20, 10}, {10, 20}, {16, 16}};
  for (int i = 0; i < 3; ++i) {
    const cv::Mat img(sizes[i][1], sizes[i][0], CV_8UC3, cv::Scalar(0, 0, 50 * (i + 1)));
    const std::string name = "c" + std::to_string(i) + (i == 1 ? ".jpg" : ".png");
    ASSERT_TRUE(cv::imwrite((root / "images" / name).string(), img));
    data::CreativeRecord c;
    c.creative_id = "c" + std::to_string(i);
    c.product_id = "p";
    c.image = name;
    d.creatives.push_back(c);
  }
  const auto a = rewards::letterboxed_dataset_images(d, 8, 1, cache);
  ASSERT_EQ(a.sizes(), (std::vector<int64_t>{3, 3, 8, 8}));
  // Row i is creative i, letterboxed: the wide one has grey rows, the square one none.
  EXPECT_EQ(a[0][0][0][4].item<int>(), 128);
  EXPECT_EQ(a[0][0][4][4].item<int>(), 50);
  EXPECT_EQ(a[2][0][0][0].item<int>(), 150);
  int entries = 0;
  for (const auto& e : fs::directory_iterator(cache)) entries += e.is_regular_file();
  EXPECT_EQ(entries, 1);
  EXPECT_TRUE(torch::equal(a, rewards::letterboxed_dataset_images(d, 8, 2, cache)));
}
