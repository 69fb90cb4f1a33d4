#include "rewards/reward_model.h"

#include "harness/error.h"

namespace caig {

std::vector<double> RewardModel::ctr(const AdSet&) {
  fail("this reward model has no point-wise CTR (has_ctr() is false)");
}

}  // namespace caig

namespace caig {

void RewardModel::save(const std::filesystem::path& dir) const {
  fail("this reward model cannot be saved (savable() is false); asked to save into {}",
       dir.string());
}

void RewardModel::load(const std::filesystem::path& dir, const std::string&) {
  fail("this reward model cannot be loaded (savable() is false); asked to load {}", dir.string());
}

}  // namespace caig
