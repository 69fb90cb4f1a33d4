// The stage contract of `caig run`. A stage declares what it reads (artifacts of earlier stages,
// by the producing stage's name), what it writes (artifacts in its own folder) and the config
// sections its results depend on; the runner (harness/runner.h) checks the order before anything
// runs, hashes those dependencies, reuses a complete stage whose hash matches, and gives a stage
// that runs a StageContext through which every input and output passes. Each stage writes only
// into <run>/stages/<name>/:
//   <artifacts>      what it declared in writes()
//   metrics.json     its results, with "schema_version" (reports read these, never live models)
//   budget.json      spent budget by entry ("<stage>" or "<stage>/<what>")
//   records.jsonl    per-example records (may be empty)
//   stage.json       the hash of what it depends on and of every file above; "complete": true is
//                    written last, atomically, so a folder without it is never reused.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace caig {

// An artifact a stage reads: `artifact` of the stage named `stage`; `why` says what needs it (for
// the error when no such stage runs earlier).
struct ArtifactRef {
  std::string stage;
  std::string artifact;
  std::string why;
};

class StageContext {
 public:
  StageContext(std::string name, const nlohmann::json& experiment, const nlohmann::json& config,
               uint64_t seed, std::string device, std::filesystem::path dir, bool resume,
               std::map<std::string, std::filesystem::path> inputs,
               std::vector<std::string> outputs);

  const std::string& name() const { return name_; }
  const nlohmann::json& experiment() const { return experiment_; }  // the resolved config
  const nlohmann::json& config() const { return config_; }          // this stage's [stages.<name>]
  uint64_t seed() const { return seed_; }  // the run seed; stages derive their own streams
  const std::string& device() const { return device_; }      // resolved ("cpu", "cuda:0")
  const std::filesystem::path& dir() const { return dir_; }  // <run>/stages/<name>
  // True when the folder holds an interrupted attempt with the same hash, left in place for a
  // resumable stage to continue from its own checkpoints.
  bool resume() const { return resume_; }

  // The path of an artifact declared in reads() (an Error for one that was not).
  std::filesystem::path input(const std::string& stage, const std::string& artifact) const;
  bool has_input(const std::string& stage, const std::string& artifact) const;
  // The path of an artifact declared in writes(), inside dir().
  std::filesystem::path output(const std::string& artifact) const;

  nlohmann::json metrics = nlohmann::json::object();
  std::vector<nlohmann::json> records;
  // Spent budget (BudgetMeter::spent()) under "<stage>" (what empty) or "<stage>/<what>".
  void spend(const std::string& what, const nlohmann::json& spent);
  const nlohmann::json& budget() const { return budget_; }

 private:
  std::string name_;
  const nlohmann::json& experiment_;
  const nlohmann::json& config_;
  uint64_t seed_;
  std::string device_;
  std::filesystem::path dir_;
  bool resume_;
  std::map<std::string, std::filesystem::path> inputs_;  // "stage/artifact" -> path
  std::vector<std::string> outputs_;
  nlohmann::json budget_ = nlohmann::json::object();
};

class Stage {
 public:
  virtual ~Stage() = default;
  // Artifacts of earlier stages this stage reads with its config (may depend on it).
  virtual std::vector<ArtifactRef> reads() const { return {}; }
  // Artifacts it writes into its folder: file or folder names.
  virtual std::vector<std::string> writes() const { return {}; }
  // Top-level config sections (or dotted keys) its results depend on, beside its own
  // [stages.<name>] table, run.seed and the device, which every stage's hash includes.
  virtual std::vector<std::string> config_keys() const { return {}; }
  // What identifies inputs from outside the run (a dataset directory or checkpoint named in the
  // config), e.g. the hash of its files; null when it reads none.
  virtual nlohmann::json external_fingerprint() const { return nullptr; }
  // False for a stage whose results do not depend on the device or LibTorch's threads (the
  // simulator): its hash then leaves run.device and run.threads out, so changing them does not
  // rerun it and everything after it.
  virtual bool uses_device() const { return true; }
  // The version of its metrics.json layout; reports check it before reading.
  virtual int schema_version() const { return 1; }
  // True: an interrupted attempt with the same hash is continued (ctx.resume()) instead of
  // started afresh; the stage must then give the same files as an uninterrupted run.
  virtual bool resumable() const { return false; }
  virtual void run(StageContext& ctx) = 0;
};

}  // namespace caig
