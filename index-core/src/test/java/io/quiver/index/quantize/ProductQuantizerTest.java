package io.quiver.index.quantize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.quiver.index.util.SyntheticData;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link ProductQuantizer} on seeded synthetic data ({@link SyntheticData}); every assertion
 * message carries its seed.
 *
 * <p>Tolerance: an ADC value (a sum of {@code m} table entries, each computed by the float
 * kernels) agrees with the float64 value of the same quantity on the decoded vector when
 * {@code |adc - ref| <= ADC_TOL * S}, {@code S} being the sum of the absolute values of the
 * terms ({@code sum (q_i - y_i)^2}, the distance itself, for L2; {@code sum |q_i y_i|} for inner
 * product), so for L2 this is a 1e-4 relative error.
 */
class ProductQuantizerTest {

  /** Relative tolerance of ADC values against float64 on the decoded vectors (see the class comment). */
  static final double ADC_TOL = 1e-4;

  static float[] data(int d, int n, long seed) {
    return new SyntheticData(d, 20, seed).generate(n, seed);
  }

  /** A quantizer trained on 2000 vectors, with few iterations to keep the suite fast. */
  static ProductQuantizer trained(int d, int m, int nbits, long seed) {
    ProductQuantizer pq = new ProductQuantizer(d, m, nbits).seed(seed).niter(8);
    pq.train(data(d, 2000, seed));
    return pq;
  }

  static Stream<Arguments> shapes() {
    // plus m = 5 (its own unrolled scan) and m = 6 (the looped one), as GloVe-25 and d = 24 use
    return Stream.concat(IntStream.of(4, 6, 8).boxed().flatMap(nbits -> IntStream.of(4, 8, 16).boxed().flatMap(m ->
        IntStream.of(32, 64, 128).mapToObj(d -> Arguments.of(d, m, nbits)))),
        Stream.of(Arguments.of(25, 5, 8), Arguments.of(24, 6, 8)));
  }

  // ---------------------------------------------------------------- shapes and packing

  @Test
  void shapeAccessorsFollowFaiss() {
    ProductQuantizer pq = new ProductQuantizer(128, 16, 8);
    assertEquals(128, pq.d());
    assertEquals(16, pq.m());
    assertEquals(8, pq.nbits());
    assertEquals(256, pq.ksub());
    assertEquals(8, pq.dsub());
    assertEquals(16, pq.codeSize());
    assertFalse(pq.isTrained());
    assertNull(pq.centroids(), "no codebook before training");
    assertEquals(8, new ProductQuantizer(128, 16, 4).codeSize(), "16 x 4 bits");
    assertEquals(12, new ProductQuantizer(96, 16, 6).codeSize(), "16 x 6 bits");
    assertEquals(4, new ProductQuantizer(15, 5, 5).codeSize(), "ceil(25 / 8)");
    assertEquals(1, new ProductQuantizer(7, 1, 7).codeSize());
    assertEquals(1234, pq.seed(), "FAISS's default seed");
    assertEquals(25, pq.niter(), "FAISS's PQ default iterations");
    assertEquals(256, pq.maxPointsPerCentroid());
  }

  /** Reference packer, bit by bit: sub-code j at bits [j*nbits, (j+1)*nbits), LSB-first (FAISS's PQEncoderGeneric). */
  static byte[] packReference(int[] sub, int nbits, int codeSize) {
    byte[] out = new byte[codeSize];
    for (int j = 0; j < sub.length; j++) {
      for (int b = 0; b < nbits; b++) {
        if (((sub[j] >>> b) & 1) != 0) {
          int bit = j * nbits + b;
          out[bit >>> 3] |= (byte) (1 << (bit & 7));
        }
      }
    }
    return out;
  }

