#include "rewards/reward_model.h"

#include "harness/error.h"

namespace caig {

std::vector<double> RewardModel::ctr(const AdSet&) {
  fail("this reward model has no point-wise CTR (has_ctr() is false)");
}

}  // namespace caig
