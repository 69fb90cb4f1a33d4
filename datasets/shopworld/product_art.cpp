// Procedural product cut-outs. Each shape family is drawn at 2x resolution in straight colour over
// a backdrop of the product colour (so anti-aliased part edges never blend with black), then
// premultiplied by alpha, downsampled with INTER_AREA and un-premultiplied: the alpha edge is
// anti-aliased and free of dark fringes.
#include "datasets/shopworld/product_art.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "harness/seeds.h"

namespace caig::world {
namespace {

constexpr int kSuper = 2;  // supersampling factor
constexpr int kShift = 4;  // fixed-point bits for sub-pixel polygon vertices
constexpr double kPi = 3.14159265358979323846;

using caig::Rng;  // harness/seeds.h: one generator for the whole project

using Poly = std::vector<cv::Point2d>;

cv::Scalar to_bgr(const Rgb& c) { return cv::Scalar(c.b, c.g, c.r); }
cv::Scalar mix(const cv::Scalar& a, const cv::Scalar& b, double t) { return a * (1.0 - t) + b * t; }
cv::Scalar scaled(const cv::Scalar& a, double k) {
  return cv::Scalar(std::min(255.0, a[0] * k), std::min(255.0, a[1] * k),
                    std::min(255.0, a[2] * k));
}
double luma(const cv::Scalar& c) { return 0.114 * c[0] + 0.587 * c[1] + 0.299 * c[2]; }

const cv::Scalar kWhite(245, 245, 245);
const cv::Scalar kInk(45, 42, 40);
const cv::Scalar kGold(60, 175, 215);
const cv::Scalar kSilver(200, 195, 190);

// ---- geometry in unit coordinates (x right, y down, [0, 1]) ----

Poly rect(double x0, double y0, double x1, double y1) {
  return {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}};
}

// Elliptic arc from a0 to a1 degrees (0 = +x, 90 = +y, i.e. downwards).
Poly arc(double cx, double cy, double rx, double ry, double a0, double a1, int segments = 24) {
  Poly p;
  for (int i = 0; i <= segments; ++i) {
    const double a = (a0 + (a1 - a0) * i / segments) * kPi / 180.0;
    p.emplace_back(cx + rx * std::cos(a), cy + ry * std::sin(a));
  }
  return p;
}

Poly ellipse(double cx, double cy, double rx, double ry) { return arc(cx, cy, rx, ry, 0, 360, 40); }

Poly rounded_rect(double x0, double y0, double x1, double y1, double r) {
  r = std::min({r, (x1 - x0) / 2, (y1 - y0) / 2});
  Poly p;
  auto add = [&p](const Poly& q) { p.insert(p.end(), q.begin(), q.end()); };
  add(arc(x1 - r, y0 + r, r, r, -90, 0, 6));
  add(arc(x1 - r, y1 - r, r, r, 0, 90, 6));
  add(arc(x0 + r, y1 - r, r, r, 90, 180, 6));
  add(arc(x0 + r, y0 + r, r, r, 180, 270, 6));
  return p;
}

Poly quad_bezier(cv::Point2d a, cv::Point2d c, cv::Point2d b, int segments = 10) {
  Poly p;
  for (int i = 0; i <= segments; ++i) {
    const double t = static_cast<double>(i) / segments;
    p.push_back(a * ((1 - t) * (1 - t)) + c * (2 * t * (1 - t)) + b * (t * t));
  }
  return p;
}

// Closed Catmull-Rom curve through the control points: organic outlines (shoes, bags).
Poly smooth_closed(const Poly& ctrl, int per_segment = 8) {
  Poly p;
  const int m = static_cast<int>(ctrl.size());
  for (int i = 0; i < m; ++i) {
    const cv::Point2d p0 = ctrl[(i + m - 1) % m], p1 = ctrl[i], p2 = ctrl[(i + 1) % m],
                      p3 = ctrl[(i + 2) % m];
    for (int k = 0; k < per_segment; ++k) {
      const double t = static_cast<double>(k) / per_segment, t2 = t * t, t3 = t2 * t;
      p.push_back(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2 +
                         (-p0 + 3 * p1 - 3 * p2 + p3) * t3));
    }
  }
  return p;
}

// Mirrors a right-half outline (listed top to bottom) into a closed symmetric outline about x=0.5.
Poly mirror_outline(const Poly& right_half) {
  Poly p = right_half;
  for (auto it = right_half.rbegin(); it != right_half.rend(); ++it)
    p.emplace_back(1.0 - it->x, it->y);
  return p;
}

void append(Poly& p, const Poly& q) { p.insert(p.end(), q.begin(), q.end()); }

// ---- the drawing surface ----

