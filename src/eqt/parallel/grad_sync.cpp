// eqt/parallel/grad_sync.cpp — see grad_sync.h.
#include "eqt/parallel/grad_sync.h"

namespace eqt::parallel {

GradSync::GradSync(std::vector<torch::Tensor> params, std::shared_ptr<Communicator> comm, GradSyncOptions o)
    : params_(std::move(params)), comm_(std::move(comm)), o_(o) {
  TORCH_CHECK(comm_, "GradSync needs a communicator");
  bucket_of_.resize(params_.size());
  slot_of_.resize(params_.size());
  seen_.assign(params_.size(), false);
  int64_t bytes = 0;
  for (size_t k = params_.size(); k-- > 0;) {  // reverse: backward reaches the last layers first
    const auto& p = params_[k];
    const bool fresh = buckets_.empty() || bytes >= o_.bucket_bytes() ||
                       params_[buckets_.back().params.front()].options().dtype() != p.options().dtype() ||
                       params_[buckets_.back().params.front()].device() != p.device();
    if (fresh) {
      buckets_.emplace_back();
      bytes = 0;
    }
    auto& b = buckets_.back();
    bucket_of_[k] = buckets_.size() - 1;
    slot_of_[k] = b.params.size();
    b.offsets.push_back(b.params.empty() ? 0 : b.offsets.back() + params_[b.params.back()].numel());
    b.params.push_back(k);
    bytes += p.numel() * int64_t(p.element_size());
  }
  for (auto& b : buckets_) {
    const auto& last = params_[b.params.back()];
    b.flat = torch::zeros({b.offsets.back() + last.numel()}, last.options().requires_grad(false));
  }
  for (size_t k = 0; k < params_.size(); ++k)
    if (params_[k].requires_grad())
      hooks_.push_back(params_[k].register_hook([this, k](const torch::Tensor& g) { on_grad(k, g); }));
}

GradSync::~GradSync() {
  for (size_t h = 0, k = 0; k < params_.size(); ++k)
    if (params_[k].requires_grad()) params_[k].remove_hook(hooks_[h++]);
}

void GradSync::arm() {
  for (auto& b : buckets_) {
    b.pending = int64_t(b.params.size());
    b.work.reset();
  }
  seen_.assign(params_.size(), false);
  next_launch_ = 0;
  armed_ = o_.overlap();
}

// The gradient the parameter will hold once autograd accumulates g: the hook runs before
// accumulation, so earlier micro-batches' part is still in .grad.
void GradSync::pack(size_t k, const torch::Tensor& g) {
  torch::NoGradGuard ng;
  auto& b = buckets_[bucket_of_[k]];
  auto dst = b.flat.narrow(0, b.offsets[slot_of_[k]], params_[k].numel());
  const auto& acc = params_[k].grad();
  if (g.defined() && acc.defined())
    dst.copy_((acc + g).reshape(-1));
  else if (g.defined())
    dst.copy_(g.reshape(-1));
  else if (acc.defined())
    dst.copy_(acc.reshape(-1));
  else
    dst.zero_();
}

void GradSync::on_grad(size_t k, const torch::Tensor& g) {
  if (!armed_) return;
  auto& b = buckets_[bucket_of_[k]];
  TORCH_CHECK(!b.work, "GradSync: a second gradient for parameter ", k, " arrived after its bucket was reduced; "
              "it would be lost (run with overlap off)");
  pack(k, g);
  if (!seen_[k]) {
    seen_[k] = true;
    --b.pending;
  }
  launch_ready();
}

void GradSync::launch_ready() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].pending == 0) {
    auto& b = buckets_[next_launch_++];
    b.work = comm_->allreduce_async(b.flat);
  }
}

void GradSync::finish() {
  armed_ = false;
  // Whether any rank has a gradient for each parameter: 1 if so (max over ranks).
  auto has = torch::zeros({int64_t(params_.size())}, torch::kFloat);  // (P,)
  for (size_t k = 0; k < params_.size(); ++k)
    if (params_[k].grad().defined()) has[int64_t(k)] = 1.0f;
  if (params_.front().is_cuda()) has = has.to(params_.front().device());
  for (size_t i = next_launch_; i < buckets_.size(); ++i) {
    auto& b = buckets_[i];
    for (size_t k : b.params)
      if (!seen_[k]) pack(k, torch::Tensor());  // already accumulated, or never reached
    b.pending = 0;
  }
  launch_ready();
  comm_->wait(comm_->allreduce_async(has, Reduce::Max));
  for (auto& b : buckets_) comm_->wait(b.work);
  auto any = has.cpu();
  torch::NoGradGuard ng;
  for (auto& b : buckets_)
    for (size_t s = 0; s < b.params.size(); ++s) {
      auto& p = params_[b.params[s]];
      if (any[int64_t(b.params[s])].item<float>() == 0) continue;
      auto sum = b.flat.narrow(0, b.offsets[s], p.numel()).view_as(p);
      if (p.grad().defined())
        p.mutable_grad().copy_(sum);
      else
        p.mutable_grad() = sum.clone();
    }
}

}  // namespace eqt::parallel
