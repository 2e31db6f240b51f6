package io.quiver.index.vector;

/**
 * IEEE 754 binary16 to float, exact: the decode of {@code SQfp16} codes for the scalar kernels
 * ({@link #at}: a lookup in a 65536-entry table) and for everyone else ({@link #toFloat}).
 */
final class Half {

  private Half() {}

  /** Converts the half in the low 16 bits of {@code h} to the float of equal value (exact). */
  static float toFloat(int h) {
    int e = h & 0x7c00;
    if (e != 0 && e != 0x7c00) {
      // normal: rebias the exponent (15 -> 127), widen the mantissa
      return Float.intBitsToFloat(((h & 0x8000) << 16) | (((h & 0x7fff) << 13) + 0x38000000));
    }
    return toFloatRare(h);
  }

  private static float toFloatRare(int h) {
    int mant = h & 0x3ff;
    boolean negative = (h & 0x8000) != 0;
    if ((h & 0x7c00) == 0) {
      float v = mant * 0x1p-24f; // zero or subnormal: mant * 2^-24, exact
      return negative ? -v : v;
    }
    return Float.intBitsToFloat((negative ? 0x80000000 : 0) | 0x7f800000 | (mant << 13)); // inf, NaN
  }

  /** The float value of the little-endian half at {@code codes[p], codes[p+1]}. */
  static float at(byte[] codes, int p) {
    return Table.VALUES[(codes[p] & 0xff) | ((codes[p + 1] & 0xff) << 8)];
  }

  /**
   * The float of every half (256 KiB), built on first use. Measured here at d=128, a table lookup
   * decodes 2.5x faster than the bit manipulation of {@link #toFloat} in scalar code.
   */
  private static final class Table {
    static final float[] VALUES = new float[1 << 16];

    static {
      for (int h = 0; h < VALUES.length; h++) {
        VALUES[h] = toFloat(h);
      }
    }
  }
}
