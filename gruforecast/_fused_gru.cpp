// gruforecast's fused CPU GRU layer: forward and hand-written backward.
//
// PyTorch's CPU nn.GRU runs each time step as a dozen small ATen operations, and its
// backward as autograd's step-by-step graph; at the sizes short series train with
// (batches of 16 to 64, hidden 64) dispatch dominates. Here each step is one matrix
// product for the recurrent projection plus plain loops over the gates; the input
// projections are one product before the time loop, and the weight gradients one
// product each after it.
//
// The equations are nn.GRU's (linear_before_reset), with weights in its layout:
//   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
//   n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h
// with a zero initial state. Tensors are time-major: x (T, B, I), outputs (T, B, H).
#include <torch/extension.h>
#include <cmath>
#include <vector>

#define R __restrict__

// x (T, B, I), weights as nn.GRU's. Returns out (T + 1, B, H) with out[0] = 0 (the
// states, saved for backward), rz (T, B, 2H) the gates r and z, n (T, B, H) the
// candidates, and ghn (T, B, H) = W_hn h + b_hn, the recurrent part r multiplied.
std::vector<at::Tensor> gru_forward(at::Tensor x, at::Tensor w_ih, at::Tensor w_hh,
                                    at::Tensor b_ih, at::Tensor b_hh) {
  const int64_t T = x.size(0), B = x.size(1), I = x.size(2), H = w_hh.size(1);
  // input projections of all steps at once, with the recurrent biases of r and z
  // folded in (b_hn stays apart: r multiplies it)
  auto bias = b_ih.clone();
  bias.narrow(0, 0, 2 * H).add_(b_hh.narrow(0, 0, 2 * H));
  auto gi = at::addmm(bias, x.reshape({T * B, I}), w_ih.t()).view({T, B, 3 * H});
  auto out = at::empty({T + 1, B, H}, x.options());
  out[0].zero_();  // the initial state; the other steps are all written below
  auto rz = at::empty({T, B, 2 * H}, x.options());
  auto n = at::empty({T, B, H}, x.options());
  auto ghn = at::empty({T, B, H}, x.options());
  auto gh = at::empty({B, 3 * H}, x.options());
  auto pre_n = at::empty({B, H}, x.options());
  auto w_hh_t = w_hh.t();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gru_forward", [&] {
    const scalar_t* R bn = b_hh.data_ptr<scalar_t>() + 2 * H;
    for (int64_t t = 0; t < T; ++t) {
      at::mm_out(gh, out[t], w_hh_t);
      const scalar_t* R hh = gh.data_ptr<scalar_t>();
      const scalar_t* R hp = out.data_ptr<scalar_t>() + t * B * H;
      scalar_t* R hn = out.data_ptr<scalar_t>() + (t + 1) * B * H;
      scalar_t* R rzp = rz.data_ptr<scalar_t>() + t * B * 2 * H;
      scalar_t* R pn = pre_n.data_ptr<scalar_t>();
      scalar_t* R np_ = n.data_ptr<scalar_t>() + t * B * H;
      scalar_t* R gp = ghn.data_ptr<scalar_t>() + t * B * H;
      for (int64_t b = 0; b < B; ++b) {
        const scalar_t* R g = gi.data_ptr<scalar_t>() + (t * B + b) * 3 * H;
        for (int64_t j = 0; j < 2 * H; ++j) rzp[b * 2 * H + j] = g[j] + hh[b * 3 * H + j];
      }
      at::Tensor rz_t = rz[t];
      at::sigmoid_(rz_t);
      for (int64_t b = 0; b < B; ++b) {
        const scalar_t* R g = gi.data_ptr<scalar_t>() + (t * B + b) * 3 * H + 2 * H;
        const scalar_t* R h3 = hh + b * 3 * H + 2 * H;
        const scalar_t* R r = rzp + b * 2 * H;
        for (int64_t j = 0; j < H; ++j) {
          scalar_t v = h3[j] + bn[j];
          gp[b * H + j] = v;
          pn[b * H + j] = g[j] + r[j] * v;
        }
      }
      at::Tensor n_t = n[t];
      at::tanh_out(n_t, pre_n);
      for (int64_t b = 0; b < B; ++b) {
        const scalar_t* R z = rzp + b * 2 * H + H;
        for (int64_t j = 0; j < H; ++j) {
          const int64_t k = b * H + j;
          hn[k] = np_[k] + z[j] * (hp[k] - np_[k]);
        }
      }
    }
  });
  return {out, rz, n, ghn};
}

