package io.quiver.index.vector;

/**
 * The distance kernels, implemented once as a scalar reference ({@link ScalarVectorUtilSupport})
 * and once with the JDK Vector API ({@link PanamaVectorUtilSupport}). Callers go through
 * {@link VectorUtil}, which picks one at start-up.
 *
 * <p>All kernels take flat row-major arrays and offsets; a vector of dimension {@code d} starting
 * at {@code off} occupies {@code [off, off + d)}. Implementations are stateless apart from
 * per-thread scratch space and may be called from any number of threads at once.
 */
public interface VectorUtilSupport {

  /** Inner product of {@code a[aOff..aOff+d)} and {@code b[bOff..bOff+d)}. */
  float dotProduct(float[] a, int aOff, float[] b, int bOff, int d);

  /** Squared Euclidean distance of {@code a[aOff..aOff+d)} and {@code b[bOff..bOff+d)}. */
  float squareDistance(float[] a, int aOff, float[] b, int bOff, int d);

  /** Squared L2 norm of {@code a[aOff..aOff+d)}. */
  default float squareNorm(float[] a, int aOff, int d) {
    return dotProduct(a, aOff, a, aOff, d);
  }

  /**
   * One query against {@code n} contiguous vectors: {@code out[outOff + j] = |q - x_j|^2} where
   * {@code x_j = x[xOff + j*d .. xOff + (j+1)*d)}. Output: size {@code n}.
   */
  default void squareDistanceOneToMany(float[] q, int qOff, float[] x, int xOff, int n, int d, float[] out, int outOff) {
    for (int j = 0; j < n; j++) {
      out[outOff + j] = squareDistance(q, qOff, x, xOff + j * d, d);
    }
  }

  /**
   * One query against {@code n} vectors stored transposed (component {@code t} of vector
   * {@code j} at {@code xT[xOff + t*n + j]}): {@code out[outOff + j] = |q - x_j|^2}, each sum
   * taken over {@code t} in order. For short vectors (PQ sub-vectors) this computes many
   * distances per instruction without horizontal sums. Output: size {@code n}.
   */
  default void squareDistanceToTransposed(float[] q, int qOff, float[] xT, int xOff, int n, int d, float[] out,
                                          int outOff) {
    for (int j = 0; j < n; j++) {
      float s = 0;
      for (int t = 0; t < d; t++) {
        float diff = q[qOff + t] - xT[xOff + t * n + j];
        s += diff * diff;
      }
      out[outOff + j] = s;
    }
  }

  /**
   * One query against {@code n} vectors stored transposed (as {@link #squareDistanceToTransposed}):
   * {@code out[outOff + j] = q . x_j}, each sum taken over {@code t} in order. Output: size {@code n}.
   */
  default void dotProductToTransposed(float[] q, int qOff, float[] xT, int xOff, int n, int d, float[] out,
                                      int outOff) {
    for (int j = 0; j < n; j++) {
      float s = 0;
      for (int t = 0; t < d; t++) {
        s += q[qOff + t] * xT[xOff + t * n + j];
      }
      out[outOff + j] = s;
    }
  }

  /**
   * As {@link #dotProductToTransposed}, plus a term per vector:
   * {@code out[outOff + j] = add[addOff + j] + q . x_j}, each sum starting from the added term and
   * taken over {@code t} in order. Output: size {@code n}.
   */
  default void dotProductToTransposedAdd(float[] q, int qOff, float[] xT, int xOff, int n, int d, float[] add,
                                         int addOff, float[] out, int outOff) {
    for (int j = 0; j < n; j++) {
      float s = add[addOff + j];
      for (int t = 0; t < d; t++) {
        s += q[qOff + t] * xT[xOff + t * n + j];
      }
      out[outOff + j] = s;
    }
  }

  /**
   * One query against {@code n} contiguous vectors: {@code out[outOff + j] = q . x_j}. Output:
   * size {@code n}.
   */
  default void dotProductOneToMany(float[] q, int qOff, float[] x, int xOff, int n, int d, float[] out, int outOff) {
    for (int j = 0; j < n; j++) {
      out[outOff + j] = dotProduct(q, qOff, x, xOff + j * d, d);
    }
  }