class Painter {
 public:
  Painter(int n, const cv::Scalar& backdrop)
      : n_(n), colour_(n, n, CV_8UC3, backdrop), alpha_(n, n, CV_8UC1, cv::Scalar(0)) {}

  // A part of the silhouette: sets colour and alpha.
  void body(const Poly& p, const cv::Scalar& c) {
    fill(colour_, p, c);
    fill(alpha_, p, cv::Scalar(255));
  }
  void body_stroke(const Poly& p, const cv::Scalar& c, double width) {
    stroke_on(colour_, p, c, width);
    stroke_on(alpha_, p, cv::Scalar(255), width);
  }
  // Surface detail: colour only; whatever falls outside the silhouette is dropped by finish().
  void paint(const Poly& p, const cv::Scalar& c, double opacity = 1.0) {
    if (opacity >= 1.0) return fill(colour_, p, c);
    blend(c, opacity, [&](cv::Mat& m) { fill(m, p, cv::Scalar(255)); });
  }
  void stroke(const Poly& p, const cv::Scalar& c, double width, double opacity = 1.0) {
    if (opacity >= 1.0) return stroke_on(colour_, p, c, width);
    blend(c, opacity, [&](cv::Mat& m) { stroke_on(m, p, cv::Scalar(255), width); });
  }
  void dashed(const Poly& p, const cv::Scalar& c, double width, double dash) {
    for (size_t i = 0; i + 1 < p.size(); ++i) {
      const cv::Point2d a = p[i], b = p[i + 1];
      const double len = std::hypot(b.x - a.x, b.y - a.y);
      for (double s = 0; s < len; s += 2 * dash) {
        const double e = std::min(len, s + dash);
        stroke({a + (b - a) * (s / len), a + (b - a) * (e / len)}, c, width);
      }
    }
  }

  // Multiplies colour by f(u, v): shading that follows the family's form.
  template <typename F>
  void shade(F f) {
    for (int y = 0; y < n_; ++y) {
      auto* row = colour_.ptr<cv::Vec3b>(y);
      const double v = (y + 0.5) / n_;
      for (int x = 0; x < n_; ++x) {
        const double k = f((x + 0.5) / n_, v);
        for (int ch = 0; ch < 3; ++ch) row[x][ch] = cv::saturate_cast<uchar>(row[x][ch] * k);
      }
    }
  }
  // Adds f(x, y) (pixel coordinates) to every channel: material textures.
  template <typename F>
  void texture(F f) {
    for (int y = 0; y < n_; ++y) {
      auto* row = colour_.ptr<cv::Vec3b>(y);
      for (int x = 0; x < n_; ++x) {
        const double d = f(x, y);
        for (int ch = 0; ch < 3; ++ch) row[x][ch] = cv::saturate_cast<uchar>(row[x][ch] + d);
      }
    }
  }

  int n() const { return n_; }

  // Darkened rim so the silhouette reads on any background, then downsampling to `size`.
  cv::Mat finish(int size) {
    cv::Mat inner;
    cv::erode(alpha_, inner, cv::Mat(), cv::Point(-1, -1), kSuper);
    for (int y = 0; y < n_; ++y) {
      auto* c = colour_.ptr<cv::Vec3b>(y);
      const uchar* a = alpha_.ptr<uchar>(y);
      const uchar* in = inner.ptr<uchar>(y);
      for (int x = 0; x < n_; ++x) {
        const int rim = a[x] > in[x] ? a[x] - in[x] : 0;
        const double k = (1.0 - 0.28 * rim / 255.0) * a[x] / 255.0;  // rim darkening, premultiply
        for (int ch = 0; ch < 3; ++ch) c[x][ch] = cv::saturate_cast<uchar>(c[x][ch] * k);
      }
    }
    cv::Mat small_colour, small_alpha;
    cv::resize(colour_, small_colour, cv::Size(size, size), 0, 0, cv::INTER_AREA);
    cv::resize(alpha_, small_alpha, cv::Size(size, size), 0, 0, cv::INTER_AREA);
    cv::Mat out(size, size, CV_8UC4);
    for (int y = 0; y < size; ++y) {
      const auto* c = small_colour.ptr<cv::Vec3b>(y);
      const uchar* a = small_alpha.ptr<uchar>(y);
      auto* o = out.ptr<cv::Vec4b>(y);
      for (int x = 0; x < size; ++x) {
        for (int ch = 0; ch < 3; ++ch)
          o[x][ch] = a[x] == 0 ? 0 : cv::saturate_cast<uchar>(c[x][ch] * 255.0 / a[x]);
        o[x][3] = a[x];
      }
    }
    return out;
  }

