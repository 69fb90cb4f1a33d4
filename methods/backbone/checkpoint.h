// Backbone checkpoints: one directory holding
//   config.json         {"format", "version", "backbone": BackboneOptions, "extra": caller's JSON}
//   tokenizer.json      Tokenizer::to_json()
//   model.pt            the module's parameters and buffers (torch::save), by name
//   optimizer.pt        optional: the optimizer's state (torch::save)
//   trainer_state.json  optional: caller's training state plus LibTorch's CPU RNG state
// written to a temporary sibling directory and renamed into place, so a reader sees the old
// checkpoint or the new one, never half of one.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "methods/backbone/multimodal_lm.h"
#include "methods/backbone/options.h"
#include "methods/backbone/tokenizer.h"

namespace torch::optim {
class Optimizer;
}

namespace caig::backbone {

struct Checkpoint {
  BackboneOptions options;
  Tokenizer tokenizer;
  MultimodalLM model;
  nlohmann::json extra;  // what the caller passed to save_checkpoint (null when nothing)
};

// Saves into `dir` (replacing an existing checkpoint there). With an optimizer, also writes
// optimizer.pt and trainer_state.json = trainer_state plus {"torch_cpu_rng": <hex>} so
// load_trainer_state can resume the global RNG stream (dropout, torch::rand) exactly.
// training_modules: modules only the trainer needs (an auxiliary head), each saved as
// <name>.pt beside the optimizer state and read back with load_training_module.
void save_checkpoint(
    const std::filesystem::path& dir, MultimodalLM& model, const Tokenizer& tokenizer,
    const nlohmann::json& extra = nullptr, torch::optim::Optimizer* optimizer = nullptr,
    const nlohmann::json& trainer_state = nlohmann::json::object(),
    const std::vector<std::pair<std::string, torch::nn::Module*>>& training_modules = {});

// Builds a fresh model from config.json and tokenizer.json and loads model.pt into it, on
// `device`. Errors name the directory and the missing or corrupt file.
Checkpoint load_checkpoint(const std::filesystem::path& dir,
                           const torch::Device& device = torch::Device(torch::kCPU));

bool has_optimizer_state(const std::filesystem::path& dir);

// Loads optimizer.pt into an optimizer built over the loaded model's parameters (same order).
void load_optimizer_state(const std::filesystem::path& dir, torch::optim::Optimizer& optimizer);

// Loads <name>.pt, written by save_checkpoint's training_modules, into `module`.
void load_training_module(const std::filesystem::path& dir, const std::string& name,
                          torch::nn::Module& module);

// trainer_state.json without the RNG entry; restores LibTorch's CPU RNG when restore_rng.
nlohmann::json load_trainer_state(const std::filesystem::path& dir, bool restore_rng = true);

}  // namespace caig::backbone
