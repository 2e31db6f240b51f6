package io.quiver.index.util;

/**
 * Argument checks shared by the indexes and quantizers. Every message names the argument, the
 * row and the component at fault, and says what would be valid.
 */
public final class Checks {
  private Checks() {}

  /**
   * Checks that {@code x} holds whole vectors of dimension {@code d} with finite components and
   * returns their number.
   *
   * @param name the argument's name for messages ("vectors", "queries", ...)
   */
  public static int vectors(String name, float[] x, int d) {
    if (x == null) {
      throw new IllegalArgumentException(name + " is null");
    }
    if (x.length % d != 0) {
      throw new IllegalArgumentException(name + ".length " + x.length + " is not a multiple of d=" + d
          + ": vectors are stored row-major, " + d + " floats per row");
    }
    for (int i = 0; i < x.length; i++) {
      float v = x[i];
      if (!Float.isFinite(v)) {
        throw new IllegalArgumentException(name + " row " + (i / d) + ", component " + (i % d) + " is " + v
            + "; every component must be a finite float");
      }
    }
    return x.length / d;
  }

  /**
   * Checks the vectors as {@link #vectors} does and returns them, or an L2-normalized copy when
   * {@code normalize} is set (cosine indexes); the caller's array is never modified.
   */
  public static float[] prepareVectors(String name, float[] x, int d, boolean normalize) {
    vectors(name, x, d);
    if (!normalize) {
      return x;
    }
    float[] copy = x.clone();
    io.quiver.index.vector.VectorUtil.normalizeL2(copy, d);
    return copy;
  }

  /** Checks that {@code n} entries from {@code ids[idsOff..]} and {@code codes[codesOff..]} fit the arrays. */
  public static void entries(long[] ids, int idsOff, byte[] codes, int codesOff, int n, int codeSize) {
    if (n < 0 || idsOff < 0 || codesOff < 0 || idsOff + (long) n > ids.length
        || codesOff + (long) n * codeSize > codes.length) {
      throw new IllegalArgumentException(n + " entries from ids[" + idsOff + "] and codes[" + codesOff + "] (codes of "
          + codeSize + " bytes) do not fit arrays of " + ids.length + " ids and " + codes.length + " bytes");
    }
  }

  /**
   * The largest k of a search: results take {@code nq * k} ids and distances, so a k near the int
   * range fails to allocate (or overflows) long before it means anything.
   */
  public static final int MAX_K = 1 << 20;

  /** The largest kFactor of a refined search: {@code kFactor * k} candidates per query. */
  public static final float MAX_K_FACTOR = 10_000f;

  /** Checks {@code 1 <= k <= MAX_K}. */
  public static void k(int k) {
    if (k < 1) {
      throw new IllegalArgumentException("k must be >= 1, was " + k);
    }
    if (k > MAX_K) {
      throw new IllegalArgumentException("k must be <= " + MAX_K + " (results hold nq * k entries), was " + k);
    }
  }

  /** Checks that a kFactor is finite and in {@code [1, MAX_K_FACTOR]}, and returns it. */
  public static float kFactor(float kFactor) {
    if (!(kFactor >= 1f && kFactor <= MAX_K_FACTOR)) {
      throw new IllegalArgumentException("kFactor must be a number in [1, " + (int) MAX_K_FACTOR + "], was " + kFactor);
    }
    return kFactor;
  }

  /** Checks that a value is at least {@code min}, naming it. */
  public static int atLeast(String name, int value, int min) {
    if (value < min) {
      throw new IllegalArgumentException(name + " must be >= " + min + ", was " + value);
    }
    return value;
  }

  /** Checks that {@code ids} has one id per vector. */
  public static void ids(long[] ids, int n) {
    if (ids == null) {
      throw new IllegalArgumentException("ids is null");
    }
    if (ids.length != n) {
      throw new IllegalArgumentException("ids.length " + ids.length + " does not match the " + n + " vectors given");
    }
  }

  /** Checks a radius for range search: finite. */
  public static void radius(float radius) {
    if (!Float.isFinite(radius)) {
      throw new IllegalArgumentException("radius must be finite, was " + radius);
    }
  }
}
