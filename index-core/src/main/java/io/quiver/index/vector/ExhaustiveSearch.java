package io.quiver.index.vector;

import io.quiver.index.IdSelector;
import io.quiver.index.topk.TopKHeap;
import io.quiver.index.util.Parallel;
import java.util.Arrays;

/**
 * Exact k-nearest-neighbour search of a block of queries against a block of base vectors, the
 * engine behind {@code FlatIndex} search, k-means assignment and IVF coarse probing.
 *
 * <p>Below {@link #BLOCKED_THRESHOLD} queries each query is scanned with the one-to-many kernel
 * (FAISS does the same below its BLAS threshold of 20). From there on distances come from the
 * register-blocked {@link VectorUtilSupport#dotProductBlock} kernel, as
 * {@code |x|^2 - 2 x.q + |q|^2} for L2. That form loses precision to cancellation when a
 * neighbour is close relative to the norms, so the k survivors of every query are re-measured
 * with the direct kernel before they are sorted: returned distances are always the direct ones,
 * whichever path found them.
 *
 * <p>Results: distances and ids of size {@code nq * k}, row-major, best first; ties broken by the
 * smaller id; missing results padded with id -1 and +inf (L2) or -inf (inner product).
 *
 * <p>Optional per-query {@link IdSelector}s restrict each query to the ids they select; they are
 * asked inside the scan (by the query's {@link TopKHeap}), so k results come back whenever k
 * selected rows exist.
 */
public final class ExhaustiveSearch {

  /** From this many queries on, the blocked (GEMM-form) kernel is used. */
  public static final int BLOCKED_THRESHOLD = 20;

  /** Queries per task: the packing of a base block is shared by this many queries. */
  private static final int QUERY_BLOCK = 256;
  /** Base vectors per tile: QUERY_BLOCK x BASE_BLOCK keys (256 KiB) stay in L2 for the filter pass. */
  private static final int BASE_BLOCK = 256;
  private static final int SCAN_BLOCK = 1024;
  private static final int MIN_ROWS_PER_SCAN_TASK = 16 * 1024;

  private ExhaustiveSearch() {}

  /**
   * Finds the {@code k} nearest base rows of each query.
   *
   * @param queries {@code nq * d} floats, row-major, from index 0
   * @param base {@code nb * d} floats, row-major, from index 0
   * @param baseNorms squared norms of the base rows (L2 only; computed when null)
   * @param labels the id of each base row, or null to report row numbers
   * @param innerProduct true to rank by largest inner product, false by smallest squared L2
   * @param threads threads to use; 0 means all cores
   * @param outDistances size {@code nq * k}
   * @param outIds size {@code nq * k}
   */
  public static void search(float[] queries, int nq, float[] base, int nb, float[] baseNorms, long[] labels,
                            int d, boolean innerProduct, int k, int threads,
                            float[] outDistances, long[] outIds) {
    search(queries, nq, base, nb, baseNorms, labels, d, innerProduct, k, threads, null, outDistances, outIds);
  }

  /**
   * {@link #search} restricted by selectors: query {@code qi} sees only the rows whose id (the
   * label, or the row number when {@code labels} is null) {@code selectors[qi]} chooses.
   *
   * @param selectors {@code nq} selectors (an entry may be null: every id), or null for none
   */
  public static void search(float[] queries, int nq, float[] base, int nb, float[] baseNorms, long[] labels,
                            int d, boolean innerProduct, int k, int threads, IdSelector[] selectors,
                            float[] outDistances, long[] outIds) {
    if (selectors != null && selectors.length < nq) {
      throw new IllegalArgumentException("selectors must hold one entry per query (" + nq + "), has " + selectors.length);
    }
    if (nq == 0) {
      return;
    }
    float pad = innerProduct ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY;
    if (nb == 0) {
      Arrays.fill(outDistances, 0, nq * k, pad);
      Arrays.fill(outIds, 0, nq * k, -1L);
      return;
    }
    if (nq < BLOCKED_THRESHOLD) {
      scanEach(queries, nq, base, nb, labels, d, innerProduct, k, threads, selectors, outDistances, outIds);
    } else {
      float[] norms = innerProduct ? null : (baseNorms != null ? baseNorms : VectorUtil.squareNorms(base, nb, d));
      blocked(queries, nq, base, nb, norms, labels, d, innerProduct, k, threads, selectors, outDistances, outIds);
    }
  }

