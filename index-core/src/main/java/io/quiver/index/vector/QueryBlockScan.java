package io.quiver.index.vector;

import io.quiver.index.IdSelector;
import io.quiver.index.topk.TopKHeap;
import io.quiver.index.util.Parallel;
import java.util.Arrays;
import java.util.function.IntFunction;
import java.util.function.IntUnaryOperator;

/**
 * The top-k scan of an IVF search in list-major order: queries are taken in blocks, the
 * (query, list) pairs of a block are sorted by list, and each list is scanned once for all the
 * block's queries that probe it with the query-block kernel
 * ({@link VectorUtilSupport#squareDistanceQueriesTransposed}: one SIMD lane per query, no
 * horizontal sums). Groups too small to fill a good share of the lanes ({@link #minGroup}) are
 * scanned query by query with the one-to-many kernel, right after each other, while the list is
 * in cache. Lists are read a tile of {@link #TILE} rows at a time, as stored floats (IVF-Flat) or
 * decoded from their codes once per tile for all the queries that probe the list (IVF-SQ); rows
 * may be residuals to the list's centroid. Keys are the direct distances (squared L2, or the
 * negated inner product), so results equal a query-by-query scan's up to float rounding of the sums.
 *
 * <p>Threads take whole blocks of {@link #MAX_BLOCK} queries, or split a block's lists when there
 * are fewer blocks than threads; the result does not depend on their number. Results: distances and ids of size {@code nq * k}, row-major, best first; ties broken by the
 * smaller id; missing results padded with id -1 and +inf (L2) or -inf (inner product). Per-query
 * {@link IdSelector}s are asked inside the scan (by the query's {@link TopKHeap}).
 *
 * <p>Measured on one thread (AMD EPYC, 512-bit lanes, d = 128, lists of 100 vectors in cache):
 * 164 million query-vector distances per second with 8 queries per list against 87 million with
 * the one-to-many kernel, 234 million with 16.
 */
public final class QueryBlockScan {

  /**
   * Queries per block: bounds the heaps and pairs alive at once. Large, so that the queries of a
   * batch that probe the same list scan it one after the other while it is in cache: at 1,000
   * queries, nprobe 4 and 1,024 lists of about 1,000 vectors (512 KB each), about four queries
   * read each list, three of them from cache instead of memory.
   */
  static final int MAX_BLOCK = 1024;
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
   * The lists a query-block scan reads: ids, sizes, and rows as floats, either the stored
   * vectors themselves or codes decoded a tile at a time.
   */
  public interface Lists {
    /** The number of entries of {@code list}. */
    int size(int list);

    /** The live id storage of {@code list}. */
    long[] ids(int list);

    /**
     * Rows {@code [from, from + n)} of {@code list} as row-major floats ({@code d} each): either
     * {@code scratch} with the rows decoded from index 0 ({@code scratch} holds {@code n * d}
     * floats), or the list's own float storage, in which row {@code r} starts at {@code r * d}.
     */
    float[] rows(int list, int from, int n, float[] scratch);

    /** Float lists stored as they are (IVF-Flat). */
    static Lists of(IntFunction<float[]> vectors, IntFunction<long[]> ids, IntUnaryOperator sizes) {
      return new Lists() {
        @Override
        public int size(int list) {
          return sizes.applyAsInt(list);
        }

        @Override
        public long[] ids(int list) {
          return ids.apply(list);
        }

        @Override
        public float[] rows(int list, int from, int n, float[] scratch) {
          return vectors.apply(list);
        }
      };
    }
  }