 private:
  std::vector<cv::Point> px(const Poly& p) const {
    const double s = n_ * static_cast<double>(1 << kShift);
    std::vector<cv::Point> out;
    out.reserve(p.size());
    for (const auto& q : p) out.emplace_back(cvRound(q.x * s), cvRound(q.y * s));
    return out;
  }
  void fill(cv::Mat& img, const Poly& p, const cv::Scalar& c) const {
    const std::vector<std::vector<cv::Point>> polys{px(p)};
    cv::fillPoly(img, polys, c, cv::LINE_AA, kShift);
  }
  void stroke_on(cv::Mat& img, const Poly& p, const cv::Scalar& c, double width) const {
    const std::vector<std::vector<cv::Point>> polys{px(p)};
    cv::polylines(img, polys, false, c, std::max(1, cvRound(width * n_)), cv::LINE_AA, kShift);
  }
  template <typename Draw>
  void blend(const cv::Scalar& c, double opacity, Draw draw) {
    cv::Mat m(n_, n_, CV_8UC1, cv::Scalar(0));
    draw(m);
    for (int y = 0; y < n_; ++y) {
      auto* row = colour_.ptr<cv::Vec3b>(y);
      const uchar* mr = m.ptr<uchar>(y);
      for (int x = 0; x < n_; ++x) {
        if (mr[x] == 0) continue;
        const double t = opacity * mr[x] / 255.0;
        for (int ch = 0; ch < 3; ++ch)
          row[x][ch] = cv::saturate_cast<uchar>(row[x][ch] * (1 - t) + c[ch] * t);
      }
    }
  }

  int n_;
  cv::Mat colour_, alpha_;
};

// ---- materials ----

enum class Texture { None, Noise, Knit, Twill, Grain, Wood, Ripstop };
struct Finish {
  double gloss = 0.2;  // opacity of specular highlights
  Texture texture = Texture::None;
};

Finish finish_for(const std::string& material) {
  if (material == "glass") return {0.75, Texture::None};
  if (material == "metal") return {0.6, Texture::None};
  if (material == "aluminium") return {0.5, Texture::None};
  if (material == "ceramic") return {0.45, Texture::None};
  if (material == "plastic") return {0.3, Texture::None};
  if (material == "silk") return {0.35, Texture::None};
  if (material == "leather") return {0.2, Texture::Grain};
  if (material == "cotton") return {0.05, Texture::Noise};
  if (material == "wool") return {0.0, Texture::Knit};
  if (material == "denim") return {0.0, Texture::Twill};
  if (material == "nylon") return {0.15, Texture::Ripstop};
  if (material == "wood") return {0.1, Texture::Wood};
  if (material == "paper") return {0.05, Texture::Noise};
  return {0.05, Texture::None};  // rubber and anything new: matte
}

void apply_texture(Painter& pt, Texture texture, Rng& rng) {
  const int n = pt.n();
  const uint64_t salt = rng();
  // Hash noise instead of a stream so the texture does not depend on drawing order.
  auto hash_noise = [salt](int x, int y) {
    uint64_t h = salt ^ (static_cast<uint64_t>(x) * 0x9E3779B1ULL) ^
                 (static_cast<uint64_t>(y) * 0x85EBCA77C2B2AE63ULL);
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    return static_cast<double>(h & 0xFFFF) / 65535.0 - 0.5;
  };
  const double cell = std::max(2.0, n / 40.0);  // texture period, ~3 px at 64 output
  switch (texture) {
    case Texture::None:
      break;
    case Texture::Noise:
      pt.texture([&](int x, int y) { return 14 * hash_noise(x / 2, y / 2); });
      break;
    case Texture::Grain:
      pt.texture([&](int x, int y) { return 18 * hash_noise(x, y); });
      break;
    case Texture::Knit:
      // Rows of V stitches.
      pt.texture([&](int x, int y) {
        const double row = std::fmod(y + std::abs(std::fmod(x, 2 * cell) - cell), 2 * cell);
        return row < cell * 0.6 ? -16.0 : 6.0;
      });
      break;
    case Texture::Twill:
      pt.texture(
          [&](int x, int y) { return std::fmod(x + y, cell * 1.2) < cell * 0.4 ? -14.0 : 5.0; });
      break;
    case Texture::Ripstop:
      pt.texture([&](int x, int y) {
        return (std::fmod(x, 3 * cell) < 1 || std::fmod(y, 3 * cell) < 1) ? -10.0 : 0.0;
      });
      break;
    case Texture::Wood: {
      const double phase = rng.uniform(0, 6.28);
      pt.texture([&](int x, int y) {
        return 12 * std::sin(y * 0.35 + 2.0 * std::sin(x * 0.05 + phase)) + 6 * hash_noise(x, y);
      });
      break;
    }
  }
}

