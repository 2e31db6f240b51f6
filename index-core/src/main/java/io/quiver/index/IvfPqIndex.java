package io.quiver.index;

import io.quiver.index.codec.Codec;
import io.quiver.index.ivf.CoarseQuantizer;
import io.quiver.index.codec.PqCodec;
import io.quiver.index.quantize.ProductQuantizer;
import io.quiver.index.scan.Scans;
import io.quiver.index.topk.RangeCollector;
import io.quiver.index.topk.TopKHeap;
import io.quiver.index.vector.VectorUtil;


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
public final class IvfPqIndex extends IvfCodesIndex<byte[]> {

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

  /** nlist x m x ksub: |r|^2 + 2 <c, r> per sub-code (L2 only), or null. */
  private volatile float[] precomputed;
  private volatile int usePrecomputedTable = PRECOMPUTED_AUTO;

  public IvfPqIndex(int d, int nlist, int m, int nbits, Metric metric) {
    this(d, nlist, new PqCodec(new ProductQuantizer(d, m, nbits)), metric, null);
  }

  /** An index over {@code coarse}, an untrained coarse quantizer of this d, nlist and metric ({@code IVF<nlist>_HNSW<M>,PQ<m>}). */
  public IvfPqIndex(int d, int nlist, int m, int nbits, Metric metric, CoarseQuantizer coarse) {
    this(d, nlist, new PqCodec(new ProductQuantizer(d, m, nbits)), metric, coarse);
  }

  private IvfPqIndex(int d, int nlist, Codec<byte[]> codec, Metric metric, CoarseQuantizer coarse) {
    super(d, nlist, metric, codec, true, coarse);
  }

  /** Restores a trained index from storage (index files). */
  public static IvfPqIndex fromStorage(int d, Metric metric, int nlist, int nprobe, float[] centroids, ProductQuantizer pq,
                                       long[][] listIds, byte[][] listCodes) {
    return fromStorage(d, metric, nlist, nprobe, centroids, pq, listIds, listCodes, null);
  }

  /** {@link #fromStorage} over {@code coarse}, an untrained coarse quantizer (null: the flat one) that the centroids train. */
  public static IvfPqIndex fromStorage(int d, Metric metric, int nlist, int nprobe, float[] centroids, ProductQuantizer pq,
                                       long[][] listIds, byte[][] listCodes, CoarseQuantizer coarse) {
    IvfPqIndex index = new IvfPqIndex(d, nlist, new PqCodec(pq), metric, coarse);
    index.restore(centroids, nprobe, listIds, listCodes);
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
    published();
  }

  /** The {@code use_precomputed_table} mode: -1, 0 or 1. */
  public int usePrecomputedTable() {
    return usePrecomputedTable;
  }

  /** Bytes of the per-list table of this index's shape: {@code nlist * m * ksub} floats. */
  public long precomputedTableBytes() {
    ProductQuantizer pq = pq();
    return (long) nlist * pq.m() * pq.ksub() * Float.BYTES;
  }

  /** True when L2 searches use precomputed tables. */
  public boolean usesPrecomputedTable() {
    return precomputed != null;
  }

  /** The product quantizer of the residuals (configure it before training; a training replaces it). */
  public ProductQuantizer pq() {
    return ((PqCodec) codec()).pq();
  }

  @Override
  protected IvfPqIndex newSharing(Codec<byte[]> codec, CoarseQuantizer coarse) {
    IvfPqIndex copy = new IvfPqIndex(d, nlist, codec, metric, coarse);
    copy.usePrecomputedTable = usePrecomputedTable;
    copy.precomputed = precomputed; // same centroids and codebook: the same table
    return copy;
  }

  /** FAISS's precompute_table: term2[list][j][c] = |C_jc|^2 + 2 <centroid_list,j , C_jc>. */
  @Override
  protected void published() {
    ProductQuantizer pq = pq();
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
    return super.codecMemoryBytes() + (pre == null ? 0 : 4L * pre.length);
  }

  /**
   * FAISS's IVFPQ scanner: one lookup table per probed list, from the precomputed per-list
   * table plus the query's {@code -2 <q, r>} share, or computed from the query's residual; for
   * inner product one table per query (negated, so keys are smaller-is-better) and the coarse
   * value as the constant term.
   */
  @Override
  protected ListScan newScan(float[] q, int qOff) {
    ProductQuantizer pq = pq();
    int tableSize = pq.m() * pq.ksub();
    int codeSize = pq.codeSize();
    float[] table = new float[tableSize];
    float[] buf = new float[Scans.BLOCK];
    boolean ip = metric.higherIsCloser();
    float[] pre = precomputed;
    float[] queryTable = null;
    float[] residual = null;
    if (ip) {
      pq.computeInnerProductTable(q, qOff, table);
      Scans.negate(table, 0, tableSize);
    } else if (pre != null) {
      // -2 <q, r>: the query's share of the decomposition
      queryTable = new float[tableSize];
      pq.computeInnerProductTable(q, qOff, queryTable);
      for (int i = 0; i < tableSize; i++) {
        queryTable[i] *= -2f;
      }
    } else {
      residual = new float[2 * d];
    }
    float[] qt = queryTable;
    float[] res = residual;
    Codec.Scorer<byte[]> scorer = new Codec.Scorer<>() {
      @Override
      public void setQuery(float[] query, int off) {
        throw new UnsupportedOperationException("the IVF-PQ scanner sets its table per list");
      }

      @Override
      public void keys(byte[] codes, int from, int n, float[] out, int outOff) {
        pq.adcScan(table, codes, from * codeSize, n, out, outOff);
      }
    };
    return new ListScan() {
      /** The lookup table of one list; returns the constant term of every key. */
      private float prepareTable(int list, float coarseValue) {
        if (ip) {
          return -coarseValue;
        }
        if (pre != null) {
          VectorUtil.add(pre, list * tableSize, qt, 0, table, 0, tableSize);
          return coarseValue;
        }
        // |q - c|^2 comes from the coarse search; the table adds |C_jc|^2 - 2 <r_j, C_jc>
        coarse.residual(q, qOff, list, res, d);
        pq.computeDistanceTableLessNorm(res, d, table, res);
        return coarseValue;
      }

      @Override
      public void scan(int list, float coarseValue, TopKHeap heap) {
        int size = lists.size(list);
        if (size > 0) {
          Scans.topK(scorer, lists.codes(list), lists.ids(list), 0, size, prepareTable(list, coarseValue), heap, buf);
        }
      }

      @Override
      public void range(int list, float coarseValue, float keyBound, RangeCollector out) {
        int size = lists.size(list);
        if (size > 0) {
          Scans.range(scorer, lists.codes(list), lists.ids(list), 0, size, prepareTable(list, coarseValue), keyBound, out,
              buf);
        }
      }
    };
  }
}
