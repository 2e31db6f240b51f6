// Quiver's CUDA kernels: exact k-NN with top-k selection (Flat search, k-means assignment,
// coarse probing), PQ and SQ8 encoding, and IVF list scans (flat, PQ with lookup tables in shared
// memory, SQ8) with per-query top-k. Compiled to PTX by gpu-kernels/src/main/cuda/build-ptx.sh and
// loaded through JCuda's driver API by io.quiver.gpu.JCudaBackend, which launches every kernel
// with blockDim.x == QV_THREADS.
//
// Conventions, as in index-core: vectors are row-major float rows of d components; keys are
// "smaller is better" (squared L2, or the negated inner product); a top-k list is sorted by
// (key, position) with padding key +inf and position QV_NONE. Positions are row numbers (Flat) or
// offsets into the concatenated inverted lists (IVF): the host maps them to ids.

#define QV_THREADS 256
#define QV_NONE 0x7fffffff
#define QV_INF __int_as_float(0x7f800000)

// ---------------------------------------------------------------------------------- selection

// (key, pos) a orders after b: larger key, or equal key and larger position.
__device__ __forceinline__ bool qv_after(float ka, int ia, float kb, int ib) {
  return ka > kb || (ka == kb && ia > ib);
}

// Sorts n (a power of two) (key, pos) pairs in shared memory, ascending; all threads call it.
__device__ void qv_bitonic_sort(float* keys, int* pos, int n) {
  for (int size = 2; size <= n; size <<= 1) {
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      for (int i = threadIdx.x; i < (n >> 1); i += blockDim.x) {
        int a = 2 * i - (i & (stride - 1));
        int b = a + stride;
        bool ascending = (a & size) == 0;
        if (qv_after(keys[a], pos[a], keys[b], pos[b]) == ascending) {
          float tk = keys[a];
          keys[a] = keys[b];
          keys[b] = tk;
          int tp = pos[a];
          pos[a] = pos[b];
          pos[b] = tp;
        }
      }
      __syncthreads();
    }
  }
}

// Block-wide top-k selection in shared memory. keys/pos hold 2 * K2 entries (K2 a power of two,
// k <= K2, K2 >= 2 * blockDim.x; the host uses max(512, nextPow2(k))): the sorted best K2 in the
// first half, new candidates appended to the second half. Candidates at most the current k-th key
// are kept; the buffer is merged (sorted) before a round could overflow it.
struct QvSelect {
  float* keys;
  int* pos;
  int k;
  int K2;
  int* count;       // shared: candidates in the second half
  float* threshold; // shared: the k-th best key so far

  __device__ void init() {
    for (int i = threadIdx.x; i < 2 * K2; i += blockDim.x) {
      keys[i] = QV_INF;
      pos[i] = QV_NONE;
    }
    if (threadIdx.x == 0) {
      *count = 0;
      *threshold = QV_INF;
    }
    __syncthreads();
  }

  // Loads a sorted list of k entries (global memory) as the current best.
  __device__ void load(const float* gk, const int* gp) {
    for (int i = threadIdx.x; i < k; i += blockDim.x) {
      keys[i] = gk[i];
      pos[i] = gp[i];
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      *threshold = keys[k - 1];
    }
    __syncthreads();
  }

  // Merges the candidates into the best K2; all threads call it.
  __device__ void flush() {
    qv_bitonic_sort(keys, pos, 2 * K2);
    for (int i = K2 + threadIdx.x; i < 2 * K2; i += blockDim.x) {
      keys[i] = QV_INF;
      pos[i] = QV_NONE;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      *count = 0;
      *threshold = keys[k - 1];
    }
    __syncthreads();
  }

  // Call with every thread at the top of a round in which each thread offers at most one candidate.
  __device__ void beginRound() {
    __syncthreads();
    int c = *count;
    __syncthreads(); // every thread has read the count before any adds to it
    if (c > K2 - (int) blockDim.x) {
      flush();
    }
  }