// ---- shape families ----

struct Colours {
  cv::Scalar base, light, dark, accent, label;
};

Colours colours_for(const cv::Scalar& base) {
  Colours c;
  c.base = base;
  c.light = mix(base, kWhite, 0.35);
  c.dark = scaled(base, 0.62);
  const bool light_product = luma(base) > 150;
  c.accent = light_product ? kInk : kWhite;
  c.label = light_product ? cv::Scalar(60, 70, 85) : cv::Scalar(225, 238, 242);
  return c;
}

// Cylinder shading across [x0, x1]: light from the front-left.
auto cylinder(double x0, double x1) {
  return [x0, x1](double u, double) {
    const double t = std::clamp((u - (x0 + x1) / 2) / ((x1 - x0) / 2) + 0.3, -1.0, 1.0);
    return 0.6 + 0.5 * std::sqrt(1 - t * t);
  };
}

void draw_bottle(Painter& pt, const Colours& c, const Finish& f, Rng& rng) {
  const double bw = rng.uniform(0.40, 0.50), nw = rng.uniform(0.13, 0.18), cw = nw + 0.04;
  const double cap_top = 0.02, cap_h = rng.uniform(0.10, 0.14);
  const double neck_bot = cap_top + cap_h + rng.uniform(0.07, 0.13);
  const double shoulder = neck_bot + rng.uniform(0.08, 0.14), bottom = 0.98;
  const double x1 = 0.5 + bw / 2;
  Poly right{{0.5 + nw / 2, cap_top + cap_h - 0.01}};
  append(right, quad_bezier({0.5 + nw / 2, neck_bot}, {x1, neck_bot}, {x1, shoulder}));
  append(right, arc(x1 - 0.05, bottom - 0.05, 0.05, 0.05, 0, 90, 6));
  pt.body(mirror_outline(right), c.base);

  const double ly0 = rng.uniform(0.5, 0.6), ly1 = ly0 + rng.uniform(0.2, 0.26);
  pt.paint(rect(0, ly0, 1, ly1), c.label);
  pt.stroke({{0.5 - bw * 0.28, ly0 + 0.07}, {0.5 + bw * 0.28, ly0 + 0.07}}, c.dark, 0.025);
  pt.stroke({{0.5 - bw * 0.2, ly0 + 0.12}, {0.5 + bw * 0.2, ly0 + 0.12}}, c.dark, 0.015);
  pt.paint(ellipse(0.5, ly1 - 0.05, 0.03, 0.03), c.base);
  const cv::Scalar caps[] = {kInk, kGold, kSilver, c.dark};
  pt.body(rounded_rect(0.5 - cw / 2, cap_top, 0.5 + cw / 2, cap_top + cap_h, 0.02),
          caps[rng.uniform_int(4)]);
  pt.stroke({{0.5 - cw / 2, cap_top + cap_h}, {0.5 + cw / 2, cap_top + cap_h}}, kInk, 0.012);
  pt.shade(cylinder(0.5 - bw / 2, x1));
  pt.paint(rect(0.5 - bw * 0.36, shoulder + 0.02, 0.5 - bw * 0.26, bottom - 0.07), kWhite,
           0.2 + f.gloss);
  pt.paint(rect(0.5 + bw * 0.28, shoulder + 0.05, 0.5 + bw * 0.32, bottom - 0.1), kWhite,
           f.gloss * 0.5);
}

void draw_box(Painter& pt, const Colours& c, const Finish& f, Rng& rng) {
  const double dx = rng.uniform(0.18, 0.26), dy = dx * 0.8;
  const double fx0 = 0.03, fx1 = 0.97 - dx, fy0 = 0.03 + dy, fy1 = 0.97;
  const Poly front = rect(fx0, fy0, fx1, fy1);
  const Poly top{{fx0, fy0}, {fx1, fy0}, {fx1 + dx, fy0 - dy}, {fx0 + dx, fy0 - dy}};
  const Poly side{{fx1, fy0}, {fx1 + dx, fy0 - dy}, {fx1 + dx, fy1 - dy}, {fx1, fy1}};
  pt.body(front, c.base);
  pt.body(top, c.light);
  pt.body(side, c.dark);
  // A band wrapping front and side, and an emblem.
  const double by = rng.uniform(0.55, 0.7), bh = 0.09;
  pt.paint(rect(fx0, by, fx1, by + bh), c.accent, 0.85);
  pt.paint({{fx1, by}, {fx1 + dx, by - dy}, {fx1 + dx, by - dy + bh}, {fx1, by + bh}},
           scaled(c.accent, 0.75), 0.85);
  const double ex = (fx0 + fx1) / 2, ey = (fy0 + by) / 2;
  pt.paint(ellipse(ex, ey, 0.09, 0.09), c.accent, 0.9);
  pt.paint(ellipse(ex, ey, 0.05, 0.05), c.base);
  for (const Poly& edge : {Poly{{fx1, fy0}, {fx1, fy1}}, Poly{{fx0, fy0}, {fx1, fy0}},
                           Poly{{fx1, fy0}, {fx1 + dx, fy0 - dy}}})
    pt.stroke(edge, kWhite, 0.01, 0.35 + f.gloss * 0.5);
  pt.shade([](double, double v) { return 1.08 - 0.18 * v; });
  pt.paint({{fx0 + 0.05, fy0 + 0.02}, {fx0 + 0.15, fy0 + 0.02}, {fx0 + 0.05, fy0 + 0.3}}, kWhite,
           f.gloss * 0.6);
}

