package io.quiver.index.quantize;

import io.quiver.index.util.Checks;
import io.quiver.index.util.Parallel;
import io.quiver.index.vector.VectorUtil;
import java.util.Arrays;
import java.util.Locale;

/**
 * A scalar quantizer with FAISS's {@code faiss/impl/ScalarQuantizer.h} semantics for
 * {@code QT_8bit}, {@code QT_4bit} (both with per-dimension ranges, {@code RS_minmax}) and
 * {@code QT_fp16}: every component of a vector is coded on its own.
 *
 * <h2>Codes</h2>
 * <table>
 *   <caption>code layout per type</caption>
 *   <tr><th>type</th><th>factory</th><th>{@link #codeSize()}</th><th>component {@code j}</th></tr>
 *   <tr><td>{@link Type#SQ8}</td><td>{@code SQ8}</td><td>{@code d}</td><td>byte {@code j}, an unsigned level 0..255</td></tr>
 *   <tr><td>{@link Type#SQ4}</td><td>{@code SQ4}</td><td>{@code (d + 1) / 2}</td><td>byte {@code j / 2}: low nibble for even
 *       {@code j}, high nibble for odd {@code j} (FAISS's {@code Codec4bit}); the high nibble of the last byte is 0 when
 *       {@code d} is odd</td></tr>
 *   <tr><td>{@link Type#SQFP16}</td><td>{@code SQfp16}</td><td>{@code 2 * d}</td><td>bytes {@code 2j, 2j+1}: IEEE 754
 *       binary16, little endian</td></tr>
 * </table>
 *
 * <h2>Training (SQ8, SQ4)</h2>
 * FAISS's {@code train_NonUniform} with {@code RS_minmax} and {@code rs_arg = 0}: per dimension,
 * {@code vmin[j]} is the smallest training value and {@code vdiff[j] = max - min} (float
 * subtraction). A dimension that is constant in the training set has {@code vdiff = 0}; all its
 * values encode to level 0 and decode to {@code vmin} exactly. {@link Type#SQFP16} needs no
 * training: {@link #isTrained()} is always true and {@link #train} only checks its input.
 *
 * <h2>Encoding and decoding (SQ8, SQ4)</h2>
 * As FAISS's {@code QuantizerTemplate<Codec, false, 1>}: with {@code L = 255} (SQ8) or
 * {@code L = 15} (SQ4) and {@code step[j] = vdiff[j] / L},
 * <pre>
 *   x'   = vdiff == 0 ? 0 : clamp((x - vmin) / vdiff, 0, 1)     (float)
 *   code = (int) (255f * x')            SQ8: FAISS's Codec8bit, float product
 *   code = (int) (x' * 15.0)            SQ4: FAISS's Codec4bit, double product
 *   x~   = vmin + (code + 0.5) * step   = fma(code, scale, offset), scale = vdiff / L, offset = vmin + 0.5 * scale
 * </pre>
 * FAISS evaluates the decode as {@code vmin + ((code + 0.5f) / L) * vdiff}; Quiver folds it into
 * one fused multiply-add with a per-dimension {@code scale} and {@code offset} computed at
 * training, which differs from FAISS's float result by rounding only. The codes are FAISS's,
 * byte for byte (checked against FAISS 1.7.3). For a value inside the trained range
 * {@code [vmin, vmin + vdiff]} the decode error is at most {@code step / 2} (plus float rounding
 * of the order of {@code ulp(|vmin| + vdiff)}). <b>Values outside the trained range are
 * clamped</b> to it (the level 0 or {@code L}, as FAISS does), so their error is their distance
 * to the range plus up to {@code step / 2}; train on data that covers what will be encoded. The single-vector methods do
 * not check for NaN (a NaN component encodes as level 0); the batch methods reject non-finite
 * input.
 *
 * <h2>fp16</h2>
 * {@link #floatToHalf} is the IEEE 754 conversion, rounding to nearest with ties to even (as
 * FAISS's F16C path {@code _mm_cvtps_ph}, NumPy and CUDA): overflow to infinity from 65520 up,
 * subnormal halves below 2^-14, NaN to the quiet NaN {@code 0x7e00}. FAISS's portable
 * {@code encode_fp16} (used by builds without F16C, such as Debian's 1.7.3) rounds ties away from
 * zero instead; the two differ only on values exactly halfway between two halves.
 * {@link #halfToFloat} is exact. {@link #encode} differs from the raw conversion in one respect:
 * components beyond the largest half ({@code ±65504}, see {@link #HALF_MAX}) are clamped to it
 * instead of becoming infinite (FAISS stores infinity), so that distances to stored codes stay
 * finite. Decode error: at most {@code 2^-11 |x|} for {@code 2^-14 <= |x| <= 65504}, at most
 * {@code 2^-25} below.
 *
 * <h2>Distances on codes</h2>
 * {@link #squareDistance} and {@link #dotProduct} compare a float query with a code without
 * decoding it into a temporary array: each component is decoded in registers (one FMA for SQ8 and
 * SQ4, a lookup in a 65536-entry table for SQfp16) and accumulated at once. The value is the
 * squared L2 distance (smaller is closer) or the inner product (larger is closer) between the
 * query and {@link #decode decode(code)}, up to the float rounding of the sum. Components are
 * summed in order {@code 0 .. d-1} by every kernel, so the one-to-many kernels
 * ({@link #squareDistanceOneToMany}, {@link #dotProductOneToMany}), which interleave four codes
 * to keep four independent FMA chains busy, return bit-identical values to the per-code ones.
 * The kernels are plain Java (no Vector API): about 50 to 60 ns per SQ8 code at d=128 here.
 *
 * <p>The kernels use {@link Math#fma}, a single instruction wherever the CPU has FMA (x86 since
 * Haswell / Piledriver, every aarch64); it is very slow on a CPU without FMA.
 *
 * <p>Threading: {@link #train} from one thread. Every other method only reads the trained
 * ranges, which are never modified once published, and is safe for any number of concurrent
 * callers; retraining swaps all ranges at once, so a concurrent call sees either the old ranges
 * or the new ones, never a mix.
 */
