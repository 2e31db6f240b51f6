package io.quiver.index.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The distance kernels of every implementation (the active one, the scalar reference, and the
 * Panama one when {@code jdk.incubator.vector} is present) against a float64 reference.
 *
 * <p>Tolerance: {@code |got - ref| <= 1e-5 * sum |terms|}, where the terms are the products
 * {@code a_i * b_i} (inner products, norms) or the squares {@code (a_i - b_i)^2} (distances),
 * each computed in float64 from the float inputs. Every random input comes from a fixed seed that
 * the assertion messages print.
 */
class VectorUtilTest {

  static final double REL_TOL = 1e-5;
  static final long SEED = 20240611L;
  static final int[] LENGTHS = {1, 3, 7, 8, 15, 16, 17, 25, 100, 128, 129, 784, 960};
  static final int[] BLOCK_SIZES = {1, 3, 4, 5, 31, 33, 65};
  static final float SENTINEL = -12345.25f;

  static boolean panamaAvailable() {
    return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
  }

  /** Constructed in its own method so that the class is only loaded when the module is present. */
  static VectorUtilSupport newPanama() {
    return new PanamaVectorUtilSupport();
  }

  static Stream<Named<VectorUtilSupport>> implementations() {
    List<Named<VectorUtilSupport>> out = new ArrayList<>();
    out.add(Named.of("active: " + VectorUtil.implementationName(), VectorUtil.support()));
    out.add(Named.of("scalar", new ScalarVectorUtilSupport()));
    if (panamaAvailable()) {
      out.add(Named.of("panama(" + PanamaVectorUtilSupport.lanes() * 32 + "-bit)", newPanama()));
    }
    return out.stream();
  }