  /**
   * The number of query slots {@link #squareDistanceQueriesTransposed} runs fastest with: one
   * SIMD lane per query (16 for 512-bit lanes, 8 otherwise).
   */
  default int queryLanes() {
    return 8;
  }

  /**
   * A block of {@code lanes} queries stored transposed against {@code n} contiguous vectors: component
   * {@code t} of query {@code i} is {@code qT[qOff + t*lanes + i]} for {@code i < lanes}, vector
   * {@code j} is {@code x[xOff + j*d .. xOff + (j+1)*d)}, and
   * {@code out[outOff + j*lanes + i] = |q_i - x_j|^2}, each sum taken over {@code t} in order.
   * Output: size {@code n * lanes}, vector-major (the distances of vector {@code j} to every query
   * slot are contiguous). Unused query slots may hold anything; their outputs are computed and
   * left for the caller to ignore. The distances are the direct form (no norms, no cancellation),
   * and there is no horizontal sum: the SIMD implementation gives each query slot a lane when
   * {@code lanes == }{@link #queryLanes()} (other values take the scalar loop); any
   * {@code lanes >= 1} is valid.
   */
  default void squareDistanceQueriesTransposed(float[] qT, int qOff, int lanes, float[] x, int xOff, int n, int d,
                                               float[] out, int outOff) {
    for (int j = 0; j < n; j++) {
      int b = xOff + j * d;
      for (int i = 0; i < lanes; i++) {
        float s = 0;
        for (int t = 0; t < d; t++) {
          float diff = qT[qOff + t * lanes + i] - x[b + t];
          s += diff * diff;
        }
        out[outOff + j * lanes + i] = s;
      }
    }
  }

  /**
   * As {@link #squareDistanceQueriesTransposed}, for inner products:
   * {@code out[outOff + j*lanes + i] = q_i . x_j}. Output: size {@code n * lanes}, vector-major.
   */
  default void dotProductQueriesTransposed(float[] qT, int qOff, int lanes, float[] x, int xOff, int n, int d,
                                           float[] out, int outOff) {
    for (int j = 0; j < n; j++) {
      int b = xOff + j * d;
      for (int i = 0; i < lanes; i++) {
        float s = 0;
        for (int t = 0; t < d; t++) {
          s += qT[qOff + t * lanes + i] * x[b + t];
        }
        out[outOff + j * lanes + i] = s;
      }
    }
  }

  /**
   * A block of {@code nq} queries against a block of {@code nx} vectors (a GEMM
   * {@code Q * X^T}): {@code out[outOff + i*outStride + j] = q_i . x_j} for {@code i < nq},
   * {@code j < nx}. Distances: size {@code nq * nx}, row-major with row stride
   * {@code outStride >= nx}. Combined with precomputed norms this gives squared L2 distances
   * as {@code |x|^2 - 2 x.q + |q|^2}.
   */
  void dotProductBlock(float[] q, int qOff, int nq, float[] x, int xOff, int nx, int d,
                       float[] out, int outOff, int outStride);

  /**
   * The block kernel with a per-vector affine epilogue:
   * {@code out[outOff + i*outStride + j] = bias[biasOff + j] + scale * (q_i . x_j)}, or
   * {@code scale * (q_i . x_j)} when {@code bias} is null. With {@code scale = -2} and the squared
   * norms as bias this is {@code |q_i - x_j|^2 - |q_i|^2}, which ranks the {@code x_j} for query
   * {@code i} exactly as the squared distance does; with {@code scale = -1} and no bias it ranks
   * by inner product, smallest first. Output: size {@code nq * nx}, row-major, row stride
   * {@code outStride >= nx}.
   */
  void dotProductBlockScaled(float[] q, int qOff, int nq, float[] x, int xOff, int nx, int d,
                             float scale, float[] bias, int biasOff, float[] out, int outOff, int outStride);

