package io.quiver.index;

import io.quiver.index.quantize.ScalarQuantizer;
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
 * Exhaustive search over scalar-quantized codes: FAISS's {@code IndexScalarQuantizer} with an
 * id map. Factory strings {@code SQ8}, {@code SQ4}, {@code SQfp16}; see {@link ScalarQuantizer}
 * for the codes, the training ({@code RS_minmax}: per-dimension min and max of the training set)
 * and the decode error.
 *
 * <p>Each vector is stored as one code of {@link ScalarQuantizer#codeSize()} bytes (d, d/2 or 2d)
 * with its id. A search compares each query with every code through the quantizer's one-to-many
 * kernels, which decode in registers; the reported distance is the squared L2 distance, inner
 * product or cosine similarity between the query and the <em>decoded</em> vector, so it differs
 * from the exact one by the quantization error. For {@link Metric#COSINE} vectors are normalized
 * before training, encoding and search, and the reported value is the inner product of the
 * normalized query with the decoded normalized vector.
 *
 * <p>Training: SQ8 and SQ4 must be trained before {@link #add} and {@link #search} (else
 * {@link IllegalStateException}), and cannot be retrained once they hold vectors. SQfp16 needs
 * no training; its {@link #train} only checks the input.
 *
 * <p>Searches run queries in parallel on {@link SearchParams#threads()} threads (all cores by
 * default), in batches of up to 16 queries that share each block of 1024 codes while it is in
 * cache. Results are best first, ties broken by the smaller id, padded with id -1 and
 * {@link Metric#worstValue()}. {@link #reconstruct} decodes the stored code; it finds ids through
 * a direct map built on the first call after a change (unless the ids are 0..ntotal-1). Codes live
 * in one contiguous array, so one index holds at most {@code (2^31 - 9) / codeSize} vectors.
 *
 * <p>Thread-safe: see {@link VectorIndex}.
 */
public final class SqIndex implements VectorIndex {

  private static final int SCAN_BLOCK = 1024;
  private static final int QUERY_BATCH = 16;
  private static final int MAX_BYTES = Integer.MAX_VALUE - 8;

  private final int d;
  private final Metric metric;
  private final ScalarQuantizer.Type type;
  private final int codeSize;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

  /** The quantizer; {@link #train} replaces it with a newly trained one, never retrains it in place. */
  private volatile ScalarQuantizer sq;
  private byte[] codes = new byte[0];
  private long[] ids = new long[0];
  private int ntotal;
  /** True while ids[i] == i for every row, so that row numbers are the ids. */
  private boolean sequentialIds = true;
  private final RowLookup rowLookup = new RowLookup();

  /**
   * An empty index.
   *
   * @param d vector dimension, >= 1
   * @param type SQ8, SQ4 or SQFP16
   * @param metric L2, INNER_PRODUCT or COSINE
   */
  public SqIndex(int d, ScalarQuantizer.Type type, Metric metric) {
    Checks.atLeast("d", d, 1);
    if (type == null) {
      throw new IllegalArgumentException("type is null; valid: SQ8, SQ4, SQFP16");
    }
    if (metric == null) {
      throw new IllegalArgumentException("metric is null; valid: L2, INNER_PRODUCT, COSINE");
    }
    this.d = d;
    this.type = type;
    this.metric = metric;
    this.sq = new ScalarQuantizer(d, type);
    this.codeSize = sq.codeSize();
  }

  /**
   * Restores an index from stored state (used by index files): {@code codes} holds
   * {@code ids.length * sq.codeSize()} bytes, code {@code i} belonging to {@code ids[i]}, encoded
   * by {@code sq} (from vectors already normalized for cosine). {@code sq} must be trained unless
   * the index is empty; it is copied. The arrays are taken, not copied.
   */
  public static SqIndex fromStorage(int d, Metric metric, ScalarQuantizer sq, long[] ids, byte[] codes) {
    if (sq == null || ids == null || codes == null) {
      throw new IllegalArgumentException((sq == null ? "sq" : ids == null ? "ids" : "codes") + " is null");
    }
    if (sq.d() != d) {
      throw new IllegalArgumentException("the scalar quantizer has d=" + sq.d() + ", the index d=" + d);
    }
    SqIndex index = new SqIndex(d, sq.type(), metric);
    if (codes.length != (long) ids.length * index.codeSize) {
      throw new IllegalArgumentException("codes.length " + codes.length + " != ids.length " + ids.length
          + " * codeSize " + index.codeSize + " (" + sq.type().factoryName() + ", d=" + d + ")");
    }
    if (!sq.isTrained() && ids.length > 0) {
      throw new IllegalArgumentException("the scalar quantizer is not trained but " + ids.length + " codes were given");
    }
    if (sq.isTrained()) {
      index.sq = copyOf(sq);
    }
    index.codes = codes;
    index.ids = ids;
    index.ntotal = ids.length;
    index.sequentialIds = RowLookup.isSequential(ids, 0, ids.length, 0);
    return index;
  }

  private static ScalarQuantizer copyOf(ScalarQuantizer q) {
    return q.isTrained() ? ScalarQuantizer.fromTrained(q.d(), q.type(), q.vmin(), q.vdiff()) : new ScalarQuantizer(q.d(), q.type());
  }

  @Override
  public int d() {
    return d;
  }

  @Override
  public Metric metric() {
    return metric;
  }

  /** The quantizer type. */
  public ScalarQuantizer.Type type() {
    return type;
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
    return sq.isTrained();
  }

  @Override
  public String factoryString() {
    return type.factoryName();
  }

  /**
   * A copy of the quantizer (trained or not), for index files; changing it does not change the
   * index.
   */
  public ScalarQuantizer sq() {
    return copyOf(sq);
  }

  /** A copy of the ids, in storage order ({@code ntotal} ids). */
  public long[] ids() {
    lock.readLock().lock();
    try {
      return Arrays.copyOf(ids, ntotal);
    } finally {
      lock.readLock().unlock();
    }
  }

  /** A copy of the codes, in storage order ({@code ntotal * codeSize} bytes). */
  public byte[] codes() {
    lock.readLock().lock();
    try {
      return Arrays.copyOf(codes, ntotal * codeSize);
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * Trains the quantizer on {@code vectors} (n*d finite floats, n >= 1): per-dimension ranges
   * for SQ8 and SQ4. For SQfp16 the vectors are only checked.
   *
   * @throws IllegalStateException when an SQ8 or SQ4 index already holds vectors
   */
  @Override
  public void train(float[] vectors) {
    float[] x = prepare("training vectors", vectors);
    if (type == ScalarQuantizer.Type.SQFP16) {
      return;
    }
    if (x.length == 0) {
      throw new IllegalArgumentException("training " + type.factoryName() + " needs at least 1 vector, got 0");
    }
    if (ntotal() > 0) {
      throw new IllegalStateException("cannot retrain an index that holds " + ntotal() + " vectors; build a new index");
    }
    ScalarQuantizer trained = new ScalarQuantizer(d, type);
    trained.train(x);
    lock.writeLock().lock();
    try {
      if (ntotal > 0) {
        throw new IllegalStateException("cannot retrain an index that holds " + ntotal + " vectors; build a new index");
      }
      sq = trained;
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

  /** Adds vectors with the given ids, or ids from ntotal on when {@code givenIds} is null. */
  private void addInternal(float[] vectors, long[] givenIds) {
    ScalarQuantizer q = requireTrained();
    float[] x = prepare("vectors", vectors);
    int n = x.length / d;
    long[] newIds = null;
    if (givenIds != null) {
      Checks.ids(givenIds, n);
      newIds = givenIds.clone();
    }
    byte[] newCodes = q.encode(x); // outside the lock: searches go on meanwhile
    lock.writeLock().lock();
    try {
      if (sq != q) {
        newCodes = sq.encode(x); // retrained while we encoded (possible only while empty)
      }
      if (newIds == null) {
        newIds = new long[n];
        for (int i = 0; i < n; i++) {
          newIds[i] = (long) ntotal + i;
        }
      }
      append(newCodes, newIds, n);
    } finally {
      lock.writeLock().unlock();
    }
  }

  private void append(byte[] newCodes, long[] newIds, int n) {
    long total = (long) ntotal + n;
    if (total * codeSize > MAX_BYTES) {
      throw new IllegalArgumentException("adding " + n + " vectors would hold " + total + " codes of " + codeSize
          + " bytes, more than one " + factoryString() + " index can (" + (MAX_BYTES / codeSize)
          + "); split the data across indexes or shards");
    }
    if ((long) codes.length < total * codeSize) {
      int cap = (int) Math.min(MAX_BYTES / codeSize, Math.max(total, (long) ntotal * 3 / 2 + 16));
      codes = Arrays.copyOf(codes, cap * codeSize);
      ids = Arrays.copyOf(ids, cap);
    }
    System.arraycopy(newCodes, 0, codes, ntotal * codeSize, n * codeSize);
    System.arraycopy(newIds, 0, ids, ntotal, n);
    sequentialIds = sequentialIds && RowLookup.isSequential(newIds, 0, n, ntotal);
    ntotal = (int) total;
    rowLookup.invalidate();
  }


  private ScalarQuantizer requireTrained() {
    ScalarQuantizer q = sq;
    if (!q.isTrained()) {
      throw new IllegalStateException("the " + type.factoryName() + " index is not trained: call train() before add() or search()");
    }
    return q;
  }

  /** Checks the vectors and returns them, or a normalized copy for cosine. */
  private float[] prepare(String name, float[] vectors) {
    return Checks.prepareVectors(name, vectors, d, metric.normalizes());
  }

  /** Keys ("smaller is better": squared L2, or negated inner product) of codes {@code from .. from+n} into {@code buf}. */
  private static void keys(ScalarQuantizer q, float[] query, int qOff, byte[] codes, int codeSize, int from, int n,
                           boolean innerProduct, float[] buf) {
    if (innerProduct) {
      q.dotProductOneToMany(query, qOff, codes, from * codeSize, n, buf, 0);
      for (int j = 0; j < n; j++) {
        buf[j] = -buf[j];
      }
    } else {
      q.squareDistanceOneToMany(query, qOff, codes, from * codeSize, n, buf, 0);
    }
  }

  @Override
  public SearchResult search(float[] queries, int k, SearchParams params) {
    requireTrained();
    float[] qs = prepare("queries", queries);
    Checks.k(k);
    int nq = qs.length / d;
    boolean ip = metric.higherIsCloser();
    IdSelector[] selectors = params.selectors(nq);
    long[] outIds = new long[nq * k];
    float[] outDist = new float[nq * k];
    int threads = Parallel.resolveThreads(params.threads());
    // up to 16 queries share each block of codes; fewer when that leaves threads idle
    int batch = Math.max(1, Math.min(QUERY_BATCH, (nq + threads - 1) / threads));
    lock.readLock().lock();
    try {
      ScalarQuantizer q = sq;
      byte[] c = codes;
      long[] idArr = ids;
      int n = ntotal;
      Parallel.forEach(threads, (nq + batch - 1) / batch, b -> {
        int q0 = b * batch;
        int q1 = Math.min(nq, q0 + batch);
        TopKHeap[] heaps = new TopKHeap[q1 - q0];
        for (int i = 0; i < heaps.length; i++) {
          heaps[i] = new TopKHeap(k, selectors == null ? null : selectors[q0 + i]);
        }
        float[] buf = new float[SCAN_BLOCK];
        for (int from = 0; from < n; from += SCAN_BLOCK) {
          int count = Math.min(SCAN_BLOCK, n - from);
          for (int qi = q0; qi < q1; qi++) {
            keys(q, qs, qi * d, c, codeSize, from, count, ip, buf);
            TopKHeap heap = heaps[qi - q0];
            float threshold = heap.threshold();
            for (int j = VectorUtil.nextAtMost(buf, 0, count, threshold); j < count;
                 j = VectorUtil.nextAtMost(buf, j + 1, count, threshold)) {
              if (heap.offer(buf[j], idArr[from + j])) {
                threshold = heap.threshold();
              }
            }
          }
        }
        for (int qi = q0; qi < q1; qi++) {
          heaps[qi - q0].drainSorted(outDist, outIds, null, qi * k, Float.POSITIVE_INFINITY);
          if (ip) {
            for (int j = qi * k; j < qi * k + k; j++) {
              outDist[j] = -outDist[j];
            }
          }
        }
      });
    } finally {
      lock.readLock().unlock();
    }
    return new SearchResult(nq, k, outIds, outDist);
  }

  /**
   * All stored vectors within {@code radius} of each query, measured on the codes: squared L2
   * strictly below the radius, inner product or cosine strictly above it.
   */
  @Override
  public RangeSearchResult rangeSearch(float[] queries, float radius, SearchParams params) {
    requireTrained();
    float[] qs = prepare("queries", queries);
    Checks.radius(radius);
    int nq = qs.length / d;
    boolean ip = metric.higherIsCloser();
    float keyBound = ip ? -radius : radius;
    IdSelector[] selectors = params.selectors(nq);
    RangeCollector[] results = new RangeCollector[nq];
    lock.readLock().lock();
    try {
      ScalarQuantizer q = sq;
      byte[] c = codes;
      long[] idArr = ids;
      int n = ntotal;
      Parallel.forEach(params.threads(), nq, qi -> {
        RangeCollector out = new RangeCollector(selectors == null ? null : selectors[qi]);
        float[] buf = new float[SCAN_BLOCK];
        for (int from = 0; from < n; from += SCAN_BLOCK) {
          int count = Math.min(SCAN_BLOCK, n - from);
          keys(q, qs, qi * d, c, codeSize, from, count, ip, buf);
          for (int j = 0; j < count; j++) {
            if (buf[j] < keyBound) {
              out.add(buf[j], idArr[from + j]);
            }
          }
        }
        out.sort();
        results[qi] = out;
      });
    } finally {
      lock.readLock().unlock();
    }
    return RangeCollector.toResult(results, ip);
  }

  /**
   * The decoded vector stored with this id (normalized before encoding for cosine indexes); it
   * differs from the added vector by the quantization error.
   */
  @Override
  public float[] reconstruct(long id) {
    lock.readLock().lock();
    try {
      int row = rowOf(id);
      if (row < 0) {
        throw new IllegalArgumentException("id " + id + " is not in the index (ntotal=" + ntotal + ")");
      }
      float[] out = new float[d];
      sq.decode(codes, row * codeSize, out, 0);
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
    SqIndex o = (SqIndex) other;
    if (!isTrained() || !o.isTrained()) {
      throw new IllegalStateException("both indexes must be trained before merging");
    }
    Locks.withBothWriteLocks(this, lock, o, o.lock, () -> {
      if (!(sq.type() == o.sq.type() && Arrays.equals(sq.vmin(), o.sq.vmin()) && Arrays.equals(sq.vdiff(), o.sq.vdiff()))) {
        throw new IllegalArgumentException("cannot merge indexes trained separately (their scalar quantizers differ); "
            + "train once and add to copies of the trained index");
      }
      int n = o.ntotal;
      append(Arrays.copyOf(o.codes, n * codeSize), Arrays.copyOf(o.ids, n), n);
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
      return (long) codes.length + 8L * ids.length + 8L * d;
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
}