  /**
   * With a codebook whose centroid c of every sub-quantizer is the constant vector c, each
   * sub-vector (j, value v) encodes to v: the packed bytes must equal the reference packing.
   */
  @ParameterizedTest
  @MethodSource("packingShapes")
  void codesArePackedLsbFirstLikeFaiss(int m, int nbits) {
    long seed = 5001L + m * 10L + nbits;
    int dsub = 2;
    int d = m * dsub;
    int ksub = 1 << nbits;
    float[] c = new float[m * ksub * dsub];
    for (int j = 0; j < m; j++) {
      for (int k = 0; k < ksub; k++) {
        for (int t = 0; t < dsub; t++) {
          c[(j * ksub + k) * dsub + t] = k;
        }
      }
    }
    ProductQuantizer pq = ProductQuantizer.fromCentroids(d, m, nbits, c);
    SplittableRandom rng = new SplittableRandom(seed);
    for (int trial = 0; trial < 50; trial++) {
      int[] sub = new int[m];
      float[] x = new float[d];
      for (int j = 0; j < m; j++) {
        sub[j] = rng.nextInt(ksub);
        for (int t = 0; t < dsub; t++) {
          x[j * dsub + t] = sub[j] + (float) (rng.nextDouble() * 0.8 - 0.4); // nearest is sub[j]
        }
      }
      byte[] code = new byte[pq.codeSize() + 2];
      Arrays.fill(code, (byte) 0x5A); // encode must overwrite, and stay inside its codeSize bytes
      pq.encode(x, 0, code, 1);
      String ctx = "seed " + seed + ", m=" + m + ", nbits=" + nbits + ", sub-codes " + Arrays.toString(sub);
      assertArrayEquals(packReference(sub, nbits, pq.codeSize()), Arrays.copyOfRange(code, 1, 1 + pq.codeSize()), ctx);
      assertEquals((byte) 0x5A, code[0], ctx + ": byte before the code");
      assertEquals((byte) 0x5A, code[code.length - 1], ctx + ": byte after the code");
      for (int j = 0; j < m; j++) {
        assertEquals(sub[j], pq.code(code, 1, j), ctx + ": code(j=" + j + ")");
      }
    }
  }

  static Stream<Arguments> packingShapes() {
    return Stream.of(Arguments.of(1, 4), Arguments.of(3, 4), Arguments.of(5, 5), Arguments.of(7, 6), Arguments.of(3, 7),
        Arguments.of(9, 7), Arguments.of(6, 8), Arguments.of(16, 4), Arguments.of(13, 4), Arguments.of(16, 8),
        Arguments.of(12, 8), Arguments.of(32, 8), Arguments.of(64, 8), Arguments.of(8, 4), Arguments.of(32, 4));
  }

  // ---------------------------------------------------------------- encode, decode, ADC