void draw_device(Painter& pt, const Colours& c, const Finish& f, Rng& rng) {
  const double w = rng.uniform(0.5, 0.58), x0 = 0.5 - w / 2, x1 = 0.5 + w / 2;
  const double y0 = 0.02, y1 = 0.98, r = 0.08;
  pt.body(rect(x1 - 0.01, 0.22, x1 + 0.018, 0.32), c.dark);  // side button
  pt.body(rounded_rect(x0, y0, x1, y1, r), c.base);
  const double sx0 = x0 + 0.06, sx1 = x1 - 0.06, sy0 = y0 + 0.11, sy1 = y1 - 0.11;
  const cv::Scalar screen(42, 30, 24);
  pt.paint(rounded_rect(sx0, sy0, sx1, sy1, 0.03), screen);
  // Wallpaper wave in the product colour, then a grid of app icons.
  Poly wave{{sx0, sy1}};
  append(wave, quad_bezier({sx0, sy0 + 0.5 * (sy1 - sy0)}, {0.5, rng.uniform(0.3, 0.6)},
                           {sx1, sy0 + 0.35 * (sy1 - sy0)}));
  wave.emplace_back(sx1, sy1);
  pt.paint(wave, mix(c.base, screen, 0.35));
  const cv::Scalar icons[] = {{80, 200, 250}, {230, 160, 60}, {90, 200, 110}, {200, 110, 230}};
  const double cell = (sx1 - sx0) / 3;
  for (int row = 0; row < 3; ++row)
    for (int col = 0; col < 3; ++col) {
      if (rng.uniform() < 0.25) continue;
      const double ix = sx0 + cell * (col + 0.2), iy = sy0 + 0.03 + cell * (row + 0.2);
      pt.paint(rounded_rect(ix, iy, ix + cell * 0.6, iy + cell * 0.6, 0.015), icons[rng.uniform_int(4)],
               0.9);
    }
  pt.paint(ellipse(0.5, y0 + 0.055, 0.018, 0.018), kInk);
  pt.stroke({{0.5 - 0.06, y1 - 0.055}, {0.5 + 0.06, y1 - 0.055}}, c.dark, 0.015);
  pt.shade(
      [x0, w](double u, double v) { return 1.1 - 0.15 * v - 0.1 * std::abs((u - x0) / w - 0.4); });
  pt.paint({{sx0, sy0}, {sx0 + 0.3, sy0}, {sx0, sy0 + 0.45}}, kWhite, 0.1 + f.gloss * 0.3);
}

