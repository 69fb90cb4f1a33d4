// Procedural stand-in for Stable Diffusion + ControlNet inpainting (DESIGN.md, "Renderer").
//
// A background is built in layers, each with its own random stream, so that changing one slot never
// reshuffles another layer's placement:
// - scene: layout and texture (horizon, floor, tiles, trees, ...) in natural colours;
// - palette: a colour grade that pulls every scene pixel towards the palette colour shaded by the
//   pixel's own luminance (strongly on walls and sky, less on floor materials);
// - lighting: a per-pixel affine map, out = in * gain(x, y) + offset(x, y) (contrast, tint, glows,
//   vignette), precomputed per (lighting, size), plus sampling noise;
// - style: an overlay on the frame or the whole canvas (gold frame, speed lines, grid, ...);
// - prop: a few objects on the floor strip and the lower sides (petals, leaves, ice cubes, ...).
// Slot evidence sits near the canvas border: at 64 px a product scaled to 0.78 leaves only a band
// of about seven pixels visible.
#include "datasets/shopworld/renderer.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "harness/seeds.h"

namespace caig::world {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kShift = 3;  // fixed-point bits for sub-pixel drawing

using caig::Rng;  // harness/seeds.h: one generator for the whole project

// Independent stream per layer: the seed's placement of one layer ignores the other slots.
Rng layer_rng(uint64_t seed, uint64_t layer) { return Rng(caig::derive_seed(seed, layer)); }

cv::Scalar rgb(double r, double g, double b) { return cv::Scalar(b, g, r); }
cv::Scalar mix(const cv::Scalar& a, const cv::Scalar& b, double t) { return a * (1.0 - t) + b * t; }
cv::Scalar scaled(const cv::Scalar& a, double k) {
  return cv::Scalar(std::min(255.0, a[0] * k), std::min(255.0, a[1] * k),
                    std::min(255.0, a[2] * k));
}
const cv::Scalar kWhite(255, 255, 255);
const cv::Scalar kBlack(0, 0, 0);

// Drawing in unit coordinates on an n x n canvas.
class Canvas {
 public:
  explicit Canvas(cv::Mat& img) : img_(img), n_(img.cols) {}
  int n() const { return n_; }
  cv::Mat& img() { return img_; }

  cv::Point pt(double u, double v) const {
    return cv::Point(cvRound(u * n_ * (1 << kShift)), cvRound(v * n_ * (1 << kShift)));
  }
  int thick(double frac) const { return std::max(1, cvRound(frac * n_)); }

  // Axis-aligned band of whole rows [y0, y1) filled with a vertical gradient c0 -> c1.
  void band(double y0, double y1, const cv::Scalar& c0, const cv::Scalar& c1) {
    const int r0 = std::clamp(cvRound(y0 * n_), 0, n_), r1 = std::clamp(cvRound(y1 * n_), 0, n_);
    for (int r = r0; r < r1; ++r) {
      const double t = r1 - r0 > 1 ? static_cast<double>(r - r0) / (r1 - r0 - 1) : 0.0;
      img_.row(r).setTo(mix(c0, c1, t));
    }
  }
  void rect(double x0, double y0, double x1, double y1, const cv::Scalar& c) {
    const cv::Point a(cvRound(x0 * n_), cvRound(y0 * n_)),
        b(cvRound(x1 * n_) - 1, cvRound(y1 * n_) - 1);
    if (b.x >= a.x && b.y >= a.y) cv::rectangle(img_, a, b, c, cv::FILLED);
  }
  void poly(const std::vector<cv::Point2d>& p, const cv::Scalar& c) {
    std::vector<cv::Point> q;
    q.reserve(p.size());
    for (const auto& v : p) q.push_back(pt(v.x, v.y));
    cv::fillConvexPoly(img_, q, c, cv::LINE_AA, kShift);
  }
  void poly_any(const std::vector<cv::Point2d>& p, const cv::Scalar& c) {
    std::vector<cv::Point> q;
    q.reserve(p.size());
    for (const auto& v : p) q.push_back(pt(v.x, v.y));
    const std::vector<std::vector<cv::Point>> polys{q};
    cv::fillPoly(img_, polys, c, cv::LINE_AA, kShift);
  }
  void polyline(const std::vector<cv::Point2d>& p, const cv::Scalar& c, int thickness) {
    std::vector<cv::Point> q;
    q.reserve(p.size());
    for (const auto& v : p) q.push_back(pt(v.x, v.y));
    const std::vector<std::vector<cv::Point>> polys{q};
    cv::polylines(img_, polys, false, c, thickness, cv::LINE_AA, kShift);
  }
  void line(double u0, double v0, double u1, double v1, const cv::Scalar& c, int thickness) {
    cv::line(img_, pt(u0, v0), pt(u1, v1), c, thickness, cv::LINE_AA, kShift);
  }
  void circle(double u, double v, double r, const cv::Scalar& c, int thickness = cv::FILLED) {
    cv::circle(img_, pt(u, v), std::max(1, cvRound(r * n_ * (1 << kShift))), c, thickness,
               cv::LINE_AA, kShift);
  }
  void ellipse(double u, double v, double rx, double ry, double angle, const cv::Scalar& c,
               int thickness = cv::FILLED, double a0 = 0, double a1 = 360) {
    const int s = n_ * (1 << kShift);
    cv::ellipse(img_, pt(u, v),
                cv::Size(std::max(1, cvRound(rx * s)), std::max(1, cvRound(ry * s))), angle, a0, a1,
                c, thickness, cv::LINE_AA, kShift);
  }

