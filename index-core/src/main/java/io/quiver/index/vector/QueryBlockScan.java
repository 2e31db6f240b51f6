package io.quiver.index.vector;

import io.quiver.index.IdSelector;
import io.quiver.index.topk.TopKHeap;
import io.quiver.index.util.Parallel;
import java.util.Arrays;
import java.util.function.IntFunction;
import java.util.function.IntUnaryOperator;

/**
 * The top-k scan of an IVF-Flat search in list-major order: queries are taken in blocks, the
 * (query, list) pairs of a block are sorted by list, and each list is scanned once for all the
 * block's queries that probe it with the query-block kernel
 * ({@link VectorUtilSupport#squareDistanceQueriesTransposed}: one SIMD lane per query, no
 * horizontal sums). Groups too small to fill a good share of the lanes ({@link #minGroup}) are
 * scanned query by query with the one-to-many kernel, right after each other, while the list is
 * in cache. Keys are the direct distances (squared L2, or the negated inner product), so
 * results equal a query-by-query scan's up to float rounding of the sums.
 *
 * <p>Threads take whole blocks of {@link #MAX_BLOCK} queries; the result does not depend on their
 * number. Results: distances and ids of size {@code nq * k}, row-major, best first; ties broken by the
 * smaller id; missing results padded with id -1 and +inf (L2) or -inf (inner product). Per-query
 * {@link IdSelector}s are asked inside the scan (by the query's {@link TopKHeap}).
 *
 * <p>Measured on one thread (AMD EPYC, 512-bit lanes, d = 128, lists of 100 vectors in cache):
 * 164 million query-vector distances per second with 8 queries per list against 87 million with
 * the one-to-many kernel, 234 million with 16.
 */
public final class QueryBlockScan {

  /** Queries per block on one thread: bounds the heaps and pairs alive at once. */
  static final int MAX_BLOCK = 128;
  /** Vectors per kernel call: a tile of TILE * 16 distances stays in L1. */
  static final int TILE = 256;

  private QueryBlockScan() {}

  /**
   * The fewest queries of a group worth the query-block kernel: it costs the same per vector
   * whatever the number of used lanes, and on one thread (d = 128, lists in cache) it passes the
   * one-to-many kernel from about 6 of 16 lanes (3 of 8) on.
   */
  static int minGroup(int lanes) {
    return Math.max(2, (3 * lanes + 7) / 8);
  }

  /**
   * The {@code k} nearest entries of each query's probed lists.
   *
   * @param q queries, {@code nq * d} floats, row-major
   * @param nprobe lists per query
   * @param probes {@code nq * nprobe} list numbers, -1 for none
   * @param vectors the live vector storage of a list (row-major, {@code d} floats each)
   * @param ids the live id storage of a list
   * @param sizes the number of entries of a list
   * @param innerProduct rank by largest inner product instead of smallest squared L2
   * @param selectors {@code nq} selectors (entries may be null), or null for none
   * @param threads threads to use; 0 means all cores
   * @param outDistances size {@code nq * k}
   * @param outIds size {@code nq * k}
   */
  public static void search(float[] q, int nq, int d, int k, int nprobe, long[] probes, IntFunction<float[]> vectors,
                            IntFunction<long[]> ids, IntUnaryOperator sizes, boolean innerProduct,
                            IdSelector[] selectors, int threads, float[] outDistances, long[] outIds) {
    if (nq == 0) {
      return;
    }
    int nt = Parallel.resolveThreads(threads);
    // Blocks do not depend on the thread count: which kernel computes a distance depends on how
    // many queries of the block share the list, and results must be the same on any number of
    // threads. Threads share out whole blocks, so below MAX_BLOCK + 1 queries one thread scans.
    int blockSize = MAX_BLOCK;
    int blocks = (nq + blockSize - 1) / blockSize;
    int lanes = VectorUtil.queryLanes();
    Parallel.forEach(nt, blocks, b -> {
      int q0 = b * blockSize;
      int bn = Math.min(nq, q0 + blockSize) - q0;
      long[] pairs = new long[bn * nprobe];
      int m = 0;
      for (int i = 0; i < bn * nprobe; i++) {
        long list = probes[q0 * nprobe + i];
        if (list >= 0) {
          pairs[m++] = list << 32 | (i / nprobe);
        }
      }
      Arrays.sort(pairs, 0, m);
      TopKHeap[] heaps = new TopKHeap[bn];
      for (int i = 0; i < bn; i++) {
        heaps[i] = new TopKHeap(k, selectors == null ? null : selectors[q0 + i]);
      }
      float[] qT = new float[d * lanes];
      float[] tile = new float[TILE * lanes];
      float[] thresholds = new float[lanes];
      int[] group = new int[lanes];
      for (int start = 0; start < m; ) {
        int list = (int) (pairs[start] >>> 32);
        int end = start + 1;
        while (end < m && (int) (pairs[end] >>> 32) == list) {
          end++;
        }
        int size = sizes.applyAsInt(list);
        float[] x = vectors.apply(list);
        long[] listIds = ids.apply(list);
        for (int g0 = start; g0 < end; g0 += lanes) {
          int g = Math.min(lanes, end - g0);
          if (g < minGroup(lanes)) {
            // too few queries to fill the lanes: one-to-many per query, the list still in cache
            for (int i = 0; i < g; i++) {
              int lq = (int) pairs[g0 + i];
              scanOne(q, (q0 + lq) * d, x, listIds, size, d, innerProduct, heaps[lq], tile);
            }
          } else {
            for (int i = 0; i < g; i++) {
              group[i] = (int) pairs[g0 + i];
            }
            scanGroup(q, q0, group, g, lanes, qT, x, listIds, size, d, innerProduct, heaps, tile, thresholds);
          }
        }
        start = end;
      }
      for (int i = 0; i < bn; i++) {
        int o = (q0 + i) * k;
        heaps[i].drainSorted(outDistances, outIds, null, o, Float.POSITIVE_INFINITY);
        if (innerProduct) {
          for (int j = o; j < o + k; j++) {
            outDistances[j] = -outDistances[j];
          }
        }
      }
    });
  }