void draw_shoe(Painter& pt, const Colours& c, const Finish& f, Rng& rng) {
  const double heel = rng.uniform(0.26, 0.34), toe = rng.uniform(0.58, 0.66);
  const Poly upper = smooth_closed({{0.04, 0.82},
                                    {0.035, 0.5},
                                    {0.07, heel},
                                    {0.2, heel + 0.04},
                                    {0.33, heel + 0.1},
                                    {0.43, heel - 0.02},
                                    {0.52, heel + 0.05},
                                    {0.72, toe - 0.08},
                                    {0.9, toe},
                                    {0.975, 0.72},
                                    {0.96, 0.82}});
  pt.body(upper, c.base);
  pt.paint(smooth_closed(
               {{0.72, 0.9}, {0.78, toe - 0.04}, {0.92, toe + 0.01}, {0.99, 0.75}, {0.99, 0.9}}),
           c.light);                                                                      // toe cap
  pt.paint(smooth_closed({{0.0, 0.9}, {0.0, 0.45}, {0.14, 0.52}, {0.18, 0.9}}), c.dark);  // heel
  pt.paint(ellipse(0.21, heel + 0.06, 0.14, 0.045), kInk);                                // collar
  // Side stripe in a contrasting colour.
  Poly stripe = quad_bezier({0.22, 0.74}, {0.45, rng.uniform(0.5, 0.6)}, {0.78, 0.6});
  Poly lower = quad_bezier({0.78, 0.66}, {0.5, 0.7}, {0.3, 0.78});
  append(stripe, lower);
  pt.paint(stripe, c.accent, 0.9);
  for (int i = 0; i < 4; ++i) {  // laces across the throat
    const double t = 0.15 + 0.2 * i;
    const cv::Point2d p{0.45 + 0.25 * t, heel + 0.02 + (toe - heel - 0.1) * t};
    pt.stroke({{p.x - 0.035, p.y - 0.04}, {p.x + 0.035, p.y + 0.04}}, c.accent, 0.018);
  }
  const cv::Scalar sole = luma(c.base) > 170 ? cv::Scalar(70, 70, 75) : cv::Scalar(238, 240, 240);
  pt.body(smooth_closed({{0.03, 0.78},
                         {0.5, 0.8},
                         {0.965, 0.78},
                         {0.985, 0.86},
                         {0.93, 0.94},
                         {0.08, 0.94},
                         {0.02, 0.88}}),
          sole);
  pt.dashed({{0.08, 0.83}, {0.92, 0.84}}, scaled(sole, 0.7), 0.01, 0.025);
  pt.shade([](double, double v) { return 1.12 - 0.3 * v; });
  pt.stroke(quad_bezier({0.78, toe + 0.02}, {0.88, toe + 0.0}, {0.94, 0.7}), kWhite, 0.02, f.gloss);
}

void draw_garment(Painter& pt, const Colours& c, const Finish&, Rng& rng) {
  const double sl = rng.uniform(0.0, 0.04), hem = rng.uniform(0.95, 0.98);
  Poly right;
  append(right, arc(0.5, 0.05, 0.12, 0.1, 90, 0, 8));  // neckline, from centre to the right
  right.insert(right.end(),
               {{0.78, 0.08}, {0.98 - sl, 0.3}, {0.86 - sl, 0.42}, {0.76, 0.34}, {0.77, hem}});
  Poly outline = right;
  for (auto it = right.rbegin(); it != right.rend(); ++it) outline.emplace_back(1.0 - it->x, it->y);
  pt.body(outline, c.base);
  pt.stroke(arc(0.5, 0.05, 0.12, 0.1, 0, 180, 12), c.dark, 0.03);
  pt.stroke({{0.24, hem - 0.04}, {0.76, hem - 0.04}}, c.dark, 0.012);
  pt.stroke({{0.02 + sl, 0.3}, {0.14 + sl, 0.42}}, c.dark, 0.012);
  pt.stroke({{0.98 - sl, 0.3}, {0.86 - sl, 0.42}}, c.dark, 0.012);
  switch (rng.uniform_int(4)) {
    case 0:  // stripes
      for (double y = 0.45; y < hem - 0.08; y += 0.12)
        pt.paint(rect(0, y, 1, y + 0.05), c.accent, 0.8);
      break;
    case 1:  // chest emblem
      pt.paint(ellipse(0.5, 0.42, 0.1, 0.1), c.accent, 0.9);
      pt.paint(ellipse(0.5, 0.42, 0.05, 0.05), c.dark);
      break;
    case 2:  // pocket
      pt.paint(rect(0.58, 0.3, 0.7, 0.42), c.dark, 0.6);
      break;
    default:  // plain with a print line
      pt.stroke({{0.38, 0.48}, {0.62, 0.48}}, c.accent, 0.03, 0.9);
  }
  const double phase = rng.uniform(0, 6.28);
  pt.shade(
      [phase](double u, double v) { return 1.05 - 0.12 * v + 0.07 * std::sin(u * 14 + phase); });
}

void draw_round(Painter& pt, const Colours& c, const Finish& f, Rng& rng) {
  const double r = 0.48;
  pt.body(ellipse(0.5, 0.5, r, r), c.base);
  const double tilt = rng.uniform(-12, 12), band_ry = rng.uniform(0.1, 0.18);
  Poly band = arc(0.5, 0.5, r, band_ry, 0, 180, 24);
  for (auto& p : band)
    p = cv::Point2d(0.5 + (p.x - 0.5) * std::cos(tilt * kPi / 180),
                    p.y + (p.x - 0.5) * std::sin(tilt * kPi / 180));
  pt.stroke(band, c.accent, 0.05, 0.9);
  pt.stroke(arc(0.5, 0.5, band_ry * 1.4, r, -90, 90, 20), c.dark, 0.015);
  pt.shade([](double u, double v) {
    const double d2 = ((u - 0.36) * (u - 0.36) + (v - 0.34) * (v - 0.34)) / 0.45;
    return std::clamp(1.2 - 0.8 * d2, 0.45, 1.2);
  });
  pt.paint(ellipse(0.35, 0.3, 0.09, 0.07), kWhite, 0.15 + f.gloss * 0.6);
  pt.paint(ellipse(0.33, 0.28, 0.04, 0.03), kWhite, 0.2 + f.gloss * 0.6);
}

