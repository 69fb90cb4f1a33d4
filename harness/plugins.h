// The registries of every plugin kind. Interfaces live with their concept (datasets/, metrics/,
// reports/, ...); the registries only need their names here.
#pragma once

#include "harness/registry.h"

namespace caig {

class DatasetSource;  // datasets/dataset_source.h
class RewardModel;    // methods/ and baselines/ (later issues)
class PromptModel;
class Renderer;  // datasets/renderer_plugin.h
class Optimiser;
class Report;  // harness/report.h (implementations in reports/)
class Stage;   // harness/stage.h (implementations in stages/)

struct Plugins {
  Registry<DatasetSource> datasets{"dataset"};
  Registry<RewardModel> reward_models{"reward model"};
  Registry<PromptModel> prompt_models{"prompt model"};
  Registry<Renderer> renderers{"renderer"};
  Registry<Optimiser> optimisers{"optimiser"};
  Registry<Report> reports{"report"};
  Registry<Stage> stages{"stage"};  // the steps `caig run` can take
};

// The process-wide registries, filled once by register_builtin_plugins() (cli/builtin_plugins.cpp).
Plugins& plugins();

// Registers every built-in plugin exactly once (an explicit list, so static linking cannot drop
// one). Safe to call more than once.
void register_builtin_plugins();

}  // namespace caig
