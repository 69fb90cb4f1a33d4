#include "prompts/prompt_model.h"

#include "harness/error.h"

namespace caig {

at::Tensor PromptModel::sequence_logprobs(const std::vector<const PromptProduct*>&,
                                          const std::vector<const PromptSample*>&, at::Tensor*) {
  fail("this prompt model is not trainable: it scores no descriptions");
}

std::unique_ptr<PromptModel> PromptModel::clone() const {
  fail("this prompt model is not trainable: it has no reference copy");
}

void PromptModel::save(const std::filesystem::path&) const {
  fail("this prompt model cannot be saved");
}

}  // namespace caig