void draw_tall(Painter& pt, const Colours& c, const Finish& f, Rng& rng) {
  const double w = rng.uniform(0.3, 0.38), x0 = 0.5 - w / 2, x1 = 0.5 + w / 2;
  const double top = 0.1, bottom = 0.96, ry = w * 0.18;
  pt.body(rect(x0, top, x1, bottom), c.base);
  pt.body(ellipse(0.5, bottom, w / 2, ry), c.base);
  const double tip = rng.uniform(0.02, 0.04);
  if (rng.uniform() < 0.5) {  // angled tip
    pt.body({{x0 + 0.03, top}, {x1 - 0.03, top}, {x1 - 0.03, tip + 0.06}, {x0 + 0.03, tip + 0.12}},
            c.light);
  } else {  // dome
    pt.body(arc(0.5, top, w / 2 - 0.02, top - tip, 180, 360, 16), c.light);
  }
  pt.body(ellipse(0.5, top, w / 2, ry), c.light);
  const double b0 = rng.uniform(0.35, 0.5), b1 = b0 + rng.uniform(0.15, 0.3);
  for (double by : {b0, b1}) {
    pt.paint(rect(0, by, 1, by + 0.05), c.accent, 0.85);
    pt.stroke(arc(0.5, by + 0.05, w / 2, ry * 0.6, 0, 180, 12), c.accent, 0.012, 0.85);
  }
  pt.paint(rect(0, bottom - 0.1, 1, bottom + ry), c.dark, 0.7);
  pt.shade(cylinder(x0, x1));
  pt.paint(rect(x0 + w * 0.14, top + 0.06, x0 + w * 0.24, bottom - 0.06), kWhite,
           0.15 + f.gloss * 0.6);
}

void draw_flat(Painter& pt, const Colours& c, const Finish& f, Rng& rng) {
  const double inset = rng.uniform(0.06, 0.12), y_top = rng.uniform(0.26, 0.32), y_edge = 0.6,
               y_bot = y_edge + rng.uniform(0.12, 0.18);
  const Poly top{{0.02, y_edge}, {0.98, y_edge}, {0.98 - inset, y_top}, {0.02 + inset, y_top}};
  pt.body(top, c.light);
  pt.body(rect(0.02, y_edge, 0.98, y_bot), c.dark);
  if (rng.uniform() < 0.5) {  // segmented top (bar, keyboard)
    for (int i = 1; i < 4; ++i) {
      const double t = i / 4.0;
      pt.stroke({{0.02 + inset * 1 + (0.96 - 2 * inset) * t, y_top}, {0.02 + 0.96 * t, y_edge}},
                c.dark, 0.012);
    }
    pt.stroke({{0.02 + inset / 2, (y_top + y_edge) / 2}, {0.98 - inset / 2, (y_top + y_edge) / 2}},
              c.dark, 0.012);
  } else {  // inset panel with emblem
    const double m = 0.08;
    pt.paint({{0.02 + m * 1.5, y_edge - 0.04},
              {0.98 - m * 1.5, y_edge - 0.04},
              {0.98 - inset - m, y_top + 0.04},
              {0.02 + inset + m, y_top + 0.04}},
             c.base);
    pt.paint(ellipse(0.5, (y_top + y_edge) / 2, 0.06, 0.035), c.accent, 0.9);
  }
  pt.stroke({{0.02, y_edge}, {0.98, y_edge}}, kWhite, 0.012, 0.3 + f.gloss * 0.5);
  pt.stroke({{0.1, (y_edge + y_bot) / 2}, {0.9, (y_edge + y_bot) / 2}}, c.accent, 0.015, 0.5);
  pt.shade([](double u, double) { return 1.05 - 0.12 * std::abs(u - 0.4); });
  pt.paint({{0.2, y_edge - 0.02}, {0.3, y_edge - 0.02}, {0.45, y_top + 0.02}, {0.37, y_top + 0.02}},
           kWhite, f.gloss * 0.6);
}

