// The fused GRU's elementwise loops (_fused_gru.cpp includes this twice: once for
// baseline x86-64, once for AVX2 and FMA, each in its own namespace). No includes here.

// sigmoid and tanh for float32 as plain arithmetic that the compiler vectorises (ATen's
// cost 1.4 and 4.9 ns a value here, plus a call each per step). Both go through e^a for
// a <= 0, within about 2 ulp (Cephes' expf: e^a = 2^n e^r, |r| <= ln2 / 2, a degree-6
// polynomial for e^r); absolute errors below 1e-7. Vectorising needs -fno-trapping-math
// (_fused.py passes it) for the selects, and the clamp below done on the bits: as a float
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

// The products of one step, with row-major b (K, N) and c (M, N): matmul<false> is
// c = a b for a (M, K), the input and recurrent products, (nb, I or H) by (I or H, 3H)
// forward and (nb, 3H) by (3H, H or I) backward; matmul<true> is c += a^T b for a (K,
// M), one step's share of a weight gradient summed over the chunk's rows (K), dgh^T h and
// dgi^T x. At these sizes a BLAS call (MKL's sgemm through at::mm) ran at about 20
// GFLOP/s here, its packing and dispatch costing more than the arithmetic; this runs at
// 60 to 85. In float32 it keeps a block of 6 rows by 16 columns of c in registers (12
// AVX2 registers) over all k, and every value is summed in k order, whatever the number
// of rows.
typedef float float8 __attribute__((vector_size(32)));
// for loads and stores at any float's address, as GCC's own __m256_u (a memcpy instead
// kept the accumulators in memory: 20% slower)
typedef float float8_u __attribute__((vector_size(32), may_alias, aligned(4)));

template <int MR, bool TN>  // c[:MR, :16] (+)= a's MR rows (columns if TN) times b[:, :16]
static INLINE void matmul_block(int64_t M, int64_t N, int64_t K, const float* R a,
                                const float* R b, float* R c) {
  float8 acc[MR][2] = {};
  if constexpr (TN) {
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      acc[r][0] = *reinterpret_cast<const float8_u*>(c + r * N);
      acc[r][1] = *reinterpret_cast<const float8_u*>(c + r * N + 8);
    }
  }
  for (int64_t k = 0; k < K; ++k) {
    const float8 b0 = *reinterpret_cast<const float8_u*>(b + k * N);
    const float8 b1 = *reinterpret_cast<const float8_u*>(b + k * N + 8);
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      const float ak = TN ? a[k * M + r] : a[r * K + k];
      acc[r][0] += ak * b0;
      acc[r][1] += ak * b1;
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) {
    *reinterpret_cast<float8_u*>(c + r * N) = acc[r][0];
    *reinterpret_cast<float8_u*>(c + r * N + 8) = acc[r][1];
  }
}

// c[:, j0:] (+)= ... in plain loops, also in k order: all of a float64 product (the
// tests' precision), and the columns of a float32 one past its last block of 16
template <bool TN, typename scalar_t>
static void matmul_columns(int64_t M, int64_t N, int64_t K, const scalar_t* R a,
                           const scalar_t* R b, scalar_t* R c, int64_t j0) {
  for (int64_t j = j0; j < N; ++j)
    for (int64_t i = 0; i < M; ++i) {
      scalar_t sum = TN ? c[i * N + j] : 0;
      for (int64_t k = 0; k < K; ++k)
        sum += (TN ? a[k * M + i] : a[i * K + k]) * b[k * N + j];
      c[i * N + j] = sum;
    }
}

// block(rows, i) for the rows i of M in blocks of 6 (12 accumulators: enough to keep
// both FMA units busy through their latency; 4 rows ran 15% slower), then the 1 to 5
// rows left as one block; rows is a std::integral_constant
template <typename Block>
static INLINE void in_row_blocks(int64_t M, const Block& block) {
  int64_t i = 0;
  for (; i + 6 <= M; i += 6) block(std::integral_constant<int, 6>(), i);
  switch (M - i) {
    case 5: return block(std::integral_constant<int, 5>(), i);
    case 4: return block(std::integral_constant<int, 4>(), i);
    case 3: return block(std::integral_constant<int, 3>(), i);
    case 2: return block(std::integral_constant<int, 2>(), i);
    case 1: return block(std::integral_constant<int, 1>(), i);
  }
}

