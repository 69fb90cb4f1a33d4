// FusedAdamW: the same update as torch::optim::AdamW (worked by hand, then against AdamW over
// several steps), the same saved state, and release_gradients.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "harness/fused_adamw.h"

namespace caig {
namespace {

using torch::optim::AdamW;
using torch::optim::AdamWOptions;

// Parameters of a few shapes (a matrix, a vector, a scalar) with fixed values.
std::vector<torch::Tensor> make_params(torch::ScalarType dtype = torch::kFloat) {
  torch::manual_seed(11);
  return {torch::randn({4, 3}, dtype).requires_grad_(), torch::randn({5}, dtype).requires_grad_(),
          torch::randn({}, dtype).requires_grad_()};
}

// Step k's gradient: fixed per step, different in sign and scale across elements.
void set_gradients(std::vector<torch::Tensor>& params, int k) {
  torch::manual_seed(100 + k);
  for (auto& p : params) p.mutable_grad() = torch::randn(p.sizes(), p.options()) * (0.5 + k);
}

// Steps k in [from, to) of two optimizers over their own copies of the parameters.
void step_both(torch::optim::Optimizer& a, std::vector<torch::Tensor>& a_params,
               torch::optim::Optimizer& b, std::vector<torch::Tensor>& b_params, int from, int to) {
  for (int k = from; k < to; ++k) {
    set_gradients(a_params, k);
    set_gradients(b_params, k);
    a.step();
    b.step();
  }
}

double max_diff(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double d = 0.0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, (a[i] - b[i]).abs().max().item<double>());
  return d;
}

std::vector<torch::Tensor> copies(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> out;
  for (const auto& p : params) out.push_back(p.detach().clone().requires_grad_());
  return out;
}

// Saves `from`'s state and loads it into `to`, through an archive in memory.
void reload(torch::optim::Optimizer& from, torch::optim::Optimizer& to) {
  std::stringstream archive;
  torch::save(from, archive);
  torch::load(to, archive);
}

TEST(FusedAdamW, FirstStepWorkedByHand) {
  // p = 1, g = 0.5, lr 0.1, weight decay 0.01, betas (0.9, 0.999): m = 0.05, v = 0.00025;
  // bias-corrected m / sqrt(v) = (0.05 / 0.1) / (0.0158114 / 0.0316228) = 1, so the first step
  // moves by lr after the decay: 1 * (1 - 0.001) - 0.1 = 0.899.
  auto p = torch::ones({1}).requires_grad_();
  p.mutable_grad() = torch::full({1}, 0.5);
  FusedAdamW opt({p}, AdamWOptions(0.1).weight_decay(0.01));
  opt.step();
  EXPECT_NEAR(p.item<double>(), 0.899, 1e-6);
  // Second step, g = 0.5 again: m = 0.095, v = 0.00049975; bc1 = 0.19, bc2 = 0.001999;
  // m / bc1 = 0.5, sqrt(v / bc2) = 0.5, so again a step of lr: 0.899 * 0.999 - 0.1.
  opt.step();
  EXPECT_NEAR(p.item<double>(), 0.899 * 0.999 - 0.1, 1e-6);
}

TEST(FusedAdamW, EpsIsAddedAfterTheBiasCorrection) {
  // g = 1e-8, eps = 1e-8, lr 0.1, no decay: m / bc1 = 1e-8 and sqrt(v) / sqrt(bc2) = 1e-8, so the
  // step is lr * 1e-8 / (1e-8 + 1e-8) = 0.05. With eps added before dividing by sqrt(bc2) it
  // would be lr * 1e-8 / 3.26e-7 = 0.003.
  auto p = torch::ones({1}).requires_grad_();
  p.mutable_grad() = torch::full({1}, 1e-8);
  FusedAdamW opt({p}, AdamWOptions(0.1).weight_decay(0.0).eps(1e-8));
  opt.step();
  EXPECT_NEAR(p.item<double>(), 0.95, 1e-5);
}

TEST(FusedAdamW, RefusesAStateSavedForOtherParameters) {
  auto small = torch::ones({3}).requires_grad_();
  small.mutable_grad() = torch::ones({3});
  FusedAdamW saved({small}, AdamWOptions(0.1));
  saved.step();
  auto large = torch::ones({5}).requires_grad_();
  FusedAdamW loaded({large}, AdamWOptions(0.1));
  reload(saved, loaded);  // LibTorch checks the parameter count only
  large.mutable_grad() = torch::ones({5});
  EXPECT_THROW(loaded.step(), c10::Error);
}

TEST(FusedAdamW, AGraphThatSavedAParameterSeesTheUpdate) {
  auto p = torch::ones({2}).requires_grad_();
  const auto y = (p * p).sum();  // saves p for its backward
  p.mutable_grad() = torch::ones({2});
  FusedAdamW opt({p}, AdamWOptions(0.1));
  opt.step();
  EXPECT_THROW(y.backward(), c10::Error);  // modified in place since saved, as with AdamW
}

TEST(FusedAdamW, MatchesAdamWOverSteps) {
  auto fused = make_params(), plain = make_params();
  // Two groups, the second without weight decay, and a learning rate that changes on the way.
  std::vector<torch::optim::OptimizerParamGroup> fused_groups{
      torch::optim::OptimizerParamGroup({fused[0], fused[1]}),
      torch::optim::OptimizerParamGroup({fused[2]},
                                        std::make_unique<AdamWOptions>(AdamWOptions(0.02)))};
  std::vector<torch::optim::OptimizerParamGroup> plain_groups{
      torch::optim::OptimizerParamGroup({plain[0], plain[1]}),
      torch::optim::OptimizerParamGroup({plain[2]},
                                        std::make_unique<AdamWOptions>(AdamWOptions(0.02)))};
  static_cast<AdamWOptions&>(fused_groups[1].options()).weight_decay(0.0);
  static_cast<AdamWOptions&>(plain_groups[1].options()).weight_decay(0.0);
  const auto options = AdamWOptions(0.05).weight_decay(0.1).betas({0.8, 0.99}).eps(1e-6);
  FusedAdamW a(std::move(fused_groups), options);
  AdamW b(std::move(plain_groups), options);
  for (int k = 0; k < 8; ++k) {
    if (k == 4)
      for (auto* opt : std::vector<torch::optim::Optimizer*>{&a, &b})
        static_cast<AdamWOptions&>(opt->param_groups()[0].options()).lr(0.01);
    step_both(a, fused, b, plain, k, k + 1);
    ASSERT_LT(max_diff(fused, plain), 1e-6) << "step " << k;
  }
}

TEST(FusedAdamW, SplitsALargeParameterOverTwoThreadsAsAdamWWould) {
  // 3 x 40,000 elements: the update is split into several tasks over the intra-op threads, and
  // each element still gets AdamW's update, vectorised or not.
  const int before = at::get_num_threads();
  at::set_num_threads(2);
  torch::manual_seed(12);
  std::vector<torch::Tensor> fused{torch::randn({3, 40000}).requires_grad_()};
  auto plain = copies(fused);
  const auto initial = fused[0].detach().clone();
  const auto options = AdamWOptions(0.05).weight_decay(0.1);
  FusedAdamW a(fused, options);
  AdamW b(plain, options);
  step_both(a, fused, b, plain, 0, 3);
  at::set_num_threads(before);
  // A slice left out (or updated twice) would differ from AdamW's by about the learning rate.
  EXPECT_LT(max_diff(fused, plain), 1e-6);
  EXPECT_GT((fused[0].detach() - initial).abs().gt(1e-3).to(torch::kDouble).mean().item<double>(),
            0.9);
}

TEST(FusedAdamW, SavesTheStateAdamWLoadsAndTheOtherWayRound) {
  auto straight = make_params(), first = make_params();
  const auto options = AdamWOptions(0.03).weight_decay(0.05);
  AdamW reference(straight, options);
  FusedAdamW fused(first, options);
  step_both(reference, straight, fused, first, 0, 3);
  // FusedAdamW -> archive -> AdamW on copies of the parameters, and AdamW's archive back into a
  // FusedAdamW; then two more steps each.
  auto second = copies(first), third = copies(straight);
  AdamW resumed(second, options);
  reload(fused, resumed);
  FusedAdamW fused_resumed(third, options);
  reload(reference, fused_resumed);
  for (int k = 3; k < 5; ++k) {
    for (auto* ps : {&straight, &second, &third}) set_gradients(*ps, k);
    reference.step();
    resumed.step();
    fused_resumed.step();
  }
  EXPECT_LT(max_diff(second, straight), 1e-6);
  EXPECT_LT(max_diff(third, straight), 1e-6);
}

TEST(FusedAdamW, TakesAdamWsStepWhereItCannotFuse) {
  // Doubles and amsgrad: exactly AdamW's result, since it is AdamW's code that runs.
  for (const bool amsgrad : {false, true}) {
    auto fused = make_params(amsgrad ? torch::kFloat : torch::kDouble);
    auto plain = make_params(amsgrad ? torch::kFloat : torch::kDouble);
    const auto options = AdamWOptions(0.05).amsgrad(amsgrad);
    FusedAdamW a(fused, options);
    AdamW b(plain, options);
    step_both(a, fused, b, plain, 0, 3);
    EXPECT_EQ(max_diff(fused, plain), 0.0) << "amsgrad " << amsgrad;
  }
}

TEST(FusedAdamW, ReleasedGradientsLeaveAParameterAlone) {
  auto params = make_params();
  const auto before = params[1].detach().clone();
  FusedAdamW opt(params, AdamWOptions(0.1).weight_decay(0.5));
  set_gradients(params, 0);
  opt.step();
  release_gradients(params);
  for (const auto& p : params) EXPECT_FALSE(p.grad().defined());
  // Only the first parameter gets a gradient now; the others keep their values.
  params[0].mutable_grad() = torch::ones({4, 3});
  const auto after_first = params[1].detach().clone();
  opt.step();
  EXPECT_TRUE(torch::equal(params[1], after_first));
  EXPECT_FALSE(torch::equal(after_first, before));  // the first step did move it
}

}  // namespace
}  // namespace caig

