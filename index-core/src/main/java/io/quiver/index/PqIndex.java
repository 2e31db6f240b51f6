package io.quiver.index;

import io.quiver.index.quantize.ProductQuantizer;
import io.quiver.index.topk.RangeCollector;
import io.quiver.index.topk.TopKHeap;
import io.quiver.index.util.Checks;
import io.quiver.index.util.Locks;
import io.quiver.index.util.Parallel;
import io.quiver.index.util.RowLookup;
import io.quiver.index.vector.VectorUtil;
import java.util.Arrays;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Exhaustive search over product-quantized codes: FAISS's {@code IndexPQ} with an id map.
 * Factory string {@code PQ<m>} ({@code nbits = 8}) or {@code PQ<m>x<nbits>}.
 *
 * <p>Every vector is stored as one {@link ProductQuantizer} code of {@code codeSize} bytes (16
 * bytes for {@code PQ16} instead of 512 for 128 floats). A search computes, per query, the
 * table of distances between its sub-vectors and every centroid, then sums table entries over
 * all codes (asymmetric distance computation, FAISS's default {@code ST_PQ} search). The
 * reported distances are therefore approximations: the squared L2 distance ({@link Metric#L2})
 * or inner product ({@link Metric#INNER_PRODUCT}, {@link Metric#COSINE}) between the query and the
 * <em>decoded</em> vector. For cosine, vectors and queries are L2-normalized copies, so the value
 * is the cosine similarity with the decoded normalized vector.
 *
 * <p>Training: the product quantizer is trained by k-means in each sub-space on squared L2 for
 * every metric, as FAISS does; configure it first through {@link #pq()} (seed, iterations,
 * points per centroid). Training needs at least {@code ksub = 2^nbits} vectors.
 *
 * <p>Search runs queries in parallel on {@link SearchParams#threads()} threads (all cores by
 * default); a batch of fewer queries than threads also splits the codes across threads. Results
 * are best first, ties broken by the smaller id, padded with id -1 and {@link Metric#worstValue()}.
 * Range search returns ADC values strictly below the radius (L2) or strictly above it (inner
 * product, cosine). {@link #reconstruct} decodes the stored code (the original vector is not
 * kept), through a direct map (id to row) built on the first call for non-sequential ids.
 *
 * <p>Codes live in one contiguous array, so one index holds at most
 * {@code (2^31 - 9) / codeSize} vectors.
 *
 * <p>Thread-safe: see {@link VectorIndex}.
 */
public final class PqIndex implements VectorIndex {

  /** Codes scanned per ADC call: the scan buffer (4 KiB) stays in L1 with the table. */
  private static final int SCAN_BLOCK = 1024;
  /** Queries per search task: a task reuses its table, heap and buffer for all of them. */
  private static final int QUERY_BATCH = 16;
  /** A query's codes are split across threads only in parts of at least this many codes. */
  private static final int MIN_CODES_PER_TASK = 32 * 1024;

  private final int d;
  private final Metric metric;
  private final ProductQuantizer pq;
  private final int codeSize;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

  private long[] ids = new long[0];
  private byte[] codes = new byte[0];
  private int ntotal;
  /** Bumped by every training, so that an add encoded with an older codebook is encoded again. */
  private volatile long trainGeneration;
  /** True while ids[i] == i for every row, so that row numbers are the ids. */
  private boolean sequentialIds = true;
  private final RowLookup rowLookup = new RowLookup();

  /**
   * An untrained index.
   *
   * @param d vector dimension, a multiple of {@code m}
   * @param m sub-quantizers per vector (FAISS's {@code M})
   * @param nbits bits per sub-code, 4 to 8
   * @param metric L2, INNER_PRODUCT or COSINE
   * @throws IllegalArgumentException when d is not a multiple of m, nbits is outside [4, 8], or the metric is null
   */
  public PqIndex(int d, int m, int nbits, Metric metric) {
    this(d, metric, new ProductQuantizer(d, m, nbits));
  }

  private PqIndex(int d, Metric metric, ProductQuantizer pq) {
    if (metric == null) {
      throw new IllegalArgumentException("metric is null; valid: L2, INNER_PRODUCT, COSINE");
    }
    this.d = d;
    this.metric = metric;
    this.pq = pq;
    this.codeSize = pq.codeSize();
  }

  /**
   * Restores an index from stored state (used by index files): a trained quantizer of dimension
   * {@code d}, and {@code ids.length} codes of {@code pq.codeSize()} bytes each, in the same
   * order (computed from normalized vectors for cosine). The arrays and the quantizer are taken,
   * not copied.
   */
  public static PqIndex fromStorage(int d, Metric metric, ProductQuantizer pq, long[] ids, byte[] codes) {
    if (pq == null) {
      throw new IllegalArgumentException("pq is null");
    }
    if (pq.d() != d) {
      throw new IllegalArgumentException("pq.d() " + pq.d() + " != d " + d);
    }
    if (!pq.isTrained()) {
      throw new IllegalArgumentException("pq is not trained; a stored PQ index needs its codebook");
    }
    if (ids == null || codes == null) {
      throw new IllegalArgumentException(ids == null ? "ids is null" : "codes is null");
    }
    if (codes.length != (long) ids.length * pq.codeSize()) {
      throw new IllegalArgumentException("codes.length " + codes.length + " != ids.length " + ids.length
          + " * codeSize " + pq.codeSize());
    }
    PqIndex index = new PqIndex(d, metric, pq);
    index.ids = ids;
    index.codes = codes;
    index.ntotal = ids.length;
    index.sequentialIds = RowLookup.isSequential(ids, 0, ids.length, 0);
    return index;
  }

  @Override
  public int d() {
    return d;
  }

  @Override
  public Metric metric() {
    return metric;
  }

  /** The product quantizer: configure it before {@link #train}; treat it as read-only afterwards. */
  public ProductQuantizer pq() {
    return pq;
  }

  /** Sub-quantizers per vector. */
  public int m() {
    return pq.m();
  }

  /** Bits per sub-code. */
  public int nbits() {
    return pq.nbits();
  }

  /** Bytes per stored vector. */
  public int codeSize() {
    return codeSize;
  }

  @Override
  public long ntotal() {
    lock.readLock().lock();
    try {
      return ntotal;
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public boolean isTrained() {
    return pq.isTrained();
  }

  /** {@code PQ<m>} for 8-bit codes, else {@code PQ<m>x<nbits>}, as FAISS's index factory. */
  @Override
  public String factoryString() {
    return "PQ" + pq.m() + (pq.nbits() == 8 ? "" : "x" + pq.nbits());
  }

  /**
   * Trains the product quantizer on {@code vectors} (at least {@code ksub = 2^nbits} of them).
   *
   * @throws IllegalArgumentException for bad vectors or fewer than ksub of them
   * @throws IllegalStateException when the index already holds vectors
   */
  @Override
  public void train(float[] vectors) {
    float[] x = prepare("training vectors", vectors);
    int n = x.length / d;
    if (n < pq.ksub()) {
      throw new IllegalArgumentException("training needs at least ksub=" + pq.ksub() + " (2^nbits, nbits=" + pq.nbits()
          + ") vectors, got " + n);
    }
    lock.writeLock().lock();
    try {
      if (ntotal > 0) {
        throw new IllegalStateException("cannot retrain an index that holds " + ntotal + " vectors; build a new index");
      }
      // under the write lock: no search or add sees a half-trained codebook
      pq.train(x);
      trainGeneration++;
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  public void add(float[] vectors) {
    addInternal(vectors, null);
  }

  @Override
  public void addWithIds(float[] vectors, long[] ids) {
    if (ids == null) {
      throw new IllegalArgumentException("ids is null"); // addInternal reads null as "number from ntotal"
    }
    addInternal(vectors, ids);
  }

  /** Encodes without the lock, then appends under it; ids from ntotal on when {@code givenIds} is null. */
  private void addInternal(float[] vectors, long[] givenIds) {
    requireTrained();
    float[] x = prepare("vectors", vectors);
    int n = x.length / d;
    long[] newIds = null;
    if (givenIds != null) {
      Checks.ids(givenIds, n);
      newIds = givenIds.clone();
    }
    long generation = trainGeneration;
    byte[] newCodes = pq.encode(x);
    lock.writeLock().lock();
    try {
      if (generation != trainGeneration) {
        newCodes = pq.encode(x); // retrained while encoding (only possible while empty)
      }
      ensureCapacity(n);
      if (newIds == null) {
        newIds = new long[n];
        for (int i = 0; i < n; i++) {
          newIds[i] = (long) ntotal + i;
        }
      }
      System.arraycopy(newCodes, 0, codes, ntotal * codeSize, n * codeSize);
      System.arraycopy(newIds, 0, ids, ntotal, n);
      sequentialIds = sequentialIds && RowLookup.isSequential(newIds, 0, n, ntotal);
      ntotal += n;
      rowLookup.invalidate();
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Grows the arrays for n more vectors; throws before changing anything when they cannot hold them. */
  private void ensureCapacity(int n) {
    long total = (long) ntotal + n;
    long maxVectors = (Integer.MAX_VALUE - 8) / codeSize;
    if (total > maxVectors) {
      throw new IllegalArgumentException("adding " + n + " vectors would hold " + total + " codes of " + codeSize
          + " bytes, more than one PQ index can (" + maxVectors + "); split the data across indexes or shards");
    }
    if (ids.length < total) {
      int cap = (int) Math.min(maxVectors, Math.max(total, (long) ntotal * 3 / 2 + 16));
      ids = Arrays.copyOf(ids, cap);
      codes = Arrays.copyOf(codes, cap * codeSize);
    }
  }


  private void requireTrained() {
    if (!pq.isTrained()) {
      throw new IllegalStateException("the index is not trained: call train() before add() or search()");
    }
  }

  /** Checks the vectors and returns them, or a normalized copy for cosine. */
  private float[] prepare(String name, float[] vectors) {
    return Checks.prepareVectors(name, vectors, d, metric.normalizes());
  }

  /**
   * The ADC table of query {@code qi} with "smaller is better" sums: distances for L2, negated
   * inner products otherwise (negation is exact, so the sum is exactly minus the inner-product sum).
   */
  private void keyTable(float[] q, int qi, float[] table) {
    if (metric.higherIsCloser()) {
      pq.computeInnerProductTable(q, qi * d, table);
      for (int i = 0; i < table.length; i++) {
        table[i] = -table[i];
      }
    } else {
      pq.computeDistanceTable(q, qi * d, table);
    }
  }

  /** Offers the codes of rows {@code [from, to)} to the heap. */
  private void scanTopK(float[] table, int from, int to, TopKHeap heap, float[] buf) {
    for (int b = from; b < to; b += SCAN_BLOCK) {
      int n = Math.min(SCAN_BLOCK, to - b);
      pq.adcScan(table, codes, b * codeSize, n, buf, 0);
      float threshold = heap.threshold();
      for (int j = VectorUtil.nextAtMost(buf, 0, n, threshold); j < n; j = VectorUtil.nextAtMost(buf, j + 1, n, threshold)) {
        if (heap.offer(buf[j], ids[b + j])) {
          threshold = heap.threshold();
        }
      }
    }
  }

  @Override
  public SearchResult search(float[] queries, int k, SearchParams params) {
    requireTrained();
    float[] q = prepare("queries", queries);
    Checks.k(k);
    int nq = q.length / d;
    boolean ip = metric.higherIsCloser();
    IdSelector[] selectors = params.selectors(nq);
    long[] outIds = new long[nq * k];
    float[] outDist = new float[nq * k];
    int tableSize = pq.m() * pq.ksub();
    lock.readLock().lock();
    try {
      int nt = Parallel.resolveThreads(params.threads());
      int parts = nq >= nt ? 1 : Math.max(1, Math.min(nt / Math.max(1, nq), ntotal / MIN_CODES_PER_TASK));
      if (parts == 1) {
        // queries in small batches, so that one table, heap and buffer serve a whole batch
        int batches = (nq + QUERY_BATCH - 1) / QUERY_BATCH;
        Parallel.forEach(params.threads(), batches, batch -> {
          float[] table = new float[tableSize];
          TopKHeap shared = selectors == null ? new TopKHeap(k) : null;
          float[] buf = new float[SCAN_BLOCK];
          for (int qi = batch * QUERY_BATCH, end = Math.min(nq, qi + QUERY_BATCH); qi < end; qi++) {
            TopKHeap heap = selectors == null ? shared : new TopKHeap(k, selectors[qi]);
            keyTable(q, qi, table);
            scanTopK(table, 0, ntotal, heap, buf);
            heap.drainSorted(outDist, outIds, null, qi * k, Float.POSITIVE_INFINITY);
          }
        });
      } else {
        // few queries: each query's codes are split into parts, whose heaps are merged
        int partSize = (ntotal + parts - 1) / parts;
        TopKHeap[] heaps = new TopKHeap[nq * parts];
        Parallel.forEach(params.threads(), nq * parts, task -> {
          int qi = task / parts;
          int from = (task % parts) * partSize;
          float[] table = new float[tableSize];
          keyTable(q, qi, table);
          TopKHeap heap = new TopKHeap(k, selectors == null ? null : selectors[qi]);
          scanTopK(table, from, Math.min(ntotal, from + partSize), heap, new float[SCAN_BLOCK]);
          heaps[task] = heap;
        });
        float[] keys = new float[k];
        long[] partIds = new long[k];
        for (int qi = 0; qi < nq; qi++) {
          TopKHeap merged = heaps[qi * parts];
          for (int p = 1; p < parts; p++) {
            TopKHeap h = heaps[qi * parts + p];
            int n = h.size();
            h.drainSorted(keys, partIds, null, 0, Float.POSITIVE_INFINITY);
            for (int j = 0; j < n; j++) {
              merged.offer(keys[j], partIds[j]);
            }
          }
          merged.drainSorted(outDist, outIds, null, qi * k, Float.POSITIVE_INFINITY);
        }
      }
    } finally {
      lock.readLock().unlock();
    }
    if (ip) {
      for (int i = 0; i < outDist.length; i++) {
        outDist[i] = -outDist[i]; // padding keys are +inf: -inf for similarities
      }
    }
    return new SearchResult(nq, k, outIds, outDist);
  }

  @Override
  public RangeSearchResult rangeSearch(float[] queries, float radius, SearchParams params) {
    requireTrained();
    float[] q = prepare("queries", queries);
    Checks.radius(radius);
    int nq = q.length / d;
    boolean ip = metric.higherIsCloser();
    float keyBound = ip ? -radius : radius;
    int tableSize = pq.m() * pq.ksub();
    IdSelector[] selectors = params.selectors(nq);
    RangeCollector[] results = new RangeCollector[nq];
    lock.readLock().lock();
    try {
      Parallel.forEach(params.threads(), nq, qi -> {
        float[] table = new float[tableSize];
        keyTable(q, qi, table);
        float[] buf = new float[SCAN_BLOCK];
        RangeCollector c = new RangeCollector(selectors == null ? null : selectors[qi]);
        for (int b = 0; b < ntotal; b += SCAN_BLOCK) {
          int n = Math.min(SCAN_BLOCK, ntotal - b);
          pq.adcScan(table, codes, b * codeSize, n, buf, 0);
          for (int j = 0; j < n; j++) {
            if (buf[j] < keyBound) {
              c.add(buf[j], ids[b + j]);
            }
          }
        }
        c.sort();
        results[qi] = c;
      });
    } finally {
      lock.readLock().unlock();
    }
    return RangeCollector.toResult(results, ip);
  }

  /** The decoded code of this id ({@code d} floats): an approximation of the added (normalized, for cosine) vector. */
  @Override
  public float[] reconstruct(long id) {
    requireTrained();
    lock.readLock().lock();
    try {
      int row = rowOf(id);
      if (row < 0) {
        throw new IllegalArgumentException("id " + id + " is not in the index (ntotal=" + ntotal + ")");
      }
      float[] out = new float[d];
      pq.decode(codes, row * codeSize, out, 0);
      return out;
    } finally {
      lock.readLock().unlock();
    }
  }

  private int rowOf(long id) {
    return rowLookup.rowOf(id, ids, ntotal, sequentialIds);
  }

  @Override
  public void mergeFrom(VectorIndex other) {
    if (other == this) {
      throw new IllegalArgumentException("cannot merge an index into itself");
    }
    if (other == null || other.getClass() != getClass() || other.d() != d || other.metric() != metric) {
      throw new IllegalArgumentException("cannot merge " + (other == null ? "null" : other.factoryString() + " d=" + other.d()
          + " " + other.metric()) + " into " + factoryString() + " d=" + d + " " + metric + ": kind, d and metric must match");
    }
    PqIndex o = (PqIndex) other;
    if (!isTrained() || !o.isTrained()) {
      throw new IllegalStateException("both indexes must be trained before merging");
    }
    Locks.withBothWriteLocks(this, lock, o, o.lock, () -> {
      if (!(pq.m() == o.pq.m() && pq.nbits() == o.pq.nbits() && Arrays.equals(pq.centroids(), o.pq.centroids()))) {
        throw new IllegalArgumentException("cannot merge indexes trained separately (their product quantizers differ); "
            + "train once and add to copies of the trained index");
      }
      int n = o.ntotal;
      ensureCapacity(n);
      System.arraycopy(o.codes, 0, codes, ntotal * codeSize, n * codeSize);
      System.arraycopy(o.ids, 0, ids, ntotal, n);
      sequentialIds = sequentialIds && RowLookup.isSequential(o.ids, 0, n, ntotal);
      ntotal += n;
      rowLookup.invalidate();
      o.codes = new byte[0];
      o.ids = new long[0];
      o.ntotal = 0;
      o.sequentialIds = true;
      o.rowLookup.invalidate();
    });
  }

  @Override
  public long memoryBytes() {
    lock.readLock().lock();
    try {
      return (long) codes.length + 8L * ids.length + pq.memoryBytes();
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public long removeIds(IdSelector selector) {
    if (selector == null) {
      throw new IllegalArgumentException("selector is null");
    }
    lock.writeLock().lock();
    try {
      int w = 0;
      for (int r = 0; r < ntotal; r++) {
        if (selector.isMember(ids[r])) {
          continue;
        }
        if (w != r) {
          System.arraycopy(codes, r * codeSize, codes, w * codeSize, codeSize);
          ids[w] = ids[r];
        }
        w++;
      }
      int removed = ntotal - w;
      if (removed > 0) {
        ntotal = w;
        sequentialIds = RowLookup.isSequential(ids, 0, ntotal, 0);
        rowLookup.invalidate();
      }
      return removed;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** A copy of the ids, in storage order. */
  public long[] ids() {
    lock.readLock().lock();
    try {
      return Arrays.copyOf(ids, ntotal);
    } finally {
      lock.readLock().unlock();
    }
  }

  /** A copy of the codes, in storage order: {@code ntotal * codeSize} bytes, code of row i at {@code i * codeSize}. */
  public byte[] codes() {
    lock.readLock().lock();
    try {
      return Arrays.copyOf(codes, ntotal * codeSize);
    } finally {
      lock.readLock().unlock();
    }
  }
}
