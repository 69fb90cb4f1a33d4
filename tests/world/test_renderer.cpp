// Renderer and product art: geometry of the paste, determinism, and that every slot value is
// visible in the pixels (a simple classifier on the background must recognise it).
#include "datasets/shopworld/renderer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "datasets/shopworld/catalog.h"
#include "datasets/shopworld/product_art.h"
#include "datasets/shopworld/vocabulary.h"

namespace caig::world {
namespace {

// splitmix64, for choosing test cases.
struct TestRng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  int below(int n) { return static_cast<int>(next() % static_cast<uint64_t>(n)); }
};

Product make_product(int category, int colour) {
  Product p;
  p.id = category * 100 + colour;
  p.category = category;
  p.colour = colour;
  p.material = categories()[category].materials[0];
  return p;
}

int colour_index(const char* name) {
  const auto& names = colour_names();
  return static_cast<int>(std::find(names.begin(), names.end(), name) - names.begin());
}

Background full_background(int scene, int lighting, int style, int palette, int prop) {
  Background b;
  b.scene = scene;
  b.lighting = lighting;
  b.style = style;
  b.palette = palette;
  b.prop = prop;
  return b;
}

Background random_background(TestRng& rng) {
  return full_background(rng.below(kNumScenes), rng.below(kNumLightings), rng.below(kNumStyles),
                         rng.below(kNumPalettes), rng.below(kNumProps));
}

RenderOptions options_for(int size) {
  RenderOptions o;
  o.image_size = size;
  return o;
}

// A pool of product cut-outs over all shape families and colours, drawn once.
const std::vector<cv::Mat>& product_pool() {
  static const std::vector<cv::Mat> pool = [] {
    std::vector<cv::Mat> out;
    const int n = static_cast<int>(categories().size());
    for (int i = 0; i < 48; ++i)
      out.push_back(draw_product(make_product((i * 7) % n, i % 15), 64, static_cast<uint64_t>(i)));
    return out;
  }();
  return pool;
}

cv::Rect mask_box(const cv::Mat& mask) { return cv::boundingRect(mask); }

// ---- product art ----

TEST(ProductArt, EveryCategoryFillsTheSquareWithAnAntialiasedMask) {
  for (int c = 0; c < static_cast<int>(categories().size()); ++c) {
    const cv::Mat img = draw_product(make_product(c, c % 15), 64, 7);
    ASSERT_EQ(img.type(), CV_8UC4);
    ASSERT_EQ(img.size(), cv::Size(64, 64));
    cv::Mat alpha;
    cv::extractChannel(img, alpha, 3);
    const cv::Rect box = mask_box(alpha > 127);
    EXPECT_GE(std::max(box.width, box.height), 56) << categories()[c].name;
    EXPECT_GE(cv::countNonZero(alpha > 127), 64 * 64 / 6) << categories()[c].name;
    EXPECT_GT(cv::countNonZero((alpha > 0) & (alpha < 255)), 20) << "edge not anti-aliased";
  }
}

TEST(ProductArt, DeterministicAndSeedVariesDetails) {
  const Product p = make_product(category_index("perfume"), 3);
  const cv::Mat a = draw_product(p, 64, 1), b = draw_product(p, 64, 1), c = draw_product(p, 64, 2);
  EXPECT_EQ(cv::norm(a, b, cv::NORM_INF), 0);
  EXPECT_GT(cv::norm(a, c, cv::NORM_L1), 0);
}

TEST(ProductArt, DrawnInTheProductColour) {
  const int red = colour_index("red"), blue = colour_index("blue");
  for (int c = 0; c < static_cast<int>(categories().size()); ++c) {
    const cv::Mat r = draw_product(make_product(c, red), 64, 3),
                  b = draw_product(make_product(c, blue), 64, 3);
    cv::Mat ra, ba;
    cv::extractChannel(r, ra, 3);
    cv::extractChannel(b, ba, 3);
    const cv::Scalar mr = cv::mean(r, ra == 255), mb = cv::mean(b, ba == 255);
    EXPECT_GT(mr[2] - mr[0], mb[2] - mb[0] + 40) << categories()[c].name;  // R - B, BGR order
  }
}

// ---- paste geometry ----

TEST(Renderer, OutputSizesAndTypes) {
  for (int size : {32, 64, 128}) {
    const RenderedAd ad =
        render_ad(product_pool()[0], full_background(3, 1, 2, 4, 5), 9, options_for(size));
    EXPECT_EQ(ad.image.type(), CV_8UC3);
    EXPECT_EQ(ad.mask.type(), CV_8UC1);
    EXPECT_EQ(ad.image.size(), cv::Size(size, size));
    EXPECT_EQ(ad.mask.size(), cv::Size(size, size));
    EXPECT_EQ(cv::countNonZero((ad.mask != 0) & (ad.mask != 255)), 0);
    const cv::Mat bg = render_background(full_background(3, 1, 2, 4, 5), 9, size);
    EXPECT_EQ(bg.type(), CV_8UC3);
    EXPECT_EQ(bg.size(), cv::Size(size, size));
  }
}

TEST(Renderer, ProductScaledTo078AndCentred) {
  for (int size : {64, 128, 256})
    for (size_t i = 0; i < product_pool().size(); i += 5) {
      const RenderedAd ad = render_ad(product_pool()[i], Background{}, 1, options_for(size));
      const cv::Rect box = mask_box(ad.mask);
      EXPECT_NEAR(std::max(box.width, box.height), 0.78 * size, 2.0)
          << "size " << size << " product " << i;
      EXPECT_NEAR(box.x + box.width / 2.0, size / 2.0, 1.5);
      EXPECT_NEAR(box.y + box.height / 2.0, size / 2.0, 1.5);
    }
}

TEST(Renderer, OpaqueProductPixelsAreExactlyTheScaledProduct) {
  const RenderOptions o = options_for(64);
  for (size_t i = 0; i < product_pool().size(); i += 7) {
    const cv::Mat placed = place_product(product_pool()[i], o);
    cv::Mat placed_bgr, alpha;
    cv::cvtColor(placed, placed_bgr, cv::COLOR_BGRA2BGR);
    cv::extractChannel(placed, alpha, 3);
    const cv::Mat opaque = alpha == 255;
    ASSERT_GT(cv::countNonZero(opaque), 300);
    for (uint64_t seed : {1, 2}) {
      const RenderedAd ad = render_ad(product_pool()[i], full_background(14, 5, 4, 2, 5), seed, o);
      cv::Mat diff;
      cv::absdiff(ad.image, placed_bgr, diff);
      EXPECT_EQ(cv::norm(diff, cv::NORM_INF, opaque), 0);
      EXPECT_EQ(cv::countNonZero(ad.mask != (alpha > 127)), 0);
    }
  }
}

TEST(Renderer, BackgroundGeneratedOutsideTheDilatedMask) {
  const RenderOptions o = options_for(64);
  const Background b = full_background(10, 2, 6, 5, 1);
  const RenderedAd ad = render_ad(product_pool()[3], b, 5, o);
  const cv::Mat bg = render_background(b, 5, 64);
  // Dilation radius plus the contact shadow's one-pixel soft edge.
  const int r = std::max(1, cvRound(o.dilate_fraction * 64));
  cv::Mat near;
  cv::dilate(ad.mask, near,
             cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * r + 1, 2 * r + 1)));
  cv::dilate(near, near, cv::Mat());
  cv::Mat diff;
  cv::absdiff(ad.image, bg, diff);
  EXPECT_EQ(cv::norm(diff, cv::NORM_INF, near == 0), 0);
  // The band just outside the mask is shadowed, darker than the generated background.
  cv::Mat band;
  cv::dilate(ad.mask, band, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(5, 5)));
  band &= ad.mask == 0;
  EXPECT_LT(cv::mean(ad.image, band)[1], cv::mean(bg, band)[1]);
}

