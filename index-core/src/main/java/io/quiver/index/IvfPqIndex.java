package io.quiver.index;

import io.quiver.index.quantize.ProductQuantizer;
import io.quiver.index.spi.IvfLists;
import io.quiver.index.topk.RangeCollector;
import io.quiver.index.topk.TopKHeap;
import io.quiver.index.vector.VectorUtil;
import java.util.Arrays;

/**
 * An inverted file with product-quantized residuals: FAISS's {@code IndexIVFPQ}
 * ({@code IVF<nlist>,PQ<m>[x<nbits>]}), with {@code by_residual} on.
 *
 * <p>For L2 the distance of query {@code q} to a vector coded as residual {@code r} in list
 * {@code c} is {@code |q - c|^2} (from the coarse search) plus a lookup table per probed list.
 * FAISS's {@code use_precomputed_table} splits that table into {@code |r|^2 + 2 <c, r>} (per list,
 * precomputed at training: {@code nlist * m * ksub} floats) and {@code -2 <q, r>} (per query), so a
 * probed list costs {@code m * ksub} additions; without it a probed list's table is
 * {@code |r|^2 - 2 <q - c, r>}, {@code m * ksub * dsub} fused multiply-adds on the transposed
 * codebook. The precomputed table saves work only while it stays in the CPU's caches: past a few
 * MB, reading a list's part of it costs as much as computing it, and it grows with {@code nlist}
 * (1 GiB for {@code IVF65536,PQ16}). So the default ({@link #PRECOMPUTED_AUTO}) keeps it only up
 * to {@link #AUTO_PRECOMPUTED_MAX_BYTES}; {@link #PRECOMPUTED_ON} keeps it up to
 * {@link #MAX_PRECOMPUTED_BYTES}, as FAISS does. For inner product the value is
 * {@code <q, c> + <q, r>}, with one table per query.
 */
public final class IvfPqIndex extends IvfCodesIndex {

  /** Largest precomputed table kept when asked for (FAISS's precomputed_table_max_bytes is 2 GiB too). */
  public static final long MAX_PRECOMPUTED_BYTES = 2L << 30;
  /** Largest precomputed table kept by {@link #PRECOMPUTED_AUTO}: 2 MiB, about one core's cache share. */
  public static final long AUTO_PRECOMPUTED_MAX_BYTES = 2L << 20;
  /** {@code use_precomputed_table = -1}: never keep the per-list table. */
  public static final int PRECOMPUTED_OFF = -1;
  /** {@code use_precomputed_table = 0} (default): keep it up to {@link #AUTO_PRECOMPUTED_MAX_BYTES}. */
  public static final int PRECOMPUTED_AUTO = 0;
  /** {@code use_precomputed_table = 1}: keep it up to {@link #MAX_PRECOMPUTED_BYTES}. */
  public static final int PRECOMPUTED_ON = 1;

  private static final int SCAN_BLOCK = 256;

  private final ProductQuantizer pq;
  /** nlist x m x ksub: |r|^2 + 2 <c, r> per sub-code (L2 only), or null. */
  private volatile float[] precomputed;
  private volatile int usePrecomputedTable = PRECOMPUTED_AUTO;

  public IvfPqIndex(int d, int nlist, int m, int nbits, Metric metric) {
    this(d, nlist, new ProductQuantizer(d, m, nbits), metric);
  }

  private IvfPqIndex(int d, int nlist, ProductQuantizer pq, Metric metric) {
    super(d, nlist, metric, pq.codeSize());
    this.pq = pq;
  }

  /** Restores a trained index from storage (index files). */
  public static IvfPqIndex fromStorage(int d, Metric metric, int nlist, int nprobe, float[] centroids, ProductQuantizer pq,
                                       long[][] listIds, byte[][] listCodes) {
    IvfPqIndex index = new IvfPqIndex(d, nlist, pq, metric);
    index.restore(centroids, nprobe, listIds, listCodes);
    index.precomputeTables();
    return index;
  }

