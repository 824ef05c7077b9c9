// gruforecast's fused CPU GRU layer: forward and hand-written backward.
//
// PyTorch's CPU nn.GRU runs each time step as a dozen small ATen operations, and its
// backward as autograd's step-by-step graph; at the sizes short series train with
// (batches of 16 to 64, hidden 64) dispatch dominates. Here each step is the input and
// recurrent products (its own small-matrix loops: a BLAS call per step cost more than
// its work) plus one vectorised pass over the gates (_fused_gru_loops.h), with the
// batch's rows split over the threads. The backward adds each step's share of the
// weight gradients as it goes, while the step's values are in cache (cheaper than one
// large product after the loop), so the gradients of the gates of all steps need not be
// kept.
//
// The equations are nn.GRU's (linear_before_reset), with weights in its layout:
//   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
//   n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h
// with a zero initial state. Tensors are time-major: x (T, B, I), outputs (T, B, H).
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#define R __restrict__
#if defined(__GNUC__)
#define INLINE inline __attribute__((always_inline))  // into the loops, which then vectorise
#else
#define INLINE inline
#endif

namespace base {
#include "_fused_gru_loops.h"
}
// The loops again for AVX2 and FMA, taken where the CPU has them: the build targets
// baseline x86-64 (SSE2), so it runs on any machine that shares the build cache.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define GRU_AVX2 1
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace avx2 {
#include "_fused_gru_loops.h"
}
#pragma GCC pop_options
static const bool kAvx2 =
    (__builtin_cpu_init(), __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
#endif

template <typename scalar_t, typename... Args>
static void step_forward(Args... args) {
#ifdef GRU_AVX2
  if constexpr (std::is_same_v<scalar_t, float>)
    if (kAvx2) return avx2::gates<float>(args...);
#endif
  base::gates<scalar_t>(args...);
}

template <typename scalar_t, typename... Args>
static void step_backward(Args... args) {
#ifdef GRU_AVX2
  if constexpr (std::is_same_v<scalar_t, float>)
    if (kAvx2) return avx2::gates_backward<float>(args...);
#endif
  base::gates_backward<scalar_t>(args...);
}

// The batch's rows split into contiguous chunks, one per thread, each running the whole
// time loop: one fork and join per layer and pass, where splitting every step's work
// would cost one per step. Bodies touch raw memory only (no ATen operations: grad mode
// and the like are per thread). Needs -fopenmp (_fused.py): without it ATen's
// parallel_for runs serially. On 2 cores a training step of 16 windows ran 1.2x faster
// in chunks of 8 rows, one of 124 windows 1.6x.
constexpr int64_t kChunkRows = 8;

static int64_t chunk_count(int64_t B) {
  return std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), B / kChunkRows));
}

template <typename F>
static void for_chunks(int64_t B, const F& body) {  // body(chunk, first row, rows)
  const int64_t chunks = chunk_count(B);
  if (chunks == 1) return body(0, 0, B);
  at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const int64_t first = B * c / chunks;
      body(c, first, B * (c + 1) / chunks - first);
    }
  });
}


// x (T, B, I), weights as nn.GRU's. Returns out (T + 1, B, H) with out[0] = 0 (the
// states, saved for backward), rz (T, B, 2H) the gates r and z, n (T, B, H) the
// candidates, and ghn (T, B, H) = W_hn h + b_hn, the recurrent part r multiplied.
// Without save (no backward to come), rz, n and ghn hold the last step only.
std::vector<at::Tensor> gru_forward(at::Tensor x, at::Tensor w_ih, at::Tensor w_hh,
                                    at::Tensor b_ih, at::Tensor b_hh, bool save) {
  const int64_t T = x.size(0), B = x.size(1), I = x.size(2), H = w_hh.size(1);
  // the input biases, with the recurrent biases of r and z folded in (b_hn stays
  // apart: r multiplies it)
  auto bias = b_ih.clone();
  bias.narrow(0, 0, 2 * H).add_(b_hh.narrow(0, 0, 2 * H));
  auto out = at::empty({T + 1, B, H}, x.options());
  out[0].zero_();  // the initial state; the other steps are all written below
  const int64_t kept = save ? T : 1;  // steps of rz, n and ghn kept
  auto rz = at::empty({kept, B, 2 * H}, x.options());
  auto n = at::empty({kept, B, H}, x.options());
  auto ghn = at::empty({kept, B, H}, x.options());
  auto gi = at::empty({B, 3 * H}, x.options());  // one step's products, each chunk's rows
  auto gh = at::empty({B, 3 * H}, x.options());
  auto w_ih_t = w_ih.t().contiguous();
  auto w_hh_t = w_hh.t().contiguous();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gru_forward", [&] {
    const scalar_t* bn = b_hh.data_ptr<scalar_t>() + 2 * H;
    for_chunks(B, [&](int64_t, int64_t b0, int64_t nb) {
      for (int64_t t = 0; t < T; ++t) {
        const int64_t row = t * B + b0;  // the chunk's first row at step t
        const int64_t slot = (save ? t : 0) * B + b0;  // its row in rz, n and ghn
        step_forward<scalar_t>(
            nb, H, I, x.data_ptr<scalar_t>() + row * I, w_ih_t.data_ptr<scalar_t>(),
            bias.data_ptr<scalar_t>(), gi.data_ptr<scalar_t>() + b0 * 3 * H,
            w_hh_t.data_ptr<scalar_t>(), gh.data_ptr<scalar_t>() + b0 * 3 * H, bn,
            out.data_ptr<scalar_t>() + row * H, rz.data_ptr<scalar_t>() + slot * 2 * H,
            ghn.data_ptr<scalar_t>() + slot * H, n.data_ptr<scalar_t>() + slot * H,
            out.data_ptr<scalar_t>() + (row + B) * H);
      }
    });
  });
  return {out, rz, n, ghn};
}