TEST(Renderer, EmptyProductGivesBackgroundOnly) {
  const cv::Mat empty(40, 40, CV_8UC4, cv::Scalar(0, 0, 0, 0));
  const RenderedAd ad = render_ad(empty, full_background(1, 1, 1, 1, 1), 3, options_for(64));
  EXPECT_EQ(cv::countNonZero(ad.mask), 0);
}

TEST(Renderer, RejectsBadInput) {
  const cv::Mat bgr(32, 32, CV_8UC3, cv::Scalar(1, 2, 3));
  EXPECT_THROW(render_ad(bgr, Background{}, 1, options_for(64)), std::invalid_argument);
  EXPECT_THROW(render_background(full_background(kNumScenes, 0, 0, 0, 0), 1, 64),
               std::out_of_range);
  EXPECT_THROW(render_background(full_background(0, 0, 0, -2, 0), 1, 64), std::out_of_range);
  EXPECT_THROW(render_background(Background{}, 1, 4), std::invalid_argument);
}

// ---- determinism and slot effects ----

// Per slot (scene, lighting, style, palette, prop): how much more a value change must move the
// background's histograms than a seed change. Observed minima: 1.87, 1.90, 1.28, 2.34, 1.15 (props
// are a few small objects, so they move the histograms least).
constexpr double kMinSlotToSeedRatio[kNumSlots] = {1.5, 1.5, 1.1, 1.8, 1.05};
// Per slot: test accuracy a linear classifier on simple background features must reach (chance is
// 1/18, 1/6, 1/7, 1/10, 1/7). Observed: 0.73, 0.83, 0.93, 0.78, 0.84.
constexpr double kMinAccuracy[kNumSlots] = {0.6, 0.7, 0.8, 0.65, 0.7};