  /**
   * The {@code k} nearest entries of each query's probed lists, in direct (not residual) form.
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
    search(q, nq, d, k, nprobe, probes, null, Lists.of(vectors, ids, sizes), null, innerProduct, selectors, threads,
        outDistances, outIds);
  }

  /**
   * The {@code k} nearest entries of each query's probed lists, whose rows may be residuals to
   * the list's centroid (FAISS's {@code by_residual}): then for L2 each query is scanned as
   * {@code q - c} (the key {@code |q - c - r|^2} is the distance to {@code c + r}), and for inner
   * product the key is {@code -(<q, c> + <q, r>)}, with {@code <q, c>} the probe's coarse value.
   *
   * @param coarseValues {@code nq * nprobe} coarse values, used for inner product by residual only
   * @param lists the lists, rows as floats
   * @param centroids the coarse centroids ({@code nlist * d}) when the rows are residuals, else null
   * @see #search(float[], int, int, int, int, long[], IntFunction, IntFunction, IntUnaryOperator, boolean,
   *     IdSelector[], int, float[], long[])
   */
  public static void search(float[] q, int nq, int d, int k, int nprobe, long[] probes, float[] coarseValues, Lists lists,
                            float[] centroids, boolean innerProduct, IdSelector[] selectors, int threads,
                            float[] outDistances, long[] outIds) {
    if (nq == 0) {
      return;
    }
    if (centroids != null && innerProduct && coarseValues == null) {
      throw new IllegalArgumentException("inner product by residual needs the coarse values");
    }
    int nt = Parallel.resolveThreads(threads);
    // Blocks do not depend on the thread count: which kernel computes a distance depends on how
    // many queries of the block share the list, and results must be the same on any number of
    // threads. With as many blocks as threads or more, threads share out whole blocks; with fewer,
    // the threads split each block's lists between them, each into heaps of its own that are
    // merged afterwards (the top k of a union under the (key, id) order is the same however the
    // union was split).
    int blocks = (nq + MAX_BLOCK - 1) / MAX_BLOCK;
    int lanes = VectorUtil.queryLanes();
    if (blocks >= nt || nt == 1) {
      Parallel.forEach(nt, blocks, b -> {
        Block block = new Block(b * MAX_BLOCK, Math.min(nq, (b + 1) * MAX_BLOCK) - b * MAX_BLOCK, nprobe, probes);
        TopKHeap[] heaps = block.heaps(k, selectors);
        new Scan(q, block.q0, nprobe, d, lanes, innerProduct, centroids, coarseValues, heaps).run(lists, block.pairs, 0,
            block.m);
        block.drain(heaps, k, innerProduct, outDistances, outIds);
      });
      return;
    }
    for (int b = 0; b < blocks; b++) {
      Block block = new Block(b * MAX_BLOCK, Math.min(nq, (b + 1) * MAX_BLOCK) - b * MAX_BLOCK, nprobe, probes);
      int[] cuts = block.cuts(nt);
      TopKHeap[][] parts = new TopKHeap[nt][];
      Parallel.forEach(nt, nt, part -> {
        parts[part] = block.heaps(k, selectors);
        new Scan(q, block.q0, nprobe, d, lanes, innerProduct, centroids, coarseValues, parts[part]).run(lists, block.pairs,
            cuts[part], cuts[part + 1]);
      });
      float[] keys = new float[k];
      long[] ids = new long[k];
      for (int i = 0; i < block.bn; i++) {
        TopKHeap into = parts[0][i];
        for (int part = 1; part < nt; part++) {
          TopKHeap from = parts[part][i];
          int n = from.size();
          from.drainSorted(keys, ids, null, 0, Float.POSITIVE_INFINITY);
          for (int j = 0; j < n; j++) {
            into.offer(keys[j], ids[j]);
          }
        }
      }
      block.drain(parts[0], k, innerProduct, outDistances, outIds);
    }
  }

  /** A block of queries: its (list, probe slot) pairs sorted by list. */
  private static final class Block {
    final int q0;
    final int bn;
    /** (list << 32 | slot) pairs, the slot i of the block's bn * nprobe giving the query i / nprobe. */
    final long[] pairs;
    final int m;

    Block(int q0, int bn, int nprobe, long[] probes) {
      this.q0 = q0;
      this.bn = bn;
      long[] p = new long[bn * nprobe];
      int count = 0;
      for (int i = 0; i < bn * nprobe; i++) {
        long list = probes[q0 * nprobe + i];
        if (list >= 0) {
          p[count++] = list << 32 | i;
        }
      }
      Arrays.sort(p, 0, count);
      this.pairs = p;
      this.m = count;
    }

    TopKHeap[] heaps(int k, IdSelector[] selectors) {
      TopKHeap[] heaps = new TopKHeap[bn];
      for (int i = 0; i < bn; i++) {
        heaps[i] = new TopKHeap(k, selectors == null ? null : selectors[q0 + i]);
      }
      return heaps;
    }