  __device__ void offer(float key, int p) {
    if (key <= *threshold) {
      int slot = atomicAdd(count, 1);
      keys[K2 + slot] = key;
      pos[K2 + slot] = p;
    }
  }

  __device__ void finish() {
    __syncthreads();
    if (*count > 0) {
      flush();
    }
  }

  // Writes the best k, in order, to global memory.
  __device__ void store(float* gk, int* gp) {
    for (int i = threadIdx.x; i < k; i += blockDim.x) {
      gk[i] = keys[i];
      gp[i] = pos[i];
    }
  }
};

// Shared memory of a selection: 2 * K2 keys, 2 * K2 positions, then the count and threshold.
__device__ QvSelect qv_select(char* smem, int k, int K2) {
  QvSelect s;
  s.keys = (float*) smem;
  s.pos = (int*) (smem + 2 * K2 * sizeof(float));
  s.count = (int*) (smem + 2 * K2 * (sizeof(float) + sizeof(int)));
  s.threshold = (float*) (s.count + 1);
  s.k = k;
  s.K2 = K2;
  return s;
}

#define QV_SELECT_BYTES(K2) (2 * (K2) * 8 + 16)

// ------------------------------------------------------------------------------------- helpers

extern "C" __global__ void qv_square_norms(const float* x, int n, int d, float* out) {
  long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) {
    const float* r = x + i * d;
    float s = 0.f;
    for (int t = 0; t < d; t++) {
      s = fmaf(r[t], r[t], s);
    }
    out[i] = s;
  }
}

// Fills n top-k entries with padding.
extern "C" __global__ void qv_fill_topk(float* keys, int* pos, long long n) {
  long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) {
    keys[i] = QV_INF;
    pos[i] = QV_NONE;
  }
}

// ----------------------------------------------------------------------------------- exact k-NN

#define QV_TILE 64
#define QV_TK 16

// keys[i * ldk + j] for query i < nq and base row j < nb of a tile: |x_j|^2 - 2 <q_i, x_j> (L2,
// the query's own norm left out: it does not change the ranking) or -<q_i, x_j> (inner product).
// Grid (ceil(nb / 64), ceil(nq / 64)); 256 threads, each computing a 4 x 4 block of keys.
extern "C" __global__ void qv_gemm_keys(const float* q, int nq, const float* x, int nb, int d, const float* xnorms,
                                        int innerProduct, float* keys, long long ldk) {
  __shared__ float qs[QV_TK][QV_TILE + 1];
  __shared__ float xs[QV_TK][QV_TILE + 1];
  int tx = threadIdx.x % 16;
  int ty = threadIdx.x / 16;
  int q0 = blockIdx.y * QV_TILE;
  int x0 = blockIdx.x * QV_TILE;
  float acc[4][4];
  for (int a = 0; a < 4; a++) {
    for (int b = 0; b < 4; b++) {
      acc[a][b] = 0.f;
    }
  }
  for (int t0 = 0; t0 < d; t0 += QV_TK) {
    // 64 rows x 16 components of each side: 4 loads per thread per side
    for (int l = threadIdx.x; l < QV_TILE * QV_TK; l += blockDim.x) {
      int row = l / QV_TK;
      int col = l % QV_TK;
      int t = t0 + col;
      qs[col][row] = (q0 + row < nq && t < d) ? q[(long long) (q0 + row) * d + t] : 0.f;
      xs[col][row] = (x0 + row < nb && t < d) ? x[(long long) (x0 + row) * d + t] : 0.f;
    }
    __syncthreads();
    for (int c = 0; c < QV_TK; c++) {
      float qa[4];
      float xb[4];
      for (int a = 0; a < 4; a++) {
        qa[a] = qs[c][ty + 16 * a];
        xb[a] = xs[c][tx + 16 * a];
      }
      for (int a = 0; a < 4; a++) {
        for (int b = 0; b < 4; b++) {
          acc[a][b] = fmaf(qa[a], xb[b], acc[a][b]);
        }
      }
    }
    __syncthreads();
  }
  for (int a = 0; a < 4; a++) {
    int i = q0 + ty + 16 * a;
    if (i >= nq) {
      continue;
    }
    for (int b = 0; b < 4; b++) {
      int j = x0 + tx + 16 * b;
      if (j < nb) {
        keys[(long long) i * ldk + j] = innerProduct ? -acc[a][b] : xnorms[j] - 2.f * acc[a][b];
      }
    }
  }
}