public final class ScalarQuantizer {

  /** The quantizer types, with FAISS's factory names. */
  public enum Type {
    /** 8 bits per component, per-dimension uniform levels ({@code QT_8bit}). */
    SQ8("SQ8", 255),
    /** 4 bits per component, two components per byte ({@code QT_4bit}). */
    SQ4("SQ4", 15),
    /** IEEE half precision per component ({@code QT_fp16}). */
    SQFP16("SQfp16", 0);

    private final String factoryName;
    private final int levels;

    Type(String factoryName, int levels) {
      this.factoryName = factoryName;
      this.levels = levels;
    }

    /** The name in factory strings: {@code SQ8}, {@code SQ4} or {@code SQfp16}. */
    public String factoryName() {
      return factoryName;
    }

    /** The type with this factory name ({@code SQ8}, {@code SQ4}, {@code SQfp16}; case-sensitive, as FAISS). */
    public static Type parse(String name) {
      if (name == null) {
        throw new IllegalArgumentException("scalar quantizer type is null; valid: SQ8, SQ4, SQfp16");
      }
      String s = name.trim();
      for (Type t : values()) {
        if (t.factoryName.equals(s)) {
          return t;
        }
      }
      boolean caseOnly = false;
      for (Type t : values()) {
        caseOnly |= t.factoryName.toLowerCase(Locale.ROOT).equals(s.toLowerCase(Locale.ROOT));
      }
      throw new IllegalArgumentException("unknown scalar quantizer type '" + name + "'; valid: SQ8, SQ4, SQfp16"
          + (caseOnly ? " (names are case-sensitive)" : ""));
    }
  }

  /** The largest finite half-precision value, 65504; {@link #encode} clamps to {@code ±HALF_MAX}. */
  public static final float HALF_MAX = 65504f;

  /** Vectors per task of a parallel batch encode or decode. */
  private static final int CHUNK = 1024;

  private final int d;
  private final Type type;
  private final int codeSize;

  /** The trained ranges; null until trained (SQ8, SQ4), {@link #NO_RANGES} for fp16. */
  private volatile Ranges ranges;