 private:
  cv::Mat& img_;
  int n_;
};

// Draws `draw` onto a copy of the canvas and blends it back with `opacity`: translucent layers.
template <typename Draw>
void translucent(cv::Mat& img, double opacity, Draw draw) {
  cv::Mat layer = img.clone();
  Canvas c(layer);
  draw(c);
  cv::addWeighted(layer, opacity, img, 1.0 - opacity, 0.0, img);
}

// Wavy polyline across the canvas at height y.
std::vector<cv::Point2d> wave(double y, double amplitude, double wavelength, double phase,
                              double x0 = -0.05, double x1 = 1.05, int segments = 16) {
  std::vector<cv::Point2d> p;
  for (int i = 0; i <= segments; ++i) {
    const double x = x0 + (x1 - x0) * i / segments;
    p.emplace_back(x, y + amplitude * std::sin(2 * kPi * x / wavelength + phase));
  }
  return p;
}

// ---- scenes ----
// Scenes are drawn in their natural colours with neutral walls; the palette is applied afterwards
// as a colour grade over the whole scene (see apply_light), so it dominates every scene alike while
// the scene keeps its layout, texture and part of its own colour.

struct SceneContext {
  Canvas& c;
  Rng& rng;
  // Palette grade strength above and below `split` (a fraction of the height): backdrops (walls,
  // sky) take the palette strongly, floor materials (wood, sand, track) keep more of their colour.
  double split = 1.0;
  float upper = 0.6f, lower = 0.6f;
  void grade(double at, float above, float below) { split = at, upper = above, lower = below; }
};

const cv::Scalar kWall = rgb(218, 215, 210);

void scene_studio(SceneContext& s) {
  const double h = 0.7 + s.rng.uniform(-0.04, 0.04);
  s.grade(1.0, 0.8f, 0.8f);
  // Seamless paper: a mid-tone wall falling into a bright floor with a curved (cyclorama) edge.
  s.c.band(0, 1, rgb(205, 205, 205), rgb(150, 150, 150));
  std::vector<cv::Point2d> floor = {{-0.05, 1.05}, {-0.05, h + 0.06}};
  for (int i = 0; i <= 10; ++i)
    floor.emplace_back(i / 10.0, h + 0.06 - 0.12 * std::sin(kPi * i / 10.0));
  floor.emplace_back(1.05, h + 0.06);
  floor.emplace_back(1.05, 1.05);
  s.c.poly_any(floor, rgb(245, 245, 245));
  // Softboxes on stands at both sides.
  const double top = s.rng.uniform(0.04, 0.12);
  for (int side = 0; side < 2; ++side) {
    const double x = side == 0 ? s.rng.uniform(0.02, 0.07) : s.rng.uniform(0.93, 0.98), w = 0.1;
    s.c.line(x, top, x, h + 0.1, rgb(40, 40, 44), s.c.thick(0.02));
    s.c.line(x, h + 0.1, x - 0.05, h + 0.2, rgb(40, 40, 44), 1);
    s.c.line(x, h + 0.1, x + 0.05, h + 0.2, rgb(40, 40, 44), 1);
    s.c.rect(x - w, top, x + w, top + 0.12, rgb(35, 35, 38));
    s.c.rect(x - w + 0.02, top + 0.02, x + w - 0.02, top + 0.1, kWhite);
  }
}

void scene_marble(SceneContext& s) {
  // A dark stone backdrop over a white, boldly veined slab (dark above, bright and veined below),
  // so the ring tells it from the bright-floored studio and snow.
  const double h = 0.56 + s.rng.uniform(-0.04, 0.04);
  s.grade(h, 0.7f, 0.3f);
  s.c.band(0, h, rgb(62, 60, 66), rgb(42, 40, 46));
  const cv::Scalar marble = rgb(248, 248, 246);
  s.c.band(h, 1, marble, scaled(marble, 0.95));
  const cv::Scalar vein = rgb(70, 70, 82);
  for (int i = 0; i < 14; ++i) {
    std::vector<cv::Point2d> p;
    double x = s.rng.uniform(-0.1, 1.1), y = s.rng.uniform(h, 1.0);
    const double dir = s.rng.uniform() < 0.5 ? -1 : 1;
    for (int k = 0; k < 6; ++k) {
      p.emplace_back(x, y);
      x += dir * s.rng.uniform(0.08, 0.22);
      y = std::clamp(y + s.rng.uniform(-0.1, 0.1), h + 0.01, 1.02);
    }
    s.c.polyline(p, i < 8 ? vein : mix(vein, kWhite, 0.4), i < 4 ? s.c.thick(0.03) : 1);
  }
  s.c.line(0, h, 1, h, rgb(120, 120, 125), s.c.thick(0.02));
}

void scene_wooden_desk(SceneContext& s) {
  const double h = 0.58 + s.rng.uniform(-0.04, 0.04);
  s.grade(h, 0.8f, 0.35f);
  s.c.band(0, h, kWall, scaled(kWall, 0.9));
  const cv::Scalar wood = rgb(160, 100, 55);
  s.c.band(h, 1, wood, scaled(wood, 0.8));
  const double phase = s.rng.uniform(0, 2 * kPi);
  for (double y = h + 0.03; y < 1.02; y += s.rng.uniform(0.025, 0.04))
    s.c.polyline(wave(y, 0.012, s.rng.uniform(0.3, 0.6), phase + y * 9), scaled(wood, 0.35), 1);
  s.c.ellipse(s.rng.uniform(0.05, 0.95), s.rng.uniform(h + 0.1, 0.95), 0.04, 0.015, 0,
              scaled(wood, 0.5));
  s.c.line(0, h, 1, h, mix(wood, kWhite, 0.6), s.c.thick(0.035));
  s.c.band(0.9, 1, scaled(wood, 0.5), scaled(wood, 0.4));  // the desk's front panel
  s.c.line(0, 0.9, 1, 0.9, scaled(wood, 0.3), 1);
}

void scene_kitchen(SceneContext& s) {
  const double h = 0.64 + s.rng.uniform(-0.04, 0.04);
  s.grade(h, 0.65f, 0.35f);
  const int n = s.c.n(), tile = std::max(3, n / 7);
  const int ox = s.rng.uniform_int(tile), oy = s.rng.uniform_int(tile);
  const cv::Scalar a = rgb(250, 250, 250), b = rgb(150, 150, 150), grout = rgb(90, 90, 90);
  const int rows_end = cvRound(h * n);
  for (int ty = -1; ty * tile - oy < rows_end; ++ty)
    for (int tx = -1; tx * tile - ox < n; ++tx) {
      const int x0 = tx * tile - ox, y0 = ty * tile - oy;
      const cv::Rect r = cv::Rect(x0, y0, tile, tile) & cv::Rect(0, 0, n, rows_end);
      if (r.empty()) continue;
      s.c.img()(r).setTo(((tx + ty) & 1) ? a : b);
      cv::rectangle(s.c.img(), cv::Rect(x0, y0, tile + 1, tile + 1) & cv::Rect(0, 0, n, rows_end),
                    grout, 1);
    }
  const cv::Scalar stone = rgb(50, 50, 56);
  s.c.band(h, 1, stone, scaled(stone, 0.8));
  for (int i = 0; i < 22; ++i)
    s.c.circle(s.rng.uniform(0, 1), s.rng.uniform(h + 0.04, 1), 0.008, rgb(200, 200, 200));
  s.c.line(0, h, 1, h, rgb(230, 230, 235), s.c.thick(0.03));
}

void scene_living_room(SceneContext& s) {
  s.grade(0.55, 0.75f, 0.45f);
  s.c.band(0, 0.55, kWall, scaled(kWall, 0.9));
  // Framed pictures high on the wall.
  for (int i = 0; i < 2; ++i) {
    const double x = i == 0 ? s.rng.uniform(0.0, 0.1) : s.rng.uniform(0.72, 0.82),
                 y = s.rng.uniform(0.02, 0.08);
    s.c.rect(x, y, x + 0.18, y + 0.17, rgb(45, 35, 30));
    s.c.rect(x + 0.03, y + 0.03, x + 0.15, y + 0.14, rgb(120, 170, 210));
  }
  const cv::Scalar sofa = rgb(70, 72, 88);
  const double top = 0.44 + s.rng.uniform(-0.03, 0.03);
  s.c.band(0.55, 0.84, scaled(kWall, 0.9), scaled(kWall, 0.85));
  s.c.ellipse(0.5, top + 0.2, 0.75, 0.2, 0, sofa);  // backrest
  s.c.rect(-0.1, top + 0.2, 1.1, 0.84, sofa);
  s.c.rect(-0.1, 0.64, 1.1, 0.84, mix(sofa, kWhite, 0.2));                              // seat
  for (double x : {0.0, 1.0}) s.c.ellipse(x, 0.62, 0.09, 0.14, 0, scaled(sofa, 0.75));  // armrests
  s.c.line(0, 0.64, 1, 0.64, scaled(sofa, 0.6), 1);
  const cv::Scalar floor = rgb(205, 165, 120);
  s.c.band(0.84, 1, floor, scaled(floor, 0.9));
  for (double x = s.rng.uniform(0, 0.15); x < 1.1; x += 0.15)
    s.c.line(x, 0.84, x - 0.08, 1, scaled(floor, 0.6), 1);
}

void scene_bedroom(SceneContext& s) {
  s.grade(0.6, 0.75f, 0.4f);
  const int n = s.c.n(), stripe = std::max(2, n / 12), off = s.rng.uniform_int(2 * stripe);
  s.c.band(0, 0.6, kWall, kWall);
  const cv::Scalar dark = scaled(kWall, 0.6);
  for (int x = -off; x < n; x += 2 * stripe)
    s.c.img()(cv::Rect(x, 0, stripe, cvRound(0.6 * n)) & cv::Rect(0, 0, n, n)).setTo(dark);
  const cv::Scalar head = rgb(100, 66, 45);
  s.c.rect(-0.1, 0.42, 1.1, 0.62, head);
  s.c.line(0, 0.42, 1, 0.42, scaled(head, 0.6), s.c.thick(0.02));
  const cv::Scalar sheet = rgb(242, 242, 246);
  s.c.band(0.62, 1, sheet, scaled(sheet, 0.88));
  for (double x : {0.0, 1.0}) s.c.ellipse(x, 0.64, 0.16, 0.07, 0, kWhite);  // pillows
  const double phase = s.rng.uniform(0, 2 * kPi);
  for (double y : {0.74, 0.82, 0.9, 0.97})
    s.c.polyline(wave(y, 0.015, 0.35, phase + y * 7), scaled(sheet, 0.7), 1);
}

void scene_office(SceneContext& s) {
  s.grade(0.6, 0.6f, 0.55f);
  s.c.band(0, 1, kWall, scaled(kWall, 0.9));
  const double wy1 = 0.58 + s.rng.uniform(-0.03, 0.03);
  const cv::Scalar sky = rgb(205, 228, 248);
  s.c.band(0.0, wy1, sky, mix(sky, kWhite, 0.3));
  const int n = s.c.n(), slat = std::max(2, n / 22), off = s.rng.uniform_int(slat);
  for (int y = off; y < wy1 * n; y += slat)  // blinds
    s.c.img().row(y).setTo(rgb(120, 125, 130));
  const double bar = s.rng.uniform(0.1, 0.3);
  for (double x : {bar, 1 - bar}) s.c.rect(x, 0.0, x + 0.03, wy1, rgb(90, 90, 95));
  const cv::Scalar desk = rgb(155, 155, 160);
  s.c.band(0.74, 1, desk, scaled(desk, 0.85));
  s.c.line(0, 0.74, 1, 0.74, rgb(60, 60, 65), s.c.thick(0.03));
}

void scene_gym(SceneContext& s) {
  s.grade(0.72, 0.6f, 0.4f);
  const cv::Scalar wall = rgb(75, 75, 80);
  s.c.band(0, 0.72, wall, scaled(wall, 0.8));
  const double y = 0.2 + s.rng.uniform(-0.04, 0.04);
  s.c.rect(0, y, 1, y + 0.1, rgb(235, 235, 235));
  s.c.rect(0, y + 0.14, 1, y + 0.17, rgb(235, 235, 235));
  const cv::Scalar floor = rgb(30, 30, 34);
  s.c.band(0.72, 1, floor, floor);
  for (int i = 0; i < 30; ++i) {
    const cv::Point q = s.c.pt(s.rng.uniform(0, 1), s.rng.uniform(0.73, 1));
    const cv::Point p(q.x >> kShift, q.y >> kShift);
    if (p.x < s.c.n() && p.y < s.c.n()) s.c.img().at<cv::Vec3b>(p) = cv::Vec3b(150, 150, 150);
  }
  s.c.line(0, 0.72, 1, 0.72, rgb(235, 235, 235), s.c.thick(0.025));
}

void scene_running_track(SceneContext& s) {
  const double h = 0.3 + s.rng.uniform(-0.04, 0.04), g = h + 0.1;
  s.grade(h, 0.8f, 0.35f);
  s.c.band(0, h, rgb(140, 195, 245), rgb(200, 225, 245));
  s.c.band(h, g, rgb(60, 150, 70), rgb(50, 130, 60));
  const cv::Scalar track = rgb(195, 80, 55);
  s.c.band(g, 1, scaled(track, 0.9), track);
  const double vx = 0.5 + s.rng.uniform(-0.15, 0.15), vy = g - 0.35;
  for (double bx = -1.2; bx < 2.3; bx += 0.38) {  // lanes converge to a vanishing point
    const double t = (g - vy) / (1.0 - vy);
    s.c.line(vx + (bx - vx) * t, g, bx, 1.0, rgb(250, 250, 250), s.c.thick(0.018));
  }
}

void scene_beach(SceneContext& s) {
  const double h = 0.36 + s.rng.uniform(-0.04, 0.04), shore = h + 0.2;
  s.grade(h, 0.8f, 0.35f);
  s.c.band(0, h, rgb(120, 190, 245), rgb(215, 238, 250));
  const cv::Scalar sea = rgb(20, 95, 175);
  s.c.band(h, shore, sea, mix(sea, rgb(60, 190, 200), 0.4));
  for (int i = 0; i < 3; ++i) {
    const double y = h + 0.05 + 0.05 * i, x = s.rng.uniform(-0.2, 0.6);
    s.c.line(x, y, x + 0.25, y, mix(sea, kWhite, 0.6), 1);
    s.c.line(x + 0.5, y, x + 0.7, y, mix(sea, kWhite, 0.6), 1);
  }
  const cv::Scalar sand = rgb(240, 215, 165);
  std::vector<cv::Point2d> shoreline = wave(shore, 0.02, 0.4, s.rng.uniform(0, 2 * kPi));
  shoreline.emplace_back(1.05, 1.05);
  shoreline.emplace_back(-0.05, 1.05);
  s.c.poly_any(shoreline, sand);
  s.c.polyline(wave(shore, 0.02, 0.4, 0), kWhite, s.c.thick(0.02));
  for (int i = 0; i < 14; ++i)
    s.c.circle(s.rng.uniform(0, 1), s.rng.uniform(shore + 0.05, 1), 0.007, scaled(sand, 0.7));
}

void scene_forest(SceneContext& s) {
  s.grade(1.0, 0.45f, 0.45f);
  // Misty light between the trees, so the dark trunks read as stripes on both sides.
  const cv::Scalar base = rgb(35, 75, 40);
  s.c.band(0, 1, mix(base, kWhite, 0.15), base);
  // Dark vertical trunks down both sides and a canopy of light and dark leaf clusters on top.
  const cv::Scalar trunk = rgb(70, 46, 30);
  for (int i = 0; i < 12; ++i) {
    const double x = i < 4   ? s.rng.uniform(0.0, 0.12)
                     : i < 8 ? s.rng.uniform(0.88, 1.0)
                             : s.rng.uniform(-0.02, 1.02),
                 w = s.rng.uniform(0.03, 0.06);
    s.c.rect(x - w / 2, 0.1, x + w / 2, 1, scaled(trunk, s.rng.uniform(0.6, 1.1)));
  }
  const cv::Scalar greens[] = {rgb(60, 135, 60), rgb(150, 205, 90), rgb(25, 90, 40)};
  for (int i = 0; i < 20; ++i)
    s.c.circle(s.rng.uniform(-0.05, 1.05), s.rng.uniform(-0.05, 0.3), s.rng.uniform(0.06, 0.12),
               greens[i % 3]);
  const cv::Scalar ground = rgb(70, 58, 32);
  s.c.band(0.86, 1, ground, scaled(ground, 0.8));
  for (int i = 0; i < 14; ++i) {
    const double x = s.rng.uniform(0, 1);
    s.c.line(x, 0.87, x + s.rng.uniform(-0.02, 0.02), 0.8, greens[1], 1);
  }
}

void scene_mountain(SceneContext& s) {
  s.grade(0.45, 0.75f, 0.4f);
  s.c.band(0, 0.75, rgb(140, 185, 235), rgb(225, 235, 245));
  auto range = [&](double base_y, double lo, double hi, double w_lo, double w_hi,
                   const cv::Scalar& col, bool caps) {
    double x = s.rng.uniform(-0.3, -0.1);
    while (x < 1.1) {
      const double w = s.rng.uniform(w_lo, w_hi), peak = s.rng.uniform(lo, hi);
      const cv::Point2d l(x, base_y), t(x + w / 2, peak), r(x + w, base_y);
      s.c.poly({l, t, r}, col);
      if (caps) {
        const double k = 0.4;
        s.c.poly(
            {t, t + (l - t) * k, cv::Point2d(t.x, t.y + (base_y - t.y) * k * 0.7), t + (r - t) * k},
            rgb(250, 252, 255));
      }
      x += w * s.rng.uniform(0.55, 0.8);
    }
  };
  range(0.8, 0.08, 0.3, 0.3, 0.5, rgb(110, 120, 150), true);
  range(0.86, 0.4, 0.6, 0.16, 0.28, rgb(45, 58, 70), false);
  const cv::Scalar valley = rgb(85, 125, 65);
  s.c.band(0.85, 1, valley, scaled(valley, 0.85));
}

void scene_snow(SceneContext& s) {
  const double h = 0.62 + s.rng.uniform(-0.04, 0.04);
  s.grade(h, 0.7f, 0.4f);
  s.c.band(0, h, rgb(105, 122, 160),
           rgb(150, 165, 195));  // a grey-blue sky the flakes stand out on
  const cv::Scalar snow = rgb(250, 252, 255);
  s.c.band(h, 1, snow, rgb(215, 225, 240));
  for (int i = 0; i < 3; ++i)
    s.c.ellipse(s.rng.uniform(0, 1), h + 0.02, s.rng.uniform(0.15, 0.3), 0.06, 0, kWhite);
  for (int i = 0; i < 5; ++i) {  // snowy pines on the horizon
    const double x = i % 2 ? s.rng.uniform(0.0, 0.2) : s.rng.uniform(0.8, 1.0),
                 t = s.rng.uniform(0.22, 0.32);
    s.c.poly({{x, h - t}, {x + 0.07, h + 0.02}, {x - 0.07, h + 0.02}}, rgb(30, 70, 55));
    s.c.poly({{x, h - t}, {x + 0.025, h - t * 0.6}, {x - 0.025, h - t * 0.6}}, kWhite);
  }
  // Dense falling snow: flakes of two or three pixels all over, the ring's signature.
  for (int i = 0; i < 110; ++i) {
    const double y = s.rng.uniform(0, 1);
    s.c.circle(s.rng.uniform(0, 1), y, s.rng.uniform(0.018, 0.032),
               y < h ? kWhite : rgb(140, 165, 205));
  }
}

void scene_city_street(SceneContext& s) {
  s.grade(0.78, 0.6f, 0.4f);
  s.c.band(0, 0.78, rgb(170, 205, 240), rgb(220, 232, 245));
  const cv::Scalar greys[] = {rgb(150, 150, 158), rgb(118, 108, 100), rgb(180, 172, 160),
                              rgb(125, 132, 145)};
  for (double x = s.rng.uniform(-0.15, 0); x < 1.05;) {
    const double w = s.rng.uniform(0.13, 0.24), top = s.rng.uniform(0.04, 0.36);
    const cv::Scalar col = greys[s.rng.uniform_int(4)];
    s.c.rect(x, top, x + w - 0.01, 0.78, col);
    const cv::Scalar win = s.rng.uniform() < 0.5 ? rgb(235, 240, 245) : scaled(col, 0.45);
    for (double wy = top + 0.04; wy < 0.72; wy += 0.075)
      for (double wx = x + 0.03; wx < x + w - 0.04; wx += 0.06)
        s.c.rect(wx, wy, wx + 0.03, wy + 0.035, win);
    x += w;
  }
  s.c.band(0.78, 0.84, rgb(195, 195, 195), rgb(175, 175, 175));
  s.c.band(0.84, 1, rgb(58, 58, 62), rgb(46, 46, 50));
  for (double x = s.rng.uniform(-0.1, 0.1); x < 1; x += 0.2)
    s.c.rect(x, 0.91, x + 0.1, 0.935, rgb(245, 245, 245));
}

void scene_night_city(SceneContext& s) {
  s.grade(0.84, 0.6f, 0.4f);
  s.c.band(0, 0.82, rgb(12, 14, 45), rgb(50, 34, 90));
  const cv::Scalar lights[] = {rgb(255, 215, 90), rgb(255, 215, 90), rgb(255, 60, 200),
                               rgb(60, 230, 255)};
  // Towers reach into the top band, with lit windows in dense rows (points of light on black are
  // what tells night city from the dark forest).
  for (double x = s.rng.uniform(-0.15, 0); x < 1.05;) {
    const double w = s.rng.uniform(0.12, 0.22), top = s.rng.uniform(0.0, 0.3);
    s.c.rect(x, top, x + w - 0.01, 0.84, rgb(16, 16, 24));
    for (double wy = top + 0.02; wy < 0.8; wy += 0.06)
      for (double wx = x + 0.02; wx < x + w - 0.03; wx += 0.05)
        if (s.rng.uniform() < 0.7)
          s.c.rect(wx, wy, wx + 0.03, wy + 0.03, lights[s.rng.uniform_int(4)]);
    x += w;
  }
  s.c.band(0.84, 1, rgb(22, 20, 30), rgb(12, 12, 18));
  for (int i = 0; i < 8; ++i) {  // reflections on the wet street
    const double x = s.rng.uniform(0, 1);
    s.c.line(x, 0.86, x, s.rng.uniform(0.92, 1.0), scaled(lights[s.rng.uniform_int(4)], 0.75), 1);
  }
}

void scene_flower_garden(SceneContext& s) {
  const double h = 0.3 + s.rng.uniform(-0.04, 0.04);
  s.grade(h, 0.8f, 0.4f);
  s.c.band(0, h, rgb(160, 210, 245), rgb(215, 235, 245));
  const cv::Scalar grass = rgb(60, 140, 50);
  s.c.band(h, 1, grass, scaled(grass, 0.7));
  const cv::Scalar petals[] = {rgb(250, 120, 170), rgb(255, 225, 70), rgb(250, 250, 250),
                               rgb(225, 55, 75), rgb(170, 110, 230)};
  for (int i = 0; i < 34; ++i) {
    const double x = s.rng.uniform(0, 1), y = s.rng.uniform(h + 0.02, 1),
                 r = s.rng.uniform(0.022, 0.04);
    s.c.circle(x, y, r, petals[s.rng.uniform_int(5)]);
    s.c.circle(x, y, r * 0.35, rgb(240, 190, 40));
  }
}

void scene_water_splash(SceneContext& s) {
  s.grade(1.0, 0.6f, 0.6f);
  const cv::Scalar water = rgb(40, 140, 215);
  s.c.band(0, 1, mix(water, kWhite, 0.35), scaled(water, 0.8));
  const double cx = 0.5 + s.rng.uniform(-0.1, 0.1);
  for (int i = 0; i < 5; ++i)  // splash crowns rising from the bottom
    s.c.ellipse(cx, 1.0, 0.35 + 0.13 * i, 0.18 + 0.14 * i, 0, rgb(245, 250, 255), s.c.thick(0.04),
                180, 360);
  // Bubbles with a dark rim: rings of light and dark that no other scene has.
  for (int i = 0; i < 44; ++i) {
    const double x = s.rng.uniform(0, 1), y = s.rng.uniform(0, 1), r = s.rng.uniform(0.02, 0.045);
    s.c.circle(x, y, r, mix(water, kWhite, 0.7));
    s.c.circle(x, y, r, scaled(water, 0.45), 1);
    s.c.circle(x - r * 0.3, y - r * 0.3, r * 0.35, kWhite);
  }
}

void scene_cafe(SceneContext& s) {
  const double h = 0.64 + s.rng.uniform(-0.04, 0.04);
  s.grade(h, 0.55f, 0.4f);
  const int n = s.c.n(), rows = cvRound(h * n), bh = std::max(3, n / 11), bw = std::max(5, n / 6);
  const cv::Scalar brick = rgb(160, 75, 50), mortar = rgb(220, 205, 190);
  s.c.img()(cv::Rect(0, 0, n, rows)).setTo(mortar);
  const int ox = s.rng.uniform_int(bw);
  for (int r = 0; r * bh < rows; ++r)
    for (int x = -ox - (r & 1) * bw / 2; x < n; x += bw) {
      const cv::Rect b = cv::Rect(x + 1, r * bh + 1, bw - 1, bh - 1) & cv::Rect(0, 0, n, rows);
      if (!b.empty()) s.c.img()(b).setTo(scaled(brick, 0.85 + 0.15 * ((r * 7 + x) % 3) / 2.0));
    }
  for (double x : {s.rng.uniform(0.05, 0.2), s.rng.uniform(0.8, 0.95)}) {  // pendant lamps
    s.c.line(x, 0, x, 0.1, rgb(40, 40, 40), 1);
    s.c.ellipse(x, 0.14, 0.07, 0.05, 0, rgb(40, 40, 45), cv::FILLED, 180, 360);
    s.c.circle(x, 0.15, 0.025, rgb(255, 225, 140));
  }
  const cv::Scalar table = rgb(88, 54, 34);
  s.c.band(h, 1, mix(table, kWhite, 0.1), table);
  for (double y = h + 0.06; y < 1; y += 0.08) s.c.line(0, y, 1, y + 0.01, scaled(table, 0.65), 1);
  s.c.line(0, h, 1, h, mix(table, kWhite, 0.4), s.c.thick(0.02));
}

void draw_scene(int scene, SceneContext& s) {
  switch (scene) {
    case kStudio:
      return scene_studio(s);
    case kMarbleTable:
      return scene_marble(s);
    case kWoodenDesk:
      return scene_wooden_desk(s);
    case kKitchenCounter:
      return scene_kitchen(s);
    case kLivingRoom:
      return scene_living_room(s);
    case kBedroom:
      return scene_bedroom(s);
    case kOffice:
      return scene_office(s);
    case kGym:
      return scene_gym(s);
    case kRunningTrack:
      return scene_running_track(s);
    case kBeach:
      return scene_beach(s);
    case kForest:
      return scene_forest(s);
    case kMountain:
      return scene_mountain(s);
    case kSnow:
      return scene_snow(s);
    case kCityStreet:
      return scene_city_street(s);
    case kNightCity:
      return scene_night_city(s);
    case kFlowerGarden:
      return scene_flower_garden(s);
    case kWaterSplash:
      return scene_water_splash(s);
    case kCafe:
      return scene_cafe(s);
  }
  throw std::out_of_range("render: bad scene");
}

// ---- palette grade and lighting ----

// out = in * gain + offset, per pixel and channel (BGR), precomputed per (lighting, size). The maps
// keep hue where they can (the palette must stay readable) and put each light's signature in a
// place of its own: glare along the top, a corner glow, dark edges, coloured side light.
struct LightMap {
  std::vector<float> gain, offset;
};

double gauss2(double dx, double dy, double s2) { return std::exp(-(dx * dx + dy * dy) / s2); }

LightMap make_light_map(int lighting, int n) {
  LightMap m;
  m.gain.resize(static_cast<size_t>(n) * n * 3);
  m.offset.resize(m.gain.size());
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) {
      const double u = (x + 0.5) / n, v = (y + 0.5) / n;
      cv::Vec3d g(1, 1, 1), o(0, 0, 0);  // B, G, R
      switch (lighting) {
        case kSoft: {  // low contrast, lifted shadows, light from the top-left
          g = cv::Vec3d(0.7, 0.7, 0.7);
          const double lift = 55 + 25 * (1 - (u + v) / 2);
          o = cv::Vec3d(lift, lift, lift);
          break;
        }
        case kBright: {  // high key with a white glare along the top
          g = cv::Vec3d(0.9, 0.9, 0.9);
          const double glare = 45 + 150 * std::exp(-v * v / 0.03);
          o = cv::Vec3d(glare, glare, glare);
          break;
        }
        case kWarm: {  // golden tint and an orange sun glow in the top-right corner
          g = cv::Vec3d(0.86, 0.96, 1.04);
          const double glow = 0.85 * gauss2(u - 1, v, 0.18);
          o = cv::Vec3d(5 + 30 * glow, 10 + 150 * glow, 25 + 230 * glow);
          break;
        }
        case kCold: {  // blue tint and an icy glow in the top-left corner
          g = cv::Vec3d(1.04, 0.97, 0.86);
          const double glow = 0.85 * gauss2(u, v, 0.18);
          o = cv::Vec3d(25 + 230 * glow, 10 + 175 * glow, 0 + 80 * glow);
          break;
        }
        case kDramatic: {  // hard contrast, spotlight, dark edges
          const double spot = 0.4 + 0.8 * gauss2((u - 0.5) * 0.9, v - 0.35, 0.16);
          g = cv::Vec3d(1.5, 1.5, 1.5) * spot;
          o = cv::Vec3d(-70, -70, -70) * spot;
          break;
        }
        case kNeon: {  // dark, with magenta from the left and cyan from the right
          g = cv::Vec3d(0.6, 0.6, 0.6);
          const double left = std::exp(-u * u / 0.015),
                       right = std::exp(-(1 - u) * (1 - u) / 0.015);
          o = cv::Vec3d(10, -15, 5) + cv::Vec3d(210, 30, 255) * (0.6 * left) +
              cv::Vec3d(255, 225, 20) * (0.6 * right);
          break;
        }
        default:
          throw std::out_of_range("render: bad lighting");
      }
      const size_t i = (static_cast<size_t>(y) * n + x) * 3;
      for (int ch = 0; ch < 3; ++ch) {
        m.gain[i + ch] = static_cast<float>(g[ch]);
        m.offset[i + ch] = static_cast<float>(o[ch]);
      }
    }
  return m;
}