TEST(Renderer, SameSeedSameBytesOtherSeedOtherBytes) {
  const Background b = full_background(13, 3, 3, 6, 3);
  const cv::Mat& p = product_pool()[11];
  const RenderedAd a1 = render_ad(p, b, 42, options_for(64)),
                   a2 = render_ad(p, b, 42, options_for(64));
  const RenderedAd a3 = render_ad(p, b, 43, options_for(64));
  EXPECT_EQ(cv::norm(a1.image, a2.image, cv::NORM_INF), 0);
  EXPECT_GT(cv::norm(a1.image, a3.image, cv::NORM_L1), 0);
  EXPECT_EQ(cv::countNonZero(a1.mask != a3.mask), 0);
}

TEST(Renderer, UnfilledSlotsGetNeutralValues) {
  Background partial;
  partial.palette = kGreen;
  const cv::Mat a = render_background(partial, 8, 64);
  const cv::Mat b =
      render_background(full_background(kStudio, kSoft, kMinimal, kGreen, kNoProps), 8, 64);
  EXPECT_EQ(cv::norm(a, b, cv::NORM_INF), 0);
  const cv::Mat neutral = render_background(Background{}, 8, 64);
  EXPECT_EQ(neutral.size(), cv::Size(64, 64));
}

constexpr double kPi = 3.14159265358979323846;
constexpr int kZones = 3, kLuma = 5, kHue = 18, kRgb = 27, kAngles = 8;
constexpr int kPatterns = 16;  // local binary pattern of the four neighbours
constexpr int kZoneDims = kLuma + kHue + 1 + kRgb + kAngles + 3 + kPatterns;