// Merges row i of a key tile (nb keys at keys + i * ldk, base rows row0 ..) into query i's
// running top-k (topKeys/topPos + i * k, sorted). One block per query.
extern "C" __global__ void qv_select_rows(const float* keys, long long ldk, int nb, int row0, int k, int K2,
                                          float* topKeys, int* topPos) {
  extern __shared__ char smem[];
  QvSelect s = qv_select(smem, k, K2);
  int i = blockIdx.x;
  s.init();
  s.load(topKeys + (long long) i * k, topPos + (long long) i * k);
  const float* row = keys + (long long) i * ldk;
  for (int b = 0; b < nb; b += blockDim.x) {
    s.beginRound();
    int j = b + threadIdx.x;
    if (j < nb) {
      s.offer(row[j], row0 + j);
    }
  }
  s.finish();
  s.store(topKeys + (long long) i * k, topPos + (long long) i * k);
}

// The exact distance (squared L2, or inner product) of each kept (query, row) pair, re-measured
// directly: the |x|^2 - 2 <q, x> form loses precision when a neighbour is close relative to the
// norms. Rows are relative to the base tile at x; pairs outside [row0, row0 + nb) are left alone.
extern "C" __global__ void qv_remeasure(const float* q, int nq, const float* x, int nb, int row0, int d, int k,
                                        int innerProduct, const int* topPos, float* exact) {
  long long e = (long long) blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= (long long) nq * k) {
    return;
  }
  int p = topPos[e];
  if (p == QV_NONE || p < row0 || p >= row0 + nb) {
    return;
  }
  const float* qr = q + (e / k) * d;
  const float* xr = x + (long long) (p - row0) * d;
  float s = 0.f;
  for (int t = 0; t < d; t++) {
    if (innerProduct) {
      s = fmaf(qr[t], xr[t], s);
    } else {
      float diff = qr[t] - xr[t];
      s = fmaf(diff, diff, s);
    }
  }
  exact[e] = s;
}

// ------------------------------------------------------------------------------------- encoding

// Nearest sub-centroid of every (vector, sub-space): codes[i * m + j], ties to the smaller
// centroid. codebooks: m * ksub * dsub floats, sub-space major. One thread per (vector, sub-space).
extern "C" __global__ void qv_pq_assign(const float* x, int n, int d, int m, int ksub, const float* codebooks,
                                        unsigned char* codes) {
  long long e = (long long) blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= (long long) n * m) {
    return;
  }
  int dsub = d / m;
  long long i = e / m;
  int j = (int) (e % m);
  const float* xs = x + i * d + j * dsub;
  const float* c = codebooks + (long long) j * ksub * dsub;
  int best = 0;
  float bestDist = QV_INF;
  for (int cc = 0; cc < ksub; cc++) {
    float s = 0.f;
    for (int t = 0; t < dsub; t++) {
      float diff = xs[t] - c[cc * dsub + t];
      s = fmaf(diff, diff, s);
    }
    if (s < bestDist) {
      bestDist = s;
      best = cc;
    }
  }
  codes[e] = (unsigned char) best;
}

// SQ8 codes, as index-core's ScalarQuantizer: u = clamp((x - vmin) / vdiff, 0, 1) (0 when
// vdiff == 0), code = (int) (255 * u). One thread per component.
extern "C" __global__ void qv_sq8_encode(const float* x, long long n, int d, const float* vmin, const float* vdiff,
                                         unsigned char* codes) {
  long long e = (long long) blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= n * d) {
    return;
  }
  int j = (int) (e % d);
  float u = 0.f;
  if (vdiff[j] != 0.f) {
    u = __fdiv_rn(x[e] - vmin[j], vdiff[j]);
    u = u < 0.f ? 0.f : u;
    u = u > 1.f ? 1.f : u;
  }
  codes[e] = (unsigned char) (int) __fmul_rn(255.f, u);
}