  /** One list against {@code g} queries of the block (local numbers {@code group[0..g)}). */
  private static void scanGroup(float[] q, int q0, int[] group, int g, int lanes, float[] qT, float[] x, long[] ids,
                                int size, int d, boolean innerProduct, TopKHeap[] heaps, float[] tile,
                                float[] thresholds) {
    // transpose the group's queries, negated for inner product (the kernel's q.x is then the key
    // -q.x exactly); unused slots repeat the first query and get threshold -inf (never offered)
    for (int i = 0; i < lanes; i++) {
      int src = (q0 + group[Math.min(i, g - 1)]) * d;
      for (int t = 0; t < d; t++) {
        qT[t * lanes + i] = innerProduct ? -q[src + t] : q[src + t];
      }
    }
    for (int i = 0; i < lanes; i++) {
      thresholds[i] = i < g ? heaps[group[i]].threshold() : Float.NEGATIVE_INFINITY;
    }
    for (int b = 0; b < size; b += TILE) {
      int n = Math.min(TILE, size - b);
      if (innerProduct) {
        VectorUtil.dotProductQueriesTransposed(qT, 0, lanes, x, b * d, n, d, tile, 0);
      } else {
        VectorUtil.squareDistanceQueriesTransposed(qT, 0, lanes, x, b * d, n, d, tile, 0);
      }
      for (int j = VectorUtil.nextRowAtMost(tile, 0, n, lanes, thresholds); j < n;
           j = VectorUtil.nextRowAtMost(tile, j + 1, n, lanes, thresholds)) {
        int row = j * lanes;
        for (int i = 0; i < g; i++) {
          float key = tile[row + i];
          if (key <= thresholds[i]) {
            TopKHeap heap = heaps[group[i]];
            if (heap.offer(key, ids[b + j])) {
              thresholds[i] = heap.threshold();
            }
          }
        }
      }
    }
  }

  /** One list against one query with the one-to-many kernel ({@code buf}: any length >= 1). */
  private static void scanOne(float[] q, int qOff, float[] x, long[] ids, int size, int d, boolean innerProduct,
                              TopKHeap heap, float[] buf) {
    for (int b = 0; b < size; b += buf.length) {
      int n = Math.min(buf.length, size - b);
      if (innerProduct) {
        VectorUtil.dotProductOneToMany(q, qOff, x, b * d, n, d, buf, 0);
        for (int j = 0; j < n; j++) {
          buf[j] = -buf[j];
        }
      } else {
        VectorUtil.squareDistanceOneToMany(q, qOff, x, b * d, n, d, buf, 0);
      }
      float threshold = heap.threshold();
      for (int j = VectorUtil.nextAtMost(buf, 0, n, threshold); j < n; j = VectorUtil.nextAtMost(buf, j + 1, n, threshold)) {
        if (heap.offer(buf[j], ids[b + j])) {
          threshold = heap.threshold();
        }
      }
    }
  }
}