// Description of the visible background (outside the dilated product mask): first, in three
// horizontal zones, brightness, saturation-weighted hue and coarse colour histograms, a
// gradient-orientation histogram, edge density and fine texture (placement-invariant); then a
// coarse 8 x 8 layout.
std::vector<float> background_features(const RenderedAd& ad) {
  const int n = ad.image.cols;
  cv::Mat visible, hsv, grey, gx, gy, lap;
  cv::dilate(ad.mask, visible, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(9, 9)));
  visible = visible == 0;
  cv::cvtColor(ad.image, hsv, cv::COLOR_BGR2HSV);
  cv::cvtColor(ad.image, grey, cv::COLOR_BGR2GRAY);
  cv::Sobel(grey, gx, CV_32F, 1, 0);
  cv::Sobel(grey, gy, CV_32F, 0, 1);
  cv::Laplacian(grey, lap, CV_32F);
  std::vector<float> f(kZones * kZoneDims, 0.f), count(kZones, 0.f);
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) {
      if (!visible.at<uchar>(y, x)) continue;
      const int z = std::min(kZones - 1, y * kZones / n);
      float* zf = &f[z * kZoneDims];
      const cv::Vec3b p = ad.image.at<cv::Vec3b>(y, x), q = hsv.at<cv::Vec3b>(y, x);
      zf[std::min(kLuma - 1, grey.at<uchar>(y, x) * kLuma / 256)] += 1;
      const float sat = q[1] / 255.f;
      zf[kLuma + std::min(kHue - 1, q[0] * kHue / 180)] += sat;
      zf[kLuma + kHue] += 1 - sat;
      zf[kLuma + kHue + 1 + (p[0] * 3 / 256) * 9 + (p[1] * 3 / 256) * 3 + p[2] * 3 / 256] += 1;
      const float dx = gx.at<float>(y, x), dy = gy.at<float>(y, x),
                  mag = std::sqrt(dx * dx + dy * dy);
      double angle = std::atan2(dy, dx);
      if (angle < 0) angle += kPi;
      float* g = zf + kLuma + kHue + 1 + kRgb;
      g[std::min(kAngles - 1, static_cast<int>(angle / kPi * kAngles))] += mag / 255.f;
      g[kAngles] += mag / 255.f;
      g[kAngles + 1] += mag > 120.f;
      g[kAngles + 2] += std::abs(lap.at<float>(y, x)) / 255.f;
      if (x > 0 && y > 0 && x + 1 < n && y + 1 < n) {
        const int centre = grey.at<uchar>(y, x) + 6;
        const int code =
            (grey.at<uchar>(y, x + 1) > centre) | (grey.at<uchar>(y + 1, x) > centre) << 1 |
            (grey.at<uchar>(y, x - 1) > centre) << 2 | (grey.at<uchar>(y - 1, x) > centre) << 3;
        g[kAngles + 3 + code] += 1;
      }
      count[z] += 1;
    }
  for (int z = 0; z < kZones; ++z)
    for (int i = 0; i < kZoneDims; ++i) f[z * kZoneDims + i] /= std::max(1.f, count[z]);
  // Downsampled layout: per 8 x 8 cell, mean colour and horizontal / vertical edge energy of the
  // visible pixels, fine texture, and how much of the cell is visible.
  constexpr int kGrid = 8, kCellDims = 7;
  const size_t base = f.size();
  f.resize(base + kGrid * kGrid * kCellDims, 0.f);
  std::vector<float> cell_count(kGrid * kGrid, 0.f);
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) {
      if (!visible.at<uchar>(y, x)) continue;
      const int cell = (y * kGrid / n) * kGrid + x * kGrid / n;
      float* cf = &f[base + cell * kCellDims];
      const cv::Vec3b p = ad.image.at<cv::Vec3b>(y, x);
      for (int ch = 0; ch < 3; ++ch) cf[ch] += p[ch] / 255.f;
      cf[3] += std::abs(gx.at<float>(y, x)) / 255.f;
      cf[4] += std::abs(gy.at<float>(y, x)) / 255.f;
      cf[5] += std::abs(lap.at<float>(y, x)) / 255.f;
      cell_count[cell] += 1;
    }
  for (int c = 0; c < kGrid * kGrid; ++c) {
    float* cf = &f[base + c * kCellDims];
    for (int i = 0; i < kCellDims - 1; ++i) cf[i] /= std::max(1.f, cell_count[c]);
    cf[kCellDims - 1] = cell_count[c] / static_cast<float>((n / kGrid) * (n / kGrid));
  }
  return f;
}

struct Sample {
  std::vector<float> features;
  int label;
};

// Renders `per_value` ads for every value of `slot`, other slots, products and seeds random.
std::vector<Sample> slot_samples(Slot slot, int per_value, uint64_t seed) {
  TestRng rng{seed};
  std::vector<Sample> out;
  for (int k = 0; k < per_value; ++k)
    for (int v = 0; v < slot_size(slot); ++v) {
      Background b = random_background(rng);
      b.set(slot, v);
      const cv::Mat& product = product_pool()[rng.below(static_cast<int>(product_pool().size()))];
      out.push_back({background_features(render_ad(product, b, rng.next(), options_for(64))), v});
    }
  return out;
}

