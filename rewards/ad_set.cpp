#include "rewards/ad_set.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <torch/torch.h>

#include "harness/error.h"
#include "harness/files.h"
#include "harness/image_tensor.h"
#include "harness/progress.h"
#include "harness/seeds.h"
#include "harness/tensor_cache.h"

namespace caig::rewards {

const std::string& split_of(const data::CreativeRecord& c) {
  if (c.split.empty())
    fail(
        "creative '{}' (product '{}') has no split: an unsplit dataset needs one assigned "
        "first (data::assign_product_splits, as the reward_accuracy stage does)",
        c.creative_id, c.product_id);
  return c.split;
}

namespace {

// The images at `paths` read by `read` into [n, 3, size, size] uint8; decoding dominates, so a
// few threads write disjoint rows. An error names the creative (`ids`) and the file.
at::Tensor decode_images(const std::vector<std::filesystem::path>& paths,
                         const std::vector<std::string>& ids, int64_t size,
                         at::Tensor (*read)(const std::string&, int64_t), int threads) {
  const auto n = static_cast<int64_t>(paths.size());
  at::Tensor images = torch::empty({n, 3, size, size}, torch::kUInt8);
  std::atomic<int64_t> next{0};
  std::mutex mutex;
  std::string first_error;
  Progress progress("loading ad images", n);
  auto work = [&] {
    try {
      for (int64_t i; (i = next.fetch_add(1)) < n;) {
        try {
          images[i].copy_(read(paths[static_cast<size_t>(i)].string(), size));
        } catch (const std::exception& e) {
          fail("creative {}: {}", ids[static_cast<size_t>(i)], e.what());
        }
        std::lock_guard<std::mutex> lock(mutex);
        progress.tick();
      }
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(mutex);
      if (first_error.empty()) first_error = e.what();
      next = n;
    }
  };
  const int t =
      threads > 0 ? threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (int k = 1; k < t; ++k) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  progress.finish();
  if (!first_error.empty()) fail("{}", first_error);
  return images;
}

std::filesystem::path image_path(const data::Dataset& d, const data::CreativeRecord& c) {
  return std::filesystem::absolute(resolve_inside(d.root, c.image, "creative " + c.creative_id));
}

}  // namespace

at::Tensor letterboxed_dataset_images(const data::Dataset& d, int64_t image_size, int threads,
                                      const std::filesystem::path& cache_dir) {
  std::vector<std::filesystem::path> paths;
  std::vector<std::string> ids;
  for (const auto& c : d.creatives) {
    paths.push_back(image_path(d, c));
    ids.push_back(c.creative_id);
  }
  const std::string what = fmt::format("letterbox{}", image_size);
  return cached_uint8_tensor(cache_dir, what, files_key(paths, what),
                             [&] {
                               return decode_images(paths, ids, image_size, &read_image_letterboxed,
                                                    threads);
                             })
      .tensor;
}

AdSet make_ad_set(const data::Dataset& d, const std::vector<int64_t>& creatives, int64_t image_size,
                  int threads) {
  AdSet set;
  set.has_text = d.has_text;
  bool all_truth = true;
  std::vector<std::filesystem::path> paths;
  std::vector<std::string> ids;
  for (int64_t i : creatives) {
    const auto& c = d.creatives.at(static_cast<size_t>(i));
    AdInfo a;
    a.product_id = c.product_id;
    a.category = c.category;
    a.title = c.title;
    a.attributes = c.attributes.is_null() ? nlohmann::json::object() : c.attributes;
    a.image_path = image_path(d, c);
    paths.push_back(a.image_path);
    ids.push_back(c.creative_id);
    set.ads.push_back(std::move(a));
    all_truth = all_truth && c.true_ctr.has_value();
  }
  if (all_truth)
    for (int64_t i : creatives) {
      const auto& c = d.creatives[static_cast<size_t>(i)];
      set.true_ctr.push_back(*c.true_ctr);
      set.true_slots.push_back(c.slots.is_object() ? c.slots : nlohmann::json::object());
    }
  if (d.world.is_object()) {
    // A simulated dataset's ads are all rendered at its size: any other is a broken file.
    set.images = decode_images(paths, ids, image_size, &read_image_tensor, threads);
  } else {
    const at::Tensor all = letterboxed_dataset_images(d, image_size, threads, default_cache_dir());
    set.images = all.index_select(0, torch::tensor(creatives, torch::kInt64)).contiguous();
  }
  return set;
}

namespace {

std::unordered_map<std::string, int64_t> creative_index(const data::Dataset& d) {
  std::unordered_map<std::string, int64_t> index;
  for (size_t i = 0; i < d.creatives.size(); ++i)
    if (!index.emplace(d.creatives[i].creative_id, static_cast<int64_t>(i)).second)
      fail("creative id '{}' appears twice in the dataset", d.creatives[i].creative_id);
  return index;
}

int64_t find_creative(const std::unordered_map<std::string, int64_t>& index, const std::string& id,
                      size_t pair) {
  auto it = index.find(id);
  if (it == index.end())
    fail("pair {} names creative '{}', which is not in the dataset", pair + 1, id);
  return it->second;
}

// Rows of `creatives` in the new set, by dataset index.
std::unordered_map<int64_t, int64_t> rows_of(const std::vector<int64_t>& creatives) {
  std::unordered_map<int64_t, int64_t> rows;
  for (size_t i = 0; i < creatives.size(); ++i) rows.emplace(creatives[i], static_cast<int64_t>(i));
  return rows;
}

}  // namespace

TrainingSet make_training_set(const data::Dataset& d, const std::string& split,
                              int64_t image_size) {
  const auto index = creative_index(d);
  std::vector<int64_t> creatives;
  std::unordered_map<std::string, size_t> product_slot;
  TrainingSet t;
  for (size_t i = 0; i < d.creatives.size(); ++i) {
    const auto& c = d.creatives[i];
    if (split_of(c) != split) continue;
    auto [it, inserted] = product_slot.emplace(c.product_id, t.products.size());
    if (inserted) t.products.emplace_back();
    t.products[it->second].push_back(static_cast<int64_t>(creatives.size()));
    creatives.push_back(static_cast<int64_t>(i));
    t.impressions.push_back(c.impressions);
    t.clicks.push_back(c.clicks);
  }
  if (creatives.empty()) fail("the dataset has no creatives in split '{}'", split);
  const auto rows = rows_of(creatives);
  for (size_t p = 0; p < d.pairs.size(); ++p) {
    const auto& pr = d.pairs[p];
    const int64_t l = find_creative(index, pr.left, p), r = find_creative(index, pr.right, p);
    const bool in_l = rows.count(l) > 0, in_r = rows.count(r) > 0;
    if (!in_l && !in_r) continue;
    if (in_l != in_r || d.creatives[static_cast<size_t>(l)].product_id !=
                            d.creatives[static_cast<size_t>(r)].product_id)
      fail("pair {} ({} vs {}) mixes products or splits", p + 1, pr.left, pr.right);
    t.pairs.push_back({rows.at(l), rows.at(r)});
    t.labels.push_back(pr.label);
  }
  t.ads = make_ad_set(d, creatives, image_size);
  return t;
}

EvalSet make_eval_set(const data::Dataset& d, const std::string& split, int64_t image_size) {
  const auto index = creative_index(d);
  EvalSet e;
  std::vector<int64_t> creatives;
  std::unordered_map<int64_t, int64_t> rows;
  auto row = [&](int64_t c) {
    auto [it, inserted] = rows.emplace(c, static_cast<int64_t>(creatives.size()));
    if (inserted) creatives.push_back(c);
    return it->second;
  };
  for (size_t p = 0; p < d.pairs.size(); ++p) {
    const auto& pr = d.pairs[p];
    const int64_t l = find_creative(index, pr.left, p), r = find_creative(index, pr.right, p);
    const auto& cl = d.creatives[static_cast<size_t>(l)];
    const auto& cr = d.creatives[static_cast<size_t>(r)];
    if (split_of(cl) != split && split_of(cr) != split) continue;
    if (cl.product_id != cr.product_id || split_of(cl) != split_of(cr))
      fail("pair {} ({} vs {}) mixes products or splits", p + 1, pr.left, pr.right);
    e.pairs.push_back({row(l), row(r)});
    e.labels.push_back(pr.label);
    int truth = -1;
    if (cl.true_ctr && cr.true_ctr)
      truth = *cl.true_ctr > *cr.true_ctr ? 0 : *cl.true_ctr < *cr.true_ctr ? 1 : 2;
    e.true_labels.push_back(truth);
    e.left_ids.push_back(pr.left);
    e.right_ids.push_back(pr.right);
    e.product_ids.push_back(pr.product_id);
    e.categories.push_back(cl.category);
  }
  if (e.pairs.empty()) fail("the dataset has no pairs in split '{}'", split);
  e.ads = make_ad_set(d, creatives, image_size);
  return e;
}

data::Dataset without_text(data::Dataset d) {
  for (auto& c : d.creatives) {
    c.title.clear();
    c.attributes = nlohmann::json::object();
    c.description.clear();
    // A simulated creative's slots are the world's truth, which reaches no model but through
    // AdSet::true_slots (the privileged reference); real data's are logged text.
    if (!c.true_ctr) c.slots = nlohmann::json::object();
  }
  d.has_text = false;
  return d;
}

at::Tensor float_images(const at::Tensor& images, const std::vector<int64_t>& index,
                        const std::string& device) {
  auto idx = torch::tensor(index, torch::kLong);
  return images.index_select(0, idx).to(torch::Device(device)).to(torch::kFloat).div_(255.0);
}

at::Tensor composite_images(const at::Tensor& images, const std::vector<PairIndex>& pairs,
                            const std::string& device) {
  std::vector<int64_t> l, r;
  for (const auto& p : pairs) {
    l.push_back(p.left);
    r.push_back(p.right);
  }
  return torch::cat({float_images(images, l, device), float_images(images, r, device)}, 3);
}

}  // namespace caig::rewards