  /** Immutable trained state: the ranges and the decode's fma constants, {@code d} floats each. */
  private static final class Ranges {
    final float[] vmin;
    final float[] vdiff;
    /** vdiff / levels: the step between two decoded levels. */
    final float[] scale;
    /** vmin + 0.5 * scale: the decoded value of level 0. */
    final float[] offset;

    Ranges(float[] vmin, float[] vdiff, int levels) {
      this.vmin = vmin;
      this.vdiff = vdiff;
      int d = vmin.length;
      scale = new float[d];
      offset = new float[d];
      for (int j = 0; j < d; j++) {
        scale[j] = levels == 0 ? 0f : vdiff[j] / levels;
        offset[j] = vmin[j] + 0.5f * scale[j];
      }
    }
  }

  private static final Ranges NO_RANGES = new Ranges(new float[0], new float[0], 0);

  /**
   * An untrained scalar quantizer (trained already for {@link Type#SQFP16}).
   *
   * @param d vector dimension, >= 1
   * @param type SQ8, SQ4 or SQFP16
   */
  public ScalarQuantizer(int d, Type type) {
    Checks.atLeast("d", d, 1);
    if (type == null) {
      throw new IllegalArgumentException("type is null; valid: SQ8, SQ4, SQFP16");
    }
    long size = type == Type.SQ8 ? d : type == Type.SQ4 ? (d + 1L) / 2 : 2L * d;
    if (size > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("d=" + d + " gives a code of " + size + " bytes, more than one array holds");
    }
    this.d = d;
    this.type = type;
    this.codeSize = (int) size;
    this.ranges = type == Type.SQFP16 ? NO_RANGES : null;
  }

  /**
   * A trained quantizer from stored ranges (index files). For SQ8 and SQ4, {@code vmin} and
   * {@code vdiff} hold {@code d} finite floats each, {@code vdiff >= 0} and {@code vmin + vdiff}
   * finite; the arrays are copied. For SQFP16 they must be null or empty.
   */
  public static ScalarQuantizer fromTrained(int d, Type type, float[] vmin, float[] vdiff) {
    ScalarQuantizer sq = new ScalarQuantizer(d, type);
    if (type == Type.SQFP16) {
      if ((vmin != null && vmin.length != 0) || (vdiff != null && vdiff.length != 0)) {
        throw new IllegalArgumentException("SQfp16 has no trained ranges: vmin and vdiff must be null or empty, got lengths "
            + (vmin == null ? "null" : vmin.length) + " and " + (vdiff == null ? "null" : vdiff.length));
      }
      return sq;
    }
    if (vmin == null || vdiff == null) {
      throw new IllegalArgumentException((vmin == null ? "vmin" : "vdiff") + " is null; " + type.factoryName
          + " needs d=" + d + " floats of each");
    }
    if (vmin.length != d || vdiff.length != d) {
      throw new IllegalArgumentException("vmin.length " + vmin.length + " and vdiff.length " + vdiff.length
          + " must both equal d=" + d);
    }
    for (int j = 0; j < d; j++) {
      if (!Float.isFinite(vmin[j])) {
        throw new IllegalArgumentException("vmin[" + j + "] is " + vmin[j] + "; must be finite");
      }
      if (!(vdiff[j] >= 0) || !Float.isFinite(vdiff[j]) || !Float.isFinite(vmin[j] + vdiff[j])) {
        throw new IllegalArgumentException("vdiff[" + j + "] is " + vdiff[j] + " with vmin " + vmin[j]
            + "; must be finite, >= 0, with vmin + vdiff finite");
      }
    }
    sq.ranges = new Ranges(vmin.clone(), vdiff.clone(), type.levels);
    return sq;
  }

  /** The vector dimension. */
  public int d() {
    return d;
  }

  /** The type. */
  public Type type() {
    return type;
  }

  /** Bytes per code: {@code d} (SQ8), {@code (d + 1) / 2} (SQ4), {@code 2 * d} (SQfp16). */
  public int codeSize() {
    return codeSize;
  }

  /** True once trained; always true for SQfp16. */
  public boolean isTrained() {
    return ranges != null;
  }