// Noise tile (2n x 2n, one value per pixel), shared by all channels: diffusion-like grain.
std::vector<float> make_noise_tile(int n) {
  Rng rng(0xC0FFEEULL + static_cast<uint64_t>(n));
  std::vector<float> t(static_cast<size_t>(4) * n * n);
  for (auto& v : t) {
    // Sum of four uniforms: close enough to Gaussian, sigma ~ 3.5 grey levels.
    double s = 0;
    for (int k = 0; k < 4; ++k) s += rng.uniform();
    v = static_cast<float>((s - 2.0) * 6.0);
  }
  return t;
}

template <typename T, typename Make>
const T& cached(std::map<std::pair<int, int>, T>& cache, int a, int b, Make make) {
  auto it = cache.find({a, b});
  if (it == cache.end()) it = cache.emplace(std::make_pair(a, b), make()).first;
  return it->second;
}

// Palette grade: each pixel moves towards the palette colour shaded by the pixel's own luminance,
// so layout and texture survive while the palette becomes the dominant hue. Then the light map and
// the sampling noise. One pass over the pixels.
void apply_light(cv::Mat& img, int lighting, const cv::Scalar* palette, const SceneContext& scene,
                 uint64_t seed) {
  const int n = img.cols;
  // thread_local: no locking, and renders on several threads stay independent.
  thread_local std::map<std::pair<int, int>, LightMap> light_cache;
  thread_local std::map<std::pair<int, int>, std::vector<float>> noise_cache;
  const LightMap& m = cached(light_cache, lighting, n, [&] { return make_light_map(lighting, n); });
  const std::vector<float>& noise = cached(noise_cache, 0, n, [&] { return make_noise_tile(n); });
  float pb = 0.f, pg = 0.f, pr = 0.f, brightest = 1.f;
  if (palette) {
    pb = static_cast<float>((*palette)[0]), pg = static_cast<float>((*palette)[1]);
    pr = static_cast<float>((*palette)[2]), brightest = std::max({pb, pg, pr, 1.f});
  }
  const float max_shade = 255.f / brightest;  // scale the palette colour, never clip a channel
  const int split_row = cvRound(scene.split * n);
  // A dark palette has no hue to show, only darkness: it takes over more of the scene.
  const float min_grade = brightest < 80.f ? 0.75f : 0.f;
  Rng rng = layer_rng(seed, 4);
  const int ox = rng.uniform_int(n), oy = rng.uniform_int(n);
  for (int y = 0; y < n; ++y) {
    uchar* row = img.ptr<uchar>(y);
    const float* g = &m.gain[static_cast<size_t>(y) * n * 3];
    const float* o = &m.offset[static_cast<size_t>(y) * n * 3];
    const float* nz = &noise[static_cast<size_t>(y + oy) * 2 * n + ox];
    const float grade =
        palette ? std::max(min_grade, y < split_row ? scene.upper : scene.lower) : 0.f;
    const float keep = 1.f - grade;
    for (int x = 0; x < n; ++x) {
      uchar* px = row + 3 * x;
      const float luma = (0.114f * px[0] + 0.587f * px[1] + 0.299f * px[2]) * (1.f / 255.f);
      const float shade = grade * std::min(max_shade, 0.3f + 1.4f * luma);
      const float c[3] = {keep * px[0] + pb * shade, keep * px[1] + pg * shade,
                          keep * px[2] + pr * shade};
      for (int ch = 0; ch < 3; ++ch)
        px[ch] = cv::saturate_cast<uchar>(c[ch] * g[3 * x + ch] + o[3 * x + ch] + nz[x]);
    }
  }
}

