package io.quiver.index.quantize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.quiver.index.quantize.ScalarQuantizer.Type;
import io.quiver.index.util.SyntheticData;
import java.util.HexFormat;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link ScalarQuantizer}: FAISS's codes byte for byte, decode error bounds, constant dimensions,
 * clamping, the fp16 conversion (exhaustively over all halves), and the distances on codes.
 *
 * <p>Tolerances used here:
 * <ul>
 *   <li>SQ8 / SQ4 decode of an in-range component: {@code |x - decode| <= step/2 + 4 ulp(max(|vmin|,
 *       |vmin + vdiff|))}; the ulp term covers the float rounding of {@code (x - vmin) / vdiff}
 *       and of the decode's FMA.</li>
 *   <li>fp16 round trip: {@code |x - decode| <= 2^-11 |x|} for {@code 2^-14 <= |x| <= 65504}
 *       (round to nearest: half an ulp of an 11-bit significand), {@code <= 2^-25} below.</li>
 *   <li>distances on codes vs the float64 distance to {@code decode(code)}:
 *       {@code |got - ref| <= 1e-5 * S}, S being the sum of the absolute values of the terms
 *       ({@code sum (q_j - x_j)^2} for squared L2, {@code sum |q_j x_j|} for inner products), the
 *       suite's convention (see TestData).</li>
 * </ul>
 */
class ScalarQuantizerTest {

  static final double REL_TOL = 1e-5;

  static float[] synthetic(int d, int n, long seed) {
    return new SyntheticData(d, 20, seed).generate(n, seed);
  }

  static ScalarQuantizer trained(Type type, int d, float[] train) {
    ScalarQuantizer sq = new ScalarQuantizer(d, type);
    sq.train(train);
    assertTrue(sq.isTrained());
    return sq;
  }

  static int levels(Type type) {
    return type == Type.SQ8 ? 255 : 15;
  }

  // ---------------------------------------------------------------- layout, names, FAISS codes

  @ParameterizedTest
  @CsvSource({"1, 1, 1, 2", "2, 2, 1, 4", "3, 3, 2, 6", "128, 128, 64, 256", "129, 129, 65, 258"})
  void codeSizes(int d, int sq8, int sq4, int fp16) {
    assertEquals(sq8, new ScalarQuantizer(d, Type.SQ8).codeSize(), "SQ8 codeSize at d=" + d);
    assertEquals(sq4, new ScalarQuantizer(d, Type.SQ4).codeSize(), "SQ4 codeSize at d=" + d);
    assertEquals(fp16, new ScalarQuantizer(d, Type.SQFP16).codeSize(), "SQfp16 codeSize at d=" + d);
  }

  @Test
  void typeNames() {
    for (Type t : Type.values()) {
      assertEquals(t, Type.parse(t.factoryName()));
      assertEquals(t, Type.parse(" " + t.factoryName() + " "));
    }
    assertEquals("SQ8", Type.SQ8.factoryName());
    assertEquals("SQ4", Type.SQ4.factoryName());
    assertEquals("SQfp16", Type.SQFP16.factoryName());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Type.parse("sqfp16"));
    assertTrue(e.getMessage().contains("case-sensitive") && e.getMessage().contains("SQfp16"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Type.parse("SQ6"));
    assertTrue(e.getMessage().contains("SQ6") && e.getMessage().contains("SQ8, SQ4, SQfp16"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Type.parse(null));
  }

  /** Levels placed at their centres encode to themselves: checks the byte and nibble layout. */
  @Test
  void layoutLowNibbleFirstAndLittleEndianHalves() {
    int d = 5;
    float[] zeros = new float[d];
    float[] x = {1.5f, 2.5f, 3.5f, 4.5f, 5.5f}; // level l + 0.5
    float[] range15 = {15, 15, 15, 15, 15};
    ScalarQuantizer sq4 = ScalarQuantizer.fromTrained(d, Type.SQ4, zeros, range15);
    assertEquals("214305", HexFormat.of().formatHex(sq4.encode(x)), "SQ4: levels 1..5, low nibble first, last high nibble 0");
    float[] range255 = {255, 255, 255, 255, 255};
    ScalarQuantizer sq8 = ScalarQuantizer.fromTrained(d, Type.SQ8, zeros, range255);
    assertEquals("0102030405", HexFormat.of().formatHex(sq8.encode(x)));
    ScalarQuantizer fp16 = new ScalarQuantizer(2, Type.SQFP16);
    assertEquals("003c00c0", HexFormat.of().formatHex(fp16.encode(new float[] {1f, -2f})), "SQfp16: 0x3c00, 0xc000 little endian");
    // encode overwrites the whole code, whatever was there
    byte[] dirty = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff};
    sq4.encode(x, 0, dirty, 1);
    assertEquals("ff214305", HexFormat.of().formatHex(dirty));
  }

