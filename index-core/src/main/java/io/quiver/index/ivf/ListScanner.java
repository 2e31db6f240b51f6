package io.quiver.index.ivf;

import io.quiver.index.topk.RangeCollector;
import io.quiver.index.topk.TopKHeap;
import io.quiver.index.vector.VectorUtil;

/**
 * Exact scans of one query over a run of contiguous vectors with their ids (an inverted list, or
 * the whole storage of a Flat index), feeding a top-k heap or a range collector. Keys are
 * "smaller is better": the squared L2 distance, or the negated inner product.
 *
 * <p>Stateless; {@code buf} is the caller's scratch space (any length >= 1), so a thread can reuse
 * one buffer for all its scans.
 */
public final class ListScanner {
  private ListScanner() {}

  /**
   * Offers the first {@code size} vectors of {@code vectors} (row-major, {@code d} floats each)
   * with their {@code ids} to {@code heap}.
   */
  public static void topK(float[] q, int qOff, float[] vectors, long[] ids, int size, int d, boolean innerProduct,
                          TopKHeap heap, float[] buf) {
    for (int b = 0; b < size; b += buf.length) {
      int n = Math.min(buf.length, size - b);
      keys(q, qOff, vectors, b, n, d, innerProduct, buf);
      float threshold = heap.threshold();
      for (int j = VectorUtil.nextAtMost(buf, 0, n, threshold); j < n; j = VectorUtil.nextAtMost(buf, j + 1, n, threshold)) {
        if (heap.offer(buf[j], ids[b + j])) {
          threshold = heap.threshold();
        }
      }
    }
  }

  /** Adds every vector whose key is strictly below {@code keyBound} to {@code out}. */
  public static void range(float[] q, int qOff, float[] vectors, long[] ids, int size, int d, boolean innerProduct,
                           float keyBound, RangeCollector out, float[] buf) {
    for (int b = 0; b < size; b += buf.length) {
      int n = Math.min(buf.length, size - b);
      keys(q, qOff, vectors, b, n, d, innerProduct, buf);
      for (int j = 0; j < n; j++) {
        if (buf[j] < keyBound) {
          out.add(buf[j], ids[b + j]);
        }
      }
    }
  }

  /** Keys of vectors {@code from .. from+n} into {@code buf[0..n)}. */
  private static void keys(float[] q, int qOff, float[] vectors, int from, int n, int d, boolean innerProduct, float[] buf) {
    if (innerProduct) {
      VectorUtil.dotProductOneToMany(q, qOff, vectors, from * d, n, d, buf, 0);
      for (int j = 0; j < n; j++) {
        buf[j] = -buf[j];
      }
    } else {
      VectorUtil.squareDistanceOneToMany(q, qOff, vectors, from * d, n, d, buf, 0);
    }
  }
}