// Overlays and props are drawn after the light; they are dimmed a little where the light is low.
double light_level(int lighting) {
  switch (lighting) {
    case kDramatic:
      return 0.85;
    case kNeon:
      return 0.8;
    default:
      return 1.0;
  }
}

// ---- style overlays: whole canvas or frame ----

void style_luxury(Canvas& c, Rng&) {
  const int n = c.n(), t = std::max(2, cvRound(0.035 * n)), inset = std::max(1, cvRound(0.015 * n));
  // Gold frame with diagonal sheen bands, and diamonds in its corners.
  const cv::Scalar light = rgb(255, 235, 150), deep = rgb(175, 120, 35);
  cv::Mat& img = c.img();
  for (int y = 0; y < n; ++y) {
    auto* row = img.ptr<cv::Vec3b>(y);
    const bool band_y = (y >= inset && y < inset + t) || (y >= n - inset - t && y < n - inset);
    for (int x = 0; x < n; ++x) {
      const bool in_frame =
          y >= inset && y < n - inset && x >= inset && x < n - inset &&
          (band_y || (x >= inset && x < inset + t) || (x >= n - inset - t && x < n - inset));
      if (!in_frame) continue;
      const double k = 0.5 + 0.5 * std::sin((x + y) * 6.0 / n);  // sheen bands along the frame
      const cv::Scalar col = mix(deep, light, k);
      row[x] = cv::Vec3b(cv::saturate_cast<uchar>(col[0]), cv::saturate_cast<uchar>(col[1]),
                         cv::saturate_cast<uchar>(col[2]));
    }
  }
  const double d = (inset + t) / static_cast<double>(n), r = 0.045;
  for (double u : {d + r, 1 - d - r})
    for (double v : {d + r, 1 - d - r})
      c.poly({{u, v - r}, {u + r, v}, {u, v + r}, {u - r, v}}, mix(light, deep, 0.3));
}

