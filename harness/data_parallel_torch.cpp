#include "harness/data_parallel.h"

#include <torch/torch.h>

#include "harness/budget.h"
#include "harness/distributed.h"
#include "harness/error.h"

namespace caig::dist {

void all_reduce_gradients(Group& group, const std::vector<at::Tensor>& params, double scale,
                          const std::string& what, int64_t bucket_bytes) {
  torch::NoGradGuard no_grad;
  // Which parameters any rank reached.
  auto reached = torch::zeros({static_cast<int64_t>(params.size())}, torch::kFloat64);
  auto reached_a = reached.accessor<double, 1>();
  for (size_t i = 0; i < params.size(); ++i)
    reached_a[static_cast<int64_t>(i)] = params[i].grad().defined() ? 1.0 : 0.0;
  std::vector<at::Tensor> flags{reached};
  group.all_reduce(flags, Reduce::Max, what + ": which parameters have gradients");
  std::vector<at::Tensor> grads;
  for (size_t i = 0; i < params.size(); ++i) {
    if (reached_a[static_cast<int64_t>(i)] == 0) continue;
    auto p = params[i];
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    if (scale != 1.0) p.mutable_grad().mul_(scale);
    grads.push_back(p.grad());
  }
  // Buckets of consecutive gradients of one dtype and device.
  std::vector<std::vector<at::Tensor>> members;
  std::vector<at::Tensor> buckets;
  size_t i = 0;
  while (i < grads.size()) {
    std::vector<at::Tensor> bucket{grads[i]};
    int64_t bytes = grads[i].numel() * static_cast<int64_t>(grads[i].element_size());
    size_t j = i + 1;
    for (; j < grads.size(); ++j) {
      const auto& g = grads[j];
      const int64_t b = g.numel() * static_cast<int64_t>(g.element_size());
      if (bytes + b > bucket_bytes || g.scalar_type() != grads[i].scalar_type() ||
          g.device() != grads[i].device())
        break;
      bucket.push_back(g);
      bytes += b;
    }
    std::vector<at::Tensor> flat;
    for (const auto& g : bucket) flat.push_back(g.reshape({-1}));
    buckets.push_back(torch::cat(flat));
    members.push_back(std::move(bucket));
    i = j;
  }
  if (buckets.empty()) return;
  group.all_reduce(buckets, Reduce::Sum, what + ": gradients");
  for (size_t b = 0; b < buckets.size(); ++b) {
    int64_t at = 0;
    for (auto& g : members[b]) {
      g.copy_(buckets[b].slice(0, at, at + g.numel()).view(g.sizes()));
      at += g.numel();
    }
  }
}

void align_meter_clock(Group& group, BudgetMeter& meter, const std::string& what) {
  if (meter.running()) fail("{}: the budget's clock must be stopped to align it", what);
  auto s = torch::tensor({meter.device_seconds()}, torch::kFloat64);
  std::vector<at::Tensor> v{s};
  group.all_reduce(v, Reduce::Max, what + ": the budget's clock");
  meter.add_seconds(s.item<double>() - meter.device_seconds());
}

void average_buffers(Group& group, const std::vector<at::Tensor>& buffers,
                     const std::string& what) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> floating;
  for (const auto& b : buffers)
    if (b.is_floating_point()) floating.push_back(b);
  if (floating.empty()) return;
  std::vector<at::Tensor> flat;
  for (const auto& b : floating) flat.push_back(b.reshape({-1}).to(torch::kFloat64));
  std::vector<at::Tensor> all{torch::cat(flat)};
  group.all_reduce(all, Reduce::Sum, what + ": the buffers");
  all.front().div_(group.size());
  int64_t at = 0;
  for (auto& b : floating) {
    b.copy_(all.front().slice(0, at, at + b.numel()).view(b.sizes()));
    at += b.numel();
  }
}

void broadcast_parameters(Group& group, const std::vector<at::Tensor>& params,
                          const std::string& what) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> values;
  for (const auto& p : params) values.push_back(p.detach().contiguous());
  group.broadcast(values, 0, what + ": the initial parameters");
  for (size_t i = 0; i < params.size(); ++i)
    if (values[i].data_ptr() != params[i].data_ptr()) params[i].detach().copy_(values[i]);
}

}  // namespace caig::dist
