// eqt/util/flop_count.cpp — see flop_count.h.
#include "eqt/util/flop_count.h"

#include <ATen/record_function.h>

#include <atomic>
#include <cstring>
#include <stdexcept>

namespace eqt::util {
namespace {

std::atomic<uint64_t> g_flops{0};
std::atomic<bool> g_active{false};

int64_t dim(const c10::IValue& v, int64_t d) {
  const auto& t = v.toTensor();
  return t.size(d < 0 ? t.dim() + d : d);
}

// 2 * multiply-adds of the products LibTorch's kernels compute (inputs as in the aten
// schemas: mm(self, mat2), addmm(self, mat1, mat2), bmm(self, mat2), baddbmm(self, b1, b2),
// mv(self, vec), addmv(self, mat, vec), dot(self, tensor)).
uint64_t product_flops(const at::RecordFunction& fn) {
  const char* name = fn.name();
  const auto in = fn.inputs();
  auto is = [&](const char* op) { return std::strcmp(name, op) == 0; };
  auto tensors = [&](size_t a, size_t b) {
    return in.size() > b && in[a].isTensor() && in[b].isTensor();
  };
  if (is("aten::mm") && tensors(0, 1)) return 2ull * dim(in[0], 0) * dim(in[0], 1) * dim(in[1], 1);
  if (is("aten::addmm") && tensors(1, 2)) return 2ull * dim(in[1], 0) * dim(in[1], 1) * dim(in[2], 1);
  if (is("aten::bmm") && tensors(0, 1))
    return 2ull * dim(in[0], 0) * dim(in[0], 1) * dim(in[0], 2) * dim(in[1], 2);
  if (is("aten::baddbmm") && tensors(1, 2))
    return 2ull * dim(in[1], 0) * dim(in[1], 1) * dim(in[1], 2) * dim(in[2], 2);
  if (is("aten::mv") && tensors(0, 1)) return 2ull * dim(in[0], 0) * dim(in[0], 1);
  if (is("aten::addmv") && tensors(1, 2)) return 2ull * dim(in[1], 0) * dim(in[1], 1);
  if (is("aten::dot") && tensors(0, 1)) return 2ull * dim(in[0], 0);
  return 0;
}

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  if (g_active.load(std::memory_order_relaxed)) g_flops.fetch_add(product_flops(fn), std::memory_order_relaxed);
  return nullptr;
}

}  // namespace

FlopCount::FlopCount() {
  if (g_active.exchange(true)) throw std::logic_error("FlopCount: another count is already running");
  g_flops = 0;
  handle_ = at::addGlobalCallback(
      at::RecordFunctionCallback(&on_start).needsInputs(true).scopes({at::RecordScope::FUNCTION}));
}

FlopCount::~FlopCount() {
  at::removeCallback(handle_);
  g_active = false;
}

double FlopCount::flops() const { return double(g_flops.load()); }

}  // namespace eqt::util