void style_natural(Canvas& c, Rng& rng) {
  // Thin vines with small leaves climbing both sides.
  const cv::Scalar stem = rgb(95, 125, 45), leaf = rgb(125, 170, 60);
  for (double x : {0.045, 0.955}) {
    std::vector<cv::Point2d> p;
    const double phase = rng.uniform(0, 2 * kPi);
    for (int k = 0; k <= 16; ++k) p.emplace_back(x + 0.025 * std::sin(k * 1.1 + phase), k / 16.0);
    c.polyline(p, stem, 1);
    for (int k = 1; k < 16; k += 2) {
      const double side = (k / 2) % 2 ? 1 : -1;
      c.ellipse(p[k].x + side * 0.025, p[k].y, 0.028, 0.013, side * 30, leaf);
    }
  }
}

void style_dynamic(Canvas& c, Rng& rng) {
  // Diagonal speed lines, each with a dark trailing edge so it reads on light and dark scenes.
  const double slope = std::tan(-28 * kPi / 180), drop = 1.5 / c.n();
  translucent(c.img(), 0.8, [&](Canvas& l) {
    for (int i = 0; i < 10; ++i) {
      const double y = rng.uniform(-0.2, 1.6), x0 = rng.uniform(-0.3, 0.4),
                   len = rng.uniform(0.5, 1.2);
      const int width = i % 3 == 0 ? l.thick(0.03) : 1;
      l.line(x0, y + drop, x0 + len, y + drop + slope * len, rgb(70, 70, 80), 1);
      l.line(x0, y, x0 + len, y + slope * len, i % 4 == 0 ? rgb(255, 220, 60) : kWhite, width);
    }
  });
}