    /** {@code parts + 1} cut points in the pairs, each at the start of a list: the lists of each part. */
    int[] cuts(int parts) {
      int[] cuts = new int[parts + 1];
      for (int part = 1; part < parts; part++) {
        int c = Math.max(cuts[part - 1], (int) ((long) m * part / parts));
        while (c > cuts[part - 1] && c < m && (int) (pairs[c] >>> 32) == (int) (pairs[c - 1] >>> 32)) {
          c++;
        }
        cuts[part] = c;
      }
      cuts[parts] = m;
      return cuts;
    }

    void drain(TopKHeap[] heaps, int k, boolean innerProduct, float[] outDistances, long[] outIds) {
      for (int i = 0; i < bn; i++) {
        int o = (q0 + i) * k;
        heaps[i].drainSorted(outDistances, outIds, null, o, Float.POSITIVE_INFINITY);
        if (innerProduct) {
          for (int j = o; j < o + k; j++) {
            outDistances[j] = -outDistances[j];
          }
        }
      }
    }
  }

  /** The per-block state of a scan: scratch, and the lane groups of the list at hand. */
  private static final class Scan {
    final float[] q;
    final int q0;
    final int nprobe;
    final int d;
    final int lanes;
    final boolean innerProduct;
    final float[] centroids;
    final float[] coarseValues;
    final TopKHeap[] heaps;
    final float[] tile;
    final float[] decoded;
    final float[] one;
    /** Per lane group: the transposed queries, thresholds, block-local query numbers and key bias. */
    float[][] qT = new float[0][];
    float[][] thresholds = new float[0][];
    int[][] members = new int[0][];
    float[][] bias = new float[0][];
    int[] groupSize = new int[0];
    /** Queries of the list at hand scanned one by one (too few to fill the lanes), and their bias. */
    int[] single = new int[0];
    float[] singleBias = new float[0];

    Scan(float[] q, int q0, int nprobe, int d, int lanes, boolean innerProduct, float[] centroids, float[] coarseValues,
         TopKHeap[] heaps) {
      this.q = q;
      this.q0 = q0;
      this.nprobe = nprobe;
      this.d = d;
      this.lanes = lanes;
      this.innerProduct = innerProduct;
      this.centroids = centroids;
      this.coarseValues = coarseValues;
      this.heaps = heaps;
      this.tile = new float[TILE * lanes];
      this.decoded = new float[TILE * d];
      this.one = new float[2 * d];
    }

    /** The key of a row is its kernel value plus this (inner product by residual: {@code -<q, c>}). */
    private float bias(int slot) {
      return centroids != null && innerProduct ? -coarseValues[q0 * nprobe + slot] : 0f;
    }

    /** Query {@code lq} of the block as the kernel sees it for {@code list}, into {@code dst}. */
    private void query(int lq, int list, float[] dst, int dstOff, int stride) {
      int src = (q0 + lq) * d;
      boolean residual = centroids != null && !innerProduct;
      int c = list * d;
      for (int t = 0; t < d; t++) {
        float v = residual ? q[src + t] - centroids[c + t] : q[src + t];
        dst[dstOff + t * stride] = innerProduct ? -v : v;
      }
    }

    /** The lists of {@code pairs[from, to)}, each against the queries that probe it. */
    void run(Lists lists, long[] pairs, int from, int to) {
      for (int start = from; start < to; ) {
        int list = (int) (pairs[start] >>> 32);
        int end = start + 1;
        while (end < to && (int) (pairs[end] >>> 32) == list) {
          end++;
        }
        list(lists, list, pairs, start, end);
        start = end;
      }
    }

