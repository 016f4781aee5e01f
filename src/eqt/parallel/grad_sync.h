// eqt/parallel/grad_sync.h — sums parameter gradients over the ranks of a data-parallel run, in
// buckets, starting each bucket's allreduce while the backward pass is still running.
//
// The math: each rank's loss is its shard's share of the global loss (the trainer divides
// by the global count of predicted tokens), so the global gradient is the plain SUM of the
// ranks' gradients; nothing here divides by the world size.
//
// How: a hook on every parameter sees its gradient as autograd hands it to the parameter.
// Parameters are packed, in reverse registration order (roughly the order backward reaches
// them), into buckets of about bucket_bytes; once every parameter of a bucket has its
// gradient, the bucket's flat copy is all-reduced asynchronously. Buckets start in index
// order on every rank, so the ranks' collectives always match. finish() fills in the
// parameters backward never reached, waits, and writes the sums back into .grad.
//
// The implicit gradients (one-step / IFT) need no special case: their custom backward
// returns dL/dz* into the recorded f(z*), and the parameters' gradients come out of that
// graph through the same hooks. A parameter reached twice in one backward after its bucket
// was sent would be a lost gradient: that is an internal error, never silently dropped.
// What it is not: an optimizer, or aware of models; it sees a list of tensors.
#pragma once

#include "eqt/parallel/communicator.h"
#include "eqt/parallel/grad_sync_options.h"

#include <memory>
#include <vector>

namespace eqt::parallel {

class GradSync {
 public:
  GradSync(std::vector<torch::Tensor> params, std::shared_ptr<Communicator> comm, GradSyncOptions o = {});
  ~GradSync();
  GradSync(const GradSync&) = delete;
  GradSync& operator=(const GradSync&) = delete;

  // Call right before the backward whose gradients complete this optimizer step (the last
  // micro-batch); earlier micro-batches accumulate locally.
  void arm();
  // After that backward: every parameter's .grad is the sum over ranks. A parameter that no
  // rank gave a gradient keeps an undefined .grad (the optimizer skips it, as it would alone).
  void finish();

  int64_t buckets() const { return int64_t(buckets_.size()); }

 private:
  struct Bucket {
    std::vector<size_t> params;      // indices into params_
    std::vector<int64_t> offsets;    // element offset of each in flat
    torch::Tensor flat;              // (numel,) gradients of the bucket, packed
    int64_t pending = 0;             // parameters still without their gradient
    Pending work;
  };
  void on_grad(size_t i, const torch::Tensor& g);
  void launch_ready();
  void pack(size_t i, const torch::Tensor& g);

  std::vector<torch::Tensor> params_;
  std::shared_ptr<Communicator> comm_;
  GradSyncOptions o_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_;  // per parameter
  std::vector<size_t> slot_of_;    // per parameter: position inside its bucket
  std::vector<bool> seen_;         // per parameter: gradient arrived in this backward
  size_t next_launch_ = 0;
  bool armed_ = false;
  std::vector<unsigned> hooks_;
};

}  // namespace eqt::parallel