  /**
   * FAISS's {@code use_precomputed_table} for L2 searches: {@link #PRECOMPUTED_OFF} (-1),
   * {@link #PRECOMPUTED_AUTO} (0, the default) or {@link #PRECOMPUTED_ON} (1). Results are the
   * same up to float rounding either way; the table is built (or dropped) here.
   *
   * @throws IllegalArgumentException for another value
   */
  public void setUsePrecomputedTable(int mode) {
    if (mode < PRECOMPUTED_OFF || mode > PRECOMPUTED_ON) {
      throw new IllegalArgumentException("use_precomputed_table must be -1 (off), 0 (auto: tables up to "
          + (AUTO_PRECOMPUTED_MAX_BYTES >> 20) + " MiB) or 1 (on), got " + mode);
    }
    this.usePrecomputedTable = mode;
    precomputeTables();
  }

  /** The {@code use_precomputed_table} mode: -1, 0 or 1. */
  public int usePrecomputedTable() {
    return usePrecomputedTable;
  }

  /** Bytes of the per-list table of this index's shape: {@code nlist * m * ksub} floats. */
  public long precomputedTableBytes() {
    return (long) nlist * pq.m() * pq.ksub() * Float.BYTES;
  }

  /** True when L2 searches use precomputed tables. */
  public boolean usesPrecomputedTable() {
    return precomputed != null;
  }

  /** The product quantizer of the residuals. */
  public ProductQuantizer pq() {
    return pq;
  }

  @Override
  public String factoryString() {
    return "IVF" + nlist + ",PQ" + pq.m() + (pq.nbits() == 8 ? "" : "x" + pq.nbits());
  }

  @Override
  protected IvfCodesIndex newSharingCodec() {
    IvfPqIndex copy = new IvfPqIndex(d, nlist, pq, metric);
    copy.usePrecomputedTable = usePrecomputedTable;
    copy.precomputed = precomputed;
    return copy;
  }

  @Override
  protected boolean codecTrained() {
    return pq.isTrained();
  }

  @Override
  protected void trainCodec(float[] residuals) {
    pq.train(residuals);
    precomputeTables();
  }

  /** FAISS's precompute_table: term2[list][j][c] = |C_jc|^2 + 2 <centroid_list,j , C_jc>. */
  private void precomputeTables() {
    int mode = usePrecomputedTable;
    long max = mode == PRECOMPUTED_ON ? MAX_PRECOMPUTED_BYTES : mode == PRECOMPUTED_AUTO ? AUTO_PRECOMPUTED_MAX_BYTES : -1;
    if (!pq.isTrained() || !coarse.isTrained() || metric.higherIsCloser() || precomputedTableBytes() > max) {
      precomputed = null;
      return;
    }
    int m = pq.m();
    int ksub = pq.ksub();
    float[] normsC = pq.centroidNorms();
    float[] centroids = coarse.centroids();
    float[] table = new float[nlist * m * ksub];
    float[] ipTable = new float[m * ksub];
    for (int l = 0; l < nlist; l++) {
      pq.computeInnerProductTable(centroids, l * d, ipTable);
      int o = l * m * ksub;
      for (int i = 0; i < m * ksub; i++) {
        table[o + i] = normsC[i] + 2 * ipTable[i];
      }
    }
    precomputed = table;
  }

  @Override
  protected long codecMemoryBytes() {
    float[] pre = precomputed;
    return pq.memoryBytes() + (pre == null ? 0 : 4L * pre.length);
  }

  @Override
  protected byte[] encode(float[] residuals) {
    return pq.encode(residuals);
  }

  @Override
  protected void decode(byte[] codes, int codeOff, float[] out, int outOff) {
    pq.decode(codes, codeOff, out, outOff);
  }

  @Override
  protected boolean sameCodec(IvfCodesIndex other) {
    ProductQuantizer o = ((IvfPqIndex) other).pq;
    return o.m() == pq.m() && o.nbits() == pq.nbits() && Arrays.equals(o.centroids(), pq.centroids());
  }