  /** Values in [-scale, scale), with a few exact zeros and integers mixed in. */
  static float[] random(SplittableRandom rng, int n, float scale) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      int kind = rng.nextInt(10);
      if (kind == 0) {
        x[i] = 0f;
      } else if (kind == 1) {
        x[i] = rng.nextInt(-200, 201);
      } else {
        x[i] = (float) ((2 * rng.nextDouble() - 1) * scale);
      }
    }
    return x;
  }

  static double refDot(float[] a, int aOff, float[] b, int bOff, int d) {
    double s = 0;
    for (int i = 0; i < d; i++) {
      s += (double) a[aOff + i] * b[bOff + i];
    }
    return s;
  }

  static double refDotScale(float[] a, int aOff, float[] b, int bOff, int d) {
    double s = 0;
    for (int i = 0; i < d; i++) {
      s += Math.abs((double) a[aOff + i] * b[bOff + i]);
    }
    return s;
  }

  static double refSqDist(float[] a, int aOff, float[] b, int bOff, int d) {
    double s = 0;
    for (int i = 0; i < d; i++) {
      double t = (double) a[aOff + i] - b[bOff + i];
      s += t * t;
    }
    return s;
  }

  static void assertClose(double ref, double scale, float got, String what) {
    double tol = REL_TOL * scale;
    if (!(Math.abs(got - ref) <= tol)) {
      fail(String.format(Locale.ROOT, "%s: got %s, float64 reference %s, error %.3g > tolerance %.3g (1e-5 * sum|terms| = %.6g)",
          what, got, ref, Math.abs(got - ref), tol, scale));
    }
  }

  static void assertUntouched(float[] out, int from, int to, String what) {
    for (int i = from; i < to; i++) {
      if (Float.floatToRawIntBits(out[i]) != Float.floatToRawIntBits(SENTINEL)) {
        fail(what + ": out[" + i + "] outside the written range was modified to " + out[i]);
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("implementations")
  void pairKernelsMatchFloat64(VectorUtilSupport impl) {
    for (int d : LENGTHS) {
      long seed = SEED + d;
      SplittableRandom rng = new SplittableRandom(seed);
      for (int rep = 0; rep < 5; rep++) {
        int aOff = 1 + rng.nextInt(13);
        int bOff = 1 + rng.nextInt(13);
        float scale = rep == 4 ? 1000f : 1f;
        float[] a = random(rng, aOff + d + 3, scale);
        float[] b = random(rng, bOff + d + 5, scale);
        String ctx = "seed " + seed + ", d " + d + ", rep " + rep + ", aOff " + aOff + ", bOff " + bOff;
        assertClose(refDot(a, aOff, b, bOff, d), refDotScale(a, aOff, b, bOff, d),
            impl.dotProduct(a, aOff, b, bOff, d), "dotProduct " + ctx);
        double sq = refSqDist(a, aOff, b, bOff, d);
        assertClose(sq, sq, impl.squareDistance(a, aOff, b, bOff, d), "squareDistance " + ctx);
        double norm = refDot(a, aOff, a, aOff, d);
        assertClose(norm, norm, impl.squareNorm(a, aOff, d), "squareNorm " + ctx);
        // the same vector: distance exactly 0
        assertEquals(0f, impl.squareDistance(a, aOff, a, aOff, d), "squareDistance of a vector to itself, " + ctx);
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("implementations")
  void oneToManyKernelsMatchFloat64(VectorUtilSupport impl) {
    for (int d : LENGTHS) {
      long seed = SEED * 31 + d;
      SplittableRandom rng = new SplittableRandom(seed);
      for (int n : new int[] {1, 3, 17}) {
        int qOff = 1 + rng.nextInt(7);
        int xOff = 1 + rng.nextInt(7);
        int outOff = 2 + rng.nextInt(5);
        float[] q = random(rng, qOff + d, 1f);
        float[] x = random(rng, xOff + n * d + 2, 1f);
        String ctx = "seed " + seed + ", d " + d + ", n " + n + ", qOff " + qOff + ", xOff " + xOff + ", outOff " + outOff;

        float[] out = new float[outOff + n + 4];
        Arrays.fill(out, SENTINEL);
        impl.squareDistanceOneToMany(q, qOff, x, xOff, n, d, out, outOff);
        for (int j = 0; j < n; j++) {
          double ref = refSqDist(q, qOff, x, xOff + j * d, d);
          assertClose(ref, ref, out[outOff + j], "squareDistanceOneToMany " + ctx + ", j " + j);
        }
        assertUntouched(out, 0, outOff, "squareDistanceOneToMany " + ctx);
        assertUntouched(out, outOff + n, out.length, "squareDistanceOneToMany " + ctx);

        // the same vectors stored transposed; n 17 and 40 cross the SIMD width with a tail
        for (int nt : new int[] {n, n + 23}) {
          float[] xs = random(rng, nt * d, 1f);
          float[] xT = new float[xOff + nt * d];
          for (int j = 0; j < nt; j++) {
            for (int t = 0; t < d; t++) {
              xT[xOff + t * nt + j] = xs[j * d + t];
            }
          }
          float[] outT = new float[outOff + nt + 4];
          Arrays.fill(outT, SENTINEL);
          impl.squareDistanceToTransposed(q, qOff, xT, xOff, nt, d, outT, outOff);
          for (int j = 0; j < nt; j++) {
            double ref = refSqDist(q, qOff, xs, j * d, d);
            assertClose(ref, ref, outT[outOff + j], "squareDistanceToTransposed " + ctx + ", n " + nt + ", j " + j);
          }
          assertUntouched(outT, 0, outOff, "squareDistanceToTransposed " + ctx);
          assertUntouched(outT, outOff + nt, outT.length, "squareDistanceToTransposed " + ctx);

          Arrays.fill(outT, SENTINEL);
          impl.dotProductToTransposed(q, qOff, xT, xOff, nt, d, outT, outOff);
          for (int j = 0; j < nt; j++) {
            assertClose(refDot(q, qOff, xs, j * d, d), refDotScale(q, qOff, xs, j * d, d), outT[outOff + j],
                "dotProductToTransposed " + ctx + ", n " + nt + ", j " + j);
          }
          assertUntouched(outT, 0, outOff, "dotProductToTransposed " + ctx);
          assertUntouched(outT, outOff + nt, outT.length, "dotProductToTransposed " + ctx);

          int addOff = 3;
          float[] add = random(rng, addOff + nt, 4f);
          Arrays.fill(outT, SENTINEL);
          impl.dotProductToTransposedAdd(q, qOff, xT, xOff, nt, d, add, addOff, outT, outOff);
          for (int j = 0; j < nt; j++) {
            double ref = add[addOff + j] + refDot(q, qOff, xs, j * d, d);
            double scale = Math.abs(add[addOff + j]) + refDotScale(q, qOff, xs, j * d, d);
            assertClose(ref, scale, outT[outOff + j], "dotProductToTransposedAdd " + ctx + ", n " + nt + ", j " + j);
          }
          assertUntouched(outT, 0, outOff, "dotProductToTransposedAdd " + ctx);
          assertUntouched(outT, outOff + nt, outT.length, "dotProductToTransposedAdd " + ctx);
        }

        Arrays.fill(out, SENTINEL);
        impl.dotProductOneToMany(q, qOff, x, xOff, n, d, out, outOff);
        for (int j = 0; j < n; j++) {
          assertClose(refDot(q, qOff, x, xOff + j * d, d), refDotScale(q, qOff, x, xOff + j * d, d),
              out[outOff + j], "dotProductOneToMany " + ctx + ", j " + j);
        }
        assertUntouched(out, 0, outOff, "dotProductOneToMany " + ctx);
        assertUntouched(out, outOff + n, out.length, "dotProductOneToMany " + ctx);
      }
    }
  }

  /**
   * The query-block kernels against float64, for the implementation's own lane count (the SIMD
   * path), 8 and 3 (other counts take the scalar loop); n crosses the eight-vector blocks with a
   * tail; unused slots hold garbage and are not checked. Tolerance as above: 1e-5 * sum |terms|.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("implementations")
  void queryBlockKernelsMatchFloat64(VectorUtilSupport impl) {
    for (int d : new int[] {1, 7, 16, 25, 128, 129}) {
      for (int lanes : new int[] {impl.queryLanes(), 8, 3}) {
        long seed = SEED * 17 + d * 31L + lanes;
        SplittableRandom rng = new SplittableRandom(seed);
        int used = Math.max(1, lanes - 1);
        for (int n : new int[] {1, 7, 8, 17, 300}) {
          int qOff = 1 + rng.nextInt(5);
          int xOff = 1 + rng.nextInt(5);
          int outOff = 1 + rng.nextInt(5);
          float[] q = random(rng, used * d, 1f);
          float[] qT = random(rng, qOff + d * lanes, 7f); // garbage in the unused slot
          for (int i = 0; i < used; i++) {
            for (int t = 0; t < d; t++) {
              qT[qOff + t * lanes + i] = q[i * d + t];
            }
          }
          float[] x = random(rng, xOff + n * d + 3, 1f);
          String ctx = "seed " + seed + ", d " + d + ", lanes " + lanes + ", n " + n;
          float[] out = new float[outOff + n * lanes + 5];
          Arrays.fill(out, SENTINEL);
          impl.squareDistanceQueriesTransposed(qT, qOff, lanes, x, xOff, n, d, out, outOff);
          for (int j = 0; j < n; j++) {
            for (int i = 0; i < used; i++) {
              double ref = refSqDist(q, i * d, x, xOff + j * d, d);
              assertClose(ref, ref, out[outOff + j * lanes + i], "squareDistanceQueriesTransposed " + ctx + ", j " + j + ", i " + i);
            }
          }
          assertUntouched(out, 0, outOff, "squareDistanceQueriesTransposed " + ctx);
          assertUntouched(out, outOff + n * lanes, out.length, "squareDistanceQueriesTransposed " + ctx);
          Arrays.fill(out, SENTINEL);
          impl.dotProductQueriesTransposed(qT, qOff, lanes, x, xOff, n, d, out, outOff);
          for (int j = 0; j < n; j++) {
            for (int i = 0; i < used; i++) {
              assertClose(refDot(q, i * d, x, xOff + j * d, d), refDotScale(q, i * d, x, xOff + j * d, d),
                  out[outOff + j * lanes + i], "dotProductQueriesTransposed " + ctx + ", j " + j + ", i " + i);
            }
          }
          assertUntouched(out, 0, outOff, "dotProductQueriesTransposed " + ctx);
          assertUntouched(out, outOff + n * lanes, out.length, "dotProductQueriesTransposed " + ctx);
        }
      }
    }
  }

  /** nextRowAtMost finds the first row with any slot at or below its threshold, as a scalar scan does. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("implementations")
  void nextRowAtMostMatchesScalarScan(VectorUtilSupport impl) {
    for (int lanes : new int[] {impl.queryLanes(), 8, 3}) {
      long seed = SEED * 7 + lanes;
      SplittableRandom rng = new SplittableRandom(seed);
      int rows = 50;
      float[] tile = random(rng, rows * lanes, 1f);
      float[] thresholds = new float[lanes];
      for (int rep = 0; rep < 200; rep++) {
        for (int i = 0; i < lanes; i++) {
          thresholds[i] = i == lanes - 1 ? Float.NEGATIVE_INFINITY : (float) (rng.nextDouble() * 2 - 1.99);
        }
        int from = rng.nextInt(rows);
        int to = from + rng.nextInt(rows - from + 1);
        int want = to;
        search:
        for (int j = from; j < to; j++) {
          for (int i = 0; i < lanes; i++) {
            if (tile[j * lanes + i] <= thresholds[i]) {
              want = j;
              break search;
            }
          }
        }
        assertEquals(want, impl.nextRowAtMost(tile, from, to, lanes, thresholds),
            "seed " + seed + ", lanes " + lanes + ", rep " + rep + ", from " + from + ", to " + to);
      }
    }
  }

  /** One dotProductBlock call checked entry by entry, and everything outside the tile untouched. */
  static void checkBlock(VectorUtilSupport impl, long seed, int nq, int nx, int d, int strideExtra) {
    SplittableRandom rng = new SplittableRandom(seed);
    int qOff = 1 + rng.nextInt(9);
    int xOff = 1 + rng.nextInt(9);
    int outOff = 1 + rng.nextInt(9);
    int outStride = nx + strideExtra;
    float[] q = random(rng, qOff + nq * d + 3, 1f);
    float[] x = random(rng, xOff + nx * d + 3, 1f);
    float[] out = new float[outOff + nq * outStride + 7];
    Arrays.fill(out, SENTINEL);
    impl.dotProductBlock(q, qOff, nq, x, xOff, nx, d, out, outOff, outStride);
    String ctx = "dotProductBlock seed " + seed + ", nq " + nq + ", nx " + nx + ", d " + d + ", outStride " + outStride
        + ", qOff " + qOff + ", xOff " + xOff + ", outOff " + outOff;
    for (int i = 0; i < nq; i++) {
      for (int j = 0; j < nx; j++) {
        int qo = qOff + i * d;
        int xo = xOff + j * d;
        assertClose(refDot(q, qo, x, xo, d), refDotScale(q, qo, x, xo, d), out[outOff + i * outStride + j],
            ctx + ", entry (" + i + ", " + j + ")");
      }
      // the gap between rows of the tile
      int rowEnd = outOff + i * outStride + nx;
      assertUntouched(out, rowEnd, Math.min(out.length, outOff + (i + 1) * outStride), ctx + ", row " + i);
    }
    assertUntouched(out, 0, outOff, ctx);
    assertUntouched(out, outOff + (nq - 1) * outStride + nx, out.length, ctx);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("implementations")
  void dotProductBlockShapes(VectorUtilSupport impl) {
    int[] dims = {1, 3, 8, 17, 100, 129};
    for (int d : dims) {
      for (int nq : BLOCK_SIZES) {
        if (nq == 65) {
          continue;
        }
        for (int nx : BLOCK_SIZES) {
          long seed = SEED ^ (d * 1_000_003L + nq * 1009L + nx);
          checkBlock(impl, seed, nq, nx, d, (nq + nx) % 3 == 0 ? 0 : 1 + (nx % 5));
        }
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("implementations")
  void dotProductBlockAllLengths(VectorUtilSupport impl) {
    for (int d : LENGTHS) {
      checkBlock(impl, SEED + 7 * d, 5, 33, d, 4);
      checkBlock(impl, SEED + 11 * d, 4, 65, d, 0);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("implementations")
  void dotProductBlockEmptyWritesNothing(VectorUtilSupport impl) {
    float[] q = new float[16];
    float[] x = new float[16];
    float[] out = new float[8];
    Arrays.fill(out, SENTINEL);
    impl.dotProductBlock(q, 0, 0, x, 0, 2, 8, out, 0, 2);
    impl.dotProductBlock(q, 0, 2, x, 0, 0, 8, out, 0, 2);
    assertUntouched(out, 0, out.length, "dotProductBlock with nq = 0 or nx = 0");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("implementations")
  void dotProductBlockFromManyThreadsAtOnce(VectorUtilSupport impl) throws Exception {
    // per-thread scratch space: concurrent calls of different sizes must not interfere
    long seed = SEED + 99;
    int d = 37;
    float[] q = random(new SplittableRandom(seed), 33 * d, 1f);
    float[] x = random(new SplittableRandom(seed + 1), 200 * d, 1f);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<float[]>> futures = new ArrayList<>();
      for (int t = 0; t < 16; t++) {
        int nx = 20 + 45 * (t % 4);
        futures.add(pool.submit(() -> {
          float[] out = new float[33 * nx];
          for (int rep = 0; rep < 20; rep++) {
            impl.dotProductBlock(q, 0, 33, x, 0, nx, d, out, 0, nx);
          }
          return out;
        }));
      }
      for (int t = 0; t < 16; t++) {
        int nx = 20 + 45 * (t % 4);
        float[] expected = new float[33 * nx];
        impl.dotProductBlock(q, 0, 33, x, 0, nx, d, expected, 0, nx);
        assertTrue(Arrays.equals(expected, futures.get(t).get()), "seed " + seed + ": concurrent dotProductBlock, task " + t);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void facadeDelegatesToSupport() {
    long seed = SEED + 5;
    SplittableRandom rng = new SplittableRandom(seed);
    int d = 129;
    float[] a = random(rng, d + 2, 1f);
    float[] b = random(rng, 4 * d + 1, 1f);
    VectorUtilSupport s = VectorUtil.support();
    assertEquals(s.dotProduct(a, 2, b, 1, d), VectorUtil.dotProduct(a, 2, b, 1, d), "seed " + seed);
    assertEquals(s.squareDistance(a, 2, b, 1, d), VectorUtil.squareDistance(a, 2, b, 1, d), "seed " + seed);
    assertEquals(s.squareNorm(a, 2, d), VectorUtil.squareNorm(a, 2, d), "seed " + seed);
    float[] norms = VectorUtil.squareNorms(Arrays.copyOfRange(b, 1, 1 + 4 * d), 4, d);
    for (int j = 0; j < 4; j++) {
      double ref = refDot(b, 1 + j * d, b, 1 + j * d, d);
      assertClose(ref, ref, norms[j], "squareNorms seed " + seed + ", row " + j);
    }
  }

  @Test
  void implementationNameMatchesSystemProperty() {
    String wanted = System.getProperty(VectorUtil.PROPERTY);
    String name = VectorUtil.implementationName();
    assertFalse(name == null || name.isEmpty(), "implementationName is empty");
    assumeTrue(wanted != null && !wanted.isBlank() && !wanted.trim().equalsIgnoreCase("auto"),
        "-D" + VectorUtil.PROPERTY + " is not set to scalar or panama, so there is nothing to match; active: " + name);
    String w = wanted.trim().toLowerCase(Locale.ROOT);
    assertTrue(name.startsWith(w), "-D" + VectorUtil.PROPERTY + "=" + wanted + " but implementationName() is " + name);
    if (w.equals("scalar")) {
      assertTrue(VectorUtil.support() instanceof ScalarVectorUtilSupport, "support() is " + VectorUtil.support().getClass());
    } else if (w.equals("panama")) {
      assertTrue(VectorUtil.support() instanceof PanamaVectorUtilSupport, "support() is " + VectorUtil.support().getClass());
    }
  }

  @Test
  void normalizeL2GivesUnitVectorsInTheSameDirection() {
    long seed = SEED + 17;
    int d = 25;
    int n = 40;
    float[] x = random(new SplittableRandom(seed), n * d, 3f);
    // row 7 is a zero vector, row 11 is tiny, row 12 is large
    Arrays.fill(x, 7 * d, 8 * d, 0f);
    for (int j = 0; j < d; j++) {
      x[11 * d + j] *= 1e-6f;
      x[12 * d + j] *= 1e6f;
    }
    float[] orig = x.clone();
    VectorUtil.normalizeL2(x, d);
    for (int r = 0; r < n; r++) {
      if (r == 7) {
        for (int j = 0; j < d; j++) {
          assertEquals(0f, x[r * d + j], "seed " + seed + ": the zero vector must stay zero (no NaN), component " + j);
        }
        continue;
      }
      double norm = Math.sqrt(refDot(orig, r * d, orig, r * d, d));
      for (int j = 0; j < d; j++) {
        assertEquals(orig[r * d + j] / norm, x[r * d + j], 1e-6, "seed " + seed + ": row " + r + ", component " + j);
      }
      assertEquals(1.0, Math.sqrt(refDot(x, r * d, x, r * d, d)), 1e-6, "seed " + seed + ": norm of row " + r);
    }
  }

  @Test
  void normalizeL2WithOffsetTouchesOnlyThatVector() {
    float[] x = {5f, 3f, 4f, 7f};
    VectorUtil.normalizeL2(x, 1, 2);
    assertEquals(5f, x[0]);
    assertEquals(0.6f, x[1], 1e-7f);
    assertEquals(0.8f, x[2], 1e-7f);
    assertEquals(7f, x[3]);
    float[] z = new float[3];
    VectorUtil.normalizeL2(z, 0, 3);
    assertTrue(Arrays.equals(new float[3], z), "a zero vector stays zero");
  }

  /**
   * Finite components whose squares overflow (or underflow) a float: the vector must still come
   * out with unit norm, since cosine indexes store and search normalized vectors and accept any
   * finite component.
   */
  @Test
  void normalizeL2HandlesExtremeMagnitudes() {
    for (float scale : new float[] {1e20f, 1e30f, 1e-22f, 1e-30f}) {
      float[] x = {3 * scale, 4 * scale, 0f};
      VectorUtil.normalizeL2(x, 0, 3);
      assertEquals(0.6f, x[0], 1e-6f, "normalizeL2 of (3, 4, 0) * " + scale + " gave " + Arrays.toString(x));
      assertEquals(0.8f, x[1], 1e-6f, "normalizeL2 of (3, 4, 0) * " + scale + " gave " + Arrays.toString(x));
      assertEquals(0f, x[2]);
    }
  }

  @Test
  void normalizeL2RejectsBadLength() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VectorUtil.normalizeL2(new float[7], 3));
    assertTrue(e.getMessage().contains("d=3"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> VectorUtil.normalizeL2(new float[6], 0));
  }

  @ParameterizedTest
  @MethodSource("implementations")
  void fp16KernelsDecodeEveryHalfExactly(VectorUtilSupport impl) {
    // code h of d = 8 holds the half h, then seven zeros; a query of ones sums to the half's value
    int d = 8;
    int n = 1 << 16;
    byte[] codes = new byte[n * 2 * d];
    for (int h = 0; h < n; h++) {
      codes[h * 2 * d] = (byte) h;
      codes[h * 2 * d + 1] = (byte) (h >>> 8);
    }
    float[] ones = new float[d];
    Arrays.fill(ones, 1f);
    float[] zeros = new float[d];
    float[] ip = new float[n];
    float[] l2 = new float[n];
    impl.fp16DotProductOneToMany(ones, 0, codes, 0, n, d, ip, 0);
    impl.fp16SquareDistanceOneToMany(zeros, 0, codes, 0, n, d, l2, 0);
    for (int h = 0; h < n; h++) {
      float want = VectorUtil.halfToFloat(h);
      String where = impl + ", half 0x" + Integer.toHexString(h) + " = " + want;
      if (Float.isNaN(want)) {
        assertTrue(Float.isNaN(ip[h]) && Float.isNaN(l2[h]), where + ": got " + ip[h] + " and " + l2[h]);
      } else {
        assertEquals(want + 0f, ip[h], 0f, where + ": inner product with ones");
        assertEquals(want * want, l2[h], 0f, where + ": squared distance to zero");
      }
    }
  }

  @ParameterizedTest
  @MethodSource("implementations")
  void addMatchesScalarSums(VectorUtilSupport impl) {
    SplittableRandom rnd = new SplittableRandom(SEED);
    for (int n : LENGTHS) {
      float[] a = new float[n + 5];
      float[] b = new float[n + 2];
      for (int i = 0; i < a.length; i++) {
        a[i] = (float) rnd.nextDouble(-10, 10);
      }
      for (int i = 0; i < b.length; i++) {
        b[i] = (float) rnd.nextDouble(-10, 10);
      }
      float[] out = new float[n + 4];
      Arrays.fill(out, SENTINEL);
      impl.add(a, 5, b, 2, out, 3, n);
      assertEquals(SENTINEL, out[2], impl + " n=" + n + ": out before outOff untouched");
      for (int i = 0; i < n; i++) {
        assertEquals(a[5 + i] + b[2 + i], out[3 + i], 0f, impl + " n=" + n + ", seed " + SEED + ": element " + i);
      }
    }
  }

  @ParameterizedTest
  @MethodSource("implementations")
  void sqDecodeKernelsEqualTheScalarDecode(VectorUtilSupport impl) {
    VectorUtilSupport ref = new ScalarVectorUtilSupport();
    SplittableRandom rnd = new SplittableRandom(SEED + 3);
    for (int d : LENGTHS) {
      int n = 5;
      float[] scale = new float[d];
      float[] offset = new float[d];
      for (int t = 0; t < d; t++) {
        scale[t] = (float) rnd.nextDouble(0.001, 2);
        offset[t] = (float) rnd.nextDouble(-5, 5);
      }
      byte[] codes = new byte[n * d + 3];
      for (int i = 0; i < codes.length; i++) {
        codes[i] = (byte) rnd.nextInt(256);
      }
      float[] want = new float[n * d + 2];
      float[] got = new float[n * d + 2];
      // fma rounds once, so every implementation must give the same bits
      ref.sq8Decode(codes, 3, n, d, scale, offset, want, 2);
      impl.sq8Decode(codes, 3, n, d, scale, offset, got, 2);
      assertTrue(Arrays.equals(want, got), impl + " SQ8 decode, d=" + d + ", seed " + (SEED + 3));
      ref.sq4Decode(codes, 3, n, d, scale, offset, want, 2);
      impl.sq4Decode(codes, 3, n, d, scale, offset, got, 2);
      assertTrue(Arrays.equals(want, got), impl + " SQ4 decode, d=" + d + ", seed " + (SEED + 3));
    }
  }
}
