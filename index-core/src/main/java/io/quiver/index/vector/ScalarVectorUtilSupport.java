package io.quiver.index.vector;

/**
 * The scalar reference implementation of the kernels: plain loops, no SIMD. It is the fallback
 * where the Vector API is unavailable, and the reference the Panama kernels are tested against.
 * Partial sums use four accumulators, which the JIT keeps in registers without changing results
 * between runs.
 */
public final class ScalarVectorUtilSupport implements VectorUtilSupport {

  @Override
  public float dotProduct(float[] a, int aOff, float[] b, int bOff, int d) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int i = 0;
    for (; i + 3 < d; i += 4) {
      s0 += a[aOff + i] * b[bOff + i];
      s1 += a[aOff + i + 1] * b[bOff + i + 1];
      s2 += a[aOff + i + 2] * b[bOff + i + 2];
      s3 += a[aOff + i + 3] * b[bOff + i + 3];
    }
    for (; i < d; i++) {
      s0 += a[aOff + i] * b[bOff + i];
    }
    return (s0 + s1) + (s2 + s3);
  }

  @Override
  public float squareDistance(float[] a, int aOff, float[] b, int bOff, int d) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int i = 0;
    for (; i + 3 < d; i += 4) {
      float t0 = a[aOff + i] - b[bOff + i];
      float t1 = a[aOff + i + 1] - b[bOff + i + 1];
      float t2 = a[aOff + i + 2] - b[bOff + i + 2];
      float t3 = a[aOff + i + 3] - b[bOff + i + 3];
      s0 += t0 * t0;
      s1 += t1 * t1;
      s2 += t2 * t2;
      s3 += t3 * t3;
    }
    for (; i < d; i++) {
      float t = a[aOff + i] - b[bOff + i];
      s0 += t * t;
    }
    return (s0 + s1) + (s2 + s3);
  }




  @Override
  public void dotProductBlock(float[] q, int qOff, int nq, float[] x, int xOff, int nx, int d,
                              float[] out, int outOff, int outStride) {
    for (int i = 0; i < nq; i++) {
      int qi = qOff + i * d;
      int row = outOff + i * outStride;
      for (int j = 0; j < nx; j++) {
        out[row + j] = dotProduct(q, qi, x, xOff + j * d, d);
      }
    }
  }

  @Override
  public void dotProductBlockScaled(float[] q, int qOff, int nq, float[] x, int xOff, int nx, int d,
                                    float scale, float[] bias, int biasOff, float[] out, int outOff, int outStride) {
    for (int i = 0; i < nq; i++) {
      int qi = qOff + i * d;
      int row = outOff + i * outStride;
      for (int j = 0; j < nx; j++) {
        float dot = dotProduct(q, qi, x, xOff + j * d, d);
        out[row + j] = bias == null ? scale * dot : bias[biasOff + j] + scale * dot;
      }
    }
  }

  @Override
  public int nextAtMost(float[] a, int from, int to, float threshold) {
    for (int i = from; i < to; i++) {
      if (a[i] <= threshold) {
        return i;
      }
    }
    return to;
  }
}
