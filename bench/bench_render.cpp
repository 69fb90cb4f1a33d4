// Renderer throughput: ads per second at the CPU preset's 64 px and at 128 px, product drawing,
// and the visibility measure used by the click model.
#include <benchmark/benchmark.h>

#include <vector>

#include <opencv2/core.hpp>

#include "bench/bench_main.h"
#include "datasets/shopworld/catalog.h"
#include "datasets/shopworld/product_art.h"
#include "datasets/shopworld/renderer.h"

namespace caig::world {
namespace {

Product bench_product(int i) {
  Product p;
  p.category = (i * 7) % static_cast<int>(categories().size());
  p.colour = i % static_cast<int>(colour_names().size());
  p.material = categories()[p.category].materials[0];
  p.id = i;
  return p;
}

// Products and backgrounds vary across iterations, as in dataset generation.
struct Inputs {
  std::vector<cv::Mat> products;
  std::vector<Background> backgrounds;
  explicit Inputs(int product_size) {
    for (int i = 0; i < 16; ++i)
      products.push_back(draw_product(bench_product(i), product_size, i));
    for (int i = 0; i < 64; ++i) {
      Background b;
      b.scene = (i * 5) % kNumScenes;
      b.lighting = (i * 7) % kNumLightings;
      b.style = (i * 3) % kNumStyles;
      b.palette = (i * 11) % kNumPalettes;
      b.prop = (i * 13) % kNumProps;
      backgrounds.push_back(b);
    }
  }
};

void render_ads(benchmark::State& state, int size) {
  const Inputs in(size);
  RenderOptions options;
  options.image_size = size;
  uint64_t i = 0;
  for (auto _ : state) {
    RenderedAd ad = render_ad(in.products[i % in.products.size()],
                              in.backgrounds[i % in.backgrounds.size()], i, options);
    benchmark::DoNotOptimize(ad.image.data);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());  // items_per_second = ads per second
}

void BM_RenderAd64(benchmark::State& state) { render_ads(state, 64); }
void BM_RenderAd128(benchmark::State& state) { render_ads(state, 128); }

void BM_DrawProduct64(benchmark::State& state) {
  int i = 0;
  for (auto _ : state) {
    cv::Mat img = draw_product(bench_product(i), 64, static_cast<uint64_t>(i));
    benchmark::DoNotOptimize(img.data);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_VisibilityContrast(benchmark::State& state) {
  const Inputs in(64);
  RenderOptions options;
  std::vector<RenderedAd> ads;
  for (int i = 0; i < 16; ++i)
    ads.push_back(render_ad(in.products[i], in.backgrounds[i], i, options));
  size_t i = 0;
  for (auto _ : state) {
    const RenderedAd& ad = ads[i++ % ads.size()];
    benchmark::DoNotOptimize(visibility_contrast(ad.image, ad.mask));
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_RenderAd64);
BENCHMARK(BM_RenderAd128);
BENCHMARK(BM_DrawProduct64);
BENCHMARK(BM_VisibilityContrast);

}  // namespace
}  // namespace caig::world

CAIG_BENCHMARK_MAIN()