  /**
   * Squared L2 distances between one query and {@code n} SQ8 codes of {@code d} bytes each,
   * decoded on the fly as {@code x_t = offset[t] + scale[t] * (code_t & 0xFF)}:
   * {@code out[outOff + j] = |q - x(code_j)|^2}. Each code is computed independently of its
   * neighbours, so a code's distance does not depend on {@code n} or its position.
   */
  default void sq8SquareDistanceOneToMany(float[] q, int qOff, byte[] codes, int codeOff, int n, int d,
                                          float[] scale, float[] offset, float[] out, int outOff) {
    for (int j = 0; j < n; j++) {
      int p = codeOff + j * d;
      float s = 0;
      for (int t = 0; t < d; t++) {
        float diff = q[qOff + t] - Math.fma((float) (codes[p + t] & 0xFF), scale[t], offset[t]);
        s += diff * diff;
      }
      out[outOff + j] = s;
    }
  }

  /**
   * Inner products between one query and {@code n} SQ8 codes, decoded as in
   * {@link #sq8SquareDistanceOneToMany}: {@code out[outOff + j] = q . x(code_j)}.
   */
  default void sq8DotProductOneToMany(float[] q, int qOff, byte[] codes, int codeOff, int n, int d,
                                      float[] scale, float[] offset, float[] out, int outOff) {
    for (int j = 0; j < n; j++) {
      int p = codeOff + j * d;
      float s = 0;
      for (int t = 0; t < d; t++) {
        s += q[qOff + t] * Math.fma((float) (codes[p + t] & 0xFF), scale[t], offset[t]);
      }
      out[outOff + j] = s;
    }
  }

  /**
   * The first row {@code j} in {@code [from, to)} of a vector-major tile ({@code lanes} values per
   * row, as {@link #squareDistanceQueriesTransposed} writes) with
   * {@code tile[j*lanes + i] <= thresholds[i]} for some {@code i < lanes}, or {@code to} when there
   * is none: the filter of a query-block scan, one threshold per query slot (an unused slot's
   * threshold is -inf, so it never passes).
   */
  default int nextRowAtMost(float[] tile, int from, int to, int lanes, float[] thresholds) {
    for (int j = from; j < to; j++) {
      for (int i = 0; i < lanes; i++) {
        if (tile[j * lanes + i] <= thresholds[i]) {
          return j;
        }
      }
    }
    return to;
  }

  /**
   * The first index {@code i} in {@code [from, to)} with {@code a[i] <= threshold}, or {@code to}
   * when there is none: the filter that top-k selection runs over a row of distances.
   */
  int nextAtMost(float[] a, int from, int to, float threshold);

  /**
   * FAISS's {@code fvec_add}: {@code out[outOff + i] = a[aOff + i] + b[bOff + i]} for
   * {@code i < n}. The per-list lookup table of IVF-PQ with precomputed tables is this sum; C2 does
   * not vectorize the plain loop when the arrays may overlap at unknown offsets.
   */
  default void add(float[] a, int aOff, float[] b, int bOff, float[] out, int outOff, int n) {
    for (int i = 0; i < n; i++) {
      out[outOff + i] = a[aOff + i] + b[bOff + i];
    }
  }

  // The scalar SQ4 and SQfp16 kernels decode each component in registers and sum in component
  // order with one accumulator per code; the one-to-many loops interleave four codes (four
  // independent FMA chains) while each code keeps the per-code order, bit-identical to the
  // single-code kernel that finishes the last n % 4 codes.

  private static float l2Sq4(float[] q, int qOff, byte[] c, int p, int d, float[] scale, float[] offset) {
    float s = 0;
    int j = 0;
    for (int b = 0; j + 1 < d; j += 2, b++) {
      int v = c[p + b] & 0xff;
      float t = q[qOff + j] - Math.fma((float) (v & 0xf), scale[j], offset[j]);
      s = Math.fma(t, t, s);
      t = q[qOff + j + 1] - Math.fma((float) (v >>> 4), scale[j + 1], offset[j + 1]);
      s = Math.fma(t, t, s);
    }
    if (j < d) {
      float t = q[qOff + j] - Math.fma((float) (c[p + (j >> 1)] & 0xf), scale[j], offset[j]);
      s = Math.fma(t, t, s);
    }
    return s;
  }

