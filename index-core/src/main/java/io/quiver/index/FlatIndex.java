package io.quiver.index;

import io.quiver.index.ivf.ListScanner;
import io.quiver.index.spi.ComputeBackends;
import io.quiver.index.topk.RangeCollector;
import io.quiver.index.util.Checks;
import io.quiver.index.util.Locks;
import io.quiver.index.util.Parallel;
import io.quiver.index.util.RowLookup;
import io.quiver.index.vector.ExhaustiveSearch;
import io.quiver.index.vector.VectorUtil;
import java.util.Arrays;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Exact search over raw vectors (FAISS's {@code IndexFlat} with an id map). Needs no training.
 *
 * <p>Batches of 20 or more queries go through the register-blocked kernel
 * ({@link ExhaustiveSearch}), with the winners re-measured exactly; smaller batches scan with
 * the one-to-many kernel, split across threads. Vectors live in one contiguous array, so one
 * index holds at most {@code (2^31 - 1) / d} vectors.
 *
 * <p>Thread-safe: see {@link VectorIndex}.
 */
public final class FlatIndex implements VectorIndex {

  private final int d;
  private final Metric metric;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

  private float[] data = new float[0];
  private float[] norms = new float[0];
  private long[] ids = new long[0];
  private int ntotal;
  /** True while ids[i] == i for every row, so that row numbers are the ids. */
  private boolean sequentialIds = true;
  private final RowLookup rowLookup = new RowLookup();

  public FlatIndex(int d, Metric metric) {
    Checks.atLeast("d", d, 1);
    if (metric == null) {
      throw new IllegalArgumentException("metric is null; valid: L2, INNER_PRODUCT, COSINE");
    }
    this.d = d;
    this.metric = metric;
  }

  /**
   * Restores an index from stored rows (used by index files): {@code vectors} holds
   * {@code ids.length * d} floats, already normalized for cosine. The arrays are taken, not copied.
   */
  public static FlatIndex fromStorage(int d, Metric metric, float[] vectors, long[] ids) {
    FlatIndex index = new FlatIndex(d, metric);
    if (vectors.length != (long) ids.length * d) {
      throw new IllegalArgumentException("vectors.length " + vectors.length + " != ids.length " + ids.length + " * d " + d);
    }
    index.data = vectors;
    index.ids = ids;
    index.ntotal = ids.length;
    index.norms = metric == Metric.L2 ? VectorUtil.squareNorms(vectors, ids.length, d) : new float[0];
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
    return true;
  }

  @Override
  public String factoryString() {
    return "Flat";
  }

  /** Flat indexes need no training; the vectors are only checked. */
  @Override
  public void train(float[] vectors) {
    Checks.vectors("vectors", vectors, d);
  }

  @Override
  public void add(float[] vectors) {
    float[] x = prepare("vectors", vectors);
    lock.writeLock().lock();
    try {
      int n = x.length / d;
      long[] newIds = new long[n];
      for (int i = 0; i < n; i++) {
        newIds[i] = (long) ntotal + i;
      }
      append(x, newIds, n);
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  public void addWithIds(float[] vectors, long[] newIds) {
    float[] x = prepare("vectors", vectors);
    Checks.ids(newIds, x.length / d);
    lock.writeLock().lock();
    try {
      append(x, newIds.clone(), x.length / d);
    } finally {
      lock.writeLock().unlock();
    }
  }

  private void append(float[] x, long[] newIds, int n) {
    long total = (long) ntotal + n;
    if (total * d > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("adding " + n + " vectors would hold " + total + " vectors of d=" + d
          + ", more than one Flat index can (" + ((Integer.MAX_VALUE - 8) / d) + "); split the data across indexes or shards");
    }
    if ((long) data.length < total * d) {
      int cap = (int) Math.min((Integer.MAX_VALUE - 8) / d, Math.max(total, (long) ntotal * 3 / 2 + 16));
      data = Arrays.copyOf(data, cap * d);
      ids = Arrays.copyOf(ids, cap);
      if (metric == Metric.L2) {
        norms = Arrays.copyOf(norms, cap);
      }
    }
    System.arraycopy(x, 0, data, ntotal * d, n * d);
    System.arraycopy(newIds, 0, ids, ntotal, n);
    if (metric == Metric.L2) {
      for (int i = 0; i < n; i++) {
        norms[ntotal + i] = VectorUtil.squareNorm(x, i * d, d);
      }
    }
    sequentialIds = sequentialIds && RowLookup.isSequential(newIds, 0, n, ntotal);
    ntotal = (int) total;
    rowLookup.invalidate();
  }


  /** Checks the vectors and returns them, or a normalized copy for cosine. */
  private float[] prepare(String name, float[] vectors) {
    return Checks.prepareVectors(name, vectors, d, metric.normalizes());
  }

  @Override
  public SearchResult search(float[] queries, int k, SearchParams params) {
    float[] q = prepare("queries", queries);
    Checks.k(k);
    int nq = q.length / d;
    IdSelector[] selectors = params.selectors(nq);
    long[] outIds = new long[nq * k];
    float[] outDist = new float[nq * k];
    lock.readLock().lock();
    try {
      ComputeBackends.current().knn(q, nq, data, ntotal, metric == Metric.L2 ? norms : null,
          sequentialIds ? null : ids, d, metric.higherIsCloser(), k, params.threads(), selectors, outDist, outIds);
    } finally {
      lock.readLock().unlock();
    }
    return new SearchResult(nq, k, outIds, outDist);
  }

  @Override
  public RangeSearchResult rangeSearch(float[] queries, float radius, SearchParams params) {
    float[] q = prepare("queries", queries);
    Checks.radius(radius);
    int nq = q.length / d;
    boolean ip = metric.higherIsCloser();
    float keyBound = ip ? -radius : radius;
    IdSelector[] selectors = params.selectors(nq);
    RangeCollector[] results = new RangeCollector[nq];
    lock.readLock().lock();
    try {
      Parallel.forEach(params.threads(), nq, qi -> {
        RangeCollector c = new RangeCollector(selectors == null ? null : selectors[qi]);
        ListScanner.range(q, qi * d, data, ids, ntotal, d, ip, keyBound, c, new float[1024]);
        c.sort();
        results[qi] = c;
      });
    } finally {
      lock.readLock().unlock();
    }
    return RangeCollector.toResult(results, ip);
  }

  @Override
  public float[] reconstruct(long id) {
    lock.readLock().lock();
    try {
      int row = rowOf(id);
      if (row < 0) {
        throw new IllegalArgumentException("id " + id + " is not in the index (ntotal=" + ntotal + ")");
      }
      return Arrays.copyOfRange(data, row * d, row * d + d);
    } finally {
      lock.readLock().unlock();
    }
  }

  private int rowOf(long id) {
    return rowLookup.rowOf(id, ids, ntotal, sequentialIds);
  }

  /**
   * Exact keys of stored vectors by id, for re-ranking (smaller is better: squared L2, or the
   * negated inner product): {@code out[j] = key(q, ids[from + j])}, +inf for id -1 or an id not
   * stored. {@code q} must already be normalized for cosine. Thread-safe.
   */
  void exactKeys(float[] q, int qOff, long[] candidates, int from, int n, float[] out) {
    boolean ip = metric.higherIsCloser();
    lock.readLock().lock();
    try {
      for (int j = 0; j < n; j++) {
        long id = candidates[from + j];
        int row = id < 0 ? -1 : rowOf(id);
        if (row < 0) {
          out[j] = Float.POSITIVE_INFINITY;
        } else if (ip) {
          out[j] = -VectorUtil.dotProduct(q, qOff, data, row * d, d);
        } else {
          out[j] = VectorUtil.squareDistance(q, qOff, data, row * d, d);
        }
      }
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public long removeIds(IdSelector selector) {
    lock.writeLock().lock();
    try {
      int w = 0;
      for (int r = 0; r < ntotal; r++) {
        if (selector.isMember(ids[r])) {
          continue;
        }
        if (w != r) {
          System.arraycopy(data, r * d, data, w * d, d);
          ids[w] = ids[r];
          if (metric == Metric.L2) {
            norms[w] = norms[r];
          }
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

  @Override
  public long memoryBytes() {
    lock.readLock().lock();
    try {
      return 4L * data.length + 8L * ids.length + 4L * norms.length;
    } finally {
      lock.readLock().unlock();
    }
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
    FlatIndex o = (FlatIndex) other;
    Locks.withBothWriteLocks(this, lock, o, o.lock, () -> {
      float[] rows = Arrays.copyOf(o.data, o.ntotal * d);
      append(rows, Arrays.copyOf(o.ids, o.ntotal), o.ntotal); // throws before changing anything when too large
      o.data = new float[0];
      o.norms = new float[0];
      o.ids = new long[0];
      o.ntotal = 0;
      o.sequentialIds = true;
      o.rowLookup.invalidate();
    });
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

  /** A copy of {@code count} stored rows from row {@code from} ({@code count * d} floats). */
  public float[] copyRows(int from, int count) {
    lock.readLock().lock();
    try {
      if (from < 0 || count < 0 || from + count > ntotal) {
        throw new IndexOutOfBoundsException("rows [" + from + ", " + (from + count) + ") outside [0, " + ntotal + ")");
      }
      return Arrays.copyOfRange(data, from * d, (from + count) * d);
    } finally {
      lock.readLock().unlock();
    }
  }
}