// Multinomial logistic regression (full-batch gradient descent, L2) on standardised features.
double linear_classifier_accuracy(const std::vector<Sample>& train, const std::vector<Sample>& test,
                                  int classes, int epochs = 150,
                                  std::vector<int>* predictions = nullptr) {
  const size_t d = train[0].features.size();
  std::vector<double> mean(d, 0), sd(d, 0);
  for (const auto& s : train)
    for (size_t j = 0; j < d; ++j) mean[j] += s.features[j] / train.size();
  for (const auto& s : train)
    for (size_t j = 0; j < d; ++j)
      sd[j] += (s.features[j] - mean[j]) * (s.features[j] - mean[j]) / train.size();
  for (auto& v : sd) v = std::sqrt(v) + 1e-3;
  auto standardise = [&](const std::vector<float>& f) {
    std::vector<double> x(d + 1, 1.0);  // last entry: bias
    for (size_t j = 0; j < d; ++j) x[j] = (f[j] - mean[j]) / sd[j];
    return x;
  };
  std::vector<std::vector<double>> xs;
  for (const auto& s : train) xs.push_back(standardise(s.features));
  std::vector<double> w(classes * (d + 1), 0.0), grad(w.size()), p(classes);
  auto scores = [&](const std::vector<double>& x) {
    for (int c = 0; c < classes; ++c) {
      const double* wc = &w[c * (d + 1)];
      p[c] = std::inner_product(x.begin(), x.end(), wc, 0.0);
    }
  };
  const double lr = 0.1, l2 = 1e-3;
  for (int e = 0; e < epochs; ++e) {
    std::fill(grad.begin(), grad.end(), 0.0);
    for (size_t i = 0; i < xs.size(); ++i) {
      scores(xs[i]);
      const double top = *std::max_element(p.begin(), p.end());
      double z = 0;
      for (auto& v : p) z += (v = std::exp(v - top));
      for (int c = 0; c < classes; ++c) {
        const double g = p[c] / z - (c == train[i].label);
        double* gc = &grad[c * (d + 1)];
        for (size_t j = 0; j <= d; ++j) gc[j] += g * xs[i][j];
      }
    }
    for (size_t k = 0; k < w.size(); ++k) w[k] -= lr * (grad[k] / xs.size() + l2 * w[k]);
  }
  int correct = 0;
  for (const auto& s : test) {
    scores(standardise(s.features));
    const int predicted = static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
    if (predictions) predictions->push_back(predicted);
    correct += predicted == s.label;
  }
  return static_cast<double>(correct) / test.size();
}

