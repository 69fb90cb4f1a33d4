// Data-parallel backward within one process, for CPU training on a few cores.
//
// The cpu preset's GEMMs are small (1,280 rows, 128-512 columns). Threaded inside OpenBLAS they
// reached about 0.6 of the measured sgemm peak on two cores, and the work between them (layer
// norms, softmax, adds, the autograd engine) ran on one core while the other waited. Splitting the
// batch into shards, each running its forward and backward on its own thread with a
// single-threaded BLAS, keeps both cores on full-size work: the training step went from 120 to
// 78 ms (BM_TrainStep, shards 1 against 2).
//
// The result is a function of the shard count, never of the machine: each shard's arithmetic is
// single-threaded, and the shards' gradients are added in shard order.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <ATen/core/Tensor.h>

namespace caig {

// Computes shard_loss(0), ..., shard_loss(shards - 1) and their gradients with respect to
// `params`, and adds (g_0 + g_1 + ... + g_{shards-1}) to each parameter's gradient (sets it when
// it has none; a parameter no shard reaches keeps what it had). Each shard_loss(i) must build the
// scalar loss of its part of the batch, scaled so that the parts add up to the whole batch's loss
// (a mean over the batch divides by the whole batch's count, not the shard's); it may write to
// state of its own (say, slot i of a vector), but must not touch what another shard reads.
//
// shards == 1 is loss.backward() with the process's threading, as it is. With more shards on CPU
// parameters, shard 0 runs on the calling thread and each other shard on a thread of its own, all
// with one intra-op thread, one OpenBLAS thread and one MKL thread (restored afterwards; one such
// call at a time in the process); elsewhere (CUDA) the shards run one after the other. An
// exception from any shard is rethrown (the first in shard order) once every shard has finished;
// the gradients are then left untouched. A shard must not call sharded_backward itself (an
// error) nor end the process. Shards that draw random numbers (dropout) draw them in an order
// that depends on thread timing: keep them deterministic.
void sharded_backward(int64_t shards, const std::function<at::Tensor(int64_t shard)>& shard_loss,
                      const std::vector<at::Tensor>& params);

// The [begin, end) range of shard i when n items are split into `shards` contiguous parts whose
// sizes differ by at most one (the first n % shards parts are one larger).
std::pair<int64_t, int64_t> shard_range(int64_t n, int64_t shards, int64_t i);

}  // namespace caig