  /**
   * Learns the per-dimension ranges from {@code x} ({@code n * d} finite floats, n >= 1): FAISS's
   * {@code RS_minmax}. For SQfp16 the input is only checked (and may be empty).
   *
   * @throws IllegalArgumentException for bad input, or when a dimension's range {@code max - min}
   *     overflows float
   */
  public void train(float[] x) {
    int n = Checks.vectors("training vectors", x, d);
    if (type == Type.SQFP16) {
      return;
    }
    if (n < 1) {
      throw new IllegalArgumentException("training " + type.factoryName + " needs at least 1 vector, got 0");
    }
    float[] vmin = Arrays.copyOf(x, d);
    float[] vmax = Arrays.copyOf(x, d);
    for (int i = 1; i < n; i++) {
      int o = i * d;
      for (int j = 0; j < d; j++) {
        float v = x[o + j];
        if (v < vmin[j]) {
          vmin[j] = v;
        }
        if (v > vmax[j]) {
          vmax[j] = v;
        }
      }
    }
    float[] vdiff = new float[d];
    for (int j = 0; j < d; j++) {
      vdiff[j] = vmax[j] - vmin[j];
      if (!Float.isFinite(vdiff[j])) {
        throw new IllegalArgumentException("training vectors: dimension " + j + " ranges over [" + vmin[j] + ", " + vmax[j]
            + "], wider than a float can hold; scale the data");
      }
    }
    ranges = new Ranges(vmin, vdiff, type.levels);
  }

  /** A copy of the per-dimension minima ({@code d} floats); null before training, empty for SQfp16. */
  public float[] vmin() {
    Ranges r = ranges;
    return r == null ? null : r.vmin.clone();
  }

  /** A copy of the per-dimension ranges {@code max - min} ({@code d} floats); null before training, empty for SQfp16. */
  public float[] vdiff() {
    Ranges r = ranges;
    return r == null ? null : r.vdiff.clone();
  }

  /**
   * A copy of the decode's scales, {@code vdiff / L} per dimension (SQ8, SQ4): component {@code j}
   * of a code decodes to {@code Math.fma(level, scale[j], offset[j])}. Null before training.
   */
  public float[] decodeScale() {
    Ranges r = ranges;
    return r == null ? null : r.scale.clone();
  }

  /** A copy of the decode's offsets, {@code vmin + scale / 2} per dimension (see {@link #decodeScale}). */
  public float[] decodeOffset() {
    Ranges r = ranges;
    return r == null ? null : r.offset.clone();
  }

  /**
   * The trained step of dimension {@code dim}, the distance between two decoded levels:
   * {@code vdiff / 255} (SQ8) or {@code vdiff / 15} (SQ4). The decode error of a component inside
   * the trained range is at most {@code step / 2}.
   *
   * @throws UnsupportedOperationException for SQfp16, whose error is relative, not a fixed step
   */
  public float step(int dim) {
    if (type == Type.SQFP16) {
      throw new UnsupportedOperationException("SQfp16 has no uniform step: its decode error is at most 2^-11 relative");
    }
    Ranges r = trained();
    if (dim < 0 || dim >= d) {
      throw new IndexOutOfBoundsException("dim " + dim + " outside [0, " + d + ")");
    }
    return r.scale[dim];
  }

  private Ranges trained() {
    Ranges r = ranges;
    if (r == null) {
      throw new IllegalStateException("the " + type.factoryName + " scalar quantizer is not trained: call train() first");
    }
    return r;
  }

  private static void checkSpan(String name, int length, int off, long count) {
    if (off < 0 || count < 0 || off + count > length) {
      throw new IndexOutOfBoundsException(name + ": [" + off + ", " + (off + count) + ") is outside [0, " + length + ")");
    }
  }

  // ------------------------------------------------------------------------------- encode

  /**
   * Encodes the vector {@code x[xOff .. xOff+d)} into {@code codes[codeOff .. codeOff+codeSize)},
   * overwriting every byte of the code. Out-of-range components are clamped (see the class
   * comment); components are not checked for NaN.
   */
  public void encode(float[] x, int xOff, byte[] codes, int codeOff) {
    Ranges r = trained();
    checkSpan("x", x.length, xOff, d);
    checkSpan("codes", codes.length, codeOff, codeSize);
    encodeOne(r, x, xOff, codes, codeOff);
  }

