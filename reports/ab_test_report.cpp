// The ab_test stage's report (the paper's third result): per arm its CTR and its lift over the
// control with 95% intervals, overall and over the five common categories, beside the
// noise-free expected lift and the share of mismatched backgrounds; per category the observed
// lifts (table and figure with the intervals), and the minimal detectable lift at this traffic.
#include <algorithm>
#include <cmath>

#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "harness/error.h"
#include "harness/files.h"
#include "harness/markdown_html.h"
#include "harness/plugins.h"
#include "harness/report.h"
#include "reports/figure.h"
#include "reports/register.h"
#include "reports/table.h"

namespace caig::reports {

namespace {

std::string percent(const nlohmann::json& v) {
  return v.is_number() ? fmt::format("{:+.1f}", 100 * v.get<double>()) : "";
}

// "+3.2 [-1.0, +7.5]"; the reason where the lift is undefined.
std::string lift_cell(const nlohmann::json& scope) {
  if (!scope.contains("lift")) return "(control)";
  const auto& l = scope["lift"]["observed"];
  if (l.is_null()) return "undefined: " + scope["lift"].value("undefined", std::string("?"));
  if (scope.at("products").get<int64_t>() < 2)  // no spread over products to estimate
    return fmt::format("{:+.1f} (1 product)", 100 * l.at("estimate").get<double>());
  return fmt::format("{:+.1f} [{:+.1f}, {:+.1f}]", 100 * l.at("estimate").get<double>(),
                     100 * l.at("lo").get<double>(), 100 * l.at("hi").get<double>());
}

std::string mdl(const nlohmann::json& v) {
  return v.is_number() ? fmt::format("{:.1f}%", 100 * v.get<double>()) : "none (no clicks)";
}

std::string score_text(const nlohmann::json& v) {
  return v.is_number() ? fmt::format("{:.2f}", v.get<double>()) : "-";
}

// The gallery's ads, per product of the five common categories: one row per product, one column
// per arm, each tile captioned with its match, true CTR and the judge's score.
struct GalleryGrid {
  std::vector<std::string> arms;
  std::vector<std::string> products;  // in order of first appearance
  std::map<std::string, std::string> category;
  std::map<std::pair<std::string, std::string>, std::vector<nlohmann::json>> ads;  // (product, arm)
};

GalleryGrid gallery_grid(const nlohmann::json& g) {
  GalleryGrid grid;
  for (const auto& a : g.at("arms")) {
    const auto arm = a.at("arm").get<std::string>();
    grid.arms.push_back(arm);
    for (const auto& ad : a.at("ads")) {
      const auto pid = ad.at("product_id").get<std::string>();
      if (!grid.category.count(pid)) {
        grid.products.push_back(pid);
        grid.category[pid] = ad.at("category").get<std::string>();
      }
      grid.ads[{pid, arm}].push_back(ad);
    }
  }
  // Rows grouped by category (in order of first appearance), products in their stage order.
  std::vector<std::string> cats;
  for (const auto& p : grid.products)
    if (std::find(cats.begin(), cats.end(), grid.category[p]) == cats.end())
      cats.push_back(grid.category[p]);
  std::stable_sort(grid.products.begin(), grid.products.end(),
                   [&](const std::string& a, const std::string& b) {
                     return std::find(cats.begin(), cats.end(), grid.category[a]) <
                            std::find(cats.begin(), cats.end(), grid.category[b]);
                   });
  return grid;
}

// The PNG montage: tiles at twice their size, a header of arm names, a column of products.
void write_gallery_png(const GalleryGrid& grid, const std::filesystem::path& stage_dir,
                       const std::filesystem::path& out) {
  const int scale = 2, caption = 30, left = 150, header = 28, pad = 6;
  int tile = 0;
  size_t per_cell = 1;
  for (const auto& [key, list] : grid.ads) per_cell = std::max(per_cell, list.size());
  std::map<std::string, cv::Mat> images;
  for (const auto& [key, list] : grid.ads)
    for (const auto& ad : list) {
      const auto file = stage_dir / ad.at("image").get<std::string>();
      cv::Mat m = cv::imread(file.string(), cv::IMREAD_COLOR);
      if (m.empty()) fail("report ab_test: cannot read the gallery image {}", file.string());
      tile = std::max(tile, m.cols * scale);
      images[ad.at("image").get<std::string>()] = m;
    }
  if (tile == 0) return;
  const int cell_w = static_cast<int>(per_cell) * (tile + pad) + pad;
  const int row_h = tile + caption + pad;
  const int width = left + static_cast<int>(grid.arms.size()) * cell_w;
  const int height = header + static_cast<int>(grid.products.size()) * row_h;
  cv::Mat canvas(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  const auto font = cv::FONT_HERSHEY_SIMPLEX;
  const cv::Scalar ink(30, 30, 30), red(40, 40, 200);
  for (size_t a = 0; a < grid.arms.size(); ++a)
    cv::putText(canvas, grid.arms[a], {left + static_cast<int>(a) * cell_w + pad, header - 9}, font,
                0.45, ink, 1, cv::LINE_AA);
  for (size_t r = 0; r < grid.products.size(); ++r) {
    const auto& pid = grid.products[r];
    const int y = header + static_cast<int>(r) * row_h;
    cv::putText(canvas, grid.category.at(pid), {4, y + tile / 2}, font, 0.4, ink, 1, cv::LINE_AA);
    cv::putText(canvas, pid, {4, y + tile / 2 + 16}, font, 0.4, ink, 1, cv::LINE_AA);
    for (size_t a = 0; a < grid.arms.size(); ++a) {
      const auto it = grid.ads.find({pid, grid.arms[a]});
      if (it == grid.ads.end()) continue;
      for (size_t j = 0; j < it->second.size(); ++j) {
        const auto& ad = it->second[j];
        const int x =
            left + static_cast<int>(a) * cell_w + pad + static_cast<int>(j) * (tile + pad);
        cv::Mat big;
        cv::resize(images.at(ad.at("image").get<std::string>()), big, {tile, tile}, 0, 0,
                   cv::INTER_NEAREST);
        big.copyTo(canvas(cv::Rect(x, y, tile, tile)));
        const bool matched = ad.at("matched").get<bool>();
        if (!matched) cv::rectangle(canvas, cv::Rect(x, y, tile, tile), red, 2);
        cv::putText(canvas,
                    fmt::format("m {:.2f}{} ctr {:.2f}%", ad.at("match").get<double>(),
                                matched ? "" : "x", 100 * ad.at("true_ctr").get<double>()),
                    {x, y + tile + 12}, font, 0.33, matched ? ink : red, 1, cv::LINE_AA);
        cv::putText(canvas, "judge " + score_text(ad.at("judge_score")), {x, y + tile + 24}, font,
                    0.33, ink, 1, cv::LINE_AA);
      }
    }
  }
  std::filesystem::create_directories(out.parent_path());
  std::vector<uchar> png;
  if (!cv::imencode(".png", canvas, png)) fail("report ab_test: cannot encode {}", out.string());
  write_file_atomic(out, std::string(png.begin(), png.end()));
}

// The HTML grid (report.md carries it as an HTML block; report.html shows it as a grid).
std::string gallery_html(const GalleryGrid& grid, const std::string& stage_prefix) {
  std::string out;
  for (const auto& pid : grid.products) {
    out +=
        fmt::format("**{} — product {}**\n\n<div class=\"gallery\">\n", grid.category.at(pid), pid);
    for (const auto& arm : grid.arms) {
      const auto it = grid.ads.find({pid, arm});
      if (it == grid.ads.end()) continue;
      for (const auto& ad : it->second) {
        const bool matched = ad.at("matched").get<bool>();
        out += fmt::format(
            "<figure{}><img src=\"{}\" alt=\"{}\"><figcaption><b>{}</b> ad {}<br>{}<br>match "
            "{:.2f} ({}) · true CTR {:.2f}% · judge {}</figcaption></figure>\n",
            matched ? "" : " class=\"mismatch\"",
            html_escape(stage_prefix + ad.at("image").get<std::string>()),
            html_escape(ad.at("description").get<std::string>()), html_escape(arm),
            ad.at("ad").get<int64_t>(), html_escape(ad.at("description").get<std::string>()),
            ad.at("match").get<double>(), matched ? "matched" : "mismatched",
            100 * ad.at("true_ctr").get<double>(), score_text(ad.at("judge_score")));
      }
    }
    out += "</div>\n\n";
  }
  return out;
}

class AbTestReport : public Report {
 public:
  std::string stage() const override { return "ab_test"; }
  std::string render(const ReportContext& ctx) const override {
    if (!ctx.metrics.contains("ab_test"))
      fail("report ab_test: metrics.json has no 'ab_test' section (did the ab_test stage run?)");
    const auto& m = ctx.metrics["ab_test"];
    const auto& arms = m.at("arms");
    const auto& opt = m.at("options");
    const auto& power = m.at("power");
    std::string common;
    for (const auto& c : m.at("common_categories"))
      common += (common.empty() ? "" : ", ") + c.get<std::string>();

    Table t;
    t.title = "Simulated online A/B test: CTR lift over the control arm '" +
              m.at("control").get<std::string>() + "'";
    t.columns = {"arm",        "source",        "CTR %",         "lift % [95% CI]",
                 "expected %", "common lift %", "common exp. %", "mismatched"};
    for (const auto& a : arms) {
      const bool control = !a.contains("lift");
      t.rows.push_back({a.at("name").get<std::string>(), a.at("source").get<std::string>(),
                        fmt::format("{:.3f}", 100 * a.at("ctr").get<double>()), lift_cell(a),
                        control ? "" : percent(a["lift"]["expected"]), lift_cell(a.at("common")),
                        control ? "" : percent(a["common"]["lift"]["expected"]),
                        fmt::format("{:.3f}", a.at("mismatched_share").get<double>())});
    }
    t.note = fmt::format(
        "Simulated: clicks drawn from ShopWorld's true CTR (Binomial, common random numbers "
        "across arms). {} test products ({} split), {} ads each, {} days x {} impressions a "
        "day per arm, each product's share from its category's traffic. Intervals: {} over "
        "products (paired). expected: the noise-free lift from the true CTRs. Common: {}. "
        "Minimal detectable lift (two independent arms of this traffic, alpha 0.05, power 0.8): "
        "{} overall, {} common.",
        m.at("products").get<int64_t>(), opt.at("split").get<std::string>(),
        opt.at("ads_per_product").get<int64_t>(), opt.at("days").get<int64_t>(),
        opt.at("impressions_per_day").get<int64_t>(),
        opt.at("ci") == "delta" ? "delta method" : "percentile bootstrap", common,
        mdl(power.at("all")), mdl(power.at("common")));
    t.write(ctx.dir / "tables", "ab_test");

    // Per category: each non-control arm's observed lift.
    Table c;
    c.title = "A/B test lift % per category [95% CI]";
    c.columns = {"category", "products", "MDL"};
    std::vector<size_t> treated;
    for (size_t i = 0; i < arms.size(); ++i)
      if (arms[i].contains("lift")) {
        treated.push_back(i);
        c.columns.push_back(arms[i].at("name").get<std::string>());
      }
    const auto& categories = arms[0].at("by_category");
    std::string dat;
    for (size_t k = 0; k < categories.size(); ++k) {
      const auto name = categories[k].at("category").get<std::string>();
      std::vector<std::string> row = {
          name, fmt::format("{}", categories[k].at("products").get<int64_t>()),
          mdl(power.at("by_category").value(name, nlohmann::json()))};
      std::string line = fmt::format("\"{}\"", name);
      for (size_t i : treated) {
        const auto& s = arms[i].at("by_category")[k];
        row.push_back(lift_cell(s));
        const auto& l = s["lift"]["observed"];
        if (l.is_null())
          line += " 0 0 0";
        else
          line += fmt::format(" {:.3f} {:.3f} {:.3f}", 100 * l.at("estimate").get<double>(),
                              100 * l.at("lo").get<double>(), 100 * l.at("hi").get<double>());
      }
      c.rows.push_back(row);
      dat += line + "\n";
    }
    c.note =
        "Categories with test products only; an undefined lift (the control has no click) "
        "is drawn as 0 in the figure.";
    c.write(ctx.dir / "tables", "ab_test_categories");
    std::string out = "## Simulated online A/B test\n\n" + t.markdown() + "\n";
    if (!treated.empty()) {
      std::string plot =
          "set ylabel 'lift over the control (%)'\nset style data histograms\n"
          "set style histogram errorbars gap 1 lw 1\nset style fill solid 0.6 border -1\n"
          "set xtics rotate by -60 font ',8' noenhanced\nset key outside top center horizontal "
          "noenhanced\nset grid ytics\nplot ";
      for (size_t j = 0; j < treated.size(); ++j)
        plot += fmt::format("{}'ab_test_categories.dat' using {}:{}:{}{} title '{}'", j ? ", " : "",
                            2 + 3 * j, 3 + 3 * j, 4 + 3 * j, j ? "" : ":xtic(1)",
                            arms[treated[j]].at("name").get<std::string>());
      // Room for every category's bars side by side.
      const int width = std::max(1400, static_cast<int>(categories.size() * (treated.size() + 1)) * 7);
      render_figure(ctx.dir / "figures", {"ab_test_categories", dat, plot, width, 550});
      out += c.markdown() + "\n![lift per category](figures/ab_test_categories.png)\n";
    }
    if (m.contains("gallery")) {
      const auto grid = gallery_grid(m["gallery"]);
      if (!grid.products.empty()) {
        write_gallery_png(grid, ctx.dir / "stages" / stage(),
                          ctx.dir / "figures" / "ab_test_gallery.png");
        const auto& g = m["gallery"];
        out += fmt::format(
            "\n### Gallery\n\nEvery arm's ads for {} products of the five common categories "
            "(the paper's qualitative figure). Each tile: its description, the world's "
            "product-background match (a red frame: mismatched), its true CTR, and the judge's "
            "score{}.\n\n![gallery](figures/ab_test_gallery.png)\n\n",
            grid.products.size(),
            g.at("judge").get<std::string>().empty()
                ? " (no judge)"
                : fmt::format(" (judge `{}`, {}: {})", g.at("judge").get<std::string>(),
                              g.at("judge_variant").get<std::string>(),
                              g.at("score").get<std::string>()));
        out += gallery_html(grid, "stages/" + stage() + "/");
      }
    }
    return out;
  }
};

}  // namespace

void register_ab_test_report(Plugins& p) {
  p.reports.add("ab_test",
                "the simulated online A/B test: CTR and lift over the control per arm (overall, "
                "common categories, per category, with 95% CIs), expected lift, mismatched share, "
                "minimal detectable lift",
                nlohmann::json::object(), [](const nlohmann::json&, const PluginContext&) {
                  return std::make_unique<AbTestReport>();
                });
}

}  // namespace caig::reports
