// Metric plugins: named, configurable computations over evaluation inputs, returning JSON.
#pragma once

#include <nlohmann/json.hpp>

#include "datasets/io/records.h"

namespace caig {

struct MetricInput {
  const data::Dataset* dataset = nullptr;
};

class Metric {
 public:
  virtual ~Metric() = default;
  virtual nlohmann::json compute(const MetricInput& input) const = 0;
};

}  // namespace caig