  @ParameterizedTest(name = "d={0} m={1} nbits={2}")
  @MethodSource("shapes")
  void roundTripAndAdcMatchDecodedVectors(int d, int m, int nbits) {
    long seed = 6000L + d * 100L + m * 10L + nbits;
    String ctx = "seed " + seed + ", d=" + d + ", m=" + m + ", nbits=" + nbits;
    ProductQuantizer pq = trained(d, m, nbits, seed);
    assertTrue(pq.isTrained());
    int n = 300;
    float[] x = data(d, n, seed + 1);
    byte[] codes = pq.encode(x);
    assertEquals(n * pq.codeSize(), codes.length, ctx);
    float[] y = pq.decode(codes, n);
    assertArrayEquals(codes, pq.encode(y), ctx + ": encode(decode(codes)) must give the same codes");
    byte[] sub = new byte[n * m];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < m; j++) {
        sub[i * m + j] = (byte) pq.code(codes, i * pq.codeSize(), j);
      }
    }
    assertArrayEquals(codes, pq.packSubCodes(sub, n), ctx + ": packing one sub-code per byte gives encode's codes");

    float[] centroids = pq.centroids();
    int ksub = pq.ksub();
    int dsub = pq.dsub();
    byte[] one = new byte[pq.codeSize()];
    float[] oneDecoded = new float[d];
    for (int i = 0; i < n; i += 17) {
      pq.encode(x, i * d, one, 0);
      assertArrayEquals(Arrays.copyOfRange(codes, i * pq.codeSize(), (i + 1) * pq.codeSize()), one,
          ctx + ": single encode of row " + i + " vs batch encode");
      pq.decode(codes, i * pq.codeSize(), oneDecoded, 0);
      assertArrayEquals(Arrays.copyOfRange(y, i * d, (i + 1) * d), oneDecoded, ctx + ": single decode of row " + i);
      for (int j = 0; j < m; j++) {
        int c = pq.code(codes, i * pq.codeSize(), j);
        assertTrue(c >= 0 && c < ksub, ctx + ": sub-code " + c);
        // the chosen centroid is the nearest (ties within float error allowed)
        double chosen = sqDist(x, i * d + j * dsub, centroids, (j * ksub + c) * dsub, dsub);
        for (int k = 0; k < ksub; k++) {
          double other = sqDist(x, i * d + j * dsub, centroids, (j * ksub + k) * dsub, dsub);
          if (other < chosen - 1e-5 * (chosen + 1e-12)) {
            fail(ctx + ": row " + i + ", sub-quantizer " + j + ": centroid " + k + " at " + other
                + " is nearer than the chosen " + c + " at " + chosen);
          }
        }
      }
    }

    float[] queries = data(d, 10, seed + 2);
    float[] l2 = new float[m * ksub];
    float[] ip = new float[m * ksub];
    float[] scanL2 = new float[n + 3];
    float[] scanIp = new float[n + 3];
    for (int qi = 0; qi < 10; qi++) {
      pq.computeDistanceTable(queries, qi * d, l2);
      pq.computeInnerProductTable(queries, qi * d, ip);
      pq.adcScan(l2, codes, 0, n, scanL2, 3);
      pq.adcScan(ip, codes, 0, n, scanIp, 3);
      for (int i = 0; i < n; i++) {
        String where = ctx + ": query " + qi + ", code " + i;
        float a = pq.adc(l2, codes, i * pq.codeSize());
        float b = pq.adc(ip, codes, i * pq.codeSize());
        assertEquals(Float.floatToIntBits(a), Float.floatToIntBits(scanL2[3 + i]), where + ": adcScan vs adc (L2), bit-identical");
        assertEquals(Float.floatToIntBits(b), Float.floatToIntBits(scanIp[3 + i]), where + ": adcScan vs adc (IP), bit-identical");
        double refL2 = sqDist(queries, qi * d, y, i * d, d);
        double refIp = 0;
        double scaleIp = 0;
        for (int t = 0; t < d; t++) {
          double p = (double) queries[qi * d + t] * y[i * d + t];
          refIp += p;
          scaleIp += Math.abs(p);
        }
        assertEquals(refL2, a, ADC_TOL * refL2 + 1e-30, where + ": L2 ADC vs |q - decode(code)|^2 (relative " + ADC_TOL + ")");
        assertEquals(refIp, b, ADC_TOL * scaleIp + 1e-30, where + ": IP ADC vs <q, decode(code)> (" + ADC_TOL + " of sum |terms|)");
      }
    }
  }

  static double sqDist(float[] a, int aOff, float[] b, int bOff, int len) {
    double s = 0;
    for (int t = 0; t < len; t++) {
      double u = (double) a[aOff + t] - b[bOff + t];
      s += u * u;
    }
    return s;
  }

  @Test
  void moreBitsQuantizeBetter() {
    long seed = 6501L;
    int d = 32;
    float[] x = data(d, 2000, seed);
    double previous = Double.POSITIVE_INFINITY;
    double variance = totalVariance(x, d);
    for (int nbits : new int[] {4, 6, 8}) {
      ProductQuantizer pq = new ProductQuantizer(d, 8, nbits).seed(seed).niter(10);
      pq.train(x);
      float[] y = pq.decode(pq.encode(x), 2000);
      double mse = 0;
      for (int i = 0; i < 2000; i++) {
        mse += sqDist(x, i * d, y, i * d, d);
      }
      mse /= 2000;
      assertTrue(mse < previous, "seed " + seed + ": MSE " + mse + " with nbits=" + nbits + " not below " + previous);
      assertTrue(mse < 0.2 * variance, "seed " + seed + ": MSE " + mse + " with nbits=" + nbits + " vs data variance " + variance);
      previous = mse;
    }
  }

  static double totalVariance(float[] x, int d) {
    int n = x.length / d;
    double total = 0;
    for (int t = 0; t < d; t++) {
      double s = 0;
      double s2 = 0;
      for (int i = 0; i < n; i++) {
        s += x[i * d + t];
        s2 += (double) x[i * d + t] * x[i * d + t];
      }
      total += s2 / n - (s / n) * (s / n);
    }
    return total;
  }

  @Test
  void batchEncodeSplitAcrossThreadsEqualsOneByOne() {
    long seed = 6601L;
    int d = 64;
    ProductQuantizer pq = trained(d, 16, 8, seed);
    int n = 3000; // three chunks of the parallel encoder
    float[] x = data(d, n, seed + 1);
    byte[] all = pq.encode(x);
    byte[] serial = pq.threads(1).encode(x);
    assertArrayEquals(all, serial, "seed " + seed + ": encode on all cores vs one thread");
    byte[] one = new byte[pq.codeSize()];
    for (int i = 0; i < n; i += 97) {
      pq.encode(x, i * d, one, 0);
      assertArrayEquals(Arrays.copyOfRange(all, i * 16, i * 16 + 16), one, "seed " + seed + ": row " + i);
    }
    assertArrayEquals(pq.decode(all, n), pq.threads(0).decode(all, n), "seed " + seed + ": decode thread count");
  }

  // ---------------------------------------------------------------- training

  @Test
  void trainingIsDeterministicForASeed() {
    long seed = 6701L;
    int d = 32;
    float[] x = data(d, 2000, seed);
    float[] a = codebook(new ProductQuantizer(d, 8, 6).seed(seed).niter(10), x);
    float[] b = codebook(new ProductQuantizer(d, 8, 6).seed(seed).niter(10).threads(1), x);
    assertArrayEquals(a, b, "seed " + seed + ": same seed, all cores vs one thread");
    float[] c = codebook(new ProductQuantizer(d, 8, 6).seed(seed + 1).niter(10), x);
    assertFalse(Arrays.equals(a, c), "seeds " + seed + " and " + (seed + 1) + " gave identical codebooks");
    // fewer sub-spaces than threads: k-means itself runs in parallel, with the same result
    float[] e = codebook(new ProductQuantizer(d, 1, 6).seed(seed).niter(5), x);
    float[] f = codebook(new ProductQuantizer(d, 1, 6).seed(seed).niter(5).threads(1), x);
    assertArrayEquals(e, f, "seed " + seed + ": m=1, all cores vs one thread");
  }

  static float[] codebook(ProductQuantizer pq, float[] x) {
    pq.train(x);
    return pq.centroids();
  }

  @Test
  void subsamplesToKsubTimesMaxPointsPerCentroid() {
    long seed = 6801L;
    int d = 16;
    float[] x = data(d, 3000, seed);
    // 16 centroids x 50 points = 800 of the 3000 vectors; the same rows for every sub-space, as KMeans would pick
    ProductQuantizer pq = new ProductQuantizer(d, 4, 4).seed(seed).niter(5).maxPointsPerCentroid(50);
    pq.train(x);
    float[] sample = KMeans.subsample(x, 3000, 800, seed, d);
    for (int j = 0; j < 4; j++) {
      float[] sub = new float[800 * 4];
      for (int i = 0; i < 800; i++) {
        System.arraycopy(sample, i * d + j * 4, sub, i * 4, 4);
      }
      float[] expected = new KMeans(4, 16).seed(seed).niter(5).train(sub).centroids();
      assertArrayEquals(expected, Arrays.copyOfRange(pq.centroids(), j * 16 * 4, (j + 1) * 16 * 4),
          "seed " + seed + ": sub-quantizer " + j + " is k-means of its sub-vectors with the PQ's seed");
    }
  }

  @Test
  void fromCentroidsReproducesEncodings() {
    long seed = 6901L;
    int d = 64;
    ProductQuantizer pq = trained(d, 8, 8, seed);
    float[] c = pq.centroids();
    c[0] += 1000; // a copy: the quantizer is unchanged
    assertFalse(Arrays.equals(c, pq.centroids()), "centroids() must return a copy");
    ProductQuantizer restored = ProductQuantizer.fromCentroids(d, 8, 8, pq.centroids());
    assertTrue(restored.isTrained());
    assertArrayEquals(pq.centroids(), restored.centroids());
    float[] x = data(d, 500, seed + 1);
    assertArrayEquals(pq.encode(x), restored.encode(x), "seed " + seed + ": restored quantizer encodes identically");
    float[] q = data(d, 1, seed + 2);
    float[] t1 = new float[8 * 256];
    float[] t2 = new float[8 * 256];
    pq.computeDistanceTable(q, 0, t1);
    restored.computeDistanceTable(q, 0, t2);
    assertArrayEquals(t1, t2, "seed " + seed + ": distance tables");
  }

  // ---------------------------------------------------------------- errors

  @Test
  void badShapesAreRejectedWithTheValidChoices() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ProductQuantizer(100, 16, 8));
    assertTrue(e.getMessage().contains("d=100") && e.getMessage().contains("m=16"), e.getMessage());
    assertTrue(e.getMessage().contains("20, 25, 50, 100"), "lists the valid m: " + e.getMessage());
    for (int nbits : new int[] {0, 3, 9, 16}) {
      e = assertThrows(IllegalArgumentException.class, () -> new ProductQuantizer(64, 8, nbits));
      assertTrue(e.getMessage().contains("nbits") && e.getMessage().contains("[4, 8]")
          && e.getMessage().contains(String.valueOf(nbits)), e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> new ProductQuantizer(0, 1, 8));
    assertThrows(IllegalArgumentException.class, () -> new ProductQuantizer(8, 0, 8));
    assertThrows(IllegalArgumentException.class, () -> new ProductQuantizer(8, 2, 8).niter(-1));
    assertThrows(IllegalArgumentException.class, () -> new ProductQuantizer(8, 2, 8).maxPointsPerCentroid(0));
    assertThrows(IllegalArgumentException.class, () -> new ProductQuantizer(8, 2, 8).threads(-1));
  }

  @Test
  void badTrainingDataIsRejected() {
    ProductQuantizer pq = new ProductQuantizer(8, 2, 8);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> pq.train(data(8, 100, 7001L)));
    assertTrue(e.getMessage().contains("ksub=256") && e.getMessage().contains("100"), e.getMessage());
    float[] x = data(8, 300, 7002L);
    x[5 * 8 + 3] = Float.NaN;
    e = assertThrows(IllegalArgumentException.class, () -> pq.train(x));
    assertTrue(e.getMessage().contains("row 5") && e.getMessage().contains("component 3"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> pq.train(new float[9]));
    assertTrue(e.getMessage().contains("multiple of d=8"), e.getMessage());
    assertFalse(pq.isTrained(), "failed training leaves the quantizer untrained");
  }

  @Test
  void untrainedQuantizerRefusesToEncode() {
    ProductQuantizer pq = new ProductQuantizer(8, 2, 8);
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> pq.encode(new float[8]));
    assertTrue(e.getMessage().contains("not trained"), e.getMessage());
    assertThrows(IllegalStateException.class, () -> pq.decode(new byte[2], 1));
    assertThrows(IllegalStateException.class, () -> pq.computeDistanceTable(new float[8], 0, new float[512]));
  }

  @Test
  void badArgumentsOfATrainedQuantizerAreRejected() {
    long seed = 7101L;
    ProductQuantizer pq = trained(16, 4, 4, seed);
    float[] x = data(16, 3, seed);
    x[2 * 16 + 9] = Float.POSITIVE_INFINITY;
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> pq.encode(x));
    assertTrue(e.getMessage().contains("row 2") && e.getMessage().contains("component 9"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> pq.encode(x, 32, new byte[8], 0));
    assertTrue(e.getMessage().contains("component 9"), e.getMessage());
    assertThrows(IndexOutOfBoundsException.class, () -> pq.encode(x, 40, new byte[8], 0));
    assertThrows(IndexOutOfBoundsException.class, () -> pq.encode(data(16, 1, seed), 0, new byte[2], 1));
    e = assertThrows(IllegalArgumentException.class, () -> pq.computeDistanceTable(data(16, 1, seed), 0, new float[63]));
    assertTrue(e.getMessage().contains("64"), e.getMessage());
    assertThrows(IndexOutOfBoundsException.class, () -> pq.code(new byte[2], 0, 4));
    assertThrows(IndexOutOfBoundsException.class, () -> pq.adcScan(new float[64], new byte[10], 0, 6, new float[6], 0));
    assertThrows(IndexOutOfBoundsException.class, () -> pq.adcScan(new float[64], new byte[12], 0, 6, new float[5], 0));
    e = assertThrows(IllegalArgumentException.class, () -> pq.decode(new byte[5], 3));
    assertTrue(e.getMessage().contains("codeSize 2"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> ProductQuantizer.fromCentroids(16, 4, 4, new float[63]));
    assertTrue(e.getMessage().contains("63") && e.getMessage().contains("ksub 16"), e.getMessage());
    float[] bad = pq.centroids();
    bad[17] = Float.NaN;
    e = assertThrows(IllegalArgumentException.class, () -> ProductQuantizer.fromCentroids(16, 4, 4, bad));
    assertTrue(e.getMessage().contains("centroids"), e.getMessage());
  }
}