// Gradients of nn.GRU's parameters (and of x if need_x) from grad_out: (T, B, H), the
// gradient of every output state, or (B, H), that of the last state only (the others
// are then zero: a forecasting head reads the last state). Returns grad_x (undefined
// without need_x), grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh. Each chunk of rows sums
// its share of the parameters' gradients step by step, while the step's gradients are
// at hand; the chunks' sums are added at the end.
std::vector<at::Tensor> gru_backward(at::Tensor grad_out, at::Tensor x, at::Tensor w_ih,
                                     at::Tensor w_hh, at::Tensor out, at::Tensor rz,
                                     at::Tensor n, at::Tensor ghn, bool need_x) {
  const int64_t T = x.size(0), B = x.size(1), I = x.size(2), H = w_hh.size(1);
  x = x.contiguous();
  grad_out = grad_out.contiguous();
  const bool last_only = grad_out.dim() == 2;
  // with last_only, the output gradient of every step but the last reads zeros here
  auto no_grad_out = last_only ? at::zeros({B, H}, x.options()) : at::Tensor();
  auto dgh = at::empty({B, 3 * H}, x.options());  // d loss / d (W_h h + b_h), one step
  auto dgi = at::empty({B, 3 * H}, x.options());  // d loss / d (W_i x + b_i), one step
  auto carried = at::zeros({B, H}, x.options());    // the part through h' = ... + z h
  auto recurrent = at::zeros({B, H}, x.options());  // the part through W_h h
  // each chunk's sums: grad_w_hh, grad_w_ih, grad_b_hh, and grad_b_ih's n part
  const int64_t sizes[] = {3 * H * H, 3 * H * I, 3 * H, H};
  const int64_t width = sizes[0] + sizes[1] + sizes[2] + sizes[3];
  auto sums = at::zeros({chunk_count(B), width}, x.options());
  auto grad_x = need_x ? at::empty({T, B, I}, x.options()) : at::Tensor();
  w_hh = w_hh.contiguous();
  w_ih = w_ih.contiguous();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gru_backward", [&] {
    for_chunks(B, [&](int64_t chunk, int64_t b0, int64_t nb) {
      scalar_t* g_hh = sums.data_ptr<scalar_t>() + chunk * width;
      scalar_t* g_ih = g_hh + sizes[0];
      scalar_t* gb_hh = g_ih + sizes[1];
      scalar_t* gb_in = gb_hh + sizes[2];
      for (int64_t t = T - 1; t >= 0; --t) {
        const int64_t row = t * B + b0;  // the chunk's first row at step t
        const scalar_t* go = !last_only     ? grad_out.data_ptr<scalar_t>() + row * H
                             : t == T - 1   ? grad_out.data_ptr<scalar_t>() + b0 * H
                                            : no_grad_out.data_ptr<scalar_t>() + b0 * H;
        step_backward<scalar_t>(
            nb, H, I, go, recurrent.data_ptr<scalar_t>() + b0 * H,
            carried.data_ptr<scalar_t>() + b0 * H, rz.data_ptr<scalar_t>() + row * 2 * H,
            n.data_ptr<scalar_t>() + row * H, ghn.data_ptr<scalar_t>() + row * H,
            out.data_ptr<scalar_t>() + row * H, x.data_ptr<scalar_t>() + row * I,
            dgh.data_ptr<scalar_t>() + b0 * 3 * H, dgi.data_ptr<scalar_t>() + b0 * 3 * H,
            w_hh.data_ptr<scalar_t>(), w_ih.data_ptr<scalar_t>(), g_hh, g_ih, gb_hh, gb_in,
            need_x ? grad_x.data_ptr<scalar_t>() + row * I : nullptr, t == 0);
      }
    });
  });
  auto total = sums.sum(0);  // the chunks' sums, in chunk order
  auto grad_w_hh = total.narrow(0, 0, sizes[0]).view({3 * H, H});
  auto grad_w_ih = total.narrow(0, sizes[0], sizes[1]).view({3 * H, I});
  auto grad_b_hh = total.narrow(0, sizes[0] + sizes[1], sizes[2]);
  // dgi's r and z columns are dgh's (gates_backward): their sums too
  auto grad_b_ih = at::cat({grad_b_hh.narrow(0, 0, 2 * H), total.narrow(0, width - H, H)});
  return {grad_x, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &gru_forward, "GRU layer forward (time-major)");
  m.def("backward", &gru_backward, "GRU layer backward");
}