// ------------------------------------------------------------------------------------ IVF scans

// Every IVF scan: one block per (probe p, query i) of a query tile, blockIdx.x = p, blockIdx.y = i.
// The list is probes[i * nprobe + p] (-1: none); lists outside [list0, list1) are left to another
// pass (lists that do not fit the device at once are scanned in groups). The block's best k
// entries go to partKeys/partPos + (i * nprobe + p) * k, positions being offsets into the
// concatenated lists (listOffsets[list] ..). The data array holds the lists of the pass, starting
// with the entry at offset dataBase.

#define QV_IVF_PROLOGUE                                                     \
  int i = blockIdx.y;                                                       \
  int p = blockIdx.x;                                                       \
  long long slot = ((long long) i * nprobe + p) * k;                        \
  int list = (int) probes[(long long) i * nprobe + p];                      \
  if (list < list0 || list >= list1) {                                      \
    return;                                                                 \
  }                                                                         \
  long long begin = listOffsets[list];                                      \
  int size = (int) (listOffsets[list + 1] - begin);                         \
  long long local = begin - dataBase;

// Flat lists: rows of d floats (data), compared directly with the query.
extern "C" __global__ void qv_ivf_flat_scan(const float* queries, int d, const long long* probes, int nprobe,
                                            const float* coarseValues, int list0, int list1,
                                            const long long* listOffsets, long long dataBase, const float* data, int innerProduct,
                                            int k, int K2, float* partKeys, int* partPos) {
  extern __shared__ char smem[];
  QV_IVF_PROLOGUE
  QvSelect s = qv_select(smem, k, K2);
  float* qs = (float*) (smem + QV_SELECT_BYTES(K2));
  for (int t = threadIdx.x; t < d; t += blockDim.x) {
    qs[t] = queries[(long long) i * d + t];
  }
  s.init();
  for (int b = 0; b < size; b += blockDim.x) {
    s.beginRound();
    int j = b + threadIdx.x;
    if (j < size) {
      const float* xr = data + (local + j) * d;
      float acc = 0.f;
      for (int t = 0; t < d; t++) {
        if (innerProduct) {
          acc = fmaf(qs[t], xr[t], acc);
        } else {
          float diff = qs[t] - xr[t];
          acc = fmaf(diff, diff, acc);
        }
      }
      s.offer(innerProduct ? -acc : acc, (int) (begin + j));
    }
  }
  s.finish();
  s.store(partKeys + slot, partPos + slot);
}