  private void encodeOne(Ranges r, float[] x, int xOff, byte[] codes, int codeOff) {
    switch (type) {
      case SQ8: {
        float[] vmin = r.vmin;
        float[] vdiff = r.vdiff;
        for (int j = 0; j < d; j++) {
          codes[codeOff + j] = (byte) (int) (255f * unit(x[xOff + j], vmin[j], vdiff[j]));
        }
        break;
      }
      case SQ4: {
        float[] vmin = r.vmin;
        float[] vdiff = r.vdiff;
        for (int j = 0; j < d; j += 2) {
          int lo = (int) (unit(x[xOff + j], vmin[j], vdiff[j]) * 15.0);
          int hi = j + 1 < d ? (int) (unit(x[xOff + j + 1], vmin[j + 1], vdiff[j + 1]) * 15.0) : 0;
          codes[codeOff + (j >> 1)] = (byte) (lo | (hi << 4));
        }
        break;
      }
      default: {
        for (int j = 0; j < d; j++) {
          // clamp finite overflow to the largest half (NaN passes through Math.min/max)
          int h = floatToHalf(Math.max(-HALF_MAX, Math.min(HALF_MAX, x[xOff + j])));
          codes[codeOff + 2 * j] = (byte) h;
          codes[codeOff + 2 * j + 1] = (byte) (h >>> 8);
        }
        break;
      }
    }
  }

  /** FAISS's normalisation of a component into [0, 1] (0 for a constant dimension). */
  private static float unit(float x, float vmin, float vdiff) {
    if (vdiff == 0f) {
      return 0f;
    }
    float u = (x - vmin) / vdiff;
    if (u < 0f) {
      u = 0f;
    }
    if (u > 1f) {
      u = 1f;
    }
    return u;
  }

  /**
   * Encodes {@code n = x.length / d} vectors ({@code n * d} finite floats) into {@code n * codeSize}
   * bytes, code {@code i} at {@code i * codeSize}: the reference every compute backend matches.
   * Large batches run on all cores.
   */
  public byte[] encode(float[] x) {
    Ranges r = trained();
    int n = Checks.vectors("vectors", x, d);
    long bytes = (long) n * codeSize;
    if (bytes > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(n + " codes of " + codeSize + " bytes do not fit in one array; encode in batches");
    }
    byte[] codes = new byte[(int) bytes];
    int chunks = (n + CHUNK - 1) / CHUNK;
    Parallel.forEach(0, chunks, c -> {
      for (int i = c * CHUNK, end = Math.min(n, i + CHUNK); i < end; i++) {
        encodeOne(r, x, i * d, codes, i * codeSize);
      }
    });
    return codes;
  }

  // ------------------------------------------------------------------------------- decode

  /** Decodes the code at {@code codes[codeOff..]} into {@code out[outOff .. outOff+d)}. */
  public void decode(byte[] codes, int codeOff, float[] out, int outOff) {
    Ranges r = trained();
    checkSpan("codes", codes.length, codeOff, codeSize);
    checkSpan("out", out.length, outOff, d);
    decodeOne(r, codes, codeOff, out, outOff);
  }

  private void decodeOne(Ranges r, byte[] codes, int codeOff, float[] out, int outOff) {
    decodeRun(r, codes, codeOff, 1, out, outOff);
  }

  private void decodeRun(Ranges r, byte[] codes, int codeOff, int n, float[] out, int outOff) {
    switch (type) {
      case SQ8:
        VectorUtil.sq8Decode(codes, codeOff, n, d, r.scale, r.offset, out, outOff);
        break;
      case SQ4:
        VectorUtil.sq4Decode(codes, codeOff, n, d, r.scale, r.offset, out, outOff);
        break;
      default:
        VectorUtil.fp16Decode(codes, codeOff, n, d, out, outOff);
        break;
    }
  }