void style_festive(Canvas& c, Rng& rng) {
  const cv::Scalar flags[] = {rgb(230, 40, 50), rgb(255, 205, 30), rgb(40, 170, 80),
                              rgb(40, 110, 230), rgb(245, 110, 180)};
  const double sag = rng.uniform(0.05, 0.09), y0 = 0.02;
  auto string_y = [&](double x) { return y0 + sag * 4 * x * (1 - x); };
  std::vector<cv::Point2d> string;
  for (int i = 0; i <= 10; ++i) string.emplace_back(i / 10.0, string_y(i / 10.0));
  c.polyline(string, rgb(250, 250, 250), 1);
  const int count = 9, first = rng.uniform_int(5);
  for (int i = 0; i < count; ++i) {  // bunting flags hanging from the string
    const double xa = (i + 0.1) / count, xb = (i + 0.9) / count, xm = (xa + xb) / 2;
    c.poly({{xa, string_y(xa)}, {xb, string_y(xb)}, {xm, string_y(xm) + 0.13}},
           flags[(first + i) % 5]);
  }
  for (int side = 0; side < 2; ++side) {  // curly streamers down both sides
    const double x = side == 0 ? 0.05 : 0.95, phase = rng.uniform(0, 2 * kPi);
    std::vector<cv::Point2d> ribbon;
    for (int k = 0; k <= 14; ++k)
      ribbon.emplace_back(x + 0.03 * std::sin(k * 1.6 + phase), 0.15 + 0.05 * k);
    c.polyline(ribbon, flags[(first + 2 * side + 1) % 5], c.thick(0.025));
  }
  for (int i = 0; i < 4; ++i) {  // gold sparkles on the upper sides
    const double x = i % 2 ? rng.uniform(0.03, 0.12) : rng.uniform(0.88, 0.97),
                 y = rng.uniform(0.2, 0.6), r = 0.045;
    c.poly({{x - r, y}, {x, y - r * 0.3}, {x + r, y}, {x, y + r * 0.3}}, rgb(255, 215, 80));
    c.poly({{x, y - r}, {x + r * 0.3, y}, {x, y + r}, {x - r * 0.3, y}}, rgb(255, 215, 80));
  }
}

void style_cozy(Canvas& c, Rng& rng) {
  // Warm, rounded dark corners and a string of glowing fairy lights across the top.
  translucent(c.img(), 0.45, [&](Canvas& l) {
    for (double u : {0.0, 1.0})
      for (double v : {0.0, 1.0}) l.circle(u, v, 0.2, rgb(70, 35, 15));
  });
  const double sag = rng.uniform(0.08, 0.13), y0 = 0.03;
  auto wire_y = [&](double x) { return y0 + sag * 4 * x * (1 - x); };
  std::vector<cv::Point2d> wire;
  for (int i = 0; i <= 10; ++i) wire.emplace_back(i / 10.0, wire_y(i / 10.0));
  c.polyline(wire, rgb(60, 45, 30), 1);
  const double shift = rng.uniform(0, 0.12);
  translucent(c.img(), 0.55, [&](Canvas& l) {
    for (double x = 0.04 + shift; x < 1; x += 0.12)
      l.circle(x, wire_y(x) + 0.02, 0.045, rgb(255, 170, 60));
  });
  for (double x = 0.04 + shift; x < 1; x += 0.12)
    c.circle(x, wire_y(x) + 0.02, 0.02, rgb(255, 235, 150));
}

void style_tech(Canvas& c, Rng& rng) {
  const int n = c.n(), step = std::max(4, n / 8), ox = rng.uniform_int(step),
            oy = rng.uniform_int(step);
  const cv::Scalar cyan = rgb(0, 230, 255);
  translucent(c.img(), 0.4, [&](Canvas& l) {
    for (int x = ox; x < n; x += step) l.img().col(x).setTo(cyan);
    for (int y = oy; y < n; y += step) l.img().row(y).setTo(cyan);
  });
  // Corner brackets, as on a HUD.
  const double a = 0.04, b = 0.2;
  for (double u : {a, 1 - a})
    for (double v : {a, 1 - a}) {
      const double du = u < 0.5 ? b : -b, dv = v < 0.5 ? b : -b;
      c.line(u, v, u + du, v, cyan, c.thick(0.025));
      c.line(u, v, u, v + dv, cyan, c.thick(0.025));
    }
  for (int i = 0; i < 4; ++i)
    c.circle((ox + step * rng.uniform_int(8)) / static_cast<double>(n),
             (oy + step * rng.uniform_int(8)) / static_cast<double>(n), 0.02, cyan);
}

void draw_style(int style, Canvas& c, Rng& rng) {
  switch (style) {
    case kMinimal:
      return;  // nothing added: clean is the evidence
    case kLuxury:
      return style_luxury(c, rng);
    case kNatural:
      return style_natural(c, rng);
    case kDynamic:
      return style_dynamic(c, rng);
    case kFestive:
      return style_festive(c, rng);
    case kCozy:
      return style_cozy(c, rng);
    case kTech:
      return style_tech(c, rng);
  }
  throw std::out_of_range("render: bad style");
}

// ---- props: a few objects on the floor strip and the lower sides ----