// PQ lists (8-bit sub-codes, m bytes per entry). The lookup table of the (query, list) pair is
// built in shared memory: for L2, |(q - c)_j - C_j[c]|^2; for inner product, <q_j, C_j[c]>, the
// entry's value then being the coarse inner product plus the table sum.
extern "C" __global__ void qv_ivf_pq_scan(const float* queries, int d, const long long* probes, int nprobe,
                                          const float* coarseValues, int list0, int list1,
                                          const long long* listOffsets, long long dataBase, const unsigned char* codes,
                                          const float* centroids, const float* codebooks, int m, int innerProduct,
                                          int k, int K2, float* partKeys, int* partPos) {
  extern __shared__ char smem[];
  QV_IVF_PROLOGUE
  QvSelect s = qv_select(smem, k, K2);
  float* r = (float*) (smem + QV_SELECT_BYTES(K2));
  float* lut = r + d;
  const int ksub = 256;
  int dsub = d / m;
  for (int t = threadIdx.x; t < d; t += blockDim.x) {
    float qv = queries[(long long) i * d + t];
    r[t] = innerProduct ? qv : qv - centroids[(long long) list * d + t];
  }
  __syncthreads();
  for (int e = threadIdx.x; e < m * ksub; e += blockDim.x) {
    int j = e / ksub;
    const float* c = codebooks + (long long) e * dsub;
    const float* rj = r + j * dsub;
    float acc = 0.f;
    for (int t = 0; t < dsub; t++) {
      if (innerProduct) {
        acc = fmaf(rj[t], c[t], acc);
      } else {
        float diff = rj[t] - c[t];
        acc = fmaf(diff, diff, acc);
      }
    }
    lut[e] = acc;
  }
  float coarse = innerProduct ? coarseValues[(long long) i * nprobe + p] : 0.f;
  s.init();
  for (int b = 0; b < size; b += blockDim.x) {
    s.beginRound();
    int j = b + threadIdx.x;
    if (j < size) {
      const unsigned char* code = codes + (local + j) * m;
      float acc = 0.f;
      for (int t = 0; t < m; t++) {
        acc += lut[t * ksub + code[t]];
      }
      s.offer(innerProduct ? -(coarse + acc) : acc, (int) (begin + j));
    }
  }
  s.finish();
  s.store(partKeys + slot, partPos + slot);
}

// SQ8 lists (d bytes per entry); component t of a code decodes to fma(code, scale[t], offset[t]).
extern "C" __global__ void qv_ivf_sq8_scan(const float* queries, int d, const long long* probes, int nprobe,
                                           const float* coarseValues, int list0, int list1,
                                           const long long* listOffsets, long long dataBase, const unsigned char* codes,
                                           const float* centroids, const float* scale, const float* offset,
                                           int innerProduct, int k, int K2, float* partKeys, int* partPos) {
  extern __shared__ char smem[];
  QV_IVF_PROLOGUE
  QvSelect s = qv_select(smem, k, K2);
  float* r = (float*) (smem + QV_SELECT_BYTES(K2));
  float* sc = r + d;
  float* of = sc + d;
  for (int t = threadIdx.x; t < d; t += blockDim.x) {
    float qv = queries[(long long) i * d + t];
    r[t] = innerProduct ? qv : qv - centroids[(long long) list * d + t];
    sc[t] = scale[t];
    of[t] = offset[t];
  }
  float coarse = innerProduct ? coarseValues[(long long) i * nprobe + p] : 0.f;
  s.init();
  for (int b = 0; b < size; b += blockDim.x) {
    s.beginRound();
    int j = b + threadIdx.x;
    if (j < size) {
      const unsigned char* code = codes + (local + j) * d;
      float acc = 0.f;
      for (int t = 0; t < d; t++) {
        float x = fmaf((float) code[t], sc[t], of[t]);
        if (innerProduct) {
          acc = fmaf(r[t], x, acc);
        } else {
          float diff = r[t] - x;
          acc = fmaf(diff, diff, acc);
        }
      }
      s.offer(innerProduct ? -(coarse + acc) : acc, (int) (begin + j));
    }
  }
  s.finish();
  s.store(partKeys + slot, partPos + slot);
}

// The best k of each query's n partial entries (partKeys/partPos + i * n): one block per query,
// sorted output in outKeys/outPos + i * k.
extern "C" __global__ void qv_merge_partials(const float* partKeys, const int* partPos, int n, int k, int K2,
                                             float* outKeys, int* outPos) {
  extern __shared__ char smem[];
  QvSelect s = qv_select(smem, k, K2);
  int i = blockIdx.x;
  s.init();
  const float* pk = partKeys + (long long) i * n;
  const int* pp = partPos + (long long) i * n;
  for (int b = 0; b < n; b += blockDim.x) {
    s.beginRound();
    int j = b + threadIdx.x;
    if (j < n && pp[j] != QV_NONE) {
      s.offer(pk[j], pp[j]);
    }
  }
  s.finish();
  s.store(outKeys + (long long) i * k, outPos + (long long) i * k);
}