  /**
   * Decodes the {@code n} consecutive codes from {@code codes[codeOff]} into {@code n * d} floats
   * at {@code out[outOff..]}, row-major, on the calling thread: the hot loop of a list-major scan.
   */
  public void decode(byte[] codes, int codeOff, int n, float[] out, int outOff) {
    Ranges r = trained();
    checkSpan("codes (n=" + n + " codes of " + codeSize + " bytes)", codes.length, codeOff, (long) n * codeSize);
    checkSpan("out", out.length, outOff, (long) n * d);
    decodeRun(r, codes, codeOff, n, out, outOff);
  }

  /**
   * Decodes the first {@code n} codes of {@code codes} (which holds at least {@code n * codeSize}
   * bytes) into {@code n * d} floats, row-major. Large batches run on all cores.
   */
  public float[] decode(byte[] codes, int n) {
    Ranges r = trained();
    if (codes == null) {
      throw new IllegalArgumentException("codes is null");
    }
    Checks.atLeast("n", n, 0);
    if ((long) n * codeSize > codes.length) {
      throw new IllegalArgumentException("codes.length " + codes.length + " holds fewer than n=" + n + " codes of "
          + codeSize + " bytes");
    }
    if ((long) n * d > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(n + " x " + d + " floats do not fit in one array; decode in batches");
    }
    float[] out = new float[n * d];
    int chunks = (n + CHUNK - 1) / CHUNK;
    Parallel.forEach(0, chunks, c -> {
      int from = c * CHUNK;
      decodeRun(r, codes, from * codeSize, Math.min(n, from + CHUNK) - from, out, from * d);
    });
    return out;
  }

  // ------------------------------------------------------------------------------- fp16 conversion

  /**
   * Converts a float to IEEE 754 binary16 bits (in the low 16 bits of the result), rounding to
   * nearest with ties to even (after F. Giesen's {@code float_to_half_fast3_rtne}; see the class
   * comment for how FAISS's builds round ties). Magnitudes from 65520 up become infinity, those
   * below 2^-14 become subnormal halves (or zero), NaN becomes the quiet NaN {@code 0x7e00}, and
   * the sign is kept (also of zero).
   */
  public static int floatToHalf(float x) {
    int f = Float.floatToRawIntBits(x);
    int sign = f & 0x80000000;
    f ^= sign;
    int o;
    if (f >= 0x47800000) {
      // |x| >= 2^16 (or inf, NaN): all exponent bits set
      o = f > 0x7f800000 ? 0x7e00 : 0x7c00;
    } else if (f < 0x38800000) {
      // |x| < 2^-14: subnormal half. Adding 0.5f aligns the value on a multiple of 2^-24, the
      // subnormal half's ulp, with the FPU's round-to-nearest-even; the low bits are the result.
      o = Float.floatToRawIntBits(Float.intBitsToFloat(f) + 0.5f) - 0x3f000000;
    } else {
      int mantOdd = (f >>> 13) & 1;
      // rebias the exponent (127 -> 15) and round the 13 dropped bits, ties to even
      f += ((15 - 127) << 23) + 0xfff + mantOdd;
      o = f >>> 13;
    }
    return o | (sign >>> 16);
  }

  /** Converts IEEE 754 binary16 bits (the low 16 bits of {@code h}) to the float of equal value (exact). */
  public static float halfToFloat(int h) {
    return VectorUtil.halfToFloat(h);
  }

  // ------------------------------------------------------------------------------- distances on codes

  /**
   * The squared L2 distance between the query {@code q[qOff .. qOff+d)} and the decoded code at
   * {@code codes[codeOff..]}, computed on the code (smaller is closer).
   */
  public float squareDistance(float[] q, int qOff, byte[] codes, int codeOff) {
    Ranges r = trained();
    checkSpan("q", q.length, qOff, d);
    checkSpan("codes", codes.length, codeOff, codeSize);
    switch (type) {
      case SQ8: {
        float[] one = new float[1];
        VectorUtil.sq8SquareDistanceOneToMany(q, qOff, codes, codeOff, 1, d, r.scale, r.offset, one, 0);
        return one[0];
      }
      case SQ4:
        {
        float[] one = new float[1];
        VectorUtil.sq4SquareDistanceOneToMany(q, qOff, codes, codeOff, 1, d, r.scale, r.offset, one, 0);
        return one[0];
      }
      default:
        float[] one = new float[1];
        VectorUtil.fp16SquareDistanceOneToMany(q, qOff, codes, codeOff, 1, d, one, 0);
        return one[0];
    }
  }

