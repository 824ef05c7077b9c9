// The fused GRU's elementwise loops (_fused_gru.cpp includes this twice: once for
// baseline x86-64, once for AVX2 and FMA, each in its own namespace). No includes here.

// sigmoid and tanh for float32 as plain arithmetic that the compiler vectorises (ATen's
// cost 1.4 and 4.9 ns a value here, plus a call each per step). Both go through e^a for
// a <= 0, within about 2 ulp (Cephes' expf: e^a = 2^n e^r, |r| <= ln2 / 2, a degree-6
// polynomial for e^r); absolute errors below 1e-7. Vectorising needs -fno-trapping-math
// (fused.py passes it) for the selects, and the clamp below done on the bits: as a float
// compare, GCC turns it into branches.
static INLINE float exp_nonpositive(float a) {
  int32_t bits;  // below -87, e^a leaves float's normal range: clamp a there
  std::memcpy(&bits, &a, sizeof a);
  bits = std::min(bits, int32_t(-1028784128));  // -87.0f's bits (negative floats: a
  std::memcpy(&a, &bits, sizeof a);             // larger magnitude is a smaller int)
  const float shifter = 12582912.0f;            // 1.5 * 2^23: adding it rounds to an integer
  const float n = (a * 1.44269504088896341f + shifter) - shifter;
  const float r = (a - n * 0.693359375f) + n * 2.12194440e-4f;  // a - n ln2, in two parts
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  const int32_t scale_bits = (static_cast<int32_t>(n) + 127) << 23;  // 2^n
  float scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  return e * scale;
}
static INLINE float sigmoid_value(float x) {
  const float e = exp_nonpositive(-std::fabs(x));
  const float s = 1.0f / (1.0f + e);
  const float y = x >= 0.0f ? s : e * s;
  return x == x ? y : x;  // NaN stays NaN
}
static INLINE float tanh_value(float x) {
  const float e = exp_nonpositive(-2.0f * std::fabs(x));
  const float y = std::copysign((1.0f - e) / (1.0f + e), x);
  return x == x ? y : x;
}
// float64 (the tests' precision) keeps the library's functions
static inline double sigmoid_value(double x) { return 1.0 / (1.0 + std::exp(-x)); }
static inline double tanh_value(double x) { return std::tanh(x); }

// One time step's gates for nb rows, in one pass: from gi (the input projections, r and
// z recurrent biases included) and gh = W_h h, writes r and z (rz), ghn = W_hn h + b_hn,
// the candidate n and the new state hn from the previous one hp.
template <typename scalar_t>
static void gates(int64_t nb, int64_t H, const scalar_t* R gi, const scalar_t* R gh,
                  const scalar_t* R bn, const scalar_t* R hp, scalar_t* R rz, scalar_t* R ghn,
                  scalar_t* R n, scalar_t* R hn) {
  for (int64_t k = 0; k < nb; ++k) {
    const scalar_t* R g = gi + k * 3 * H;
    const scalar_t* R h = gh + k * 3 * H;
    scalar_t* R r = rz + k * 2 * H;
    scalar_t* R z = r + H;
    for (int64_t j = 0; j < H; ++j) {
      const scalar_t rj = sigmoid_value(g[j] + h[j]);
      const scalar_t zj = sigmoid_value(g[H + j] + h[H + j]);
      const scalar_t v = h[2 * H + j] + bn[j];
      const scalar_t nj = tanh_value(g[2 * H + j] + rj * v);
      r[j] = rj;
      z[j] = zj;
      ghn[k * H + j] = v;
      n[k * H + j] = nj;
      hn[k * H + j] = nj + zj * (hp[k * H + j] - nj);
    }
  }
}

// One time step of the backward pass for nb rows, in one pass: d = go + c + m, the
// gradient of the state h' (from the output go, the path through z h carried in c, and
// the path through W_h h in m), gives dgh = d loss / d (W_h h + b_h) and dgi =
// d loss / d (W_i x + b_i) from the saved r, z (rz), n, ghn and the previous state hp;
// c becomes the part carried on to the step before.
template <typename scalar_t>
static void gates_backward(int64_t nb, int64_t H, const scalar_t* R go, const scalar_t* R m,
                           scalar_t* R c, const scalar_t* R rz, const scalar_t* R n,
                           const scalar_t* R ghn, const scalar_t* R hp, scalar_t* R dgh,
                           scalar_t* R dgi) {
  for (int64_t k = 0; k < nb; ++k) {
    const scalar_t* R r = rz + k * 2 * H;
    const scalar_t* R z = r + H;
    scalar_t* R oh = dgh + k * 3 * H;
    scalar_t* R oi = dgi + k * 3 * H;
    for (int64_t j = 0; j < H; ++j) {
      const int64_t i = k * H + j;
      const scalar_t d = go[i] + c[i] + m[i];
      const scalar_t a = d * (1 - z[j]) * (1 - n[i] * n[i]);  // d pre-tanh
      const scalar_t dr = a * ghn[i] * r[j] * (1 - r[j]);
      const scalar_t dz = d * (hp[i] - n[i]) * z[j] * (1 - z[j]);
      oh[j] = dr;
      oi[j] = dr;
      oh[H + j] = dz;
      oi[H + j] = dz;
      oh[2 * H + j] = a * r[j];
      oi[2 * H + j] = a;
      c[i] = d * z[j];
    }
  }
}