  /** Training and encoding match FAISS 1.7.3 (Debian's python3-faiss) byte for byte on this sample. */
  @ParameterizedTest
  @EnumSource(Type.class)
  void codesMatchFaiss(Type type) {
    int d = 5;
    float[] train = {
        0.0f, -1.5f, 10.0f, 2.0f, 0.25f,
        1.0f, -0.5f, 12.5f, 2.0f, 0.5f,
        0.5f, 3.0f, 11.0f, 2.0f, -0.75f,
        0.2f, 1.0f, 10.5f, 2.0f, 0.0f};
    float[] x = {
        0.0f, -1.5f, 10.0f, 2.0f, 0.25f,     // a training row
        1.0f, 3.0f, 12.5f, 2.0f, 0.5f,       // the maxima
        0.3f, 0.7f, 11.3f, 2.0f, -0.1f,      // inside the ranges
        -4.0f, 9.0f, 100.0f, -7.0f, 0.49f,   // outside (clamped), and off the constant dimension 3
        0.123f, 2.2f, 10.01f, 2.0f, 0.333f};
    String[] expected;
    switch (type) {
      case SQ8:
        expected = new String[] {"00000000cc", "ffffff00ff", "4c7c840084", "00ffff00fc", "1fd10100dc"};
        break;
      case SQ4:
        expected = new String[] {"00000c", "ff0f0f", "740707", "f00f0e", "c1000c"};
        break;
      default:
        expected = new String[] {"000000be004900400034", "003c0042404a00400038", "cd349a39a649004066ae",
            "00c48048405600c7d737", "df2f6640014900405435"};
        break;
    }
    ScalarQuantizer sq = trained(type, d, train);
    if (type != Type.SQFP16) {
      assertArrayEquals(new float[] {0f, -1.5f, 10f, 2f, -0.75f}, sq.vmin(), "vmin (FAISS trained[0..d))");
      assertArrayEquals(new float[] {1f, 4.5f, 2.5f, 0f, 1.25f}, sq.vdiff(), "vdiff (FAISS trained[d..2d))");
    }
    byte[] codes = sq.encode(x);
    for (int i = 0; i < expected.length; i++) {
      String got = HexFormat.of().formatHex(codes, i * sq.codeSize(), (i + 1) * sq.codeSize());
      assertEquals(expected[i], got, type + " code of row " + i + " vs FAISS 1.7.3");
    }
  }

  // ---------------------------------------------------------------- SQ8 / SQ4 decode error

  @ParameterizedTest
  @CsvSource({"SQ8, 64", "SQ8, 7", "SQ4, 64", "SQ4, 33", "SQ4, 1"})
  void decodeErrorAtMostHalfStep(Type type, int d) {
    long seed = 5100L + d + type.ordinal() * 1000L;
    int n = 3000;
    float[] x = synthetic(d, n, seed);
    // spread the dimensions over different scales and offsets
    SplittableRandom rng = new SplittableRandom(seed);
    for (int j = 0; j < d; j++) {
      float a = (float) Math.exp(rng.nextDouble(-6, 6));
      float b = (float) rng.nextDouble(-100, 100);
      for (int i = 0; i < n; i++) {
        x[i * d + j] = x[i * d + j] * a + b;
      }
    }
    ScalarQuantizer sq = trained(type, d, x);
    float[] vmin = sq.vmin();
    float[] vdiff = sq.vdiff();
    float[] y = sq.decode(sq.encode(x), n);
    double[] worstRatio = new double[d];
    for (int j = 0; j < d; j++) {
      float step = sq.step(j);
      assertEquals(vdiff[j] / levels(type), step, 0f, "seed " + seed + ": step(" + j + ")");
      double eps = 4 * Math.ulp(Math.max(Math.abs(vmin[j]), Math.abs(vmin[j] + vdiff[j])));
      for (int i = 0; i < n; i++) {
        double err = Math.abs((double) x[i * d + j] - y[i * d + j]);
        if (err > step / 2.0 + eps) {
          fail("seed " + seed + ", " + type + " d=" + d + ": row " + i + ", dimension " + j + ": |" + x[i * d + j] + " - "
              + y[i * d + j] + "| = " + err + " > step/2 " + step / 2.0 + " + " + eps);
        }
        worstRatio[j] = Math.max(worstRatio[j], err / step);
      }
    }
    // the bound is tight: with 3000 points some component of each dimension is nearly half a step off
    for (int j = 0; j < d; j++) {
      assertTrue(worstRatio[j] > 0.4, "seed " + seed + ": dimension " + j + " worst error only " + worstRatio[j] + " step");
    }
  }

