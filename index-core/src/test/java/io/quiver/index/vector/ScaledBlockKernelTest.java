package io.quiver.index.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The affine block kernel and the threshold filter, on every implementation, against a float64
 * reference. Tolerance: 1e-5 relative to the sum of |terms| of each dot product (float32
 * summation error over up to 960 terms stays well inside it).
 */
class ScaledBlockKernelTest {

  private static final long SEED = 20261121L;
  private static final int[] DIMS = {1, 3, 7, 8, 15, 16, 17, 25, 100, 128, 129, 784, 960};

  static List<VectorUtilSupport> implementations() {
    List<VectorUtilSupport> impls = new ArrayList<>();
    impls.add(new ScalarVectorUtilSupport());
    if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
      impls.add(new PanamaVectorUtilSupport());
    }
    impls.add(VectorUtil.support());
    return impls;
  }

  @Test
  void scaledBlockMatchesFloat64Reference() {
    Random rnd = new Random(SEED);
    int[][] shapes = {{1, 1}, {3, 5}, {4, 31}, {5, 33}, {9, 65}, {13, 100}};
    for (VectorUtilSupport impl : implementations()) {
      for (int d : DIMS) {
        for (int[] shape : shapes) {
          int nq = shape[0];
          int nx = shape[1];
          int qOff = 3;
          int xOff = 5;
          int biasOff = 2;
          float[] q = random(rnd, qOff + nq * d);
          float[] x = random(rnd, xOff + nx * d);
          float[] bias = random(rnd, biasOff + nx);
          int stride = nx + 7;
          int outOff = 11;
          float[] out = new float[outOff + nq * stride];
          java.util.Arrays.fill(out, 12345f);
          boolean withBias = (nq + nx) % 2 == 0;
          float scale = withBias ? -2f : -1f;
          impl.dotProductBlockScaled(q, qOff, nq, x, xOff, nx, d, scale, withBias ? bias : null, biasOff, out, outOff, stride);
          for (int i = 0; i < nq; i++) {
            for (int j = 0; j < stride; j++) {
              float got = out[outOff + i * stride + j];
              if (j >= nx) {
                assertEquals(12345f, got, 0f, "entry outside the tile was written; seed " + SEED);
                continue;
              }
              double dot = 0;
              double mag = 0;
              for (int t = 0; t < d; t++) {
                double p = (double) q[qOff + i * d + t] * x[xOff + j * d + t];
                dot += p;
                mag += Math.abs(p);
              }
              double want = (withBias ? bias[biasOff + j] : 0) + scale * dot;
              double tol = 1e-5 * (Math.abs(scale) * mag + (withBias ? Math.abs(bias[biasOff + j]) : 0)) + 1e-6;
              assertEquals(want, got, tol, impl.getClass().getSimpleName() + " d=" + d + " nq=" + nq + " nx=" + nx
                  + " i=" + i + " j=" + j + " seed " + SEED);
            }
          }
        }
      }
    }
  }

  @Test
  void nextAtMostFindsFirstEntryAtOrBelowThreshold() {
    Random rnd = new Random(SEED + 1);
    for (VectorUtilSupport impl : implementations()) {
      for (int n : new int[] {0, 1, 7, 16, 17, 33, 100, 1000}) {
        float[] a = random(rnd, n + 4);
        for (int trial = 0; trial < 20; trial++) {
          int from = n == 0 ? 0 : rnd.nextInt(n + 1);
          float threshold = (float) (rnd.nextGaussian() - 1.5);
          int want = n;
          for (int i = from; i < n; i++) {
            if (a[i] <= threshold) {
              want = i;
              break;
            }
          }
          assertEquals(want, impl.nextAtMost(a, from, n, threshold),
              impl.getClass().getSimpleName() + " n=" + n + " from=" + from + " seed " + (SEED + 1));
        }
        // equality counts as "at most"
        if (n > 0) {
          int pos = n - 1;
          float[] b = new float[n];
          java.util.Arrays.fill(b, 5f);
          b[pos] = 2f;
          assertEquals(pos, impl.nextAtMost(b, 0, n, 2f), impl.getClass().getSimpleName() + " n=" + n);
        }
      }
    }
  }

  private static float[] random(Random rnd, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) rnd.nextGaussian();
    }
    return a;
  }
}
