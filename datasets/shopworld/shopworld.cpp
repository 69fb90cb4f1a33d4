#include "datasets/shopworld/shopworld.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include "datasets/io/pair_rule.h"
#include "datasets/shopworld/product_art.h"
#include "harness/error.h"
#include "harness/interrupt.h"
#include "harness/progress.h"

namespace caig::world {

namespace {

int sample_index(Rng& rng, const std::vector<double>& weights) {
  double total = 0;
  for (double w : weights) total += w;
  double u = rng.uniform() * total;
  for (size_t i = 0; i < weights.size(); ++i) {
    u -= weights[i];
    if (u < 0) return static_cast<int>(i);
  }
  return static_cast<int>(weights.size()) - 1;
}

std::vector<double> habit(Rng& rng, int n, double sd) {
  std::vector<double> w(static_cast<size_t>(n));
  for (double& x : w) x = std::exp(sd * rng.normal());
  return w;
}

Product draw_product_attributes(int64_t id, int category, Rng& rng) {
  const Category& c = categories()[static_cast<size_t>(category)];
  Product p;
  p.id = id;
  p.category = category;
  p.colour = rng.uniform_int(static_cast<int>(colour_names().size()));
  p.material =
      c.materials[static_cast<size_t>(rng.uniform_int(static_cast<int>(c.materials.size())))];
  if (c.group == "kids") {
    p.audience = 2;
  } else if (c.group == "beauty") {
    p.audience = sample_index(rng, {0.1, 0.7, 0.0, 0.2});
  } else {
    p.audience = sample_index(rng, {0.32, 0.38, 0.05, 0.25});
  }
  p.price_tier = sample_index(rng, {0.30, 0.45, 0.25});
  p.brand_tier = sample_index(rng, {0.50, 0.35, 0.15});
  p.rating = std::round(std::clamp(rng.normal(4.3, 0.35), 2.5, 5.0) * 10.0) / 10.0;
  return p;
}

nlohmann::json slots_json(const Background& b) {
  nlohmann::json j = nlohmann::json::object();
  for (Slot s : all_slots()) {
    const int v = b.get(s);
    j[std::string(slot_name(s))] =
        v >= 0 ? nlohmann::json(slot_phrases(s)[static_cast<size_t>(v)]) : nlohmann::json(nullptr);
  }
  return j;
}

}  // namespace

std::string product_key(int64_t product_id) { return fmt::format("p{}", product_id); }
std::string creative_key(int64_t product_id, int index) {
  return fmt::format("p{}-c{}", product_id, index);
}

ShopWorld::ShopWorld(WorldConfig config, uint64_t seed)
    : config_(std::move(config)), seed_(seed), click_model_(config_, seed) {
  config_.validate();
  const auto& cats = categories();
  const int ncat = static_cast<int>(cats.size());

  // Products: the first two rounds cover every category (so no split misses one); the rest follow
  // sqrt(traffic share), a flatter catalog than the traffic itself.
  std::vector<double> cat_weight;
  for (const auto& c : cats) cat_weight.push_back(std::sqrt(c.traffic_share));
  const uint64_t product_seed = derive_seed(seed, "products");
  for (int64_t i = 0; i < config_.products; ++i) {
    Rng rng(derive_seed(product_seed, static_cast<uint64_t>(i)));
    const int category = i < 2 * ncat ? static_cast<int>(i % ncat) : sample_index(rng, cat_weight);
    products_.push_back(draw_product_attributes(i, category, rng));
  }

  // Splits by product id; held-out categories go to test whole.
  const uint64_t split_seed = derive_seed(seed, "splits");
  for (const auto& p : products_) {
    const bool held_out =
        std::find(config_.held_out_categories.begin(), config_.held_out_categories.end(),
                  cats[static_cast<size_t>(p.category)].name) != config_.held_out_categories.end();
    const double u = Rng(derive_seed(split_seed, static_cast<uint64_t>(p.id))).uniform();
    std::string s = u < config_.train_fraction                          ? "train"
                    : u < config_.train_fraction + config_.val_fraction ? "val"
                                                                        : "test";
    splits_.push_back(held_out ? "test" : s);
  }

  Rng habit_rng(derive_seed(seed, "designer_habits"));
  for (int c = 0; c < ncat; ++c) {
    habits_.push_back({habit(habit_rng, kNumLightings, config_.designer_habit_sd),
                       habit(habit_rng, kNumPalettes, config_.designer_habit_sd),
                       habit(habit_rng, kNumProps, config_.designer_habit_sd)});
    Choices ch;
    for (int sc = 0; sc < kNumScenes; ++sc)
      for (int st = 0; st < kNumStyles; ++st) {
        Background b;
        b.scene = sc;
        b.style = st;
        const double m = click_model_.match(c, b);
        if (m >= config_.match_threshold) {
          ch.matching.push_back({sc, st});
          ch.matching_weight.push_back(m * m);  // designers favour the best fits
        } else {
          ch.mismatching.push_back({sc, st});
        }
      }
    if (ch.matching.empty() || ch.mismatching.empty())
      fail("category '{}' has no {} background at match_threshold {}",
           cats[static_cast<size_t>(c)].name, ch.matching.empty() ? "matching" : "non-matching",
           config_.match_threshold);
    choices_.push_back(std::move(ch));
  }
}

RenderOptions ShopWorld::render_options() const {
  RenderOptions o;
  o.image_size = config_.image_size;
  return o;
}

cv::Mat ShopWorld::product_image(const Product& p) const {
  return draw_product(p, config_.image_size,
                      derive_seed(derive_seed(seed_, "product_art"), static_cast<uint64_t>(p.id)));
}

double ShopWorld::match(const Product& p, const Background& b) const {
  return click_model_.match(p.category, b);
}

bool ShopWorld::judge(const Product& p, const ParsedDescription& d) const {
  return d.well_formed() && match(p, d.background) >= config_.match_threshold;
}

Ad ShopWorld::make_ad(const Product& p, const std::string& description,
                      uint64_t render_seed) const {
  return make_ad(p, description, render_seed, product_image(p));
}

Ad ShopWorld::make_ad(const Product& p, const std::string& description, uint64_t render_seed,
                      const cv::Mat& product_rgba) const {
  return score_ad(p, description, render_seed,
                  render_ad(product_rgba, parse_description(description).background, render_seed,
                            render_options()));
}

Ad ShopWorld::score_ad(const Product& p, const std::string& description, uint64_t render_seed,
                       RenderedAd rendered) const {
  Ad ad;
  ad.description = description;
  ad.parsed = parse_description(description);
  ad.render_seed = render_seed;
  ad.rendered = std::move(rendered);
  const double contrast = visibility_contrast(ad.rendered.image, ad.rendered.mask);
  // The noise key names the ad by what defines it, so the same ad gets the same noise anywhere.
  const uint64_t key =
      derive_seed(derive_seed(static_cast<uint64_t>(p.id), description), render_seed);
  ad.terms = click_model_.terms(p, ad.parsed.background, contrast, key);
  ad.matched = judge(p, ad.parsed);
  return ad;
}

Background ShopWorld::designer_background(const Product& p, Rng& rng) const {
  const auto c = static_cast<size_t>(p.category);
  const Choices& ch = choices_[c];
  std::array<int, 2> scene_style;
  if (rng.bernoulli(config_.rho)) {
    scene_style = ch.matching[static_cast<size_t>(sample_index(rng, ch.matching_weight))];
  } else {
    scene_style = ch.mismatching[static_cast<size_t>(
        rng.uniform_int(static_cast<int>(ch.mismatching.size())))];
  }
  Background b;
  b.scene = scene_style[0];
  b.style = scene_style[1];
  b.lighting = sample_index(rng, habits_[c].lighting);
  b.palette = sample_index(rng, habits_[c].palette);
  b.prop = sample_index(rng, habits_[c].prop);
  return b;
}

int64_t ShopWorld::sample_impressions(const Product& p, Rng& rng) const {
  const double share = categories()[static_cast<size_t>(p.category)].traffic_share *
                       static_cast<double>(categories().size());
  const double median = config_.impressions_median * std::pow(share, config_.traffic_exponent);
  const double n = std::exp(std::log(median) + config_.impressions_log_sd * rng.normal());
  return std::max<int64_t>(1, std::llround(n));
}

data::CreativeRecord ShopWorld::record_for(const Product& p, int index, const Ad& ad,
                                           int64_t impressions, int64_t clicks) const {
  data::CreativeRecord r;
  r.creative_id = creative_key(p.id, index);
  r.product_id = product_key(p.id);
  r.category = categories()[static_cast<size_t>(p.category)].name;
  if (config_.dataset == "commercial") {
    r.title = p.title();
    r.attributes = {{"colour", colour_names()[static_cast<size_t>(p.colour)]},
                    {"material", material_names()[static_cast<size_t>(p.material)]},
                    {"audience", audience_names()[static_cast<size_t>(p.audience)]},
                    {"price_tier", price_tier_names()[static_cast<size_t>(p.price_tier)]},
                    {"brand_tier", brand_tier_names()[static_cast<size_t>(p.brand_tier)]},
                    {"rating", p.rating}};
    r.description = ad.description;
    r.slots = slots_json(ad.parsed.background);
  }
  r.impressions = impressions;
  r.clicks = clicks;
  r.true_ctr = ad.terms.ctr();
  r.match = ad.terms.match;
  r.image = "images/" + r.creative_id + ".png";
  r.product_image = "products/" + r.product_id + ".png";
  r.split = split(p);
  r.render_seed = ad.render_seed;
  return r;
}

data::Dataset ShopWorld::generate_history(const HistoryOptions& options) const {
  const size_t n = products_.size();
  std::vector<std::vector<data::CreativeRecord>> per_product(n);
  const uint64_t history_seed = derive_seed(seed_, "history");
  const bool write = !options.image_root.empty();
  if (write) {
    std::filesystem::create_directories(options.image_root / "images");
    std::filesystem::create_directories(options.image_root / "products");
  }

  std::atomic<size_t> next{0};
  std::mutex progress_mutex;
  std::string first_error;
  Progress progress("world: logged history", static_cast<int64_t>(n));
  auto work = [&] {
    try {
      for (size_t i; (i = next.fetch_add(1)) < n;) {
        if (interrupt_requested()) break;  // SIGINT / SIGTERM: stop at a product boundary
        const Product& p = products_[i];
        // Separate streams per creative and per purpose, so that a change in one creative's
        // CTR (and so in the number of draws its clicks take) never shifts another's design.
        const uint64_t product_seed = derive_seed(history_seed, static_cast<uint64_t>(p.id));
        Rng count_rng(derive_seed(product_seed, "count"));
        const cv::Mat art = product_image(p);
        const int count = config_.creatives_min +
                          count_rng.uniform_int(config_.creatives_max - config_.creatives_min + 1);
        for (int k = 0; k < count; ++k) {
          const uint64_t creative_seed = derive_seed(product_seed, static_cast<uint64_t>(k));
          Rng design_rng(derive_seed(creative_seed, "design"));
          Rng traffic_rng(derive_seed(creative_seed, "traffic"));
          const Background b = designer_background(p, design_rng);
          const uint64_t render_seed = derive_seed(creative_seed, "render");
          const Ad ad = make_ad(p, describe(b), render_seed, art);
          const int64_t impressions = sample_impressions(p, traffic_rng);
          const int64_t clicks = sample_binomial(traffic_rng, impressions, ad.terms.ctr());
          per_product[i].push_back(record_for(p, k, ad, impressions, clicks));
          if (write && !cv::imwrite((options.image_root / per_product[i].back().image).string(),
                                    ad.rendered.image))
            fail("cannot write {}", (options.image_root / per_product[i].back().image).string());
        }
        if (write &&
            !cv::imwrite((options.image_root / per_product[i].front().product_image).string(), art))
          fail("cannot write product image for {}", product_key(p.id));
        std::lock_guard<std::mutex> lock(progress_mutex);
        progress.tick();
      }
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(progress_mutex);
      if (first_error.empty()) first_error = e.what();
      next = n;  // stop the other workers
    }
  };
  const int threads = options.threads > 0
                          ? options.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  progress.finish();
  if (!first_error.empty()) fail("world generation failed: {}", first_error);
  throw_if_interrupted("world generation");

  data::Dataset d;
  d.format = "shopworld";
  d.has_text = config_.dataset == "commercial";
  for (auto& v : per_product)
    for (auto& r : v) d.creatives.push_back(std::move(r));
  d.pairs = data::build_pairs(d.creatives, config_.pairs, derive_seed(seed_, "pair_sides"));
  d.world = to_json();
  return d;
}

nlohmann::json ShopWorld::to_json() const {
  nlohmann::json j;
  j["seed"] = seed_;
  j["config"] = config_.to_json();
  nlohmann::json cats = nlohmann::json::array();
  for (size_t c = 0; c < categories().size(); ++c) {
    const Category& cat = categories()[c];
    cats.push_back({{"name", cat.name},
                    {"group", cat.group},
                    {"shape", std::string(shape_name(cat.shape))},
                    {"base_ctr", cat.base_ctr},
                    {"traffic_share", cat.traffic_share},
                    {"scene_affinity", cat.scene_affinity},
                    {"style_compat", cat.style_compat},
                    {"designer_habits",
                     {{"lighting", habits_[c].lighting},
                      {"palette", habits_[c].palette},
                      {"prop", habits_[c].prop}}}});
  }
  j["categories"] = cats;
  std::vector<std::string> common;
  for (int c : common_categories()) common.push_back(categories()[static_cast<size_t>(c)].name);
  j["common_categories"] = common;
  j["click_model"] = click_model_.to_json();
  nlohmann::json vocab;
  for (Slot s : all_slots()) vocab[std::string(slot_name(s))] = slot_phrases(s);
  j["vocabulary"] = vocab;
  j["render"] = {{"image_size", config_.image_size},
                 {"product_scale", render_options().product_scale},
                 {"dilate_fraction", render_options().dilate_fraction}};
  return j;
}

}  // namespace caig::world