// Stratified spots: bottom-left, bottom-middle, bottom-right, lower-left side, lower-right side, so
// every product shape leaves some of them visible.
cv::Point2d floor_spot(Rng& rng, int i) {
  switch (i % 5) {
    case 0:
      return {rng.uniform(0.02, 0.16), rng.uniform(0.86, 0.97)};
    case 1:
      return {rng.uniform(0.25, 0.75), rng.uniform(0.92, 0.98)};
    case 2:
      return {rng.uniform(0.84, 0.98), rng.uniform(0.86, 0.97)};
    case 3:
      return {rng.uniform(0.02, 0.09), rng.uniform(0.5, 0.85)};
    default:
      return {rng.uniform(0.91, 0.98), rng.uniform(0.5, 0.85)};
  }
}

void draw_props(int prop, Canvas& c, Rng& rng, double level) {
  auto lit = [level](const cv::Scalar& col) { return scaled(col, level); };
  switch (prop) {
    case kPetals: {
      const cv::Scalar cols[] = {rgb(250, 150, 180), rgb(240, 95, 140), rgb(255, 215, 228)};
      for (int i = 0; i < 10; ++i) {
        const cv::Point2d p = floor_spot(rng, i);
        const double angle = rng.uniform(0, 180);
        c.ellipse(p.x, p.y, 0.07, 0.035, angle, lit(cols[rng.uniform_int(3)]));
        c.ellipse(p.x, p.y, 0.07, 0.035, angle, lit(rgb(190, 45, 95)), 1);
      }
      return;
    }
    case kLeaves: {
      const cv::Scalar cols[] = {rgb(55, 160, 55), rgb(120, 195, 60), rgb(30, 120, 50)};
      for (int i = 0; i < 8; ++i) {
        const cv::Point2d p = floor_spot(rng, i);
        const double a = rng.uniform(0, 2 * kPi), len = 0.095, w = 0.04;
        const cv::Point2d d(std::cos(a), std::sin(a)), nrm(-d.y, d.x);
        const cv::Point2d tip1 = p + d * len, tip2 = p - d * len;
        c.poly({tip1, p + d * (len * 0.4) + nrm * w, p - d * (len * 0.4) + nrm * w, tip2,
                p - d * (len * 0.4) - nrm * w, p + d * (len * 0.4) - nrm * w},
               lit(cols[rng.uniform_int(3)]));
        c.line(tip1.x, tip1.y, tip2.x, tip2.y, lit(rgb(15, 70, 25)), 1);
      }
      return;
    }
    case kIce: {
      for (int i = 0; i < 7; ++i) {
        const cv::Point2d p = floor_spot(rng, i);
        const double a = rng.uniform(0, kPi / 2), r = 0.075;
        std::vector<cv::Point2d> cube;
        for (int k = 0; k < 4; ++k)
          cube.emplace_back(p.x + r * std::cos(a + k * kPi / 2),
                            p.y + r * std::sin(a + k * kPi / 2));
        c.poly(cube, lit(rgb(205, 240, 255)));
        c.polyline({cube[1], cube[2], cube[3], cube[0]}, lit(rgb(70, 150, 215)), 1);
        c.line(cube[0].x, cube[0].y, cube[1].x, cube[1].y, kWhite, 1);
        c.circle(p.x - r * 0.2, p.y - r * 0.2, r * 0.25, kWhite);
      }
      return;
    }
    case kGeometricShapes: {
      const cv::Scalar cols[] = {rgb(255, 200, 0), rgb(0, 175, 200), rgb(250, 80, 70),
                                 rgb(140, 70, 210)};
      for (int i = 0; i < 6; ++i) {
        const cv::Point2d p = floor_spot(rng, i);
        const double r = 0.088;
        const cv::Scalar col = lit(cols[(i + rng.uniform_int(2)) % 4]), edge = scaled(col, 0.5);
        switch ((i + rng.uniform_int(3)) % 3) {
          case 0: {
            const std::vector<cv::Point2d> tri{
                {p.x, p.y - r}, {p.x + r, p.y + r * 0.8}, {p.x - r, p.y + r * 0.8}};
            c.poly(tri, col);
            c.polyline({tri[0], tri[1], tri[2], tri[0]}, edge, 1);
            break;
          }
          case 1:
            c.circle(p.x, p.y, r * 0.85, col);
            c.circle(p.x, p.y, r * 0.85, edge, 1);
            break;
          default:
            c.rect(p.x - r * 0.75, p.y - r * 0.75, p.x + r * 0.75, p.y + r * 0.75, col);
        }
      }
      return;
    }
    case kBokeh: {
      // Out-of-focus lights all around the border.
      translucent(c.img(), 0.7, [&](Canvas& l) {
        for (int i = 0; i < 11; ++i) {
          double x, y;
          if (i % 2) {
            x = rng.uniform(0, 1);
            y = rng.uniform() < 0.5 ? rng.uniform(0.0, 0.08) : rng.uniform(0.92, 1.0);
          } else {
            x = rng.uniform() < 0.5 ? rng.uniform(0.0, 0.08) : rng.uniform(0.92, 1.0);
            y = rng.uniform(0, 1);
          }
          const cv::Scalar tints[] = {rgb(255, 248, 220), rgb(255, 195, 110), rgb(190, 225, 255)};
          l.circle(x, y, rng.uniform(0.07, 0.12), lit(tints[i % 3]));
        }
      });
      return;
    }
    case kConfetti: {
      const cv::Scalar cols[] = {rgb(240, 50, 60),  rgb(255, 210, 30),  rgb(40, 180, 90),
                                 rgb(50, 120, 240), rgb(250, 120, 200), rgb(255, 255, 255)};
      for (int i = 0; i < 40; ++i) {
        const cv::Point2d p = floor_spot(rng, i);
        const double a = rng.uniform(0, kPi), l = 0.035, w = 0.015;
        const cv::Point2d d(std::cos(a) * l, std::sin(a) * l),
            nrm(-std::sin(a) * w, std::cos(a) * w);
        c.poly({p + d + nrm, p + d - nrm, p - d - nrm, p - d + nrm}, lit(cols[rng.uniform_int(6)]));
      }
      return;
    }
    case kNoProps:
      return;
  }
  throw std::out_of_range("render: bad prop");
}

// ---- slots ----

struct Resolved {
  int scene, lighting, style, palette, prop;
};

int resolve_slot(int value, int count, int neutral, const char* what) {
  if (value == -1) return neutral;
  if (value < 0 || value >= count) throw std::out_of_range(std::string("render: bad ") + what);
  return value;
}

Resolved resolve(const Background& b) {
  return {resolve_slot(b.scene, kNumScenes, kStudio, "scene"),
          resolve_slot(b.lighting, kNumLightings, kSoft, "lighting"),
          resolve_slot(b.style, kNumStyles, kMinimal, "style"),
          resolve_slot(b.palette, kNumPalettes, -1, "palette"),
          resolve_slot(b.prop, kNumProps, kNoProps, "prop")};
}

cv::Mat ellipse_kernel(int r) {
  thread_local std::map<int, cv::Mat> cache;
  auto it = cache.find(r);
  if (it == cache.end())
    it = cache
             .emplace(r,
                      cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * r + 1, 2 * r + 1)))
             .first;
  return it->second;
}

}  // namespace

cv::Mat render_background(const Background& background, uint64_t seed, int size) {
  if (size < 8) throw std::invalid_argument("render_background: size must be >= 8");
  const Resolved s = resolve(background);
  Rng scene_rng = layer_rng(seed, 1), style_rng = layer_rng(seed, 2), prop_rng = layer_rng(seed, 3);
  cv::Scalar palette;
  if (s.palette >= 0) {
    // Saturation pushed up around the luminance so that near neighbours (white / beige, orange /
    // yellow) stay apart after lighting tints them.
    const Rgb c = palette_rgb(s.palette);
    const double luma = 0.299 * c.r + 0.587 * c.g + 0.114 * c.b, boost = 2.0;
    auto sat = [&](double v) { return std::clamp(luma + (v - luma) * boost, 0.0, 255.0); };
    Rng tone_rng = layer_rng(seed, 5);
    palette = scaled(rgb(sat(c.r), sat(c.g), sat(c.b)),
                     tone_rng.uniform(0.95, 1.04));  // sampling variation
  }

  cv::Mat img(size, size, CV_8UC3, cv::Scalar(0, 0, 0));  // zeroed: never render stale memory
  Canvas canvas(img);
  SceneContext ctx{canvas, scene_rng};
  draw_scene(s.scene, ctx);
  apply_light(img, s.lighting, s.palette >= 0 ? &palette : nullptr, ctx, seed);
  draw_style(s.style, canvas, style_rng);
  draw_props(s.prop, canvas, prop_rng, light_level(s.lighting));
  return img;
}

