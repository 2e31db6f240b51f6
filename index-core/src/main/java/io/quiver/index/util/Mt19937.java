package io.quiver.index.util;

/**
 * The 32-bit Mersenne Twister of the C++ standard ({@code std::mt19937}), which FAISS's
 * {@code RandomGenerator} wraps. Training draws its samples and initial centroids with it, in
 * FAISS's order ({@link #randPerm}), so that the same data and seed give the same training sample
 * and the same starting centroids as FAISS. Not thread-safe.
 */
public final class Mt19937 {
  private static final int N = 624;
  private static final int M = 397;
  private static final int MATRIX_A = 0x9908b0df;
  private static final int UPPER = 0x80000000;
  private static final int LOWER = 0x7fffffff;

  private final int[] mt = new int[N];
  private int index;

  /** Seeded as FAISS's {@code RandomGenerator(seed)}: with the low 32 bits of {@code seed}. */
  public Mt19937(long seed) {
    mt[0] = (int) seed;
    for (int i = 1; i < N; i++) {
      mt[i] = 1812433253 * (mt[i - 1] ^ (mt[i - 1] >>> 30)) + i;
    }
    index = N;
  }

  /** The next output, an unsigned 32-bit value in {@code [0, 2^32)}. */
  public long next() {
    if (index >= N) {
      twist();
    }
    int y = mt[index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y & 0xFFFFFFFFL;
  }

  /** FAISS's {@code rand_int(max)}: {@code next() % max}, for {@code max > 0}. */
  public int nextInt(int max) {
    return (int) (next() % max);
  }

  /** FAISS's {@code rand_float()}: {@code next() / 4294967295} in float, in {@code [0, 1]}. */
  public float nextFloat() {
    return (float) next() / 4294967295f;
  }

  private void twist() {
    for (int i = 0; i < N; i++) {
      int y = (mt[i] & UPPER) | (mt[(i + 1) % N] & LOWER);
      int v = mt[(i + M) % N] ^ (y >>> 1);
      mt[i] = (y & 1) == 0 ? v : v ^ MATRIX_A;
    }
    index = 0;
  }

  /**
   * The first {@code m} entries of FAISS's {@code rand_perm(n, seed)}: a Fisher-Yates shuffle of
   * {@code 0..n-1} that swaps position {@code i} with {@code i + rand_int(n - i)}. Later steps
   * only touch positions past {@code m}, so the first {@code m} steps decide them.
   */
  public static int[] randPerm(int n, int m, long seed) {
    if (m < 0 || m > n) {
      throw new IllegalArgumentException("m must be in [0, n=" + n + "], got " + m);
    }
    int[] perm = new int[n];
    for (int i = 0; i < n; i++) {
      perm[i] = i;
    }
    Mt19937 rng = new Mt19937(seed);
    for (int i = 0; i < m && i + 1 < n; i++) {
      int j = i + rng.nextInt(n - i);
      int t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    return m == n ? perm : java.util.Arrays.copyOf(perm, m);
  }
}