void draw_bag(Painter& pt, const Colours& c, const Finish& f, Rng& rng) {
  const double top = rng.uniform(0.36, 0.42), tw = rng.uniform(0.28, 0.36);
  pt.body_stroke(arc(0.5, top + 0.02, tw * 0.75, top - 0.04, 180, 360, 24), c.dark, 0.06);
  const Poly bodyp = smooth_closed({{0.5 - tw, top},
                                    {0.5, top - 0.01},
                                    {0.5 + tw, top},
                                    {0.92, 0.8},
                                    {0.9, 0.96},
                                    {0.5, 0.97},
                                    {0.1, 0.96},
                                    {0.08, 0.8}},
                                   6);
  pt.body(bodyp, c.base);
  const double flap = rng.uniform(0.6, 0.7);
  pt.paint(smooth_closed({{0.5 - tw - 0.02, top - 0.01},
                          {0.5 + tw + 0.02, top - 0.01},
                          {0.5 + tw + 0.06, flap - 0.08},
                          {0.5, flap},
                          {0.5 - tw - 0.06, flap - 0.08}},
                         6),
           c.dark);
  pt.paint(rounded_rect(0.45, flap - 0.05, 0.55, flap + 0.03, 0.015), kGold);
  pt.dashed({{0.14, 0.9}, {0.86, 0.9}}, c.light, 0.01, 0.025);
  pt.shade([](double u, double v) { return 1.1 - 0.22 * v - 0.08 * std::abs(u - 0.45); });
  pt.paint({{0.2, 0.75}, {0.26, 0.72}, {0.3, 0.9}, {0.24, 0.92}}, kWhite, f.gloss * 0.6);
}

void draw_cup(Painter& pt, const Colours& c, const Finish& f, Rng& rng) {
  const double x0 = rng.uniform(0.04, 0.08), x1 = rng.uniform(0.68, 0.74), top = 0.17, bottom = 0.9;
  const double cx = (x0 + x1) / 2, rx = (x1 - x0) / 2, ry = 0.065;
  pt.body_stroke(arc(x1 - 0.02, 0.52, 0.2, 0.2, -75, 75, 20), c.base, 0.075);  // handle
  pt.body(rect(x0, top, x1, bottom), c.base);
  pt.body(ellipse(cx, bottom, rx, ry), c.base);
  const double by = rng.uniform(0.45, 0.6);
  pt.paint(rect(0, by, x1, by + 0.07), c.accent, 0.85);
  pt.paint(ellipse(cx, by + 0.18, 0.06, 0.06), c.accent, rng.uniform() < 0.5 ? 0.0 : 0.85);
  pt.shade([x0, x1](double u, double v) { return u > x1 ? 0.85 : cylinder(x0, x1)(u, v); });
  pt.body(ellipse(cx, top, rx, ry), c.light);
  pt.paint(ellipse(cx, top + 0.005, rx - 0.035, ry - 0.02), scaled(c.base, 0.45));
  pt.paint(rect(x0 + rx * 0.25, top + 0.08, x0 + rx * 0.4, bottom - 0.04), kWhite,
           0.1 + f.gloss * 0.6);
}

}  // namespace

cv::Mat draw_product(const Product& product, int size, uint64_t seed) {
  if (size < 4) throw std::invalid_argument("draw_product: size must be >= 4");
  const auto& cats = categories();
  if (product.category < 0 || product.category >= static_cast<int>(cats.size()))
    throw std::out_of_range("draw_product: bad category");
  const auto& materials = material_names();
  const std::string material =
      product.material >= 0 && product.material < static_cast<int>(materials.size())
          ? materials[product.material]
          : std::string();
  const Colours c = colours_for(to_bgr(colour_rgb(product.colour)));
  const Finish f = finish_for(material);
  Rng rng(seed * 0x2545F4914F6CDD1DULL + static_cast<uint64_t>(product.category) + 1);

  Painter pt(size * kSuper, c.base);
  switch (cats[product.category].shape) {
    case Shape::Bottle:
      draw_bottle(pt, c, f, rng);
      break;
    case Shape::Box:
      draw_box(pt, c, f, rng);
      break;
    case Shape::Device:
      draw_device(pt, c, f, rng);
      break;
    case Shape::Shoe:
      draw_shoe(pt, c, f, rng);
      break;
    case Shape::Garment:
      draw_garment(pt, c, f, rng);
      break;
    case Shape::Round:
      draw_round(pt, c, f, rng);
      break;
    case Shape::Tall:
      draw_tall(pt, c, f, rng);
      break;
    case Shape::Flat:
      draw_flat(pt, c, f, rng);
      break;
    case Shape::Bag:
      draw_bag(pt, c, f, rng);
      break;
    case Shape::Cup:
      draw_cup(pt, c, f, rng);
      break;
  }
  apply_texture(pt, f.texture, rng);
  return pt.finish(size);
}

}  // namespace caig::world