template <bool TN>
static void matmul(int64_t M, int64_t N, int64_t K, const float* R a, const float* R b,
                   float* R c) {
  if (TN && N == 1) {  // an input of one value (a univariate series' first layer)
    for (int64_t k = 0; k < K; ++k)  // still in k order for each value of c
      for (int64_t i = 0; i < M; ++i) c[i] += a[k * M + i] * b[k];
    return;
  }
  int64_t j = 0;
  for (; j + 16 <= N; j += 16)
    in_row_blocks(M, [&](auto rows, int64_t i) {
      matmul_block<rows.value, TN>(M, N, K, a + (TN ? i : i * K), b + j, c + i * N + j);
    });
  matmul_columns<TN>(M, N, K, a, b, c, j);  // hidden sizes not a multiple of 16
}

template <bool TN>
static void matmul(int64_t M, int64_t N, int64_t K, const double* R a, const double* R b,
                   double* R c) {
  matmul_columns<TN>(M, N, K, a, b, c, 0);
}

// One time step forward for nb rows: gi = W_i x (w_ih_t is W_i transposed, (I, 3H)) and
// gh = W_h hp (w_hh_t, (H, 3H)), then the gates in one pass: from gi plus bi (b_i, with
// the recurrent biases of r and z folded in) and gh, writes r and z (rz), ghn = W_hn h +
// b_hn, the candidate n and the new state hn from the previous one hp.
template <typename scalar_t>
static void gates(int64_t nb, int64_t H, int64_t I, const scalar_t* R x,
                  const scalar_t* R w_ih_t, const scalar_t* R bi, scalar_t* R gi,
                  const scalar_t* R w_hh_t, scalar_t* R gh, const scalar_t* R bn,
                  const scalar_t* R hp, scalar_t* R rz, scalar_t* R ghn, scalar_t* R n,
                  scalar_t* R hn) {
  matmul<false>(nb, 3 * H, I, x, w_ih_t, gi);
  matmul<false>(nb, 3 * H, H, hp, w_hh_t, gh);
  for (int64_t k = 0; k < nb; ++k) {
    const scalar_t* R g = gi + k * 3 * H;
    const scalar_t* R h = gh + k * 3 * H;
    scalar_t* R r = rz + k * 2 * H;
    scalar_t* R z = r + H;
    for (int64_t j = 0; j < H; ++j) {
      const scalar_t rj = sigmoid_value(g[j] + bi[j] + h[j]);
      const scalar_t zj = sigmoid_value(g[H + j] + bi[H + j] + h[H + j]);
      const scalar_t v = h[2 * H + j] + bn[j];
      const scalar_t nj = tanh_value(g[2 * H + j] + bi[2 * H + j] + rj * v);
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
// c becomes the part carried on to the step before, and, unless this is the first step,
// m too: m = dgh W_h (w_hh, (3H, H)). Then the step's shares of the parameters'
// gradients are added (the chunk's rows summed): g_hh += dgh^T hp, g_ih += dgi^T x,
// gb_hh += dgh and gb_in += dgi's n columns (its r and z columns are dgh's); and unless
// gx is null, gx = dgi W_i (w_ih, (3H, I)), the gradient of x.
template <typename scalar_t>
static void gates_backward(int64_t nb, int64_t H, int64_t I, const scalar_t* R go,
                           scalar_t* R m, scalar_t* R c, const scalar_t* R rz,
                           const scalar_t* R n, const scalar_t* R ghn, const scalar_t* R hp,
                           const scalar_t* R x, scalar_t* R dgh, scalar_t* R dgi,
                           const scalar_t* R w_hh, const scalar_t* R w_ih, scalar_t* R g_hh,
                           scalar_t* R g_ih, scalar_t* R gb_hh, scalar_t* R gb_in,
                           scalar_t* R gx, bool first) {
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
    for (int64_t j = 0; j < 3 * H; ++j) gb_hh[j] += oh[j];
    for (int64_t j = 0; j < H; ++j) gb_in[j] += oi[2 * H + j];
  }
  if (!first) matmul<false>(nb, H, 3 * H, dgh, w_hh, m);
  matmul<true>(3 * H, H, nb, dgh, hp, g_hh);
  matmul<true>(3 * H, I, nb, dgi, x, g_ih);
  if (gx != nullptr) matmul<false>(nb, I, 3 * H, dgi, w_ih, gx);
}