  @Override
  protected IvfLists.Codec listsCodec() {
    float[] codebooks = pq.centroids();
    return codebooks == null ? new IvfLists.Other("untrained PQ") : new IvfLists.Pq(pq.m(), pq.nbits(), codebooks);
  }

  @Override
  protected ListScan newScan(float[] q, int qOff) {
    int tableSize = pq.m() * pq.ksub();
    float[] table = new float[tableSize];
    float[] buf = new float[SCAN_BLOCK];
    boolean ip = metric.higherIsCloser();
    float[] pre = precomputed;
    float[] queryTable;
    float[] residual;
    if (ip) {
      queryTable = new float[tableSize];
      pq.computeInnerProductTable(q, qOff, queryTable);
      residual = null;
    } else if (pre != null) {
      // -2 <q, r>: the query's share of the decomposition
      queryTable = new float[tableSize];
      pq.computeInnerProductTable(q, qOff, queryTable);
      for (int i = 0; i < tableSize; i++) {
        queryTable[i] *= -2f;
      }
      residual = null;
    } else {
      queryTable = null;
      residual = new float[2 * d];
    }
    return new ListScan() {
      /** The lookup table of one list; returns the constant term of every distance. */
      private float prepareTable(int list, float coarseValue) {
        if (ip) {
          System.arraycopy(queryTable, 0, table, 0, tableSize);
          return coarseValue;
        }
        if (pre != null) {
          int o = list * tableSize;
          for (int i = 0; i < tableSize; i++) {
            table[i] = pre[o + i] + queryTable[i];
          }
          return coarseValue;
        }
        // |q - c|^2 comes from the coarse search; the table adds |C_jc|^2 - 2 <r_j, C_jc>
        coarse.residual(q, qOff, list, residual, d);
        pq.computeDistanceTableLessNorm(residual, d, table, residual);
        return coarseValue;
      }

      @Override
      public void scan(int list, float coarseValue, TopKHeap heap) {
        int size = lists.size(list);
        if (size == 0) {
          return;
        }
        float dis0 = prepareTable(list, coarseValue);
        byte[] codes = lists.codes(list);
        long[] ids = lists.ids(list);
        int codeSize = lists.codeSize();
        for (int b = 0; b < size; b += SCAN_BLOCK) {
          int n = Math.min(SCAN_BLOCK, size - b);
          pq.adcScan(table, codes, b * codeSize, n, buf, 0);
          // keys in place, then only the entries at most the heap's threshold are visited (a SIMD filter)
          if (ip) {
            for (int j = 0; j < n; j++) {
              buf[j] = -(dis0 + buf[j]);
            }
          } else if (dis0 != 0f) {
            for (int j = 0; j < n; j++) {
              buf[j] = dis0 + buf[j];
            }
          }
          float threshold = heap.threshold();
          for (int j = VectorUtil.nextAtMost(buf, 0, n, threshold); j < n;
               j = VectorUtil.nextAtMost(buf, j + 1, n, threshold)) {
            if (heap.offer(buf[j], ids[b + j])) {
              threshold = heap.threshold();
            }
          }
        }
      }

      @Override
      public void range(int list, float coarseValue, float keyBound, RangeCollector out) {
        int size = lists.size(list);
        if (size == 0) {
          return;
        }
        float dis0 = prepareTable(list, coarseValue);
        byte[] codes = lists.codes(list);
        long[] ids = lists.ids(list);
        int codeSize = lists.codeSize();
        for (int b = 0; b < size; b += SCAN_BLOCK) {
          int n = Math.min(SCAN_BLOCK, size - b);
          pq.adcScan(table, codes, b * codeSize, n, buf, 0);
          for (int j = 0; j < n; j++) {
            float key = ip ? -(dis0 + buf[j]) : dis0 + buf[j];
            if (key < keyBound) {
              out.add(key, ids[b + j]);
            }
          }
        }
      }
    };
  }
}