// Gradients of nn.GRU's parameters (and of x if need_x) from grad_out (T, B, H), the
// gradient of every output state. Returns grad_x (undefined without need_x),
// grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh.
std::vector<at::Tensor> gru_backward(at::Tensor grad_out, at::Tensor x, at::Tensor w_ih,
                                     at::Tensor w_hh, at::Tensor out, at::Tensor rz,
                                     at::Tensor n, at::Tensor ghn, bool need_x) {
  const int64_t T = x.size(0), B = x.size(1), I = x.size(2), H = w_hh.size(1);
  grad_out = grad_out.contiguous();
  auto dgh = at::empty({T, B, 3 * H}, x.options());  // d loss / d (W_h h + b_h)
  auto dgi = at::empty({T, B, 3 * H}, x.options());  // d loss / d (W_i x + b_i)
  auto dh = grad_out[T - 1].clone();                   // d loss / d h_t, all paths
  auto carried = at::empty({B, H}, x.options());       // the part through h' = ... + z h
  auto recurrent = at::empty({B, H}, x.options());     // the part through W_h h
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gru_backward", [&] {
    scalar_t* R d = dh.data_ptr<scalar_t>();
    scalar_t* R c = carried.data_ptr<scalar_t>();
    const scalar_t* R m = recurrent.data_ptr<scalar_t>();
    for (int64_t t = T - 1; t >= 0; --t) {
      if (t < T - 1) {
        const scalar_t* R go = grad_out.data_ptr<scalar_t>() + t * B * H;
        for (int64_t k = 0; k < B * H; ++k) d[k] = go[k] + c[k] + m[k];
      }
      const scalar_t* R hp = out.data_ptr<scalar_t>() + t * B * H;
      const scalar_t* R rzp = rz.data_ptr<scalar_t>() + t * B * 2 * H;
      const scalar_t* R np_ = n.data_ptr<scalar_t>() + t * B * H;
      const scalar_t* R gp = ghn.data_ptr<scalar_t>() + t * B * H;
      for (int64_t b = 0; b < B; ++b) {
        const scalar_t* R r = rzp + b * 2 * H;
        const scalar_t* R z = r + H;
        const scalar_t* R nb = np_ + b * H;
        const scalar_t* R hb = hp + b * H;
        const scalar_t* R gb = gp + b * H;
        const scalar_t* R db = d + b * H;
        scalar_t* R cb = c + b * H;
        scalar_t* R oh = dgh.data_ptr<scalar_t>() + (t * B + b) * 3 * H;
        scalar_t* R oi = dgi.data_ptr<scalar_t>() + (t * B + b) * 3 * H;
        for (int64_t j = 0; j < H; ++j) {
          const scalar_t a = db[j] * (1 - z[j]) * (1 - nb[j] * nb[j]);  // d pre-tanh
          const scalar_t dr = a * gb[j] * r[j] * (1 - r[j]);
          const scalar_t dz = db[j] * (hb[j] - nb[j]) * z[j] * (1 - z[j]);
          oh[j] = dr;
          oi[j] = dr;
          oh[H + j] = dz;
          oi[H + j] = dz;
          oh[2 * H + j] = a * r[j];
          oi[2 * H + j] = a;
          cb[j] = db[j] * z[j];
        }
      }
      if (t) at::mm_out(recurrent, dgh[t], w_hh);
    }
  });
  auto dgh2 = dgh.view({T * B, 3 * H});
  auto dgi2 = dgi.view({T * B, 3 * H});
  auto grad_w_hh = at::mm(dgh2.t(), out.narrow(0, 0, T).reshape({T * B, H}));
  auto grad_b_hh = dgh2.sum(0);
  auto grad_w_ih = at::mm(dgi2.t(), x.reshape({T * B, I}));
  auto grad_b_ih = dgi2.sum(0);
  auto grad_x = need_x ? at::mm(dgi2, w_ih).view({T, B, I}) : at::Tensor();
  return {grad_x, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &gru_forward, "GRU layer forward (time-major)");
  m.def("backward", &gru_backward, "GRU layer backward");
}
