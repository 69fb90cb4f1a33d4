#include "harness/fused_adamw.h"

#include <cmath>
#include <sstream>
#include <string>
#include <type_traits>

#include <torch/torch.h>

#include "harness/adamw_update.h"

namespace caig {

namespace {

// The optimizer state's key for a parameter: LibTorch 1.x keys the map by the printed address of
// the parameter's TensorImpl, 2.x by the address itself.
template <class StateMap>
typename StateMap::key_type state_key(const StateMap&, const torch::Tensor& p) {
  if constexpr (std::is_same_v<typename StateMap::key_type, std::string>) {
    std::ostringstream key;
    key << p.unsafeGetTensorImpl();
    return key.str();
  } else {
    return static_cast<typename StateMap::key_type>(p.unsafeGetTensorImpl());
  }
}

bool fusable(const torch::Tensor& p) {
  const auto& g = p.grad();
  return p.device().is_cpu() && p.scalar_type() == torch::kFloat && p.is_contiguous() &&
         g.layout() == torch::kStrided && g.device().is_cpu() && g.scalar_type() == torch::kFloat &&
         g.is_contiguous() && g.sizes() == p.sizes();
}

// Elements per task when one parameter's update is split over the intra-op threads: large
// enough that a small parameter (a bias, a norm) stays one task.
constexpr int64_t kUpdateGrain = 32768;

}  // namespace

torch::Tensor FusedAdamW::step(LossClosure closure) {
  torch::Tensor loss;
  if (closure) {  // first: the closure is what makes the gradients the checks below look at
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (const auto& group : param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
    bool fused = !o.amsgrad();
    for (const auto& p : group.params()) fused = fused && (!p.grad().defined() || fusable(p));
    if (!fused) {
      torch::optim::AdamW::step();
      return loss;
    }
  }
  torch::NoGradGuard no_grad;
  auto& states = state();
  for (auto& group : param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
    const double lr = o.lr(), beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const auto key = state_key(states, p);
      auto found = states.find(key);
      if (found == states.end()) {
        auto fresh = std::make_unique<torch::optim::AdamWParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
        found = states.emplace(key, std::move(fresh)).first;
      }
      auto& s = static_cast<torch::optim::AdamWParamState&>(*found->second);
      s.step(s.step() + 1);
      auto m = s.exp_avg(), v = s.exp_avg_sq();
      // A loaded state is not checked against the parameters when it is loaded: check it here,
      // before raw pointers walk it.
      for (const auto* moment : {&m, &v})
        TORCH_CHECK(moment->defined() && moment->numel() == p.numel() &&
                        moment->scalar_type() == torch::kFloat && moment->device().is_cpu(),
                    "FusedAdamW: the optimizer state of a parameter of shape ", p.sizes(),
                    " holds a moment of shape ",
                    moment->defined() ? moment->sizes() : torch::IntArrayRef{},
                    " (was it saved for other parameters?)");
      if (!m.is_contiguous()) s.exp_avg(m = m.contiguous());  // e.g. after loading
      if (!v.is_contiguous()) s.exp_avg_sq(v = v.contiguous());
      const double t = static_cast<double>(s.step());
      const double bias_correction1 = 1.0 - std::pow(beta1, t);
      const double bias_correction2 = 1.0 - std::pow(beta2, t);
      const AdamWCoefficients c{static_cast<float>(1.0 - lr * o.weight_decay()),
                                static_cast<float>(beta1),
                                static_cast<float>(1.0 - beta1),
                                static_cast<float>(beta2),
                                static_cast<float>(1.0 - beta2),
                                static_cast<float>(std::sqrt(bias_correction2)),
                                static_cast<float>(o.eps()),
                                static_cast<float>(lr / bias_correction1)};
      float* pp = p.data_ptr<float>();
      const float* pg = p.grad().data_ptr<float>();
      float *pm = m.data_ptr<float>(), *pv = v.data_ptr<float>();
      at::parallel_for(0, p.numel(), kUpdateGrain, [&](int64_t begin, int64_t end) {
        adamw_update(pp + begin, pg + begin, pm + begin, pv + begin, end - begin, c);
      });
      // As an in-place operator would: a graph that saved p now refuses to backpropagate.
      torch::autograd::impl::bump_version(p);
    }
  }
  return loss;
}

namespace {
constexpr const char* kStateFormat = "caig_adamw_state_v1";
at::Tensor scalar(double v) { return torch::tensor(v, torch::kDouble); }
}  // namespace

void save_adamw_state(const torch::optim::AdamW& optimizer, const std::string& path) {
  torch::serialize::OutputArchive archive;
  archive.write(kStateFormat, scalar(1));
  const auto& states = optimizer.state();
  const auto& groups = optimizer.param_groups();
  archive.write("groups", scalar(static_cast<double>(groups.size())));
  for (size_t g = 0; g < groups.size(); ++g) {
    const auto& o = static_cast<const torch::optim::AdamWOptions&>(groups[g].options());
    const std::string gk = "g" + std::to_string(g) + "/";
    archive.write(gk + "lr", scalar(o.lr()));
    archive.write(gk + "beta1", scalar(std::get<0>(o.betas())));
    archive.write(gk + "beta2", scalar(std::get<1>(o.betas())));
    archive.write(gk + "eps", scalar(o.eps()));
    archive.write(gk + "weight_decay", scalar(o.weight_decay()));
    archive.write(gk + "amsgrad", scalar(o.amsgrad() ? 1 : 0));
    const auto& params = groups[g].params();
    archive.write(gk + "params", scalar(static_cast<double>(params.size())));
    for (size_t i = 0; i < params.size(); ++i) {
      const auto found = states.find(state_key(states, params[i]));
      if (found == states.end()) continue;
      const auto& st = static_cast<const torch::optim::AdamWParamState&>(*found->second);
      const std::string pk = gk + "p" + std::to_string(i) + "/";
      archive.write(pk + "step", torch::tensor(st.step(), torch::kLong));
      archive.write(pk + "exp_avg", st.exp_avg());
      archive.write(pk + "exp_avg_sq", st.exp_avg_sq());
      if (st.max_exp_avg_sq().defined()) archive.write(pk + "max_exp_avg_sq", st.max_exp_avg_sq());
    }
  }
  archive.save_to(path);
}

void load_adamw_state(torch::optim::AdamW& optimizer, const std::string& path) {
  torch::serialize::InputArchive archive;
  archive.load_from(path);
  at::Tensor t;
  if (!archive.try_read(kStateFormat, t)) {  // LibTorch's own archive
    optimizer.load(archive);
    return;
  }
  auto read = [&](const std::string& key) {
    at::Tensor v;
    archive.read(key, v);
    return v;
  };
  auto& groups = optimizer.param_groups();
  TORCH_CHECK(read("groups").item<double>() == static_cast<double>(groups.size()),
              "the optimizer state has ", read("groups").item<double>(), " parameter groups, the ",
              "optimizer ", groups.size());
  // Everything is read and checked first, then put in place: a bad file changes nothing.
  struct GroupOptions {
    double lr, beta1, beta2, eps, weight_decay;
    bool amsgrad;
  };
  std::vector<GroupOptions> options;
  auto& states = optimizer.state();
  std::remove_reference_t<decltype(states)> loaded;
  for (size_t g = 0; g < groups.size(); ++g) {
    const std::string gk = "g" + std::to_string(g) + "/";
    const auto& params = groups[g].params();
    TORCH_CHECK(read(gk + "params").item<double>() == static_cast<double>(params.size()), "group ",
                g, " of the optimizer state has ", read(gk + "params").item<double>(),
                " parameters, the optimizer's ", params.size());
    options.push_back({read(gk + "lr").item<double>(), read(gk + "beta1").item<double>(),
                       read(gk + "beta2").item<double>(), read(gk + "eps").item<double>(),
                       read(gk + "weight_decay").item<double>(),
                       read(gk + "amsgrad").item<double>() != 0});
    for (size_t i = 0; i < params.size(); ++i) {
      const std::string pk = gk + "p" + std::to_string(i) + "/";
      at::Tensor step;
      if (!archive.try_read(pk + "step", step)) continue;  // the parameter had no step yet
      auto st = std::make_unique<torch::optim::AdamWParamState>();
      st->step(step.item<int64_t>());
      st->exp_avg(read(pk + "exp_avg").to(params[i].device()));
      st->exp_avg_sq(read(pk + "exp_avg_sq").to(params[i].device()));
      TORCH_CHECK(st->exp_avg().sizes() == params[i].sizes() &&
                      st->exp_avg_sq().sizes() == params[i].sizes(),
                  "the optimizer state of parameter ", i, " of group ", g, " has shape ",
                  st->exp_avg().sizes(), ", the parameter ", params[i].sizes());
      at::Tensor max_sq;
      if (archive.try_read(pk + "max_exp_avg_sq", max_sq))
        st->max_exp_avg_sq(max_sq.to(params[i].device()));
      loaded[state_key(states, params[i])] = std::move(st);
    }
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    auto& o = static_cast<torch::optim::AdamWOptions&>(groups[g].options());
    o.lr(options[g].lr);
    o.betas({options[g].beta1, options[g].beta2});
    o.eps(options[g].eps);
    o.weight_decay(options[g].weight_decay);
    o.amsgrad(options[g].amsgrad);
  }
  states = std::move(loaded);
}

void release_gradients(const std::vector<torch::Tensor>& params) {
  for (auto p : params) p.mutable_grad() = torch::Tensor();
}

}  // namespace caig