namespace caig {
namespace {

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// LibTorch's own archive keys the state by each parameter's address, so the same state is other
// bytes in another process; save_adamw_state keys it by position: the same state, the same
// bytes, and it loads back into an optimizer that then steps as the original does.
TEST(AdamWState, SameStateSameBytesAndARoundTripStepsAlike) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("caig_adamw_state_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto a_params = make_params(), b_params = make_params();
  FusedAdamW a(a_params, AdamWOptions(1e-2).weight_decay(0.1));
  FusedAdamW b(b_params, AdamWOptions(1e-2).weight_decay(0.1));
  step_both(a, a_params, b, b_params, 0, 3);
  // (The archive names its records after the file, so both go to a file of one name.)
  std::filesystem::create_directories(dir / "a");
  std::filesystem::create_directories(dir / "b");
  save_adamw_state(a, (dir / "a/state.pt").string());
  save_adamw_state(b, (dir / "b/state.pt").string());
  EXPECT_TRUE(file_bytes((dir / "a/state.pt").string()) ==
              file_bytes((dir / "b/state.pt").string()));

  // Load into a fresh optimizer over copies of a's parameters; both then step alike.
  std::vector<torch::Tensor> c_params;
  for (const auto& p : a_params) c_params.push_back(p.detach().clone().requires_grad_());
  FusedAdamW c(c_params, AdamWOptions(0.5));  // options too come from the file
  load_adamw_state(c, (dir / "a/state.pt").string());
  EXPECT_DOUBLE_EQ(static_cast<AdamWOptions&>(c.param_groups()[0].options()).lr(), 1e-2);
  step_both(a, a_params, c, c_params, 3, 5);
  for (size_t i = 0; i < a_params.size(); ++i)
    EXPECT_TRUE(torch::equal(a_params[i], c_params[i])) << i;

  // A state for other parameters is refused.
  std::vector<torch::Tensor> other = {torch::zeros({7}).requires_grad_(),
                                      torch::zeros({5}).requires_grad_(),
                                      torch::zeros({}).requires_grad_()};
  FusedAdamW d(other, AdamWOptions(1e-2));
  EXPECT_THROW(load_adamw_state(d, (dir / "a/state.pt").string()), c10::Error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace caig