  /**
   * Squared L2 distances between one query and {@code n} SQ4 codes of {@code (d + 1) / 2} bytes,
   * component {@code t} in the low nibble of byte {@code t / 2} for even {@code t}, the high one
   * for odd {@code t}, decoded as {@code x_t = offset[t] + scale[t] * level_t}:
   * {@code out[outOff + j] = |q - x(code_j)|^2}. Each code is computed independently of its
   * neighbours, as for SQ8.
   */
  default void sq4SquareDistanceOneToMany(float[] q, int qOff, byte[] c, int codeOff, int n, int d,
                                          float[] scale, float[] offset, float[] out, int outOff) {
    int codeSize = (d + 1) / 2;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
      int p0 = codeOff + i * codeSize;
      int p1 = p0 + codeSize;
      int p2 = p1 + codeSize;
      int p3 = p2 + codeSize;
      float s0 = 0;
      float s1 = 0;
      float s2 = 0;
      float s3 = 0;
      int j = 0;
      for (int b = 0; j + 1 < d; j += 2, b++) {
        int v0 = c[p0 + b] & 0xff;
        int v1 = c[p1 + b] & 0xff;
        int v2 = c[p2 + b] & 0xff;
        int v3 = c[p3 + b] & 0xff;
        float qj = q[qOff + j];
        float sc = scale[j];
        float of = offset[j];
        float t0 = qj - Math.fma((float) (v0 & 0xf), sc, of);
        float t1 = qj - Math.fma((float) (v1 & 0xf), sc, of);
        float t2 = qj - Math.fma((float) (v2 & 0xf), sc, of);
        float t3 = qj - Math.fma((float) (v3 & 0xf), sc, of);
        s0 = Math.fma(t0, t0, s0);
        s1 = Math.fma(t1, t1, s1);
        s2 = Math.fma(t2, t2, s2);
        s3 = Math.fma(t3, t3, s3);
        qj = q[qOff + j + 1];
        sc = scale[j + 1];
        of = offset[j + 1];
        t0 = qj - Math.fma((float) (v0 >>> 4), sc, of);
        t1 = qj - Math.fma((float) (v1 >>> 4), sc, of);
        t2 = qj - Math.fma((float) (v2 >>> 4), sc, of);
        t3 = qj - Math.fma((float) (v3 >>> 4), sc, of);
        s0 = Math.fma(t0, t0, s0);
        s1 = Math.fma(t1, t1, s1);
        s2 = Math.fma(t2, t2, s2);
        s3 = Math.fma(t3, t3, s3);
      }
      if (j < d) {
        int b = j >> 1;
        float qj = q[qOff + j];
        float sc = scale[j];
        float of = offset[j];
        float t0 = qj - Math.fma((float) (c[p0 + b] & 0xf), sc, of);
        float t1 = qj - Math.fma((float) (c[p1 + b] & 0xf), sc, of);
        float t2 = qj - Math.fma((float) (c[p2 + b] & 0xf), sc, of);
        float t3 = qj - Math.fma((float) (c[p3 + b] & 0xf), sc, of);
        s0 = Math.fma(t0, t0, s0);
        s1 = Math.fma(t1, t1, s1);
        s2 = Math.fma(t2, t2, s2);
        s3 = Math.fma(t3, t3, s3);
      }
      out[outOff + i] = s0;
      out[outOff + i + 1] = s1;
      out[outOff + i + 2] = s2;
      out[outOff + i + 3] = s3;
    }
    for (; i < n; i++) {
      out[outOff + i] = l2Sq4(q, qOff, c, codeOff + i * codeSize, d, scale, offset);
    }
  }

  private static float ipSq4(float[] q, int qOff, byte[] c, int p, int d, float[] scale, float[] offset) {
    float s = 0;
    int j = 0;
    for (int b = 0; j + 1 < d; j += 2, b++) {
      int v = c[p + b] & 0xff;
      s = Math.fma(q[qOff + j], Math.fma((float) (v & 0xf), scale[j], offset[j]), s);
      s = Math.fma(q[qOff + j + 1], Math.fma((float) (v >>> 4), scale[j + 1], offset[j + 1]), s);
    }
    if (j < d) {
      s = Math.fma(q[qOff + j], Math.fma((float) (c[p + (j >> 1)] & 0xf), scale[j], offset[j]), s);
    }
    return s;
  }

  /** Inner products between one query and {@code n} SQ4 codes, decoded as in {@link #sq4SquareDistanceOneToMany}. */
  default void sq4DotProductOneToMany(float[] q, int qOff, byte[] c, int codeOff, int n, int d,
                                      float[] scale, float[] offset, float[] out, int outOff) {
    int codeSize = (d + 1) / 2;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
      int p0 = codeOff + i * codeSize;
      int p1 = p0 + codeSize;
      int p2 = p1 + codeSize;
      int p3 = p2 + codeSize;
      float s0 = 0;
      float s1 = 0;
      float s2 = 0;
      float s3 = 0;
      int j = 0;
      for (int b = 0; j + 1 < d; j += 2, b++) {
        int v0 = c[p0 + b] & 0xff;
        int v1 = c[p1 + b] & 0xff;
        int v2 = c[p2 + b] & 0xff;
        int v3 = c[p3 + b] & 0xff;
        float qj = q[qOff + j];
        float sc = scale[j];
        float of = offset[j];
        s0 = Math.fma(qj, Math.fma((float) (v0 & 0xf), sc, of), s0);
        s1 = Math.fma(qj, Math.fma((float) (v1 & 0xf), sc, of), s1);
        s2 = Math.fma(qj, Math.fma((float) (v2 & 0xf), sc, of), s2);
        s3 = Math.fma(qj, Math.fma((float) (v3 & 0xf), sc, of), s3);
        qj = q[qOff + j + 1];
        sc = scale[j + 1];
        of = offset[j + 1];
        s0 = Math.fma(qj, Math.fma((float) (v0 >>> 4), sc, of), s0);
        s1 = Math.fma(qj, Math.fma((float) (v1 >>> 4), sc, of), s1);
        s2 = Math.fma(qj, Math.fma((float) (v2 >>> 4), sc, of), s2);
        s3 = Math.fma(qj, Math.fma((float) (v3 >>> 4), sc, of), s3);
      }
      if (j < d) {
        int b = j >> 1;
        float qj = q[qOff + j];
        float sc = scale[j];
        float of = offset[j];
        s0 = Math.fma(qj, Math.fma((float) (c[p0 + b] & 0xf), sc, of), s0);
        s1 = Math.fma(qj, Math.fma((float) (c[p1 + b] & 0xf), sc, of), s1);
        s2 = Math.fma(qj, Math.fma((float) (c[p2 + b] & 0xf), sc, of), s2);
        s3 = Math.fma(qj, Math.fma((float) (c[p3 + b] & 0xf), sc, of), s3);
      }
      out[outOff + i] = s0;
      out[outOff + i + 1] = s1;
      out[outOff + i + 2] = s2;
      out[outOff + i + 3] = s3;
    }
    for (; i < n; i++) {
      out[outOff + i] = ipSq4(q, qOff, c, codeOff + i * codeSize, d, scale, offset);
    }
  }

  private static float l2Fp16(float[] q, int qOff, byte[] c, int p, int d) {
    float s = 0;
    for (int j = 0; j < d; j++) {
      float t = q[qOff + j] - Half.at(c, p + 2 * j);
      s = Math.fma(t, t, s);
    }
    return s;
  }

  /**
   * Squared L2 distances between one query and {@code n} SQfp16 codes of {@code 2 * d} bytes
   * (little-endian IEEE 754 halves): {@code out[outOff + j] = |q - x(code_j)|^2}.
   */
  default void fp16SquareDistanceOneToMany(float[] q, int qOff, byte[] c, int codeOff, int n, int d, float[] out,
                                           int outOff) {
    int cs = 2 * d;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
      int p0 = codeOff + i * cs;
      int p1 = p0 + cs;
      int p2 = p1 + cs;
      int p3 = p2 + cs;
      float s0 = 0;
      float s1 = 0;
      float s2 = 0;
      float s3 = 0;
      for (int j = 0; j < d; j++) {
        float qj = q[qOff + j];
        int o = 2 * j;
        float t0 = qj - Half.at(c, p0 + o);
        float t1 = qj - Half.at(c, p1 + o);
        float t2 = qj - Half.at(c, p2 + o);
        float t3 = qj - Half.at(c, p3 + o);
        s0 = Math.fma(t0, t0, s0);
        s1 = Math.fma(t1, t1, s1);
        s2 = Math.fma(t2, t2, s2);
        s3 = Math.fma(t3, t3, s3);
      }
      out[outOff + i] = s0;
      out[outOff + i + 1] = s1;
      out[outOff + i + 2] = s2;
      out[outOff + i + 3] = s3;
    }
    for (; i < n; i++) {
      out[outOff + i] = l2Fp16(q, qOff, c, codeOff + i * cs, d);
    }
  }

  private static float ipFp16(float[] q, int qOff, byte[] c, int p, int d) {
    float s = 0;
    for (int j = 0; j < d; j++) {
      s = Math.fma(q[qOff + j], Half.at(c, p + 2 * j), s);
    }
    return s;
  }

  /** Inner products between one query and {@code n} SQfp16 codes. */
  default void fp16DotProductOneToMany(float[] q, int qOff, byte[] c, int codeOff, int n, int d, float[] out,
                                       int outOff) {
    int cs = 2 * d;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
      int p0 = codeOff + i * cs;
      int p1 = p0 + cs;
      int p2 = p1 + cs;
      int p3 = p2 + cs;
      float s0 = 0;
      float s1 = 0;
      float s2 = 0;
      float s3 = 0;
      for (int j = 0; j < d; j++) {
        float qj = q[qOff + j];
        int o = 2 * j;
        s0 = Math.fma(qj, Half.at(c, p0 + o), s0);
        s1 = Math.fma(qj, Half.at(c, p1 + o), s1);
        s2 = Math.fma(qj, Half.at(c, p2 + o), s2);
        s3 = Math.fma(qj, Half.at(c, p3 + o), s3);
      }
      out[outOff + i] = s0;
      out[outOff + i + 1] = s1;
      out[outOff + i + 2] = s2;
      out[outOff + i + 3] = s3;
    }
    for (; i < n; i++) {
      out[outOff + i] = ipFp16(q, qOff, c, codeOff + i * cs, d);
    }
  }

  /**
   * Decodes {@code n} SQ8 codes of {@code d} bytes into {@code n * d} floats at {@code out[outOff..]}:
   * {@code x_t = fma(code_t, scale[t], offset[t])}, exactly as the distance kernels decode them.
   */
  default void sq8Decode(byte[] codes, int codeOff, int n, int d, float[] scale, float[] offset, float[] out, int outOff) {
    for (int j = 0; j < n; j++) {
      int p = codeOff + j * d;
      int o = outOff + j * d;
      for (int t = 0; t < d; t++) {
        out[o + t] = Math.fma((float) (codes[p + t] & 0xff), scale[t], offset[t]);
      }
    }
  }

  /** Decodes {@code n} SQ4 codes of {@code (d + 1) / 2} bytes (see {@link #sq4SquareDistanceOneToMany}) into floats. */
  default void sq4Decode(byte[] codes, int codeOff, int n, int d, float[] scale, float[] offset, float[] out, int outOff) {
    int cs = (d + 1) / 2;
    for (int j = 0; j < n; j++) {
      int p = codeOff + j * cs;
      int o = outOff + j * d;
      for (int t = 0; t < d; t++) {
        int level = ((codes[p + (t >> 1)] & 0xff) >>> ((t & 1) << 2)) & 0xf;
        out[o + t] = Math.fma((float) level, scale[t], offset[t]);
      }
    }
  }

  /** Decodes {@code n} SQfp16 codes of {@code 2 * d} bytes (little-endian halves) into floats, exactly. */
  default void fp16Decode(byte[] codes, int codeOff, int n, int d, float[] out, int outOff) {
    for (int j = 0; j < n; j++) {
      int p = codeOff + j * 2 * d;
      int o = outOff + j * d;
      for (int t = 0; t < d; t++) {
        out[o + t] = Half.at(codes, p + 2 * t);
      }
    }
  }
}