  @ParameterizedTest
  @EnumSource(value = Type.class, names = {"SQ8", "SQ4"})
  void extremesMapToFirstAndLastLevel(Type type) {
    int d = 9;
    long seed = 5200L + type.ordinal();
    float[] x = synthetic(d, 500, seed);
    ScalarQuantizer sq = trained(type, d, x);
    float[] vmin = sq.vmin();
    float[] vmax = new float[d];
    for (int j = 0; j < d; j++) {
      vmax[j] = vmin[j] + sq.vdiff()[j];
    }
    float[] lo = sq.decode(sq.encode(vmin), 1);
    float[] hi = sq.decode(sq.encode(vmax), 1);
    for (int j = 0; j < d; j++) {
      float step = sq.step(j);
      assertEquals(vmin[j] + 0.5 * step, lo[j], 1e-5 * (Math.abs(vmin[j]) + step), "seed " + seed + ": level 0 of dimension " + j);
      assertEquals(vmin[j] + (levels(type) + 0.5) * step, hi[j], 1e-5 * (Math.abs(vmax[j]) + step),
          "seed " + seed + ": last level of dimension " + j);
    }
  }

  @ParameterizedTest
  @EnumSource(Type.class)
  void constantDimensionsDecodeExactly(Type type) {
    int d = 6;
    long seed = 5300L + type.ordinal();
    int n = 200;
    float[] x = synthetic(d, n, seed);
    float[] constants = {3.25f, -0.1f, 0f, 1e-7f, 12345.678f, -4e4f};
    for (int i = 0; i < n; i++) {
      x[i * d + 1] = constants[1];
      x[i * d + 4] = constants[4];
    }
    ScalarQuantizer sq = trained(type, d, x);
    float[] y = sq.decode(sq.encode(x), n);
    for (int i = 0; i < n; i++) {
      if (type == Type.SQFP16) {
        assertEquals(ScalarQuantizer.halfToFloat(ScalarQuantizer.floatToHalf(constants[1])), y[i * d + 1]);
        continue;
      }
      assertEquals(constants[1], y[i * d + 1], 0f, "seed " + seed + ": row " + i + ", constant dimension 1");
      assertEquals(constants[4], y[i * d + 4], 0f, "seed " + seed + ": row " + i + ", constant dimension 4");
    }
    if (type != Type.SQFP16) {
      assertEquals(0f, sq.vdiff()[1]);
      assertEquals(0f, sq.step(1));
      // one training vector: every dimension is constant, and that vector decodes exactly
      float[] one = {constants[0], constants[1], constants[2], constants[3], constants[4], constants[5]};
      ScalarQuantizer single = trained(type, d, one);
      assertArrayEquals(one, single.decode(single.encode(one), 1), "seed " + seed + ": the only training vector");
      // other values of a constant dimension are clamped to it
      float[] other = {100f, -100f, 5f, -5f, 0f, 1f};
      assertArrayEquals(one, single.decode(single.encode(other), 1));
      float[] q = synthetic(d, 1, seed + 1);
      byte[] code = single.encode(one);
      double ref = 0;
      for (int j = 0; j < d; j++) {
        ref += ((double) q[j] - one[j]) * ((double) q[j] - one[j]);
      }
      assertEquals(ref, single.squareDistance(q, 0, code, 0), REL_TOL * ref);
    }
  }