cv::Mat place_product(const cv::Mat& product_rgba, const RenderOptions& options) {
  if (product_rgba.empty() || product_rgba.type() != CV_8UC4)
    throw std::invalid_argument("render_ad: product image must be CV_8UC4");
  if (options.image_size < 8) throw std::invalid_argument("render_ad: image_size must be >= 8");
  if (!(options.product_scale > 0 && options.product_scale <= 1))
    throw std::invalid_argument("render_ad: product_scale must be in (0, 1]");
  const int n = options.image_size;
  cv::Mat canvas(n, n, CV_8UC4, cv::Scalar(0, 0, 0, 0));

  // Bounding boxes of the mask (alpha > 127) and of every visible pixel, in one pass.
  int cx0 = INT_MAX, cy0 = INT_MAX, cx1 = -1, cy1 = -1;
  int fx0 = INT_MAX, fy0 = INT_MAX, fx1 = -1, fy1 = -1;
  for (int y = 0; y < product_rgba.rows; ++y) {
    const auto* row = product_rgba.ptr<cv::Vec4b>(y);
    for (int x = 0; x < product_rgba.cols; ++x) {
      const uchar a = row[x][3];
      if (a == 0) continue;
      fx0 = std::min(fx0, x), fx1 = std::max(fx1, x), fy0 = std::min(fy0, y),
      fy1 = std::max(fy1, y);
      if (a > 127)
        cx0 = std::min(cx0, x), cx1 = std::max(cx1, x), cy0 = std::min(cy0, y),
        cy1 = std::max(cy1, y);
    }
  }
  if (cx1 < 0) return canvas;  // nothing opaque enough to count as product

  const cv::Rect full(fx0, fy0, fx1 - fx0 + 1, fy1 - fy0 + 1);
  const double scale = options.product_scale * n / std::max(cx1 - cx0 + 1, cy1 - cy0 + 1);
  const cv::Size target(std::max(1, cvRound(full.width * scale)),
                        std::max(1, cvRound(full.height * scale)));
  cv::Mat scaled_product;
  cv::resize(product_rgba(full), scaled_product, target, 0, 0,
             scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  const double sx = static_cast<double>(target.width) / full.width,
               sy = static_cast<double>(target.height) / full.height;
  // Centre the mask's box (not the fringe's) on the canvas.
  const double mid_x = ((cx0 + cx1 + 1) / 2.0 - fx0) * sx,
               mid_y = ((cy0 + cy1 + 1) / 2.0 - fy0) * sy;
  const cv::Point offset(cvRound(n / 2.0 - mid_x), cvRound(n / 2.0 - mid_y));
  const cv::Rect dst = cv::Rect(offset, target) & cv::Rect(0, 0, n, n);
  if (dst.empty()) return canvas;
  scaled_product(cv::Rect(dst.tl() - offset, dst.size())).copyTo(canvas(dst));
  return canvas;
}

RenderedAd render_ad(const cv::Mat& product_rgba, const Background& background, uint64_t seed,
                     const RenderOptions& options) {
  if (options.dilate_fraction < 0)
    throw std::invalid_argument("render_ad: dilate_fraction must be >= 0");
  const int n = options.image_size;
  const cv::Mat placed = place_product(product_rgba, options);
  cv::Mat alpha;
  cv::extractChannel(placed, alpha, 3);
  RenderedAd ad;
  cv::threshold(alpha, ad.mask, 127, 255, cv::THRESH_BINARY);
  const int r = std::max(1, cvRound(options.dilate_fraction * n));
  cv::Mat dilated, halo;
  cv::dilate(ad.mask, dilated, ellipse_kernel(r));
  cv::blur(dilated, halo, cv::Size(3, 3));  // soft outer edge of the contact shadow

  ad.image = render_background(background, seed, n);
  // Band between mask and dilated mask: background darkened into a soft contact shadow; then the
  // product is alpha-blended on top, so alpha == 255 pixels are exactly the product's.
  constexpr int kShadow = 80;  // out of 255: shadow strength inside the dilated band
  for (int y = 0; y < n; ++y) {
    uchar* out = ad.image.ptr<uchar>(y);
    const uchar* prod = placed.ptr<uchar>(y);
    const uchar* h = halo.ptr<uchar>(y);
    for (int x = 0; x < n; ++x) {
      const int a = prod[4 * x + 3], keep = 255 * 255 - kShadow * h[x];
      for (int ch = 0; ch < 3; ++ch) {
        const int bg = (out[3 * x + ch] * keep + 255 * 127) / (255 * 255);
        out[3 * x + ch] = static_cast<uchar>((bg * (255 - a) + prod[4 * x + ch] * a + 127) / 255);
      }
    }
  }
  return ad;
}

double visibility_contrast(const cv::Mat& ad_bgr, const cv::Mat& mask) {
  if (ad_bgr.type() != CV_8UC3 || mask.type() != CV_8UC1 || ad_bgr.size() != mask.size())
    throw std::invalid_argument(
        "visibility_contrast: need CV_8UC3 image and CV_8UC1 mask of one size");
  if (ad_bgr.empty() || cv::countNonZero(mask) == 0) return 0.0;
  const int w = std::max(1, cvRound(2.0 * std::max(ad_bgr.rows, ad_bgr.cols) / 64.0));
  const cv::Mat kernel = cv::getStructuringElement(cv::MORPH_RECT, cv::Size(2 * w + 1, 2 * w + 1));
  cv::Mat binary = mask > 0, eroded, dilated;
  cv::erode(binary, eroded, kernel, cv::Point(-1, -1), 1, cv::BORDER_CONSTANT, cv::Scalar(0));
  cv::dilate(binary, dilated, kernel);
  cv::Mat lab;
  ad_bgr.convertTo(lab, CV_32F, 1.0 / 255);
  cv::cvtColor(lab, lab, cv::COLOR_BGR2Lab);

  // Compare the rings sector by sector around the mask's centre, so that a product that stands out
  // on one side and blends in on another is measured locally, not as one averaged colour.
  const cv::Moments mo = cv::moments(binary, true);
  const double cx = mo.m10 / mo.m00, cy = mo.m01 / mo.m00;
  constexpr int kSectors = 16;
  std::array<cv::Vec3d, kSectors> in_sum{}, out_sum{};
  std::array<int, kSectors> in_n{}, out_n{};
  for (int y = 0; y < lab.rows; ++y) {
    const uchar* b = binary.ptr<uchar>(y);
    const uchar* e = eroded.ptr<uchar>(y);
    const uchar* d = dilated.ptr<uchar>(y);
    const auto* l = lab.ptr<cv::Vec3f>(y);
    for (int x = 0; x < lab.cols; ++x) {
      const bool inner = b[x] && !e[x], outer = d[x] && !b[x];
      if (!inner && !outer) continue;
      const double angle = std::atan2(y - cy, x - cx) + kPi;
      const int s = std::min(kSectors - 1, static_cast<int>(angle / (2 * kPi) * kSectors));
      if (inner)
        in_sum[s] += cv::Vec3d(l[x]), ++in_n[s];
      else
        out_sum[s] += cv::Vec3d(l[x]), ++out_n[s];
    }
  }
  double total = 0, weight = 0;
  for (int s = 0; s < kSectors; ++s) {
    if (in_n[s] == 0 || out_n[s] == 0) continue;
    const double wgt = std::min(in_n[s], out_n[s]);
    total += wgt * cv::norm(in_sum[s] / in_n[s] - out_sum[s] / out_n[s]);
    weight += wgt;
  }
  return weight > 0 ? total / weight : 0.0;
}

}  // namespace caig::world