  private static void scanEach(float[] queries, int nq, float[] base, int nb, long[] labels, int d,
                               boolean innerProduct, int k, int threads, IdSelector[] selectors,
                               float[] outDistances, long[] outIds) {
    int nt = Parallel.resolveThreads(threads);
    int chunks = (int) Math.max(1, Math.min(4L * nt, nb / MIN_ROWS_PER_SCAN_TASK));
    int chunkSize = (nb + chunks - 1) / chunks;
    TopKHeap[] heaps = new TopKHeap[nq * chunks];
    Parallel.forEach(nt, nq * chunks, task -> {
      int qi = task / chunks;
      int c = task % chunks;
      int from = c * chunkSize;
      int to = Math.min(nb, from + chunkSize);
      TopKHeap heap = new TopKHeap(k, selectors == null ? null : selectors[qi]);
      float[] buf = new float[SCAN_BLOCK];
      int qOff = qi * d;
      for (int b = from; b < to; b += SCAN_BLOCK) {
        int n = Math.min(SCAN_BLOCK, to - b);
        if (innerProduct) {
          VectorUtil.dotProductOneToMany(queries, qOff, base, b * d, n, d, buf, 0);
        } else {
          VectorUtil.squareDistanceOneToMany(queries, qOff, base, b * d, n, d, buf, 0);
        }
        float threshold = heap.threshold();
        for (int j = 0; j < n; j++) {
          float key = innerProduct ? -buf[j] : buf[j];
          if (key <= threshold) {
            int row = b + j;
            if (heap.offer(key, labels == null ? row : labels[row], row)) {
              threshold = heap.threshold();
            }
          }
        }
      }
      heaps[task] = heap;
    });
    float[] keys = new float[k];
    long[] ids = new long[k];
    int[] rows = new int[k];
    for (int qi = 0; qi < nq; qi++) {
      TopKHeap merged = heaps[qi * chunks];
      for (int c = 1; c < chunks; c++) {
        TopKHeap h = heaps[qi * chunks + c];
        int n = h.size();
        h.drainSorted(keys, ids, rows, 0, Float.POSITIVE_INFINITY);
        for (int j = 0; j < n; j++) {
          merged.offer(keys[j], ids[j], rows[j]);
        }
      }
      merged.drainSorted(keys, ids, rows, 0, Float.POSITIVE_INFINITY);
      int o = qi * k;
      for (int j = 0; j < k; j++) {
        outIds[o + j] = ids[j];
        outDistances[o + j] = innerProduct ? -keys[j] : keys[j]; // padding keys are +inf: -inf for inner product
      }
    }
  }

  private static void blocked(float[] queries, int nq, float[] base, int nb, float[] norms, long[] labels, int d,
                              boolean innerProduct, int k, int threads, IdSelector[] selectors,
                              float[] outDistances, long[] outIds) {
    int nt = Parallel.resolveThreads(threads);
    int qb = Math.min(QUERY_BLOCK, Math.max(4, ((nq + nt - 1) / nt + 3) / 4 * 4));
    int qBlocks = (nq + qb - 1) / qb;
    Parallel.forEach(nt, qBlocks, blk -> {
      int q0 = blk * qb;
      int nqb = Math.min(qb, nq - q0);
      TopKHeap[] heaps = new TopKHeap[nqb];
      for (int i = 0; i < nqb; i++) {
        heaps[i] = new TopKHeap(k, selectors == null ? null : selectors[q0 + i]);
      }
      // Keys in the tile rank base rows per query: |x|^2 - 2 x.q for L2 (the query's own norm
      // is the same for every row), -x.q for inner product. Exact distances come at the end.
      int tileWidth = Math.min(BASE_BLOCK, nb);
      float[] tile = new float[nqb * tileWidth];
      for (int b = 0; b < nb; b += tileWidth) {
        int nxb = Math.min(tileWidth, nb - b);
        if (innerProduct) {
          VectorUtil.dotProductBlockScaled(queries, q0 * d, nqb, base, b * d, nxb, d, -1f, null, 0, tile, 0, tileWidth);
        } else {
          VectorUtil.dotProductBlockScaled(queries, q0 * d, nqb, base, b * d, nxb, d, -2f, norms, b, tile, 0, tileWidth);
        }
        for (int i = 0; i < nqb; i++) {
          TopKHeap heap = heaps[i];
          float threshold = heap.threshold();
          int row0 = i * tileWidth;
          int end = row0 + nxb;
          for (int j = VectorUtil.nextAtMost(tile, row0, end, threshold); j < end;
               j = VectorUtil.nextAtMost(tile, j + 1, end, threshold)) {
            int row = b + j - row0;
            if (heap.offer(tile[j], labels == null ? row : labels[row], row)) {
              threshold = heap.threshold();
            }
          }
        }
      }
      float[] keys = new float[k];
      long[] ids = new long[k];
      int[] rows = new int[k];
      for (int i = 0; i < nqb; i++) {
        int qi = q0 + i;
        int n = heaps[i].size();
        heaps[i].drainSorted(keys, ids, rows, 0, Float.POSITIVE_INFINITY);
        // re-measure the survivors with the direct kernel, then re-sort by (key, id)
        for (int j = 0; j < n; j++) {
          keys[j] = innerProduct
              ? -VectorUtil.dotProduct(queries, qi * d, base, rows[j] * d, d)
              : VectorUtil.squareDistance(queries, qi * d, base, rows[j] * d, d);
        }
        insertionSort(keys, ids, n);
        int o = qi * k;
        for (int j = 0; j < k; j++) {
          if (j < n) {
            outIds[o + j] = ids[j];
            outDistances[o + j] = innerProduct ? -keys[j] : keys[j];
          } else {
            outIds[o + j] = -1L;
            outDistances[o + j] = innerProduct ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY;
          }
        }
      }
    });
  }

  /** Sorts the first n (key, id) pairs by key, then id: the order of every exact search's results. */
  public static void insertionSort(float[] keys, long[] ids, int n) {
    for (int i = 1; i < n; i++) {
      float key = keys[i];
      long id = ids[i];
      int j = i - 1;
      while (j >= 0 && (keys[j] > key || (keys[j] == key && ids[j] > id))) {
        keys[j + 1] = keys[j];
        ids[j + 1] = ids[j];
        j--;
      }
      keys[j + 1] = key;
      ids[j + 1] = id;
    }
  }
}
