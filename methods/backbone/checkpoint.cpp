#include "methods/backbone/checkpoint.h"

#include <unistd.h>

#include <chrono>
#include <mutex>
#include <optional>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "harness/error.h"
#include "harness/files.h"
#include "harness/fused_adamw.h"

namespace caig::backbone {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormat = "caig-backbone-checkpoint";
constexpr int kVersion = 1;
constexpr const char* kRngKey = "torch_cpu_rng";

std::string to_hex(const torch::Tensor& bytes) {
  static const char* digits = "0123456789abcdef";
  auto b = bytes.contiguous();
  const auto* p = b.data_ptr<uint8_t>();
  std::string out;
  out.reserve(static_cast<size_t>(b.numel()) * 2);
  for (int64_t i = 0; i < b.numel(); ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 15]);
  }
  return out;
}

torch::Tensor from_hex(const std::string& hex, const fs::path& file) {
  if (hex.size() % 2 != 0) fail("{}: '{}' is not a hex string", file.string(), kRngKey);
  auto t = torch::empty({static_cast<int64_t>(hex.size() / 2)}, torch::kUInt8);
  auto* p = t.data_ptr<uint8_t>();
  auto nibble = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    fail("{}: '{}' is not a hex string", file.string(), kRngKey);
  };
  for (size_t i = 0; i < hex.size() / 2; ++i) {
    p[i] = static_cast<uint8_t>(nibble(hex[2 * i]) * 16 + nibble(hex[2 * i + 1]));
  }
  return t;
}

void require_file(const fs::path& dir, const char* name) {
  if (!fs::is_regular_file(dir / name)) {
    fail("checkpoint {}: missing {}", dir.string(), name);
  }
}

fs::path sibling(const fs::path& dir, const char* tag) {
  const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
  return dir.parent_path() /
         fmt::format(".{}.{}-{}-{}", dir.filename().string(), tag, ::getpid(), stamp);
}

}  // namespace

void save_checkpoint(
    const fs::path& dir_in, MultimodalLM& model, const Tokenizer& tokenizer,
    const nlohmann::json& extra, torch::optim::Optimizer* optimizer,
    const nlohmann::json& trainer_state,
    const std::vector<std::pair<std::string, torch::nn::Module*>>& training_modules) {
  // A trailing slash would leave filename() empty.
  const fs::path dir = dir_in.has_filename() ? dir_in : dir_in.parent_path();
  if (dir.empty()) fail("save_checkpoint: empty directory name");
  if (tokenizer.size() != model->vocab().size) {
    fail("checkpoint {}: tokenizer has {} tokens but the model's vocabulary is {}", dir.string(),
         tokenizer.size(), model->vocab().size);
  }
  if (!dir.parent_path().empty()) fs::create_directories(dir.parent_path());
  const fs::path tmp = sibling(dir, "tmp");
  try {
    fs::create_directories(tmp);
    nlohmann::json config = {{"format", kFormat},
                             {"version", kVersion},
                             {"backbone", model->options().to_json()},
                             {"extra", extra}};
    write_json_atomic(tmp / "config.json", config);
    write_json_atomic(tmp / "tokenizer.json", tokenizer.to_json());
    torch::save(model, (tmp / "model.pt").string());
    if (optimizer) {
      if (auto* adamw = dynamic_cast<torch::optim::AdamW*>(optimizer))
        save_adamw_state(*adamw, (tmp / "optimizer.pt").string());  // the same bytes every run
      else
        torch::save(*optimizer, (tmp / "optimizer.pt").string());
      nlohmann::json state = trainer_state.is_null() ? nlohmann::json::object() : trainer_state;
      if (!state.is_object())
        fail("checkpoint {}: trainer_state must be a JSON object", dir.string());
      auto gen = at::detail::getDefaultCPUGenerator();
      {
        std::lock_guard<std::mutex> lock(gen.mutex());
        state[kRngKey] = to_hex(gen.get_state());
      }
      write_json_atomic(tmp / "trainer_state.json", state);
    }
    for (const auto& [name, module] : training_modules) {
      if (name.empty() || name == "model" || name == "optimizer" ||
          name.find_first_of("/\\.") != std::string::npos)
        fail("checkpoint {}: bad training module name '{}'", dir.string(), name);
      torch::serialize::OutputArchive archive;
      module->save(archive);
      archive.save_to((tmp / (name + ".pt")).string());
    }
    // Swap in: the old checkpoint moves aside first, since rename() cannot replace a non-empty
    // directory; it is removed only once the new one is in place.
    fs::path old;
    if (fs::exists(dir)) {
      old = sibling(dir, "old");
      fs::rename(dir, old);
    }
    fs::rename(tmp, dir);
    if (!old.empty()) fs::remove_all(old);
  } catch (const caig::Error&) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  } catch (const std::exception& e) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    fail("checkpoint {}: could not be written: {}", dir.string(), e.what());
  }
}

