// Dataset plugins: where a reward-model or prompt-model experiment gets its creatives and pairs.
#pragma once

#include "datasets/io/records.h"

namespace caig {

class DatasetSource {
 public:
  virtual ~DatasetSource() = default;
  virtual data::Dataset load() = 0;
};

}  // namespace caig