// Changing one slot must move the background's description much more than re-sampling the seed
// (which moves every texture, overlay and prop): per slot value, averaged over random scenes.
TEST(Renderer, EachSlotValueChangesTheBackgroundMoreThanTheSeed) {
  TestRng rng{99};
  struct Case {
    std::vector<float> base, reseeded;
    std::vector<std::vector<float>> by_value;
  };
  for (Slot slot : all_slots()) {
    std::vector<Case> cases;
    for (int k = 0; k < 12; ++k) {
      Background b = random_background(rng);
      const cv::Mat& product = product_pool()[rng.below(static_cast<int>(product_pool().size()))];
      const uint64_t seed = rng.next();
      Case c;
      c.base = background_features(render_ad(product, b, seed, options_for(64)));
      c.reseeded = background_features(render_ad(product, b, seed + 1, options_for(64)));
      for (int v = 0; v < slot_size(slot); ++v) {
        Background changed = b;
        changed.set(slot, v);
        c.by_value.push_back(
            background_features(render_ad(product, changed, seed, options_for(64))));
      }
      cases.push_back(std::move(c));
    }
    // Colour and edge histograms of the zones only (a seed moves textures around, which the layout
    // and local-pattern features would count), each scaled by its spread over everything rendered.
    std::vector<size_t> dims;
    for (int z = 0; z < kZones; ++z)
      for (int i = 0; i < kZoneDims - kPatterns; ++i) dims.push_back(z * kZoneDims + i);
    const size_t d = dims.size();
    std::vector<double> mean(d, 0), sd(d, 0);
    size_t count = 0;
    for (const auto& c : cases)
      for (const auto& f : c.by_value) {
        for (size_t j = 0; j < d; ++j) mean[j] += f[dims[j]];
        ++count;
      }
    for (auto& m : mean) m /= count;
    for (const auto& c : cases)
      for (const auto& f : c.by_value)
        for (size_t j = 0; j < d; ++j)
          sd[j] += (f[dims[j]] - mean[j]) * (f[dims[j]] - mean[j]) / count;
    for (auto& v : sd) v = std::sqrt(v) + 1e-3;
    auto distance = [&](const std::vector<float>& a, const std::vector<float>& b) {
      double t = 0;
      for (size_t j = 0; j < d; ++j) t += std::abs(a[dims[j]] - b[dims[j]]) / sd[j];
      return t / d;
    };
    double seed_distance = 0;
    for (const auto& c : cases) seed_distance += distance(c.base, c.reseeded) / cases.size();
    for (int v = 0; v < slot_size(slot); ++v) {
      // Distance from value v to every other value of the slot, same seed, same other slots.
      double slot_distance = 0;
      for (const auto& c : cases)
        for (int w = 0; w < slot_size(slot); ++w)
          if (w != v) slot_distance += distance(c.by_value[v], c.by_value[w]);
      slot_distance /= cases.size() * (slot_size(slot) - 1);
      std::printf("  %s=%s: value change %.3f vs seed change %.3f (ratio %.2f)\n",
                  std::string(slot_name(slot)).c_str(), slot_phrases(slot)[v].c_str(),
                  slot_distance, seed_distance, slot_distance / seed_distance);
      EXPECT_GT(slot_distance, kMinSlotToSeedRatio[static_cast<int>(slot)] * seed_distance)
          << slot_name(slot) << " = " << slot_phrases(slot)[v];
    }
  }
}

TEST(Renderer, EverySlotIsRecognisableFromPixels) {
  for (Slot slot : all_slots()) {
    const std::vector<Sample> train = slot_samples(slot, 50, 1000 + static_cast<int>(slot));
    const std::vector<Sample> test = slot_samples(slot, 20, 2000 + static_cast<int>(slot));
    const double acc = linear_classifier_accuracy(train, test, slot_size(slot));
    std::printf("  %s: linear classifier accuracy %.3f (chance %.3f)\n",
                std::string(slot_name(slot)).c_str(), acc, 1.0 / slot_size(slot));
    EXPECT_GE(acc, kMinAccuracy[static_cast<int>(slot)]) << slot_name(slot);
  }
}

// ---- visibility ----

TEST(Visibility, ContrastFollowsColourDifference) {
  cv::Mat mask(64, 64, CV_8UC1, cv::Scalar(0));
  cv::circle(mask, {32, 32}, 20, cv::Scalar(255), cv::FILLED);
  const cv::Scalar red(40, 30, 210), blue(200, 90, 40);
  cv::Mat red_on_blue(64, 64, CV_8UC3, blue), red_on_red(64, 64, CV_8UC3, red);
  red_on_blue.setTo(red, mask);
  const double high = visibility_contrast(red_on_blue, mask),
               low = visibility_contrast(red_on_red, mask);
  EXPECT_GT(high, 50);
  EXPECT_LT(low, 1);
  EXPECT_LE(high, 200);
}

TEST(Visibility, EmptyOrFullMaskIsZero) {
  const cv::Mat img(64, 64, CV_8UC3, cv::Scalar(10, 200, 30));
  EXPECT_EQ(visibility_contrast(img, cv::Mat(64, 64, CV_8UC1, cv::Scalar(0))), 0.0);
  EXPECT_EQ(visibility_contrast(img, cv::Mat(64, 64, CV_8UC1, cv::Scalar(255))), 0.0);
}

TEST(Visibility, RenderedAdsHaveFiniteContrast) {
  TestRng rng{5};
  for (int i = 0; i < 20; ++i) {
    const RenderedAd ad =
        render_ad(product_pool()[i], random_background(rng), rng.next(), options_for(64));
    const double v = visibility_contrast(ad.image, ad.mask);
    EXPECT_GE(v, 0);
    EXPECT_LT(v, 150);
  }
}

}  // namespace
}  // namespace caig::world