  @ParameterizedTest
  @EnumSource(value = Type.class, names = {"SQ8", "SQ4"})
  void outOfRangeValuesAreClamped(Type type) {
    int d = 4;
    ScalarQuantizer sq = ScalarQuantizer.fromTrained(d, type, new float[] {0f, -1f, 10f, 5f}, new float[] {1f, 2f, 0.5f, 0f});
    float[] below = {-3f, -1e30f, 9.99f, -1f};
    float[] above = {1.01f, 1e30f, 100f, 6f};
    float[] lo = sq.decode(sq.encode(below), 1);
    float[] hi = sq.decode(sq.encode(above), 1);
    float[] vmin = sq.vmin();
    for (int j = 0; j < d; j++) {
      float step = sq.step(j);
      assertEquals(vmin[j] + 0.5f * step, lo[j], 1e-6f, type + ": below the range of dimension " + j);
      assertEquals(vmin[j] + (levels(type) + 0.5f) * step, hi[j], 1e-5f, type + ": above the range of dimension " + j);
    }
    byte[] codeHigh = sq.encode(above);
    if (type == Type.SQ8) {
      assertEquals("ffff" + "ff" + "00", HexFormat.of().formatHex(codeHigh), "levels 255, and 0 for the constant dimension");
    } else {
      assertEquals("ff0f", HexFormat.of().formatHex(codeHigh), "levels 15, and 0 for the constant dimension");
    }
    // the single-vector method does not check: infinities clamp like any value
    byte[] c = new byte[sq.codeSize()];
    sq.encode(new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 10f, 5f}, 0, c, 0);
    float[] y = new float[d];
    sq.decode(c, 0, y, 0);
    assertEquals(hi[0], y[0]);
    assertEquals(lo[1], y[1]);
  }

  // ---------------------------------------------------------------- fp16

  @Test
  void floatToHalfEdgeValues() {
    Object[][] cases = {
        {0f, 0x0000}, {-0f, 0x8000}, {1f, 0x3c00}, {-1f, 0xbc00}, {-2f, 0xc000}, {0.1f, 0x2e66}, {1f / 3, 0x3555},
        {65504f, 0x7bff}, {-65504f, 0xfbff}, {65519.996f, 0x7bff}, {65520f, 0x7c00}, {65536f, 0x7c00}, {1e6f, 0x7c00},
        {Float.MAX_VALUE, 0x7c00}, {Float.POSITIVE_INFINITY, 0x7c00}, {Float.NEGATIVE_INFINITY, 0xfc00},
        {Float.NaN, 0x7e00}, {0x1p-14f, 0x0400}, {0x1p-24f, 0x0001}, {0x1.8p-24f, 0x0002}, {0x1p-25f, 0x0000},
        {0x1.000002p-25f, 0x0001}, {0x1.8p-23f, 0x0003}, {0x1p-26f, 0x0000}, {0x3p-25f, 0x0002}, {Float.MIN_VALUE, 0x0000},
        {-Float.MIN_VALUE, 0x8000}, {0x1p-14f - 0x1p-25f, 0x0400}, {0x1p-14f - 0x1p-24f, 0x03ff},
        {1f + 0x1p-11f, 0x3c00}, {1f + 0x3p-11f, 0x3c02}, {1f + 0x1p-10f, 0x3c01}, {2048f, 0x6800}, {2049f, 0x6800},
        {2051f, 0x6802}};
    for (Object[] c : cases) {
      float x = (Float) c[0];
      int expected = (Integer) c[1];
      assertEquals(Integer.toHexString(expected), Integer.toHexString(ScalarQuantizer.floatToHalf(x)),
          "floatToHalf(" + x + " = " + Float.toHexString(x) + ")");
    }
  }

  @Test
  void halfToFloatEdgeValues() {
    assertEquals(0, Float.floatToRawIntBits(ScalarQuantizer.halfToFloat(0x0000)), "+0");
    assertEquals(0x80000000, Float.floatToRawIntBits(ScalarQuantizer.halfToFloat(0x8000)), "-0");
    assertEquals(0x1p-24f, ScalarQuantizer.halfToFloat(0x0001), "smallest subnormal");
    assertEquals(-0x1p-24f, ScalarQuantizer.halfToFloat(0x8001));
    assertEquals(1023 * 0x1p-24f, ScalarQuantizer.halfToFloat(0x03ff), "largest subnormal");
    assertEquals(0x1p-14f, ScalarQuantizer.halfToFloat(0x0400), "smallest normal");
    assertEquals(1f, ScalarQuantizer.halfToFloat(0x3c00));
    assertEquals(0.333251953125f, ScalarQuantizer.halfToFloat(0x3555));
    assertEquals(65504f, ScalarQuantizer.halfToFloat(0x7bff), "max half");
    assertEquals(-65504f, ScalarQuantizer.halfToFloat(0xfbff));
    assertEquals(Float.POSITIVE_INFINITY, ScalarQuantizer.halfToFloat(0x7c00));
    assertEquals(Float.NEGATIVE_INFINITY, ScalarQuantizer.halfToFloat(0xfc00));
    assertTrue(Float.isNaN(ScalarQuantizer.halfToFloat(0x7e00)));
    assertTrue(Float.isNaN(ScalarQuantizer.halfToFloat(0xfc01)));
    assertEquals(1f, ScalarQuantizer.halfToFloat(0xffff3c00), "only the low 16 bits count");
  }

  /** Every half converts to a float and back to itself; NaNs stay NaNs. */
  @Test
  void everyHalfRoundTrips() {
    for (int h = 0; h < 1 << 16; h++) {
      float f = ScalarQuantizer.halfToFloat(h);
      int back = ScalarQuantizer.floatToHalf(f);
      if (Float.isNaN(f) ? !Float.isNaN(ScalarQuantizer.halfToFloat(back)) : back != h) {
        fail("half 0x" + Integer.toHexString(h) + " = " + f + " converts back to 0x" + Integer.toHexString(back));
      }
    }
  }

  /**
   * Round to nearest, ties to even, at every pair of adjacent finite halves of both signs
   * (subnormal and normal): the float just below the midpoint goes down, just above goes up,
   * the midpoint itself to the even one. The midpoints are floats (12 significant bits).
   */
  @Test
  void floatToHalfRoundsToNearestEven() {
    for (int h = 0; h < 0x7bff; h++) {
      float a = ScalarQuantizer.halfToFloat(h);
      float b = ScalarQuantizer.halfToFloat(h + 1);
      float mid = (float) (((double) a + b) / 2);
      assertEquals((double) a + b, 2.0 * mid, 0.0, "midpoint of " + Integer.toHexString(h) + " is a float");
      int even = (h & 1) == 0 ? h : h + 1;
      for (int sign : new int[] {0, 0x8000}) {
        float s = sign == 0 ? 1f : -1f;
        expectHalf(h | sign, s * Math.nextDown(mid), "just below the midpoint");
        expectHalf((h + 1) | sign, s * Math.nextUp(mid), "just above the midpoint");
        expectHalf(even | sign, s * mid, "on the midpoint (tie to even)");
      }
    }
    // the last midpoint: 65520 ties between 65504 (odd) and 65536, which is infinity
    assertEquals(0x7bff, ScalarQuantizer.floatToHalf(Math.nextDown(65520f)));
    assertEquals(0x7c00, ScalarQuantizer.floatToHalf(65520f));
  }

  static void expectHalf(int expected, float x, String what) {
    int got = ScalarQuantizer.floatToHalf(x);
    if (got != expected) {
      fail("floatToHalf(" + Float.toHexString(x) + ") " + what + " = 0x" + Integer.toHexString(got) + ", expected 0x"
          + Integer.toHexString(expected));
    }
  }

  @Test
  void fp16RoundTripRelativeError() {
    long seed = 5400L;
    SplittableRandom rng = new SplittableRandom(seed);
    int d = 16;
    int n = 4000;
    float[] x = new float[n * d];
    for (int i = 0; i < x.length; i++) {
      // log-uniform magnitudes over the normal half range [2^-14, 65504], random signs
      double mag = Math.exp(rng.nextDouble(Math.log(0x1p-14), Math.log(65504)));
      x[i] = (float) (rng.nextBoolean() ? mag : -mag);
    }
    ScalarQuantizer sq = new ScalarQuantizer(d, Type.SQFP16);
    assertTrue(sq.isTrained(), "SQfp16 needs no training");
    float[] y = sq.decode(sq.encode(x), n);
    for (int i = 0; i < x.length; i++) {
      double rel = Math.abs((double) y[i] - x[i]) / Math.abs(x[i]);
      if (rel > 0x1p-11) {
        fail("seed " + seed + ": component " + i + ": " + x[i] + " decodes to " + y[i] + ", relative error " + rel + " > 2^-11");
      }
    }
    // subnormal halves: absolute error at most 2^-25
    for (int i = 0; i < 1000; i++) {
      float v = (float) rng.nextDouble(-0x1p-14, 0x1p-14);
      float back = ScalarQuantizer.halfToFloat(ScalarQuantizer.floatToHalf(v));
      assertTrue(Math.abs((double) back - v) <= 0x1p-25, "seed " + seed + ": subnormal " + v + " -> " + back);
    }
  }

  @Test
  void fp16EncodeClampsToTheLargestHalf() {
    ScalarQuantizer sq = new ScalarQuantizer(5, Type.SQFP16);
    float[] x = {1e5f, -1e6f, 65519f, 65520f, -3e38f};
    assertArrayEquals(new float[] {65504f, -65504f, 65504f, 65504f, -65504f}, sq.decode(sq.encode(x), 1));
    byte[] c = new byte[sq.codeSize()];
    sq.encode(new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 0f, -0f}, 0, c, 0);
    float[] y = new float[5];
    sq.decode(c, 0, y, 0);
    assertEquals(65504f, y[0]);
    assertEquals(-65504f, y[1]);
    assertTrue(Float.isNaN(y[2]), "NaN stays NaN in the unchecked single-vector encode");
    assertEquals(0x80000000, Float.floatToRawIntBits(y[4]), "-0 keeps its sign");
  }

  // ---------------------------------------------------------------- distances on codes

  /** The float64 squared L2 distance and inner product of q and x, with their tolerance scales. */
  static double[] reference(float[] q, int qOff, float[] x, int xOff, int d) {
    double l2 = 0;
    double ip = 0;
    double ipScale = 0;
    for (int j = 0; j < d; j++) {
      double t = (double) q[qOff + j] - x[xOff + j];
      l2 += t * t;
      double p = (double) q[qOff + j] * x[xOff + j];
      ip += p;
      ipScale += Math.abs(p);
    }
    return new double[] {l2, ip, ipScale};
  }

  @ParameterizedTest
  @CsvSource({"SQ8, 128", "SQ8, 1", "SQ8, 13", "SQ4, 128", "SQ4, 1", "SQ4, 13", "SQ4, 37", "SQFP16, 128", "SQFP16, 1",
      "SQFP16, 13", "SQFP16, 37"})
  void distancesOnCodesMatchTheDecodedVector(Type type, int d) {
    long seed = 5500L + d + type.ordinal() * 1000L;
    int n = 300;
    float[] x = synthetic(d, n, seed);
    ScalarQuantizer sq = trained(type, d, x);
    byte[] codes = sq.encode(x);
    float[] decoded = sq.decode(codes, n);
    float[] queries = synthetic(d, 10, seed + 1);
    for (int qi = 0; qi < 10; qi++) {
      for (int i = 0; i < n; i++) {
        double[] ref = reference(queries, qi * d, decoded, i * d, d);
        float l2 = sq.squareDistance(queries, qi * d, codes, i * sq.codeSize());
        float ip = sq.dotProduct(queries, qi * d, codes, i * sq.codeSize());
        String where = "seed " + seed + ", " + type + " d=" + d + ", query " + qi + ", code " + i;
        if (Math.abs(l2 - ref[0]) > REL_TOL * ref[0] + 1e-30) {
          fail(where + ": squareDistance " + l2 + " vs float64 " + ref[0] + " (relative tolerance " + REL_TOL + ")");
        }
        if (Math.abs(ip - ref[1]) > REL_TOL * ref[2] + 1e-30) {
          fail(where + ": dotProduct " + ip + " vs float64 " + ref[1] + " (tolerance " + REL_TOL + " * sum|terms| " + ref[2] + ")");
        }
      }
    }
  }

  @ParameterizedTest
  @CsvSource({"SQ8, 128", "SQ8, 5", "SQ4, 128", "SQ4, 7", "SQ4, 37", "SQFP16, 128", "SQFP16, 3", "SQFP16, 37"})
  void oneToManyEqualsPerCodeBitForBit(Type type, int d) {
    long seed = 5600L + d + type.ordinal() * 1000L;
    int max = 23;
    float[] x = synthetic(d, max + 3, seed);
    ScalarQuantizer sq = trained(type, d, x);
    int cs = sq.codeSize();
    byte[] codes = sq.encode(x);
    float[] q = synthetic(d, 2, seed + 1);
    for (int n : new int[] {0, 1, 3, 4, 5, 8, 17, max}) {
      for (int first : new int[] {0, 2}) {
        float[] l2 = new float[n + 3];
        float[] ip = new float[n + 3];
        sq.squareDistanceOneToMany(q, d, codes, first * cs, n, l2, 3);
        sq.dotProductOneToMany(q, d, codes, first * cs, n, ip, 3);
        for (int i = 0; i < n; i++) {
          String where = "seed " + seed + ", " + type + " d=" + d + ", n=" + n + ", code " + (first + i);
          assertEquals(Float.floatToIntBits(sq.squareDistance(q, d, codes, (first + i) * cs)), Float.floatToIntBits(l2[3 + i]),
              where + ": squareDistanceOneToMany vs squareDistance");
          assertEquals(Float.floatToIntBits(sq.dotProduct(q, d, codes, (first + i) * cs)), Float.floatToIntBits(ip[3 + i]),
              where + ": dotProductOneToMany vs dotProduct");
        }
        assertEquals(0f, l2[0], "out before outOff untouched");
      }
    }
  }

  // ---------------------------------------------------------------- stored ranges

  @ParameterizedTest
  @EnumSource(Type.class)
  void fromTrainedReproducesEncodings(Type type) {
    int d = 11;
    long seed = 5700L + type.ordinal();
    float[] x = synthetic(d, 500, seed);
    ScalarQuantizer sq = trained(type, d, x);
    ScalarQuantizer copy = ScalarQuantizer.fromTrained(d, type, sq.vmin(), sq.vdiff());
    assertTrue(copy.isTrained());
    assertEquals(sq.codeSize(), copy.codeSize());
    float[] y = synthetic(d, 200, seed + 1);
    byte[] codes = sq.encode(y);
    assertArrayEquals(codes, copy.encode(y), "seed " + seed + ": codes from stored ranges");
    assertArrayEquals(sq.decode(codes, 200), copy.decode(codes, 200), "seed " + seed + ": decodes from stored ranges");
    assertEquals(sq.squareDistance(y, 0, codes, 0), copy.squareDistance(y, 0, codes, 0));
    if (type != Type.SQFP16) {
      // vmin() and vdiff() are copies
      float[] vmin = sq.vmin();
      float[] before = vmin.clone();
      vmin[0] += 1000;
      assertArrayEquals(before, sq.vmin());
      for (int j = 0; j < d; j++) {
        assertEquals(sq.step(j), copy.step(j));
      }
    } else {
      assertEquals(0, sq.vmin().length, "SQfp16 has no ranges");
      assertEquals(0, sq.vdiff().length);
    }
  }

  @Test
  void fromTrainedRejectsBadRanges() {
    float[] ok = {0f, 1f, 2f};
    assertThrows(IllegalArgumentException.class, () -> ScalarQuantizer.fromTrained(3, Type.SQ8, null, ok));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ScalarQuantizer.fromTrained(3, Type.SQ8, new float[2], ok));
    assertTrue(e.getMessage().contains("d=3"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> ScalarQuantizer.fromTrained(3, Type.SQ4, new float[] {0, Float.NaN, 0}, ok));
    assertTrue(e.getMessage().contains("vmin[1]"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> ScalarQuantizer.fromTrained(3, Type.SQ8, ok, new float[] {1, 1, -1}));
    assertTrue(e.getMessage().contains("vdiff[2]"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> ScalarQuantizer.fromTrained(3, Type.SQ8, new float[] {3e38f, 0, 0}, new float[] {3e38f, 0, 0}), "vmin + vdiff overflows");
    assertThrows(IllegalArgumentException.class, () -> ScalarQuantizer.fromTrained(3, Type.SQFP16, ok, ok));
    assertTrue(ScalarQuantizer.fromTrained(3, Type.SQFP16, null, new float[0]).isTrained());
  }

  // ---------------------------------------------------------------- bad input

  @Test
  void badInput() {
    int d = 4;
    ScalarQuantizer sq = new ScalarQuantizer(d, Type.SQ8);
    assertFalse(sq.isTrained());
    assertNull(sq.vmin());
    assertNull(sq.vdiff());
    float[] v = {1, 2, 3, 4};
    byte[] code = new byte[d];
    IllegalStateException untrained = assertThrows(IllegalStateException.class, () -> sq.encode(v));
    assertTrue(untrained.getMessage().contains("not trained"), untrained.getMessage());
    assertThrows(IllegalStateException.class, () -> sq.encode(v, 0, code, 0));
    assertThrows(IllegalStateException.class, () -> sq.decode(code, 1));
    assertThrows(IllegalStateException.class, () -> sq.squareDistance(v, 0, code, 0));
    assertThrows(IllegalStateException.class, () -> sq.dotProductOneToMany(v, 0, code, 0, 1, new float[1], 0));
    assertThrows(IllegalStateException.class, () -> sq.step(0));

    assertThrows(IllegalArgumentException.class, () -> new ScalarQuantizer(0, Type.SQ8));
    assertThrows(IllegalArgumentException.class, () -> new ScalarQuantizer(4, null));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> sq.train(new float[0]));
    assertTrue(e.getMessage().contains("at least 1"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> sq.train(new float[] {1, 2, 3, 4, 5, 6, Float.NaN, 8}));
    assertTrue(e.getMessage().contains("row 1") && e.getMessage().contains("component 2"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> sq.train(new float[5]));
    assertTrue(e.getMessage().contains("multiple of d=4"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> sq.train(new float[] {0, -3e38f, 0, 0, 0, 3e38f, 0, 0}));
    assertTrue(e.getMessage().contains("dimension 1"), e.getMessage());
    assertFalse(sq.isTrained(), "failed training leaves the quantizer untrained");

    sq.train(new float[] {0, 0, 0, 0, 1, 1, 1, 1});
    e = assertThrows(IllegalArgumentException.class, () -> sq.encode(new float[] {0, 0, Float.POSITIVE_INFINITY, 0}));
    assertTrue(e.getMessage().contains("component 2"), e.getMessage());
    assertThrows(IndexOutOfBoundsException.class, () -> sq.encode(v, 1, code, 0));
    assertThrows(IndexOutOfBoundsException.class, () -> sq.encode(v, 0, code, 1));
    assertThrows(IndexOutOfBoundsException.class, () -> sq.decode(code, 1, new float[d], 0));
    assertThrows(IndexOutOfBoundsException.class, () -> sq.squareDistance(v, 0, code, 2));
    assertThrows(IndexOutOfBoundsException.class, () -> sq.squareDistanceOneToMany(v, 0, code, 0, 2, new float[2], 0));
    assertThrows(IndexOutOfBoundsException.class, () -> sq.dotProductOneToMany(v, 0, code, 0, 1, new float[1], 1));
    assertThrows(IllegalArgumentException.class, () -> sq.dotProductOneToMany(v, 0, code, 0, -1, new float[1], 0));
    e = assertThrows(IllegalArgumentException.class, () -> sq.decode(code, 2));
    assertTrue(e.getMessage().contains("n=2"), e.getMessage());
    assertThrows(IndexOutOfBoundsException.class, () -> sq.step(4));
    assertThrows(UnsupportedOperationException.class, () -> new ScalarQuantizer(d, Type.SQFP16).step(0));
    // SQfp16 training only checks its input
    ScalarQuantizer fp16 = new ScalarQuantizer(d, Type.SQFP16);
    fp16.train(new float[0]);
    assertThrows(IllegalArgumentException.class, () -> fp16.train(new float[] {0, Float.NaN, 0, 0}));
    assertTrue(fp16.isTrained());
  }
}
