package io.quiver.index;

import io.quiver.index.codec.Codec;
import io.quiver.index.scan.Scans;
import io.quiver.index.store.InvertedLists;
import io.quiver.index.topk.RangeCollector;
import io.quiver.index.topk.TopKHeap;
import io.quiver.index.util.Checks;
import io.quiver.index.util.Locks;
import io.quiver.index.util.Parallel;
import io.quiver.index.util.RowLookup;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The flat-codes index, FAISS's {@code IndexFlatCodes} with an id map: every vector is stored as
 * one {@link Codec} code with its id, in one contiguous run, and a search scores every code.
 * {@link FlatIndex}, {@link PqIndex} and {@link SqIndex} are this class over the float, PQ and SQ
 * codecs.
 *
 * <p>Searches run queries in parallel on {@link SearchParams#threads()} threads (all cores by
 * default): batches of queries share each block of codes while it is in cache; a batch of fewer
 * queries than threads also splits the codes across threads and merges the parts' heaps.
 * Results are best first, ties broken by the smaller id, padded with id -1 and
 * {@link Metric#worstValue()}. Range search returns values strictly below the radius (L2) or
 * strictly above it (inner product, cosine). {@link #reconstruct} decodes the stored code,
 * finding ids through a direct map built on the first call after a change (unless the ids are
 * {@code 0 .. ntotal-1}).
 *
 * <p>Training runs on a fresh codec outside the lock, published when it succeeds; a codec that
 * holds vectors cannot be retrained. Codes live in one array, so one index holds at most
 * {@code (2^31 - 9) / codeSize} vectors.
 *
 * <p>Thread-safe: see {@link VectorIndex}.
 *
 * @param <A> the code array type of the codec
 */
public abstract class FlatCodesIndex<A> implements VectorIndex {

  /** A query's codes are split across threads only in parts of at least this many codes. */
  private static final int MIN_CODES_PER_TASK = 32 * 1024;

  protected final int d;
  protected final Metric metric;
  /** One list: the rows in storage order. */
  protected final InvertedLists<A> store;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

  private volatile Codec<A> codec;
  /** True while ids[i] == i for every row, so that row numbers are the ids. */
  private boolean sequentialIds = true;
  private final RowLookup rowLookup = new RowLookup();

  protected FlatCodesIndex(int d, Metric metric, Codec<A> codec) {
    Checks.atLeast("d", d, 1);
    if (metric == null) {
      throw new IllegalArgumentException("metric is null; valid: L2, INNER_PRODUCT, COSINE");
    }
    this.d = d;
    this.metric = metric;
    this.codec = codec;
    this.store = new InvertedLists<>(1, codec.kind(), codec.unitsPerCode());
  }

  /**
   * Restores stored rows (index files): {@code ids.length} codes in {@code codes}, in the same
   * order, taken as they are.
   */
  protected final void restore(long[] ids, A codes) {
    if (ids == null || codes == null) {
      throw new IllegalArgumentException(ids == null ? "ids is null" : "codes is null");
    }
    if (codec.kind().length(codes) != (long) ids.length * codec.unitsPerCode()) {
      throw new IllegalArgumentException("codes.length " + codec.kind().length(codes) + " != ids.length " + ids.length
          + " * codeSize " + codec.unitsPerCode() + " (" + codec.factoryName() + ", d=" + d + ")");
    }
    if (!codec.isTrained() && ids.length > 0) {
      throw new IllegalArgumentException(codec.factoryName() + " is not trained; a stored index with vectors needs its "
          + "trained quantizer");
    }
    store.setList(0, ids, codes);
    sequentialIds = RowLookup.isSequential(ids, 0, ids.length, 0);
  }

  /** Queries that share each block of codes: fewer for codecs whose per-query state is large. */
  protected int queryBatch() {
    return 16;
  }

  /** Called under the write lock after every change of the rows. */
  protected void rowsChanged() {}

  /**
   * Called under the write lock once {@code n} vectors ({@code x}, as checked and normalized for
   * cosine) are stored as rows {@code first .. first + n - 1}, before {@link #rowsChanged}: where
   * an index that links its rows (HNSW) adds them to its graph.
   */
  protected void added(float[] x, int first, int n) {}

  @Override
  public int d() {
    return d;
  }

  @Override
  public Metric metric() {
    return metric;
  }

  /** The codec of the stored vectors (read-only once trained). */
  public Codec<A> codec() {
    return codec;
  }

  /** Bytes per stored code. */
  public int codeSize() {
    return codec.codeSize();
  }

  @Override
  public long ntotal() {
    lock.readLock().lock();
    try {
      return store.size(0);
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public boolean isTrained() {
    return codec.isTrained();
  }

  @Override
  public String factoryString() {
    return codec.factoryName();
  }

  /** Checks the vectors and returns them, or a normalized copy for cosine. */
  protected final float[] prepare(String name, float[] vectors) {
    return Checks.prepareVectors(name, vectors, d, metric.normalizes());
  }

  protected final Codec<A> requireTrained() {
    Codec<A> c = codec;
    if (!c.isTrained()) {
      throw new IllegalStateException("the " + c.factoryName() + " index is not trained: call train() before add() or "
          + "search()");
    }
    return c;
  }

  /**
   * Trains the codec on {@code vectors} (a no-op that only checks them for codecs that need no
   * training).
   *
   * @throws IllegalArgumentException for bad vectors or too few of them
   * @throws IllegalStateException when the index already holds vectors
   */
  @Override
  public void train(float[] vectors) {
    float[] x = prepare("training vectors", vectors);
    Codec<A> current = codec;
    if (!current.needsTraining()) {
      return;
    }
    if (ntotal() > 0) {
      throw new IllegalStateException("cannot retrain an index that holds " + ntotal() + " vectors; build a new index");
    }
    Codec<A> fresh = current.untrainedCopy();
    fresh.train(x); // outside the lock: searches go on meanwhile
    lock.writeLock().lock();
    try {
      if (store.size(0) > 0) {
        throw new IllegalStateException("cannot retrain an index that holds " + store.size(0) + " vectors; build a new index");
      }
      codec = fresh;
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
    Codec<A> c = requireTrained();
    float[] x = prepare("vectors", vectors);
    int n = x.length / d;
    long[] newIds = null;
    if (givenIds != null) {
      Checks.ids(givenIds, n);
      newIds = givenIds.clone();
    }
    A codes = c.encode(x);
    lock.writeLock().lock();
    try {
      if (codec != c) {
        codes = codec.encode(x); // retrained while encoding (only possible while empty)
      }
      int ntotal = store.size(0);
      reserve(n);
      store.append(0, newIds, newIds == null ? ntotal : 0, codes, 0, n);
      sequentialIds = sequentialIds && (newIds == null || RowLookup.isSequential(newIds, 0, n, ntotal));
      added(x, ntotal, n);
      changed();
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Room for {@code n} more rows; throws before changing anything when the index cannot hold them. */
  private void reserve(long n) {
    long total = store.size(0) + n;
    if (total > store.maxEntries()) {
      throw new IllegalArgumentException("adding " + n + " vectors would hold " + total + " codes of " + codec.codeSize()
          + " bytes, more than one " + factoryString() + " index can (" + store.maxEntries()
          + "); split the data across indexes or shards");
    }
    store.reserve(0, n);
  }

  private void changed() {
    rowLookup.invalidate();
    rowsChanged();
  }

  @Override
  public SearchResult search(float[] queries, int k, SearchParams params) {
    Codec<A> c = requireTrained();
    float[] q = prepare("queries", queries);
    Checks.k(k);
    int nq = q.length / d;
    boolean ip = metric.higherIsCloser();
    IdSelector[] selectors = params.selectors(nq);
    long[] outIds = new long[nq * k];
    float[] outDist = new float[nq * k];
    lock.readLock().lock();
    try {
      A codes = store.codes(0);
      long[] ids = store.ids(0);
      int ntotal = store.size(0);
      int nt = Parallel.resolveThreads(params.threads());
      int parts = nq >= nt ? 1 : Math.max(1, Math.min(nt / Math.max(1, nq), ntotal / MIN_CODES_PER_TASK));
      int batch = Math.max(1, Math.min(queryBatch(), (nq + nt - 1) / nt));
      int batches = (nq + batch - 1) / batch;
      int partSize = (ntotal + parts - 1) / parts;
      TopKHeap[] heaps = new TopKHeap[nq * parts];
      Parallel.forEach(params.threads(), batches * parts, task -> {
        int q0 = (task / parts) * batch;
        int q1 = Math.min(nq, q0 + batch);
        int part = task % parts;
        int from = part * partSize;
        int to = Math.min(ntotal, from + partSize);
        Codec.Scorer<A>[] scorers = scorers(c, ip, q, q0, q1);
        float[] buf = new float[Scans.BLOCK];
        for (int qi = q0; qi < q1; qi++) {
          heaps[qi * parts + part] = new TopKHeap(k, selectors == null ? null : selectors[qi]);
        }
        for (int b = from; b < to; b += Scans.BLOCK) {
          int end = Math.min(to, b + Scans.BLOCK);
          for (int qi = q0; qi < q1; qi++) {
            Scans.topK(scorers[qi - q0], codes, ids, b, end, 0f, heaps[qi * parts + part], buf);
          }
        }
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
        Scans.drain(merged, outDist, outIds, qi * k, ip);
      }
    } finally {
      lock.readLock().unlock();
    }
    return new SearchResult(nq, k, outIds, outDist);
  }

  @SuppressWarnings("unchecked")
  private Codec.Scorer<A>[] scorers(Codec<A> c, boolean ip, float[] q, int q0, int q1) {
    Codec.Scorer<A>[] s = new Codec.Scorer[q1 - q0];
    for (int qi = q0; qi < q1; qi++) {
      s[qi - q0] = c.scorer(ip);
      s[qi - q0].setQuery(q, qi * d);
    }
    return s;
  }

  @Override
  public RangeSearchResult rangeSearch(float[] queries, float radius, SearchParams params) {
    Codec<A> c = requireTrained();
    float[] q = prepare("queries", queries);
    Checks.radius(radius);
    int nq = q.length / d;
    boolean ip = metric.higherIsCloser();
    float keyBound = ip ? -radius : radius;
    IdSelector[] selectors = params.selectors(nq);
    RangeCollector[] results = new RangeCollector[nq];
    lock.readLock().lock();
    try {
      A codes = store.codes(0);
      long[] ids = store.ids(0);
      int ntotal = store.size(0);
      Parallel.forEach(params.threads(), nq, qi -> {
        Codec.Scorer<A> scorer = c.scorer(ip);
        scorer.setQuery(q, qi * d);
        RangeCollector out = new RangeCollector(selectors == null ? null : selectors[qi]);
        Scans.range(scorer, codes, ids, 0, ntotal, 0f, keyBound, out, new float[Scans.BLOCK]);
        out.sort();
        results[qi] = out;
      });
    } finally {
      lock.readLock().unlock();
    }
    return RangeCollector.toResult(results, ip);
  }

  /** The stored vector of this id, decoded ({@code d} floats; normalized for cosine). */
  @Override
  public float[] reconstruct(long id) {
    Codec<A> c = requireTrained();
    lock.readLock().lock();
    try {
      int row = rowOf(id);
      if (row < 0) {
        throw new IllegalArgumentException("id " + id + " is not in the index (ntotal=" + store.size(0) + ")");
      }
      float[] out = new float[d];
      c.decode(store.codes(0), row, out, 0);
      return out;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** The row of an id, or -1; call under the lock. */
  protected final int rowOf(long id) {
    return rowLookup.rowOf(id, store.ids(0), store.size(0), sequentialIds);
  }

  /** True while the ids are the row numbers; call under the lock. */
  protected final boolean sequentialIds() {
    return sequentialIds;
  }

  @Override
  public long removeIds(IdSelector selector) {
    if (selector == null) {
      throw new IllegalArgumentException("selector is null; pass an IdSelector that chooses the ids to remove");
    }
    lock.writeLock().lock();
    try {
      long removed = store.remove(selector);
      if (removed > 0) {
        sequentialIds = RowLookup.isSequential(store.ids(0), 0, store.size(0), 0);
        changed();
      }
      return removed;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /**
   * Moves every vector of {@code other} into this index (FAISS's {@code merge_from}), leaving it
   * empty: both of the same kind, d and metric, with the same trained codec.
   */
  @Override
  public void mergeFrom(VectorIndex other) {
    if (other == this) {
      throw new IllegalArgumentException("cannot merge an index into itself");
    }
    if (other == null || other.getClass() != getClass() || other.d() != d || other.metric() != metric) {
      throw new IllegalArgumentException("cannot merge " + (other == null ? "null" : other.factoryString() + " d=" + other.d()
          + " " + other.metric()) + " into " + factoryString() + " d=" + d + " " + metric + ": kind, d and metric must match");
    }
    @SuppressWarnings("unchecked")
    FlatCodesIndex<A> o = (FlatCodesIndex<A>) other;
    if (!isTrained() || !o.isTrained()) {
      throw new IllegalStateException("both indexes must be trained before merging");
    }
    Locks.withBothWriteLocks(this, lock, o, o.lock, () -> {
      if (!codec.sameAs(o.codec)) {
        throw new IllegalArgumentException("cannot merge indexes trained separately (their " + codec.factoryName()
            + " quantizers differ); train once and add to copies of the trained index");
      }
      int ntotal = store.size(0);
      int n = o.store.size(0);
      reserve(n); // throws before changing anything when too large
      sequentialIds = sequentialIds && RowLookup.isSequential(o.store.ids(0), 0, n, ntotal);
      store.moveFrom(o.store);
      o.sequentialIds = true;
      changed();
      o.changed();
    });
  }

  /** Codes and ids (capacity included) and the codec's trained state. */
  @Override
  public long memoryBytes() {
    lock.readLock().lock();
    try {
      return store.memoryBytes() + codec.memoryBytes();
    } finally {
      lock.readLock().unlock();
    }
  }

  /** A copy of the ids, in storage order. */
  public long[] ids() {
    lock.readLock().lock();
    try {
      return store.copyIds(0);
    } finally {
      lock.readLock().unlock();
    }
  }

  /** A copy of the codes in storage order ({@code ntotal * unitsPerCode} elements, row {@code i} at {@code i * unitsPerCode}). */
  protected final A codesArray() {
    lock.readLock().lock();
    try {
      return store.copyCodes(0);
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * A copy of {@code count} stored codes from row {@code from} ({@code count * unitsPerCode}
   * elements): what index files stream.
   *
   * @throws IndexOutOfBoundsException when the rows are not all stored (any more)
   */
  public A copyCodes(int from, int count) {
    lock.readLock().lock();
    try {
      int ntotal = store.size(0);
      if (from < 0 || count < 0 || (long) from + count > ntotal) {
        throw new IndexOutOfBoundsException("rows [" + from + ", " + ((long) from + count) + ") outside [0, " + ntotal + ")");
      }
      int u = store.unitsPerCode();
      A codes = store.codes(0);
      A out = store.kind().newArray(count * u);
      System.arraycopy(codes, from * u, out, 0, count * u);
      return out;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Runs {@code body} under the read lock. */
  protected final <T> T withReadLock(java.util.function.Supplier<T> body) {
    lock.readLock().lock();
    try {
      return body.get();
    } finally {
      lock.readLock().unlock();
    }
  }
}