  /**
   * The inner product between the query {@code q[qOff .. qOff+d)} and the decoded code at
   * {@code codes[codeOff..]}, computed on the code (larger is closer).
   */
  public float dotProduct(float[] q, int qOff, byte[] codes, int codeOff) {
    Ranges r = trained();
    checkSpan("q", q.length, qOff, d);
    checkSpan("codes", codes.length, codeOff, codeSize);
    switch (type) {
      case SQ8: {
        float[] one = new float[1];
        VectorUtil.sq8DotProductOneToMany(q, qOff, codes, codeOff, 1, d, r.scale, r.offset, one, 0);
        return one[0];
      }
      case SQ4:
        {
        float[] one = new float[1];
        VectorUtil.sq4DotProductOneToMany(q, qOff, codes, codeOff, 1, d, r.scale, r.offset, one, 0);
        return one[0];
      }
      default:
        float[] one = new float[1];
        VectorUtil.fp16DotProductOneToMany(q, qOff, codes, codeOff, 1, d, one, 0);
        return one[0];
    }
  }

  /**
   * Squared L2 distances between one query and {@code n} contiguous codes:
   * {@code out[outOff + i] = squareDistance(q, qOff, codes, codeOff + i * codeSize)}, bit for bit.
   * Output: {@code n} floats.
   */
  public void squareDistanceOneToMany(float[] q, int qOff, byte[] codes, int codeOff, int n, float[] out, int outOff) {
    Ranges r = trained();
    checkMany(q, qOff, codes, codeOff, n, out, outOff);
    switch (type) {
      case SQ8:
        VectorUtil.sq8SquareDistanceOneToMany(q, qOff, codes, codeOff, n, d, r.scale, r.offset, out, outOff);
        break;
      case SQ4:
        VectorUtil.sq4SquareDistanceOneToMany(q, qOff, codes, codeOff, n, d, r.scale, r.offset, out, outOff);
        break;
      default:
        VectorUtil.fp16SquareDistanceOneToMany(q, qOff, codes, codeOff, n, d, out, outOff);
        break;
    }
  }

  /**
   * Inner products between one query and {@code n} contiguous codes:
   * {@code out[outOff + i] = dotProduct(q, qOff, codes, codeOff + i * codeSize)}, bit for bit.
   * Output: {@code n} floats.
   */
  public void dotProductOneToMany(float[] q, int qOff, byte[] codes, int codeOff, int n, float[] out, int outOff) {
    Ranges r = trained();
    checkMany(q, qOff, codes, codeOff, n, out, outOff);
    switch (type) {
      case SQ8:
        VectorUtil.sq8DotProductOneToMany(q, qOff, codes, codeOff, n, d, r.scale, r.offset, out, outOff);
        break;
      case SQ4:
        VectorUtil.sq4DotProductOneToMany(q, qOff, codes, codeOff, n, d, r.scale, r.offset, out, outOff);
        break;
      default:
        VectorUtil.fp16DotProductOneToMany(q, qOff, codes, codeOff, n, d, out, outOff);
        break;
    }
  }

  private void checkMany(float[] q, int qOff, byte[] codes, int codeOff, int n, float[] out, int outOff) {
    if (n < 0) {
      throw new IllegalArgumentException("n must be >= 0, was " + n);
    }
    checkSpan("q", q.length, qOff, d);
    checkSpan("codes (n=" + n + " codes of " + codeSize + " bytes)", codes.length, codeOff, (long) n * codeSize);
    checkSpan("out", out.length, outOff, n);
  }

  @Override
  public String toString() {
    return "ScalarQuantizer{" + type.factoryName + ", d=" + d + ", codeSize=" + codeSize
        + (isTrained() ? "" : ", untrained") + "}";
  }
}
