package io.quiver.index.ivf;

import io.quiver.index.IdSelector;
import io.quiver.index.SearchResult;
import io.quiver.index.topk.TopKHeap;
import io.quiver.index.util.Parallel;
import java.util.Arrays;
import java.util.function.IntFunction;

/**
 * The list-major loop of a preassigned search: queries are taken in blocks; inside a block the
 * (query, list) pairs are sorted by list, so each list is visited once for every query of the
 * block that probes it while its data is in cache. Each query's heap carries that query's
 * {@link IdSelector}, if any, so selection happens during the scan.
 */
public final class PreassignedSearch {

  /** Queries per block: bounds the per-query scan state alive at once. */
  static final int BLOCK = 128;

  /** Scans lists for one query into its heap (keys "smaller is better"). */
  @FunctionalInterface
  public interface QueryScan {
    void scan(int list, float coarseValue, TopKHeap heap);
  }

  private PreassignedSearch() {}

  /**
   * Runs the search. {@code scans.apply(qi)} makes the scan state of query {@code qi}; it is
   * called once per query that probes at least one list. {@code selectors[qi]} restricts query
   * {@code qi} to the ids it chooses ({@code selectors} null, or an entry null, for every id).
   *
   * @param innerProduct whether keys are negated inner products (results are negated back)
   */
  public static SearchResult run(int nq, int k, int nprobe, long[] lists, float[] coarseValues, int nlist, int threads,
                                 boolean innerProduct, IdSelector[] selectors, IntFunction<QueryScan> scans) {
    checkLists(nq, nprobe, lists, coarseValues, nlist);
    long[] outIds = new long[nq * k];
    float[] outDist = new float[nq * k];
    int blocks = (nq + BLOCK - 1) / BLOCK;
    Parallel.forEach(threads, blocks, b -> {
      int q0 = b * BLOCK;
      int bn = Math.min(nq, q0 + BLOCK) - q0;
      long[] pairs = new long[bn * nprobe];
      int m = 0;
      for (int i = 0; i < bn * nprobe; i++) {
        long list = lists[q0 * nprobe + i];
        if (list >= 0) {
          pairs[m++] = list << 32 | i;
        }
      }
      Arrays.sort(pairs, 0, m);
      QueryScan[] state = new QueryScan[bn];
      TopKHeap[] heaps = new TopKHeap[bn];
      for (int j = 0; j < m; j++) {
        int list = (int) (pairs[j] >>> 32);
        int i = (int) pairs[j];
        int lq = i / nprobe;
        if (state[lq] == null) {
          state[lq] = scans.apply(q0 + lq);
          heaps[lq] = new TopKHeap(k, selectors == null ? null : selectors[q0 + lq]);
        }
        state[lq].scan(list, coarseValues[q0 * nprobe + i], heaps[lq]);
      }
      for (int lq = 0; lq < bn; lq++) {
        int o = (q0 + lq) * k;
        TopKHeap heap = heaps[lq] != null ? heaps[lq] : new TopKHeap(k);
        heap.drainSorted(outDist, outIds, null, o, Float.POSITIVE_INFINITY);
        if (innerProduct) {
          for (int j = o; j < o + k; j++) {
            outDist[j] = -outDist[j];
          }
        }
      }
    });
    return new SearchResult(nq, k, outIds, outDist);
  }

  /**
   * Checks preassigned lists as {@code probe} makes them: {@code lists} and {@code coarseValues}
   * of {@code nq * nprobe} entries, list numbers in {@code [0, nlist)} or -1 for none.
   *
   * @throws IllegalArgumentException naming the first bad entry and its query
   */
  public static void checkLists(int nq, int nprobe, long[] lists, float[] coarseValues, int nlist) {
    if (lists == null || coarseValues == null) {
      throw new IllegalArgumentException((lists == null ? "lists" : "coarseValues") + " is null; it must hold nq * nprobe = "
          + nq + " * " + nprobe + " entries");
    }
    if (lists.length != (long) nq * nprobe || coarseValues.length != lists.length) {
      throw new IllegalArgumentException("lists (" + lists.length + ") and coarseValues (" + coarseValues.length
          + ") must hold nq * nprobe = " + nq + " * " + nprobe + " entries");
    }
    for (int i = 0; i < lists.length; i++) {
      if (lists[i] < -1 || lists[i] >= nlist) {
        throw new IllegalArgumentException("lists[" + i + "] = " + lists[i] + " (query " + i / nprobe
            + "): valid list numbers are 0.." + (nlist - 1) + ", or -1 for none");
      }
    }
  }
}
