package io.quiver.index.scan;

import io.quiver.index.codec.Codec;
import io.quiver.index.topk.RangeCollector;
import io.quiver.index.topk.TopKHeap;
import io.quiver.index.vector.VectorUtil;

/**
 * The top-k and range loops of every scan, written once. Keys are "smaller is better" (squared
 * L2, or the negated inner product); results go back to the caller's sign convention with
 * {@link #drain}.
 */
public final class Scans {
  /** Codes scored per kernel call: the key buffer stays in L1 beside the query state. */
  public static final int BLOCK = 256;

  private Scans() {}

  /**
   * Offers {@code keys[0..n)} with ids {@code ids[idsOff ..]} to the heap, skipping (by one SIMD
   * comparison per run) every key above the heap's threshold.
   */
  public static void offer(float[] keys, int n, long[] ids, int idsOff, TopKHeap heap) {
    float threshold = heap.threshold();
    for (int j = VectorUtil.nextAtMost(keys, 0, n, threshold); j < n; j = VectorUtil.nextAtMost(keys, j + 1, n, threshold)) {
      if (heap.offer(keys[j], ids[idsOff + j])) {
        threshold = heap.threshold();
      }
    }
  }

  /** Adds every key of {@code keys[0..n)} strictly below {@code keyBound}, with its id, to {@code out}. */
  public static void range(float[] keys, int n, long[] ids, int idsOff, float keyBound, RangeCollector out) {
    for (int j = 0; j < n; j++) {
      if (keys[j] < keyBound) {
        out.add(keys[j], ids[idsOff + j]);
      }
    }
  }

  /**
   * Offers codes {@code [from, to)} of {@code codes} to the heap, scored in blocks of
   * {@code buf.length} (the caller's scratch, reused across calls); {@code bias} is added to each
   * key (an IVF list's coarse term, or 0).
   */
  public static <A> void topK(Codec.Scorer<A> scorer, A codes, long[] ids, int from, int to, float bias,
                              TopKHeap heap, float[] buf) {
    for (int b = from; b < to; b += buf.length) {
      int n = Math.min(buf.length, to - b);
      scorer.keys(codes, b, n, buf, 0);
      addBias(buf, n, bias);
      offer(buf, n, ids, b, heap);
    }
  }

  /** Adds codes {@code [from, to)} whose key (plus {@code bias}) is strictly below {@code keyBound} to {@code out}. */
  public static <A> void range(Codec.Scorer<A> scorer, A codes, long[] ids, int from, int to, float bias,
                               float keyBound, RangeCollector out, float[] buf) {
    for (int b = from; b < to; b += buf.length) {
      int n = Math.min(buf.length, to - b);
      scorer.keys(codes, b, n, buf, 0);
      addBias(buf, n, bias);
      range(buf, n, ids, b, keyBound, out);
    }
  }

  /** Negates {@code a[off .. off + n)}: inner products to keys and back (negation is exact). */
  public static void negate(float[] a, int off, int n) {
    for (int j = off; j < off + n; j++) {
      a[j] = -a[j];
    }
  }

  private static void addBias(float[] buf, int n, float bias) {
    if (bias != 0) {
      for (int j = 0; j < n; j++) {
        buf[j] += bias;
      }
    }
  }

  /**
   * Drains the heap best first into {@code outKeys}/{@code outIds} at {@code off}, padded to its
   * capacity with id -1; negates the values back to inner products or similarities when
   * {@code innerProduct} (padding becomes -inf).
   */
  public static void drain(TopKHeap heap, float[] outKeys, long[] outIds, int off, boolean innerProduct) {
    int k = heap.capacity();
    heap.drainSorted(outKeys, outIds, null, off, Float.POSITIVE_INFINITY);
    if (innerProduct) {
      negate(outKeys, off, k);
    }
  }
}