    /** One list against the queries of {@code pairs[start, end)}. */
    void list(Lists lists, int list, long[] pairs, int start, int end) {
      int count = end - start;
      int groups = (count + lanes - 1) / lanes;
      ensure(groups, count);
      int ng = 0;
      int ns = 0;
      for (int g0 = start; g0 < end; g0 += lanes) {
        int g = Math.min(lanes, end - g0);
        if (g < minGroup(lanes)) {
          // too few queries to fill the lanes: one-to-many per query, each tile still in cache
          for (int i = 0; i < g; i++) {
            int slot = (int) pairs[g0 + i];
            single[ns] = slot / nprobe;
            singleBias[ns++] = bias(slot);
          }
          continue;
        }
        // transpose the group's queries (negated for inner product: the kernel's q.x is then the
        // key -q.x exactly); unused slots repeat the first query and get threshold -inf
        for (int i = 0; i < lanes; i++) {
          int slot = (int) pairs[g0 + Math.min(i, g - 1)];
          query(slot / nprobe, list, qT[ng], i, lanes);
          members[ng][i] = slot / nprobe;
          bias[ng][i] = bias(slot);
        }
        groupSize[ng++] = g;
      }
      int size = lists.size(list);
      long[] ids = lists.ids(list);
      for (int b = 0; b < size; b += TILE) {
        int n = Math.min(TILE, size - b);
        float[] rows = lists.rows(list, b, n, decoded);
        int off = rows == decoded ? 0 : b * d;
        for (int gi = 0; gi < ng; gi++) {
          group(gi, rows, off, n, ids, b);
        }
        for (int si = 0; si < ns; si++) {
          query(single[si], list, one, 0, 1);
          single(one, rows, off, n, ids, b, heaps[single[si]], singleBias[si]);
        }
      }
    }

    private void ensure(int groups, int count) {
      if (qT.length < groups) {
        int cap = Math.max(groups, 2 * qT.length);
        qT = Arrays.copyOf(qT, cap);
        thresholds = Arrays.copyOf(thresholds, cap);
        members = Arrays.copyOf(members, cap);
        bias = Arrays.copyOf(bias, cap);
        groupSize = Arrays.copyOf(groupSize, cap);
        for (int i = 0; i < cap; i++) {
          if (qT[i] == null) {
            qT[i] = new float[d * lanes];
            thresholds[i] = new float[lanes];
            members[i] = new int[lanes];
            bias[i] = new float[lanes];
          }
        }
      }
      if (single.length < count) {
        single = new int[count];
        singleBias = new float[count];
      }
    }

    /** Rows {@code [b, b + n)} (at {@code rows[off..]}) against lane group {@code gi}. */
    private void group(int gi, float[] rows, int off, int n, long[] ids, int b) {
      int g = groupSize[gi];
      int[] member = members[gi];
      float[] biasG = bias[gi];
      float[] thr = thresholds[gi];
      // the filter compares kernel values: a key passes when value + bias <= the heap's threshold;
      // the bound is widened by one ulp so that rounding never drops a key the heap would take
      for (int i = 0; i < lanes; i++) {
        thr[i] = i < g ? Math.nextUp(heaps[member[i]].threshold() - biasG[i]) : Float.NEGATIVE_INFINITY;
      }
      if (innerProduct) {
        VectorUtil.dotProductQueriesTransposed(qT[gi], 0, lanes, rows, off, n, d, tile, 0);
      } else {
        VectorUtil.squareDistanceQueriesTransposed(qT[gi], 0, lanes, rows, off, n, d, tile, 0);
      }
      for (int j = VectorUtil.nextRowAtMost(tile, 0, n, lanes, thr); j < n;
           j = VectorUtil.nextRowAtMost(tile, j + 1, n, lanes, thr)) {
        int row = j * lanes;
        for (int i = 0; i < g; i++) {
          if (tile[row + i] <= thr[i]) {
            TopKHeap heap = heaps[member[i]];
            if (heap.offer(tile[row + i] + biasG[i], ids[b + j])) {
              thr[i] = Math.nextUp(heap.threshold() - biasG[i]);
            }
          }
        }
      }
    }

    /** Rows {@code [b, b + n)} against one query ({@code qv}, as the kernel sees it) with the one-to-many kernel. */
    private void single(float[] qv, float[] rows, int off, int n, long[] ids, int b, TopKHeap heap, float keyBias) {
      // the query is negated for inner product, so both kernels give the key less the bias
      if (innerProduct) {
        VectorUtil.dotProductOneToMany(qv, 0, rows, off, n, d, tile, 0);
      } else {
        VectorUtil.squareDistanceOneToMany(qv, 0, rows, off, n, d, tile, 0);
      }
      float threshold = heap.threshold() - keyBias;
      for (int j = VectorUtil.nextAtMost(tile, 0, n, Math.nextUp(threshold)); j < n;
           j = VectorUtil.nextAtMost(tile, j + 1, n, Math.nextUp(threshold))) {
        if (heap.offer(tile[j] + keyBias, ids[b + j])) {
          threshold = heap.threshold() - keyBias;
        }
      }
    }
  }
}
