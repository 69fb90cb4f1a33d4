// The multimodal backbone: attention, vision encoder, LM outputs, generation, checkpoints. Tiny
// sizes keep the whole file to a few seconds.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include <unistd.h>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "harness/error.h"
#include "methods/backbone/attention.h"
#include "methods/backbone/checkpoint.h"
#include "methods/backbone/multimodal_lm.h"
#include "methods/backbone/tokenizer.h"
#include "methods/backbone/vision.h"

namespace caig::backbone {
namespace {

namespace fs = std::filesystem;

BackboneOptions tiny_options() {
  BackboneOptions o;
  o.image_size = 16;
  o.patch = 8;
  o.d_model = 32;
  o.heads = 2;
  o.vision_layers = 1;
  o.lm_layers = 2;
  o.mlp_ratio = 2;
  o.max_text_len = 24;
  o.max_grid_h = 4;
  o.max_grid_w = 8;
  return o;
}

const Tokenizer& tokenizer() {
  static const Tokenizer tok = Tokenizer::from_world_vocabulary();
  return tok;
}

MultimodalLM tiny_model(uint64_t seed = 1, BackboneOptions o = tiny_options()) {
  torch::manual_seed(seed);
  MultimodalLM m(o, tokenizer().vocab_info());
  m->eval();
  return m;
}

// Right-padded batch from id lists.
struct Batch {
  torch::Tensor tokens, lengths;
};
Batch make_batch(const std::vector<std::vector<int64_t>>& rows, int64_t width = 0) {
  for (const auto& r : rows) width = std::max<int64_t>(width, static_cast<int64_t>(r.size()));
  auto tokens =
      torch::full({static_cast<int64_t>(rows.size()), width}, tokenizer().pad_id(), torch::kLong);
  auto lengths = torch::zeros({static_cast<int64_t>(rows.size())}, torch::kLong);
  for (size_t b = 0; b < rows.size(); ++b) {
    for (size_t t = 0; t < rows[b].size(); ++t) {
      tokens[static_cast<int64_t>(b)][static_cast<int64_t>(t)] = rows[b][t];
    }
    lengths[static_cast<int64_t>(b)] = static_cast<int64_t>(rows[b].size());
  }
  return {tokens, lengths};
}

std::vector<int64_t> sentence(const std::string& text) {
  std::vector<int64_t> ids = {tokenizer().bos_id(), tokenizer().id(kTaskDescribe)};
  for (auto id : tokenizer().encode(text)) ids.push_back(id);
  return ids;
}

torch::Tensor images(int64_t b, int64_t h = 16, int64_t w = 16, uint64_t seed = 7) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::rand({b, 3, h, w}, gen, torch::TensorOptions());
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

// Mean next-token NLL over the real positions (t >= 1).
torch::Tensor lm_loss(MultimodalLM& m, const torch::Tensor& img, const Batch& batch) {
  auto lp = m->token_logprobs(img, batch.tokens, batch.lengths);
  return -lp.sum() / (batch.lengths - 1).sum().to(torch::kFloat);
}

// ----------------------------------------------------------------------------------------------
// Attention

// Hand-written attention for one (batch, head): loops, no matmul, double precision.
torch::Tensor reference_attention(const torch::Tensor& q, const torch::Tensor& k,
                                  const torch::Tensor& v, const torch::Tensor& mask) {
  auto qd = q.to(torch::kDouble), kd = k.to(torch::kDouble), vd = v.to(torch::kDouble);
  auto md = mask.to(torch::kDouble).expand({q.size(0), q.size(1), q.size(2), k.size(2)});
  auto out = torch::zeros_like(qd);
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  for (int64_t b = 0; b < q.size(0); ++b) {
    for (int64_t h = 0; h < q.size(1); ++h) {
      for (int64_t i = 0; i < q.size(2); ++i) {
        std::vector<double> w(static_cast<size_t>(k.size(2)));
        double top = -std::numeric_limits<double>::infinity(), sum = 0.0;
        for (int64_t j = 0; j < k.size(2); ++j) {
          const double s = (qd[b][h][i] * kd[b][h][j]).sum().item<double>() * scale +
                           md[b][h][i][j].item<double>();
          w[static_cast<size_t>(j)] = s;
          top = std::max(top, s);
        }
        for (auto& x : w) sum += (x = std::exp(x - top));
        for (int64_t j = 0; j < k.size(2); ++j) {
          out[b][h][i] += vd[b][h][j] * (w[static_cast<size_t>(j)] / sum);
        }
      }
    }
  }
  return out.to(torch::kFloat);
}

TEST(Attention, PlainMatchesHandWrittenReferenceAndSdpa) {
  torch::manual_seed(3);
  auto q = torch::randn({2, 2, 5, 4}), k = torch::randn({2, 2, 7, 4}),
       v = torch::randn({2, 2, 7, 4});
  // Mixed mask: causal-like for the last queries plus per-batch blocked keys.
  auto valid = torch::ones({2, 7}, torch::kBool);
  valid[1][0] = false;
  auto mask = attention_mask(2, 2, 5, 7, true, valid.slice(1, 2), torch::TensorOptions());
  ASSERT_EQ(mask.sizes(), (std::vector<int64_t>{2, 1, 5, 7}));
  const auto plain = attention(q, k, v, mask, /*use_sdpa=*/false);
  EXPECT_LT(max_abs_diff(plain, reference_attention(q, k, v, mask)), 1e-5);
  const auto unmasked = attention(q, k, v, {}, false);
  EXPECT_LT(max_abs_diff(unmasked, reference_attention(q, k, v, torch::zeros({1, 1, 5, 7}))), 1e-5);
  if (sdpa_available()) {
    EXPECT_LT(max_abs_diff(attention(q, k, v, mask, true), plain), 1e-5);
    EXPECT_LT(max_abs_diff(attention(q, k, v, {}, true), unmasked), 1e-5);
  } else {
    // LibTorch 1.x: the SDPA flag must fall back to the plain path.
    EXPECT_TRUE(torch::equal(attention(q, k, v, mask, true), plain));
  }
}

TEST(Attention, SdpaAndPlainModelsAgree) {
  auto o = tiny_options();
  o.use_sdpa = true;
  auto a = tiny_model(5, o);
  o.use_sdpa = false;
  auto b = tiny_model(5, o);
  auto batch = make_batch({sentence("soft studio"), sentence("neon night city scene")});
  auto img = images(2);
  EXPECT_LT(max_abs_diff(a->forward(img, batch.tokens, batch.lengths),
                         b->forward(img, batch.tokens, batch.lengths)),
            1e-5);
}

TEST(Attention, MaskShapesTheImagePrefixAndText) {
  // 2 image tokens then 3 text tokens.
  auto m = attention_mask(2, 0, 5, 5, true, {}, torch::TensorOptions()).squeeze();
  auto allowed = m.eq(0);
  EXPECT_TRUE(allowed[0][1].item<bool>());   // image sees later image token
  EXPECT_FALSE(allowed[1][2].item<bool>());  // image does not see text
  EXPECT_TRUE(allowed[4][0].item<bool>());   // text sees image
  EXPECT_TRUE(allowed[3][2].item<bool>());   // text sees earlier text
  EXPECT_FALSE(allowed[2][3].item<bool>());  // text does not see later text
  auto causal_only = attention_mask(2, 0, 5, 5, false, {}, torch::TensorOptions()).squeeze().eq(0);
  EXPECT_FALSE(causal_only[0][1].item<bool>());
  // A padded key is blocked except for its own query.
  auto valid = torch::tensor({0, 1, 1}, torch::kLong).view({1, 3}).to(torch::kBool);
  auto padded = attention_mask(2, 0, 5, 5, true, valid, torch::TensorOptions()).squeeze().eq(0);
  EXPECT_FALSE(padded[3][2].item<bool>());
  EXPECT_TRUE(padded[2][2].item<bool>());
}

// ----------------------------------------------------------------------------------------------
// Vision encoder

TEST(VisionEncoder, AcceptsSquareAndCompositeRejectsOffGridSizes) {
  BackboneOptions o = tiny_options();
  o.image_size = 64;
  o.max_grid_h = 8;
  o.max_grid_w = 16;
  torch::manual_seed(0);
  VisionEncoder enc(o);
  torch::NoGradGuard no_grad;
  EXPECT_EQ(enc(images(2, 64, 64)).sizes(), (std::vector<int64_t>{2, 64, o.d_model}));
  EXPECT_EQ(enc(images(1, 64, 128)).sizes(), (std::vector<int64_t>{1, 128, o.d_model}));
  try {
    enc(images(1, 60, 64));
    FAIL() << "60x64 accepted";
  } catch (const caig::Error& e) {
    EXPECT_NE(std::string(e.what()).find("60x64"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("patch"), std::string::npos) << e.what();
  }
  EXPECT_THROW(enc(images(1, 64, 136)), caig::Error);  // 17 columns > max_grid_w
  EXPECT_THROW(enc(torch::zeros({1, 1, 64, 64})), caig::Error);
}

TEST(VisionEncoder, ConvStemKeepsTheTokenGridAndItsStateNames) {
  BackboneOptions o = tiny_options();
  o.image_size = 64;
  o.patch = 16;
  o.max_grid_h = 4;
  o.max_grid_w = 8;
  o.conv_stem = 8;
  torch::manual_seed(0);
  VisionEncoder enc(o);
  torch::NoGradGuard no_grad;
  // 64 px at patch 16: 4 x 4 tokens, the stem's two stride-2 convs included; composites too.
  EXPECT_EQ(enc(images(2, 64, 64)).sizes(), (std::vector<int64_t>{2, 16, o.d_model}));
  EXPECT_EQ(enc(images(1, 64, 128)).sizes(), (std::vector<int64_t>{1, 32, o.d_model}));
  // The stem's parameters appear only when it is on, so checkpoints without it load unchanged.
  bool has_stem = false;
  for (const auto& p : enc->named_parameters())
    has_stem = has_stem || p.key().rfind("stem.", 0) == 0;
  EXPECT_TRUE(has_stem);
  o.conv_stem = 0;
  VisionEncoder plain(o);
  for (const auto& p : plain->named_parameters())
    EXPECT_NE(p.key().rfind("stem.", 0), 0u) << p.key();
  o.conv_stem = 8;
  o.patch = 6;  // not a multiple of 4
  o.image_size = 48;
  EXPECT_THROW(o.validate(), caig::Error);
}

// forward() applies the patch embedding as a matmul over patches; it must be the convolution, in
// value and in gradient (a batched linear over permuted patches once gave garbage gradients).
TEST(VisionEncoder, PatchEmbeddingIsTheStridedConvolution) {
  for (int64_t stem : {0, 5}) {
    BackboneOptions o = tiny_options();
    o.image_size = 64;
    o.patch = 16;
    o.subpatch_stem = stem;
    o.vision_layers = 1;
    torch::manual_seed(3);
    VisionEncoder enc(o);
    const auto img = images(3, 64, 128);
    const auto mine = enc(img);
    auto x = img * 2.0 - 1.0;
    if (stem > 0) x = torch::gelu(enc->subpatch(x));
    x = enc->patch_embed(x);  // [B, d, 4, 8]
    const auto pos = enc->row_pos.slice(0, 0, 4).unsqueeze(1) + enc->col_pos.slice(0, 0, 8);
    x = (x.permute({0, 2, 3, 1}) + pos).reshape({3, 32, o.d_model});
    x = enc->layers[0]->as<TransformerBlockImpl>()->forward(x, torch::Tensor());
    const auto reference = enc->norm(x);
    EXPECT_TRUE(torch::allclose(mine, reference, 1e-4, 1e-5)) << "subpatch_stem " << stem;

    const auto target = torch::randn_like(reference);
    auto grads = [&](const torch::Tensor& out) {
      enc->zero_grad();
      (out * target).sum().backward({}, /*retain_graph=*/true);
      std::vector<torch::Tensor> g;
      for (const auto& p : enc->parameters()) g.push_back(p.grad().clone());
      return g;
    };
    const auto g_mine = grads(mine), g_reference = grads(reference);
    ASSERT_EQ(g_mine.size(), g_reference.size());
    for (size_t i = 0; i < g_mine.size(); ++i) {
      // Summation order differs between BLAS kernels (measured: 3e-5 on a 69-magnitude weight
      // gradient with OpenBLAS's Prescott kernels), so the absolute slack scales with the tensor.
      const double scale = g_reference[i].abs().max().item<double>();
      EXPECT_TRUE(torch::allclose(g_mine[i], g_reference[i], 1e-3, 1e-6 * (1 + scale)))
          << "subpatch_stem " << stem << ", parameter " << i << ": max difference "
          << (g_mine[i] - g_reference[i]).abs().max().item<double>() << " at scale " << scale;
    }
  }
}

TEST(VisionEncoder, SubpatchStemKeepsEachTokenToItsOwnPatch) {
  BackboneOptions o = tiny_options();
  o.image_size = 32;
  o.patch = 16;
  o.subpatch_stem = 6;
  o.vision_layers = 0;  // no attention: token k is a function of patch k alone
  torch::manual_seed(0);
  VisionEncoder enc(o);
  torch::NoGradGuard no_grad;
  auto img = images(1, 32, 32);
  const auto before = enc(img);
  EXPECT_EQ(before.sizes(), (std::vector<int64_t>{1, 4, o.d_model}));
  EXPECT_EQ(enc(images(2, 32, 64)).sizes(), (std::vector<int64_t>{2, 8, o.d_model}));
  // Change the bottom-right 4x4 sub-patch of patch (0, 1) (row-major token 1): only token 1 moves.
  auto changed = img.clone();
  changed.slice(2, 12, 16).slice(3, 28, 32) = 1.0 - changed.slice(2, 12, 16).slice(3, 28, 32);
  const auto after = enc(changed);
  for (int64_t t = 0; t < 4; ++t) {
    const double diff = (after[0][t] - before[0][t]).abs().max().item<double>();
    if (t == 1)
      EXPECT_GT(diff, 1e-4);
    else
      EXPECT_EQ(diff, 0.0) << "token " << t;
  }
  bool has_subpatch = false;
  for (const auto& p : enc->named_parameters())
    has_subpatch = has_subpatch || p.key().rfind("subpatch.", 0) == 0;
  EXPECT_TRUE(has_subpatch);
  // Bad combinations name the field.
  auto rejects = [](BackboneOptions bad, const std::string& field) {
    try {
      bad.validate();
      ADD_FAILURE() << "accepted a bad " << field;
    } catch (const caig::Error& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  BackboneOptions both = o;
  both.conv_stem = 8;
  rejects(both, "conv_stem");
  BackboneOptions odd = o;
  odd.patch = 6;
  odd.image_size = 48;
  odd.max_grid_w = 8;
  odd.max_grid_h = 8;
  rejects(odd, "subpatch_stem");
  BackboneOptions negative = o;
  negative.subpatch_stem = -1;
  rejects(negative, "subpatch_stem");
  // It travels with the options' JSON.
  EXPECT_EQ(BackboneOptions::from_json(o.to_json()).subpatch_stem, 6);
}

// ----------------------------------------------------------------------------------------------
// LM outputs

TEST(MultimodalLM, ShapesWithAndWithoutImages) {
  auto m = tiny_model();
  torch::NoGradGuard no_grad;
  auto batch = make_batch({sentence("soft studio"), sentence("bright gym")});
  const int64_t V = tokenizer().size();
  EXPECT_EQ(m->forward(images(2), batch.tokens, batch.lengths).sizes(),
            (std::vector<int64_t>{2, batch.tokens.size(1), V}));
  EXPECT_EQ(m->forward({}, batch.tokens, batch.lengths).sizes(),
            (std::vector<int64_t>{2, batch.tokens.size(1), V}));
  EXPECT_EQ(m->hidden_states(images(2, 16, 32), batch.tokens, batch.lengths).sizes(),
            (std::vector<int64_t>{2, batch.tokens.size(1), 32}));
  // The image changes the text's logits.
  EXPECT_GT(max_abs_diff(m->forward(images(2), batch.tokens, batch.lengths),
                         m->forward({}, batch.tokens, batch.lengths)),
            1e-4);
  auto hidden = m->hidden_states(images(2), batch.tokens, batch.lengths);
  auto last = last_token_states(hidden, batch.lengths);
  for (int64_t b = 0; b < 2; ++b) {
    EXPECT_TRUE(torch::equal(last[b], hidden[b][batch.lengths[b].item<int64_t>() - 1]));
  }
  EXPECT_THROW(m->forward({}, batch.tokens, torch::tensor({0, 2}, torch::kLong)), caig::Error);
  EXPECT_THROW(m->forward(images(3), batch.tokens, batch.lengths), caig::Error);
}

TEST(MultimodalLM, TwoAdPrefixPutsEachSideOnItsOwnPositionsWithItsTile) {
  auto plain = tiny_model(4);
  auto o = tiny_options();
  o.tile_embedding = true;
  auto tiled = tiny_model(4, o);
  // Drawn after every other table: the shared weights are those of a backbone without it.
  for (const auto& p : plain->named_parameters())
    EXPECT_TRUE(torch::equal(p.value(), tiled->named_parameters()[p.key()])) << p.key();
  ASSERT_TRUE(tiled->tile_embed.defined());
  EXPECT_EQ(tiled->tile_embed.sizes(), (std::vector<int64_t>{2, 32}));
  EXPECT_EQ(BackboneOptions::from_json(o.to_json()).tile_embedding, true);
  torch::NoGradGuard no_grad;
  const auto left = images(2, 16, 16, 1), right = images(2, 16, 16, 2);
  const auto prefix = tiled->two_ad_prefix(torch::cat({left, right}, 3));
  const int64_t n = tiled->image_prefix(left).size(1);
  ASSERT_EQ(prefix.sizes(), (std::vector<int64_t>{2, 2 * n, 32}));
  // Each half is the single-ad prefix of that ad plus its side's row of the table.
  EXPECT_LT(max_abs_diff(prefix.narrow(1, 0, n), tiled->image_prefix(left) + tiled->tile_embed[0]),
            1e-6);
  EXPECT_LT(max_abs_diff(prefix.narrow(1, n, n), tiled->image_prefix(right) + tiled->tile_embed[1]),
            1e-6);
  // Swapping the ads changes what the LM reads: the table tells the sides apart.
  const auto swapped = tiled->two_ad_prefix(torch::cat({right, left}, 3));
  EXPECT_GT(max_abs_diff(swapped.narrow(1, 0, n), prefix.narrow(1, n, n)), 1e-4);
  auto batch = make_batch({sentence("soft studio"), sentence("bright gym")});
  EXPECT_EQ(tiled->forward_from_prefix(prefix, batch.tokens, batch.lengths).sizes(),
            (std::vector<int64_t>{2, batch.tokens.size(1), tokenizer().size()}));
  // A given table stands in for a backbone without one; none at all is an error.
  const auto table = torch::ones({2, 32});
  EXPECT_LT(max_abs_diff(plain->two_ad_prefix(torch::cat({left, right}, 3), table).narrow(1, 0, n),
                         plain->image_prefix(left) + 1),
            1e-6);
  EXPECT_THROW(plain->two_ad_prefix(torch::cat({left, right}, 3)), caig::Error);
  EXPECT_THROW(tiled->two_ad_prefix(images(2, 16, 15)), caig::Error);
}

TEST(MultimodalLM, CausalLaterTokensDoNotChangeEarlierLogits) {
  auto m = tiny_model();
  torch::NoGradGuard no_grad;
  auto a = make_batch({sentence("warm cozy bedroom scene, beige tones, petals")});
  auto b = a.tokens.clone();
  b[0][5] = tokenizer().id("neon");
  auto img = images(1);
  auto la = m->forward(img, a.tokens, a.lengths), lb = m->forward(img, b, a.lengths);
  EXPECT_LT(max_abs_diff(la.slice(1, 0, 5), lb.slice(1, 0, 5)), 1e-6);
  EXPECT_GT(max_abs_diff(la.slice(1, 5), lb.slice(1, 5)), 1e-4);
}

TEST(MultimodalLM, ImagePrefixIsBidirectional) {
  // Same weights, prefix bidirectional or causal: the image tokens' states differ, so the text's
  // logits do; without an image the two models are the same function.
  auto o = tiny_options();
  auto bi = tiny_model(9, o);
  o.image_prefix_bidirectional = false;
  MultimodalLM causal(o, tokenizer().vocab_info());
  causal->eval();
  {
    torch::NoGradGuard no_grad;
    auto src = bi->named_parameters(), dst = causal->named_parameters();
    for (auto& p : src) dst[p.key()].copy_(p.value());
  }
  auto batch = make_batch({sentence("soft studio")});
  torch::NoGradGuard no_grad;
  auto img = images(1);
  EXPECT_GT(max_abs_diff(bi->forward(img, batch.tokens, batch.lengths),
                         causal->forward(img, batch.tokens, batch.lengths)),
            1e-5);
  auto text_only_bi = bi->forward({}, batch.tokens, batch.lengths);
  auto text_only_causal = causal->forward({}, batch.tokens, batch.lengths);
  EXPECT_LT(max_abs_diff(text_only_bi, text_only_causal), 1e-6);  // no prefix: no difference
}

TEST(MultimodalLM, PaddingInvariance) {
  auto m = tiny_model();
  torch::NoGradGuard no_grad;
  const std::vector<std::vector<int64_t>> rows = {
      sentence("soft studio"), sentence("bright dynamic gym scene, orange tones, geometric shapes"),
      sentence("cozy")};
  auto img = images(3);
  auto batch = make_batch(rows, 16);
  auto logits = m->forward(img, batch.tokens, batch.lengths);
  auto lps = m->token_logprobs(img, batch.tokens, batch.lengths);
  auto text_lps = m->token_logprobs({}, batch.tokens, batch.lengths);
  for (int64_t b = 0; b < 3; ++b) {
    const int64_t n = static_cast<int64_t>(rows[static_cast<size_t>(b)].size());
    auto alone = make_batch({rows[static_cast<size_t>(b)]});
    auto img_b = img.slice(0, b, b + 1);
    EXPECT_LT(
        max_abs_diff(m->forward(img_b, alone.tokens, alone.lengths)[0], logits[b].slice(0, 0, n)),
        1e-5);
    EXPECT_LT(max_abs_diff(m->token_logprobs(img_b, alone.tokens, alone.lengths)[0],
                           lps[b].slice(0, 0, n)),
              1e-5);
    EXPECT_LT(max_abs_diff(m->token_logprobs({}, alone.tokens, alone.lengths)[0],
                           text_lps[b].slice(0, 0, n)),
              1e-5);
    EXPECT_EQ(lps[b].slice(0, n).abs().sum().item<double>(), 0.0);  // padded entries are 0
  }
}

TEST(MultimodalLM, TokenLogprobsAreGatheredLogSoftmax) {
  auto m = tiny_model();
  torch::NoGradGuard no_grad;
  auto batch = make_batch({sentence("neon tech office"), sentence("snow")});
  auto img = images(2);
  auto logits = m->forward(img, batch.tokens, batch.lengths).to(torch::kDouble);
  auto lps = m->token_logprobs(img, batch.tokens, batch.lengths);
  for (int64_t b = 0; b < 2; ++b) {
    const int64_t n = batch.lengths[b].item<int64_t>();
    EXPECT_EQ(lps[b][0].item<double>(), 0.0);
    for (int64_t t = 1; t < batch.tokens.size(1); ++t) {
      double expected = 0.0;
      if (t < n) {
        auto row = logits[b][t - 1];
        const double top = row.max().item<double>();
        const double lse = top + std::log((row - top).exp().sum().item<double>());
        expected = row[batch.tokens[b][t].item<int64_t>()].item<double>() - lse;
      }
      EXPECT_NEAR(lps[b][t].item<double>(), expected, 1e-5) << b << "," << t;
    }
  }
  // sequence_logprob sums over the mask.
  auto mask = torch::zeros_like(lps);
  mask[0].slice(0, 2, 5).fill_(1.0);
  mask[1][2] = 1.0;
  auto seq = sequence_logprob(lps, mask);
  EXPECT_NEAR(seq[0].item<double>(), lps[0].slice(0, 2, 5).sum().item<double>(), 1e-6);
  EXPECT_NEAR(seq[1].item<double>(), lps[1][2].item<double>(), 1e-6);
  EXPECT_NEAR(sequence_logprob(lps, mask.to(torch::kBool))[0].item<double>(), seq[0].item<double>(),
              1e-6);
}

// ----------------------------------------------------------------------------------------------
// Generation

std::vector<std::vector<int64_t>> mixed_prompts() {
  return {sentence("soft"), {tokenizer().bos_id()}, sentence("bright dynamic gym scene")};
}

void expect_same_generation(const GenerateResult& a, const GenerateResult& b) {
  ASSERT_EQ(a.tokens.size(), b.tokens.size());
  for (size_t i = 0; i < a.tokens.size(); ++i) {
    EXPECT_EQ(a.tokens[i], b.tokens[i]) << "row " << i;
    EXPECT_EQ(a.finished[i], b.finished[i]);
    ASSERT_EQ(a.token_logprobs[i].size(), b.token_logprobs[i].size());
    for (size_t t = 0; t < a.token_logprobs[i].size(); ++t) {
      EXPECT_NEAR(a.token_logprobs[i][t], b.token_logprobs[i][t], 1e-5);
    }
    EXPECT_NEAR(a.logprob[i], b.logprob[i], 1e-4);
  }
}

TEST(Generate, CachedAndUncachedDecodingAgree) {
  auto m = tiny_model();
  auto img = images(3);
  GenerateOptions o;
  o.max_new_tokens = 12;
  for (int mode = 0; mode < 4; ++mode) {
    o.top_k = mode == 0 ? 1 : (mode == 3 ? 20 : 0);
    o.temperature = mode == 1 ? 0.0 : 1.0;
    o.top_p = mode == 3 ? 0.9 : 1.0;
    o.use_cache = true;
    auto cached = m->generate(img, mixed_prompts(), o, 42);
    o.use_cache = false;
    auto uncached = m->generate(img, mixed_prompts(), o, 42);
    SCOPED_TRACE("mode " + std::to_string(mode));
    expect_same_generation(cached, uncached);
    // The same seed gives the same sample; text-only works too.
    o.use_cache = true;
    expect_same_generation(cached, m->generate(img, mixed_prompts(), o, 42));
    auto text_cached = m->generate({}, mixed_prompts(), o, 5);
    o.use_cache = false;
    expect_same_generation(text_cached, m->generate({}, mixed_prompts(), o, 5));
  }
}

// Decoding runs on one intra-op thread (see generate) and gives the caller's count back.
TEST(Generate, DecodesOnOneThreadAndRestoresTheCount) {
  auto m = tiny_model();
  auto img = images(3);
  GenerateOptions o;
  o.max_new_tokens = 8;
  const auto at_one = m->generate(img, mixed_prompts(), o, 9);
  at::set_num_threads(2);  // this test's own process (one per test under ctest)
  const auto at_two = m->generate(img, mixed_prompts(), o, 9);
  EXPECT_EQ(at::get_num_threads(), 2);
  expect_same_generation(at_one, at_two);
  at::set_num_threads(1);
}

TEST(Generate, ReportedLogprobsMatchTokenLogprobs) {
  auto m = tiny_model();
  auto img = images(3);
  GenerateOptions o;
  o.max_new_tokens = 10;
  const auto prompts = mixed_prompts();
  const auto res = m->generate(img, prompts, o, 11);
  std::vector<std::vector<int64_t>> full;
  for (size_t b = 0; b < prompts.size(); ++b) {
    auto row = prompts[b];
    row.insert(row.end(), res.tokens[b].begin(), res.tokens[b].end());
    if (res.finished[b]) row.push_back(tokenizer().eos_id());
    full.push_back(row);
  }
  auto batch = make_batch(full);
  torch::NoGradGuard no_grad;
  auto lps = m->token_logprobs(img, batch.tokens, batch.lengths);
  for (size_t b = 0; b < prompts.size(); ++b) {
    const int64_t p = static_cast<int64_t>(prompts[b].size());
    const int64_t n = static_cast<int64_t>(full[b].size());
    ASSERT_EQ(static_cast<int64_t>(res.token_logprobs[b].size()), n - p);
    for (int64_t t = p; t < n; ++t) {
      EXPECT_NEAR(lps[static_cast<int64_t>(b)][t].item<double>(),
                  res.token_logprobs[b][static_cast<size_t>(t - p)], 1e-5);
    }
    auto mask = torch::zeros({1, batch.tokens.size(1)});
    mask[0].slice(0, p, n).fill_(1.0);
    EXPECT_NEAR(
        sequence_logprob(lps.slice(0, static_cast<int64_t>(b), static_cast<int64_t>(b) + 1), mask)
            .item<double>(),
        res.logprob[b], 1e-4);
  }
}

TEST(Generate, BatchedRowsDecodeAsAlone) {
  auto m = tiny_model(3);
  auto img = images(3);
  GenerateOptions o;
  o.max_new_tokens = 8;
  o.top_k = 1;
  const auto prompts = mixed_prompts();
  const auto batched = m->generate(img, prompts, o, 0);
  for (size_t b = 0; b < prompts.size(); ++b) {
    const auto i = static_cast<int64_t>(b);
    const auto alone = m->generate(img.slice(0, i, i + 1), {prompts[b]}, o, 0);
    EXPECT_EQ(alone.tokens[0], batched.tokens[b]);
    ASSERT_EQ(alone.token_logprobs[0].size(), batched.token_logprobs[b].size());
    for (size_t t = 0; t < alone.token_logprobs[0].size(); ++t) {
      EXPECT_NEAR(alone.token_logprobs[0][t], batched.token_logprobs[b][t], 1e-5);
    }
  }
}

TEST(Generate, TopKOneIsGreedyArgmax) {
  auto m = tiny_model(4);
  auto img = images(1);
  GenerateOptions o;
  o.max_new_tokens = 8;
  o.top_k = 1;
  const auto prompt = sentence("warm");
  const auto res = m->generate(img, {prompt}, o, 0);
  std::vector<int64_t> seq = prompt, greedy;
  torch::NoGradGuard no_grad;
  for (int step = 0; step < 8; ++step) {
    auto batch = make_batch({seq});
    auto next = m->forward(img, batch.tokens, batch.lengths)[0][batch.tokens.size(1) - 1]
                    .argmax()
                    .item<int64_t>();
    if (next == tokenizer().eos_id()) break;
    greedy.push_back(next);
    seq.push_back(next);
  }
  EXPECT_EQ(res.tokens[0], greedy);
  o.top_k = 0;
  o.temperature = 0.0;
  EXPECT_EQ(m->generate(img, {prompt}, o, 99).tokens[0], greedy);
}

TEST(Generate, StopsAtEosAndRespectsMaxNewTokens) {
  auto m = tiny_model();
  const int64_t eos = tokenizer().eos_id(), word = tokenizer().id("gym");
  // Make the final state a large multiple of one embedding row, so (tied head) that token wins.
  auto force = [&m](int64_t id) {
    torch::NoGradGuard no_grad;
    m->token_embed->weight[id].fill_(0.0);
    m->token_embed->weight[id][0] = 10.0;
    m->norm->weight.zero_();
    m->norm->bias.copy_(m->token_embed->weight[id]);
  };
  GenerateOptions o;
  o.max_new_tokens = 5;
  force(eos);
  auto res = m->generate(images(2), {sentence("soft"), sentence("cold")}, o, 1);
  for (size_t b = 0; b < 2; ++b) {
    EXPECT_TRUE(res.tokens[b].empty());
    EXPECT_TRUE(res.finished[b]);
    EXPECT_EQ(res.token_logprobs[b].size(), 1u);  // the <eos> term
  }
  m = tiny_model();
  force(word);
  res = m->generate(images(2), {sentence("soft"), sentence("cold")}, o, 1);
  for (size_t b = 0; b < 2; ++b) {
    EXPECT_EQ(res.tokens[b], std::vector<int64_t>(5, word));
    EXPECT_FALSE(res.finished[b]);
  }
  o.max_new_tokens = 0;
  EXPECT_TRUE(m->generate({}, {sentence("soft")}, o, 1).tokens[0].empty());
  o.max_new_tokens = tiny_options().max_text_len;  // prompt + new tokens would not fit
  EXPECT_THROW(m->generate({}, {sentence("soft")}, o, 1), caig::Error);
  EXPECT_THROW(m->generate({}, {{}}, GenerateOptions(), 1), caig::Error);
}

// ----------------------------------------------------------------------------------------------
// Training, checkpoints

std::vector<std::vector<int64_t>> training_rows() {
  auto with_eos = [](std::vector<int64_t> ids) {
    ids.push_back(tokenizer().eos_id());
    return ids;
  };
  return {with_eos(sentence("bright dynamic gym scene, orange tones, geometric shapes")),
          with_eos(sentence("soft minimal studio scene, white tones, no props")),
          with_eos(sentence("warm cozy bedroom scene, beige tones, petals")),
          with_eos(sentence("neon tech night city scene, blue tones, bokeh"))};
}

TEST(Training, TinyModelOverfitsFourSequences) {
  auto m = tiny_model(2);
  m->train();
  auto batch = make_batch(training_rows());
  auto img = images(4);
  torch::optim::Adam opt(m->parameters(), torch::optim::AdamOptions(1e-2));
  double first = 0.0, last = 0.0;
  for (int step = 0; step < 40; ++step) {
    opt.zero_grad();
    auto loss = lm_loss(m, img, batch);
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_LT(last, first / 20.0) << "first " << first << ", last " << last;
  // Greedy decoding now reproduces a training description and stops at <eos>.
  GenerateOptions o;
  o.top_k = 1;
  o.max_new_tokens = 16;
  const auto row = training_rows()[1];
  const std::vector<int64_t> prompt(row.begin(), row.begin() + 2);
  const auto res = m->generate(img.slice(0, 1, 2), {prompt}, o, 0);
  EXPECT_TRUE(res.finished[0]);
  EXPECT_EQ(res.tokens[0], std::vector<int64_t>(row.begin() + 2, row.end() - 1));

  // Rows that finish at different steps: cached and uncached sampling still agree.
  const std::vector<std::vector<int64_t>> prompts = {
      prompt, {row.begin(), row.begin() + 6}, {tokenizer().bos_id()}, {row.begin(), row.end() - 2}};
  o.top_k = 0;
  o.max_new_tokens = 12;
  o.use_cache = true;
  const auto cached = m->generate(img, prompts, o, 21);
  o.use_cache = false;
  expect_same_generation(cached, m->generate(img, prompts, o, 21));
  EXPECT_TRUE(cached.finished[3]);
}

fs::path temp_dir(const std::string& name) {
  auto dir =
      fs::temp_directory_path() / ("caig_backbone_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir;
}

TEST(Checkpoint, TrainingModulesRoundTripBesideTheModel) {
  auto m = tiny_model(6);
  const auto dir = temp_dir("ckpt_modules");
  torch::manual_seed(5);
  torch::nn::Linear head(4, 3), fresh(4, 3);
  save_checkpoint(dir / "a", m, tokenizer(), nullptr, nullptr, nlohmann::json::object(),
                  {{"aux_head", head.ptr().get()}});
  EXPECT_TRUE(fs::exists(dir / "a" / "aux_head.pt"));
  load_training_module(dir / "a", "aux_head", *fresh);
  EXPECT_TRUE(torch::equal(head->weight, fresh->weight));
  EXPECT_TRUE(torch::equal(head->bias, fresh->bias));
  // A missing file or a module of another shape is an error naming the file.
  torch::nn::Linear other(5, 3);
  try {
    load_training_module(dir / "a", "aux_head", *other);
    FAIL();
  } catch (const caig::Error& e) {
    EXPECT_NE(std::string(e.what()).find("aux_head.pt"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_training_module(dir / "a", "nope", *fresh), caig::Error);
  EXPECT_THROW(save_checkpoint(dir / "b", m, tokenizer(), nullptr, nullptr,
                               nlohmann::json::object(), {{"../x", head.ptr().get()}}),
               caig::Error);
  fs::remove_all(dir);
}

TEST(Checkpoint, SaveLoadGivesIdenticalOutputs) {
  auto m = tiny_model(6);
  const auto dir = temp_dir("ckpt");
  save_checkpoint(dir / "a", m, tokenizer(), {{"preset", "smoke"}, {"step", 3}});
  auto ck = load_checkpoint(dir / "a");
  ck.model->eval();
  EXPECT_EQ(ck.extra.at("preset"), "smoke");
  EXPECT_EQ(ck.options.to_json(), tiny_options().to_json());
  EXPECT_EQ(ck.tokenizer.tokens(), tokenizer().tokens());
  auto batch = make_batch({sentence("cozy cafe"), sentence("ice")});
  auto img = images(2);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(m->forward(img, batch.tokens, batch.lengths),
                           ck.model->forward(img, batch.tokens, batch.lengths)));
  // Overwriting an existing checkpoint replaces it whole.
  save_checkpoint(dir / "a", ck.model, ck.tokenizer, {{"preset", "cpu"}});
  EXPECT_EQ(load_checkpoint(dir / "a").extra.at("preset"), "cpu");
  EXPECT_FALSE(has_optimizer_state(dir / "a"));

  // Errors name the directory and the file.
  fs::copy(dir / "a", dir / "broken", fs::copy_options::recursive);
  fs::remove(dir / "broken" / "tokenizer.json");
  try {
    load_checkpoint(dir / "broken");
    FAIL();
  } catch (const caig::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("broken"), std::string::npos) << what;
    EXPECT_NE(what.find("tokenizer.json"), std::string::npos) << what;
  }
  std::ofstream(dir / "a" / "model.pt", std::ios::trunc) << "not a model";
  try {
    load_checkpoint(dir / "a");
    FAIL();
  } catch (const caig::Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.pt"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_checkpoint(dir / "missing"), caig::Error);
  fs::remove_all(dir);
}

TEST(Checkpoint, ResumeGivesTheSameNextStepsAsAnUninterruptedRun) {
  auto o = tiny_options();
  o.dropout = 0.1;  // the global RNG stream must resume too
  auto batch = make_batch(training_rows());
  auto img = images(4);
  auto step = [&](MultimodalLM& m, torch::optim::Adam& opt) {
    opt.zero_grad();
    auto loss = lm_loss(m, img, batch);
    loss.backward();
    opt.step();
    return loss.item<double>();
  };

  auto straight = tiny_model(8, o);
  straight->train();
  torch::optim::Adam opt_straight(straight->parameters(), torch::optim::AdamOptions(3e-3));
  torch::manual_seed(100);
  for (int i = 0; i < 2; ++i) step(straight, opt_straight);
  const double loss3 = step(straight, opt_straight);
  const double loss4 = step(straight, opt_straight);

  auto first = tiny_model(8, o);
  first->train();
  torch::optim::Adam opt_first(first->parameters(), torch::optim::AdamOptions(3e-3));
  torch::manual_seed(100);
  for (int i = 0; i < 2; ++i) step(first, opt_first);
  const auto dir = temp_dir("resume");
  save_checkpoint(dir, first, tokenizer(), nullptr, &opt_first, {{"step", 2}});
  ASSERT_TRUE(has_optimizer_state(dir));

  torch::rand({1000});  // disturb the global RNG; the checkpoint restores it
  auto ck = load_checkpoint(dir);
  ck.model->train();
  torch::optim::Adam opt_resumed(ck.model->parameters(), torch::optim::AdamOptions(3e-3));
  load_optimizer_state(dir, opt_resumed);
  EXPECT_EQ(load_trainer_state(dir).at("step"), 2);
  EXPECT_EQ(step(ck.model, opt_resumed), loss3);
  EXPECT_EQ(step(ck.model, opt_resumed), loss4);
  auto a = straight->named_parameters(), b = ck.model->named_parameters();
  for (auto& p : a) EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << p.key();
  fs::remove_all(dir);
}

// ----------------------------------------------------------------------------------------------
// CUDA (skipped without a GPU)

TEST(Cuda, MatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  at::globalContext().setAllowTF32CuDNN(false);  // TF32 convolutions would differ by ~1e-3
  auto m = tiny_model(12);
  auto batch = make_batch({sentence("soft studio"), sentence("neon gym")});
  auto img = images(2);
  torch::NoGradGuard no_grad;
  auto cpu_lps = m->token_logprobs(img, batch.tokens, batch.lengths);
  GenerateOptions o;
  o.top_k = 1;
  auto cpu_gen = m->generate(img, mixed_prompts(), o, 3);
  m->to(torch::kCUDA);
  auto gpu_lps = m->token_logprobs(img.to(torch::kCUDA), batch.tokens.to(torch::kCUDA),
                                   batch.lengths.to(torch::kCUDA));
  EXPECT_LT(max_abs_diff(cpu_lps, gpu_lps.cpu()), 1e-4);
  auto gpu_gen = m->generate(img.to(torch::kCUDA), mixed_prompts(), o, 3);
  EXPECT_EQ(cpu_gen.tokens, gpu_gen.tokens);
}

}  // namespace
}  // namespace caig::backbone
