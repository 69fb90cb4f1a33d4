// The gradient exchange of data-parallel training: after every rank's backward on its part of
// the step's batch, each parameter's gradient becomes the sum over the ranks (each rank's first
// scaled by its share of the batch where the task's loss is a mean over its own part).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace caig {
class BudgetMeter;
}

namespace caig::dist {

class Group;

// Gradients are flattened into buckets of at most this many bytes (one collective each, queued
// together), as DistributedDataParallel does: few large messages instead of one per parameter.
constexpr int64_t kDefaultBucketBytes = int64_t{25} << 20;

// Multiplies each defined gradient of `params` by `scale`, then sums them over the ranks of
// `group`. A parameter that some rank's backward did not reach gets a zero gradient there
// first; one no rank reached keeps no gradient (the optimiser skips it, as in one process).
// `what` names the training in an error.
void all_reduce_gradients(Group& group, const std::vector<at::Tensor>& params, double scale,
                          const std::string& what, int64_t bucket_bytes = kDefaultBucketBytes);

// Copies rank 0's values of `params` to every rank (a job's start: one initialisation).
void broadcast_parameters(Group& group, const std::vector<at::Tensor>& params,
                          const std::string& what);

// Sets the (stopped) meter's device seconds on every rank to the largest over the ranks (the job
// waited for the slowest rank): what work that every rank does whole (sampling, evaluation) costs
// the job, and figures on which every rank then takes the same budget decisions.
void align_meter_clock(Group& group, BudgetMeter& meter, const std::string& what);

// Replaces each floating-point tensor of `buffers` by its mean over the ranks (integer ones, such
// as BatchNorm's batch counter, advance alike on every rank and are left as they are).
void average_buffers(Group& group, const std::vector<at::Tensor>& buffers, const std::string& what);

}  // namespace caig::dist