Checkpoint load_checkpoint(const fs::path& dir, const torch::Device& device) {
  if (!fs::is_directory(dir)) fail("checkpoint {}: no such directory", dir.string());
  require_file(dir, "config.json");
  require_file(dir, "tokenizer.json");
  require_file(dir, "model.pt");
  const nlohmann::json config = read_json(dir / "config.json");
  if (!config.is_object() || config.value("format", "") != kFormat) {
    fail("checkpoint {}: config.json is not a backbone checkpoint config (format '{}')",
         dir.string(), kFormat);
  }
  if (config.value("version", 0) != kVersion) {
    fail("checkpoint {}: config.json has version {}, expected {}", dir.string(),
         config.value("version", 0), kVersion);
  }
  BackboneOptions options;
  std::optional<Tokenizer> tokenizer;
  try {
    if (!config.contains("backbone")) fail("no 'backbone' entry");
    options = BackboneOptions::from_json(config.at("backbone"));
  } catch (const caig::Error& e) {
    fail("checkpoint {}: config.json: {}", dir.string(), e.what());
  }
  try {
    tokenizer = Tokenizer::from_json(read_json(dir / "tokenizer.json"));
  } catch (const caig::Error& e) {
    fail("checkpoint {}: tokenizer.json: {}", dir.string(), e.what());
  }
  MultimodalLM model(options, tokenizer->vocab_info());
  try {
    torch::load(model, (dir / "model.pt").string(), torch::Device(torch::kCPU));
  } catch (const c10::Error& e) {
    fail("checkpoint {}: model.pt is corrupt or does not match config.json: {}", dir.string(),
         e.what_without_backtrace());
  }
  model->to(device);
  return Checkpoint{options, std::move(*tokenizer), model,
                    config.contains("extra") ? config.at("extra") : nlohmann::json()};
}

bool has_optimizer_state(const fs::path& dir) { return fs::is_regular_file(dir / "optimizer.pt"); }

void load_optimizer_state(const fs::path& dir, torch::optim::Optimizer& optimizer) {
  require_file(dir, "optimizer.pt");
  try {
    if (auto* adamw = dynamic_cast<torch::optim::AdamW*>(&optimizer))
      load_adamw_state(*adamw, (dir / "optimizer.pt").string());
    else
      torch::load(optimizer, (dir / "optimizer.pt").string());
  } catch (const c10::Error& e) {
    fail("checkpoint {}: optimizer.pt is corrupt or does not match the optimizer: {}", dir.string(),
         e.what_without_backtrace());
  }
}

void load_training_module(const fs::path& dir, const std::string& name, torch::nn::Module& module) {
  const std::string file = name + ".pt";
  require_file(dir, file.c_str());
  // Module::load replaces tensors whatever their shape, so the shapes are checked here.
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes;
  for (const auto& p : module.named_parameters())
    shapes.emplace_back(p.key(), p.value().sizes().vec());
  try {
    torch::serialize::InputArchive archive;
    archive.load_from((dir / file).string());
    module.load(archive);
    for (const auto& [key, shape] : shapes) {
      const auto now = module.named_parameters()[key].sizes().vec();
      if (now != shape)
        fail("checkpoint {}: {} holds {} of shape {}, the module needs {}", dir.string(), file, key,
             c10::str(c10::IntArrayRef(now)), c10::str(c10::IntArrayRef(shape)));
    }
  } catch (const c10::Error& e) {
    fail("checkpoint {}: {} is corrupt or does not match the module: {}", dir.string(), file,
         e.what_without_backtrace());
  }
}

nlohmann::json load_trainer_state(const fs::path& dir, bool restore_rng) {
  require_file(dir, "trainer_state.json");
  const fs::path file = dir / "trainer_state.json";
  nlohmann::json state = read_json(file);
  if (!state.is_object())
    fail("checkpoint {}: trainer_state.json is not a JSON object", dir.string());
  if (state.contains(kRngKey)) {
    if (restore_rng) {
      if (!state[kRngKey].is_string()) fail("{}: '{}' must be a string", file.string(), kRngKey);
      auto bytes = from_hex(state[kRngKey].get<std::string>(), file);
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      try {
        gen.set_state(bytes);
      } catch (const c10::Error& e) {
        fail("{}: bad RNG state: {}", file.string(), e.what_without_backtrace());
      }
    }
    state.erase(kRngKey);
  }
  return state;
}

}  // namespace caig::backbone
