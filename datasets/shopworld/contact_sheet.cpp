#include "datasets/shopworld/contact_sheet.h"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>

#include <opencv2/imgproc.hpp>

#include "datasets/shopworld/product_art.h"
#include "datasets/shopworld/renderer.h"

namespace caig::world {
namespace {

constexpr int kRenderSize = 64;  // the CPU preset's image size
constexpr int kColumns = 10;     // enough for the 10 palette values in one row
constexpr int kPad = 2;
constexpr int kLabelWidth = 150;
const cv::Scalar kSheetGrey(60, 60, 60), kCutoutGrey(128, 128, 128), kText(235, 235, 235);

// splitmix64: varies the other slots deterministically from the sheet's seed.
uint64_t next_random(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Grid of cells with a label column on the left and a caption line under every cell, so captions
// never cover the picture (the props sit at its bottom edge).
class Sheet {
 public:
  Sheet(int rows, int cell) : cell_(cell), caption_(cell >= 96 ? 16 : 12) {
    const int width = kLabelWidth + kColumns * (cell + kPad) + kPad;
    image_ = cv::Mat(rows * row_height() + kPad, width, CV_8UC3, kSheetGrey);
  }
  void row_label(int row, const std::string& text) {
    const int y = kPad + row * row_height() + cell_ / 2 + 5;
    cv::putText(image_, text, cv::Point(6, y), cv::FONT_HERSHEY_SIMPLEX, 0.5, kText, 1,
                cv::LINE_AA);
  }
  // Places a BGR image (any size) in a cell, enlarged without smoothing.
  void cell(int row, int col, const cv::Mat& bgr, const std::string& caption = "") {
    cv::Mat big;
    cv::resize(bgr, big, cv::Size(cell_, cell_), 0, 0,
               bgr.cols <= cell_ ? cv::INTER_NEAREST : cv::INTER_AREA);
    const cv::Rect r(kLabelWidth + kPad + col * (cell_ + kPad), kPad + row * row_height(), cell_,
                     cell_);
    big.copyTo(image_(r));
    if (caption.empty()) return;
    // Shrink the font, then shorten the text, until the caption fits under its cell.
    std::string text = caption;
    double scale = cell_ >= 96 ? 0.4 : 0.3;
    int baseline = 0;
    while (scale > 0.26 &&
           cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &baseline).width > cell_ - 2)
      scale -= 0.02;
    while (text.size() > 1 &&
           cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &baseline).width > cell_ - 2)
      text.pop_back();
    cv::putText(image_, text, cv::Point(r.x + 1, r.y + cell_ + caption_ - 4),
                cv::FONT_HERSHEY_SIMPLEX, scale, kText, 1, cv::LINE_AA);
  }
  cv::Mat image() const { return image_; }

 private:
  int row_height() const { return cell_ + caption_ + kPad; }
  int cell_, caption_;
  cv::Mat image_;
};

cv::Mat on_grey(const cv::Mat& rgba) {
  cv::Mat out(rgba.size(), CV_8UC3, kCutoutGrey);
  for (int y = 0; y < rgba.rows; ++y)
    for (int x = 0; x < rgba.cols; ++x) {
      const auto& p = rgba.at<cv::Vec4b>(y, x);
      auto& o = out.at<cv::Vec3b>(y, x);
      for (int c = 0; c < 3; ++c)
        o[c] = static_cast<uchar>((p[c] * p[3] + o[c] * (255 - p[3])) / 255);
    }
  return out;
}

}  // namespace

cv::Mat make_contact_sheet(const std::vector<Product>& products, int cell_size, uint64_t seed) {
  if (products.empty()) throw std::invalid_argument("make_contact_sheet: no products");
  if (cell_size < 32) throw std::invalid_argument("make_contact_sheet: cell_size must be >= 32");
  std::vector<cv::Mat> cutouts;
  for (const auto& p : products)
    cutouts.push_back(draw_product(p, kRenderSize, static_cast<uint64_t>(p.id)));

  const int header_rows = (static_cast<int>(products.size()) + kColumns - 1) / kColumns;
  const std::array<Slot, 4> swept = {Slot::Lighting, Slot::Style, Slot::Palette, Slot::Prop};
  Sheet sheet(header_rows + kNumScenes + 2 * static_cast<int>(swept.size()), cell_size);
  uint64_t rng = seed;
  auto pick = [&rng](int n) {
    return static_cast<int>(next_random(rng) % static_cast<uint64_t>(n));
  };
  RenderOptions options;
  options.image_size = kRenderSize;
  int row = 0;

  for (int i = 0; i < static_cast<int>(products.size()); ++i) {
    const int cutout_size = std::max(cell_size, kRenderSize);
    sheet.cell(
        row + i / kColumns, i % kColumns,
        on_grey(draw_product(products[i], cutout_size, static_cast<uint64_t>(products[i].id))),
        categories()[products[i].category].name);
  }
  sheet.row_label(row, "products");
  row += header_rows;

  auto random_background = [&] {
    Background b;
    b.scene = pick(kNumScenes);
    b.lighting = pick(kNumLightings);
    b.style = pick(kNumStyles);
    b.palette = pick(kNumPalettes);
    b.prop = pick(kNumProps);
    return b;
  };
  for (int scene = 0; scene < kNumScenes; ++scene, ++row) {
    sheet.row_label(row, slot_phrases(Slot::Scene)[scene]);
    for (int col = 0; col < kColumns; ++col) {
      Background b = random_background();
      b.scene = scene;
      const int product = (scene + col) % static_cast<int>(products.size());
      sheet.cell(row, col, render_ad(cutouts[product], b, next_random(rng), options).image);
    }
  }
  for (Slot slot : swept) {
    for (bool varied : {false, true}) {
      sheet.row_label(row, std::string(slot_name(slot)) + (varied ? " (mixed)" : " (neutral)"));
      for (int value = 0; value < slot_size(slot); ++value) {
        Background b = varied ? random_background() : Background{};
        if (!varied) b.palette = slot == Slot::Palette ? -1 : kBeige;
        b.set(slot, value);
        const int product = (value + (varied ? 3 : 0)) % static_cast<int>(products.size());
        sheet.cell(row, value, render_ad(cutouts[product], b, next_random(rng), options).image,
                   slot_phrases(slot)[value]);
      }
      ++row;
    }
  }
  return sheet.image();
}

}  // namespace caig::world
