// CAIG's reward model (paper section 4): the pretrained multimodal backbone reads the two ads side
// by side as one composite image, then "<bos> caption attributes <judge>"; the last token's hidden
// state feeds a pair head Linear(d, 2) (left / right, cross-entropy) and a point head Linear(d, 2)
// regressing both ads' CTRs; loss = CE + point_weight * MSE. The paper's fixed instruction
// ("Judge whether the left picture or the right picture is more attractive ...") is the <judge>
// task token: a constant instruction carries no information beyond which task this is.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "methods/backbone/multimodal_lm.h"

namespace caig::reward {

struct CaigRewardNetImpl : torch::nn::Module {
  // tiles: AnyRes (LLaVA-1.6, the paper's backbone): each half of the composite goes through the
  // vision encoder as an image of its own, with the positions the encoder was pretrained on, and
  // a learned tile embedding tells the LM which side a token comes from. Without tiles the
  // composite is one image whose right half sits on positional columns pretraining never showed.
  CaigRewardNetImpl(backbone::MultimodalLM lm, bool tiles, double tile_std = 1.0);
  // composites [B, 3, H, 2W] in [0, 1]; tokens / lengths as MultimodalLM::forward.
  // Returns {pair logits [B, 2], point predictions [B, 2]}.
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& composites, const at::Tensor& tokens,
                                            const at::Tensor& lengths);
  backbone::MultimodalLM lm{nullptr};
  torch::nn::Linear pair_head{nullptr}, point_head{nullptr};
  // [2, d] (left, right): registered only with tiles and a backbone without one of its own
  // (BackboneOptions::tile_embedding), whose lm->tile_embed is used otherwise.
  at::Tensor tile_embed;
  bool tiles = false;
};
TORCH_MODULE(CaigRewardNet);

}  // namespace caig::reward
