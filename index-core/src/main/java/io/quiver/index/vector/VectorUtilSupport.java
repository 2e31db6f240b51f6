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
}
