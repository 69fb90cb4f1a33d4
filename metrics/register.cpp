#include "metrics/register.h"

#include "harness/seeds.h"
#include "metrics/metric.h"
#include "metrics/world_calibration.h"

namespace caig::metrics {

namespace {

class WorldCalibrationMetric : public Metric {
 public:
  WorldCalibrationMetric(const nlohmann::json& config, uint64_t seed) : seed_(seed) {
    targets_.oracle_lo = config.at("oracle_lo").get<double>();
    targets_.oracle_hi = config.at("oracle_hi").get<double>();
    targets_.spread_lo = config.at("spread_lo").get<double>();
    targets_.spread_hi = config.at("spread_hi").get<double>();
    targets_.match_rate_sigmas = config.at("match_rate_sigmas").get<double>();
  }
  nlohmann::json compute(const MetricInput& in) const override {
    if (!in.dataset) fail("metric world_calibration needs a dataset");
    if (in.dataset->world.is_null()) fail("metric world_calibration needs a simulated (ShopWorld) dataset");
    return world_calibration(*in.dataset, in.dataset->world, seed_, targets_);
  }

 private:
  uint64_t seed_;
  CalibrationTargets targets_;
};

}  // namespace

void register_plugins(Plugins& p) {
  const CalibrationTargets t;
  p.metrics.add("world_calibration",
                "ShopWorld calibration: base CTRs, within-product CTR spread, oracle pairwise "
                "accuracy on observed labels, designers' match rate vs rho",
                {{"oracle_lo", t.oracle_lo},
                 {"oracle_hi", t.oracle_hi},
                 {"spread_lo", t.spread_lo},
                 {"spread_hi", t.spread_hi},
                 {"match_rate_sigmas", t.match_rate_sigmas}},
                [](const nlohmann::json& cfg, const PluginContext& ctx) {
                  return std::make_unique<WorldCalibrationMetric>(cfg, derive_seed(ctx.seed, "bootstrap"));
                });
}

}  // namespace caig::metrics
