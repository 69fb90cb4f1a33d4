// E-commerce pretraining of the backbone on a ShopWorld dataset directory, as the `pretrain`
// stage runs it and `caig pretrain` does by hand.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "methods/pretraining/pretrainer.h"

namespace caig::stages {

// The experiment's [backbone] and [pretrain]; the synthetic ads' renderer from the registry.
pretraining::PretrainResult run_pretraining(const nlohmann::json& experiment,
                                            const std::filesystem::path& data,
                                            const std::string& device, uint64_t seed,
                                            const std::filesystem::path& checkpoint, bool resume);

}  // namespace caig::stages
