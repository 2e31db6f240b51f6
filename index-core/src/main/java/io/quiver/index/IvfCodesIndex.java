package io.quiver.index;

import io.quiver.index.codec.Codec;
import io.quiver.index.ivf.CoarseQuantizer;
import io.quiver.index.ivf.ListDirectMap;
import io.quiver.index.ivf.PreassignedSearch;
import io.quiver.index.scan.Scans;
import io.quiver.index.spi.ComputeBackends;
import io.quiver.index.spi.IvfLists;
import io.quiver.index.spi.IvfRangeJob;
import io.quiver.index.spi.IvfSearchJob;
import io.quiver.index.store.ArrayKind;
import io.quiver.index.store.InvertedLists;
import io.quiver.index.store.ListsView;
import io.quiver.index.topk.RangeCollector;
import io.quiver.index.topk.TopKHeap;
import io.quiver.index.util.Checks;
import io.quiver.index.util.Locks;
import io.quiver.index.util.Parallel;
import java.util.Arrays;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The inverted-file index, FAISS's {@code IndexIVF}: a coarse quantizer of {@code nlist}
 * centroids assigns each vector to a list; the list stores its id and its {@link Codec} code
 * (of the residual to the list's centroid when {@code byResidual}, as FAISS's IVF-PQ and IVF-SQ
 * do, else of the vector, as IVF-Flat). A search probes the {@code nprobe} nearest lists and
 * scans their codes with a per-query list scanner. {@link IvfIndex}, {@link IvfPqIndex} and
 * {@link IvfSqIndex} are this class over the float, PQ and SQ codecs.
 *
 * <p>Training mirrors FAISS's IVF: k-means with 10 iterations, at most 256 points per centroid,
 * seed 1234 (spherical for inner product and cosine), then the codec on the residuals of the same
 * vectors. Training runs outside the lock on new state that is published at once when it
 * succeeds, so searches go on meanwhile and a failed training changes nothing.
 *
 * <p>Thread-safe: searches, range searches and reconstructs run concurrently under a read lock;
 * adding, removing, merging and the publication of a training take the write lock. See
 * {@link VectorIndex}.
 *
 * @param <A> the code array type of the codec
 */
public abstract class IvfCodesIndex<A> implements InvertedFileIndex {

  private static final int QUERY_BATCH = 16;

  protected final int d;
  protected final Metric metric;
  protected final int nlist;
  protected final CoarseQuantizer coarse;
  protected final InvertedLists<A> lists;
  private final boolean byResidual;
  /** The live lists, for a compute backend ({@link IvfSearchJob}); one instance per index. */
  private final IvfLists listsView;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

  private volatile Codec<A> codec;
  private volatile int nprobe = 1;
  private long ntotal;
  private final ListDirectMap directMap = new ListDirectMap();
  /** Set on {@link #emptyCopy} results: the quantizers are shared and must not be retrained. */
  private boolean sharesQuantizers;

  protected IvfCodesIndex(int d, int nlist, Metric metric, Codec<A> codec, boolean byResidual) {
    this(d, nlist, metric, codec, byResidual, null);
  }

  /**
   * An index over {@code coarse}, a coarse quantizer of this d, nlist and metric (null: the flat
   * one), which is shared, not copied.
   */
  protected IvfCodesIndex(int d, int nlist, Metric metric, Codec<A> codec, boolean byResidual, CoarseQuantizer coarse) {
    Checks.atLeast("d", d, 1);
    Checks.atLeast("nlist", nlist, 1);
    if (metric == null) {
      throw new IllegalArgumentException("metric is null; valid: L2, INNER_PRODUCT, COSINE");
    }
    if (coarse != null && (coarse.d() != d || coarse.nlist() != nlist || coarse.innerProduct() != metric.higherIsCloser())) {
      throw new IllegalArgumentException("the coarse quantizer (d=" + coarse.d() + ", nlist=" + coarse.nlist()
          + (coarse.innerProduct() ? ", inner product" : ", L2") + ") does not fit an index of d=" + d + ", nlist="
          + nlist + " and metric " + metric);
    }
    this.d = d;
    this.nlist = nlist;
    this.metric = metric;
    this.codec = codec;
    this.byResidual = byResidual;
    this.coarse = coarse != null ? coarse : CoarseQuantizer.flat(d, nlist, metric.higherIsCloser());
    this.lists = new InvertedLists<>(nlist, codec.kind(), codec.unitsPerCode());
    this.listsView = new ListsView(lists, this.coarse, () -> this.codec.describe());
  }

  // ---- what a codec family adds ------------------------------------------------------------

  /**
   * A new empty index of the same kind and parameters over {@code codec} and {@code coarse}
   * (shared, not copied).
   */
  protected abstract IvfCodesIndex<A> newSharing(Codec<A> codec, CoarseQuantizer coarse);

  /** Bytes of the coarse centroids and their norms, once trained. */
  private long coarseMemoryBytes() {
    return coarse.isTrained() ? 4L * nlist * d + 4L * nlist : 0;
  }

  /** Called under the write lock (or before the index is shared) whenever centroids or codec are published. */
  protected void published() {}

  /** Per-query scanning state, made once per query and used for each probed list. */
  protected interface ListScan {
    /**
     * Offers every entry of a list to the heap with keys "smaller is better" (squared L2, or
     * negated inner product). {@code coarseValue} is the query's distance (L2) or inner product
     * (IP) to the list's centroid. The heap applies the query's id selector, if any.
     */
    void scan(int list, float coarseValue, TopKHeap heap);

    /** Adds every entry of the list whose key is strictly below {@code keyBound} (the collector applies the selector). */
    void range(int list, float coarseValue, float keyBound, RangeCollector out);
  }

  /**
   * The scanning state for query {@code q[qOff .. qOff+d)} (already normalized for cosine), FAISS's
   * {@code InvertedListScanner}: the codec's scorer, set to the query (or, for L2 by residual, to
   * the query's residual to each list's centroid); for inner product by residual the key is
   * {@code -(<q, c> + <q, r>)}, the coarse value being {@code <q, c>}.
   */
  protected ListScan newScan(float[] q, int qOff) {
    boolean ip = metric.higherIsCloser();
    Codec.Scorer<A> scorer = codec.scorer(ip);
    float[] buf = new float[Scans.BLOCK];
    boolean perList = byResidual && !ip;
    float[] residual = perList ? new float[d] : null;
    if (!perList) {
      scorer.setQuery(q, qOff);
    }
    return new ListScan() {
      private float prepare(int list, float coarseValue) {
        if (perList) {
          coarse.residual(q, qOff, list, residual, 0);
          scorer.setQuery(residual, 0);
        }
        return byResidual && ip ? -coarseValue : 0f;
      }

      @Override
      public void scan(int list, float coarseValue, TopKHeap heap) {
        int size = lists.size(list);
        if (size > 0) {
          Scans.topK(scorer, lists.codes(list), lists.ids(list), 0, size, prepare(list, coarseValue), heap, buf);
        }
      }

      @Override
      public void range(int list, float coarseValue, float keyBound, RangeCollector out) {
        int size = lists.size(list);
        if (size > 0) {
          Scans.range(scorer, lists.codes(list), lists.ids(list), 0, size, prepare(list, coarseValue), keyBound, out, buf);
        }
      }
    };
  }

  // ---- VectorIndex -------------------------------------------------------------------------

  @Override
  public int d() {
    return d;
  }

  @Override
  public Metric metric() {
    return metric;
  }

  @Override
  public int nlist() {
    return nlist;
  }

  /** The codec of the list entries (read-only once trained). */
  public Codec<A> codec() {
    return codec;
  }

  /** True when lists hold codes of residuals to their centroid (FAISS's {@code by_residual}). */
  public boolean byResidual() {
    return byResidual;
  }

  /** The default number of lists a search visits (1 unless set, as FAISS). */
  public int nprobe() {
    return nprobe;
  }

  /** Sets the default nprobe (>= 1) used when {@link SearchParams} leaves it at 0. */
  public void setNprobe(int nprobe) {
    this.nprobe = Checks.atLeast("nprobe", nprobe, 1);
  }

  /** The coarse quantizer (its k-means settings can be changed before training). */
  @Override
  public CoarseQuantizer coarseQuantizer() {
    return coarse;
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
    return coarse.isTrained() && codec.isTrained();
  }

  @Override
  public String factoryString() {
    return "IVF" + nlist + coarse.factorySuffix() + "," + codec.factoryName();
  }

  @Override
  public long trainingSampleSize() {
    long coarseRows = 256L * nlist;
    long codecRows = codec.trainingSampleSize();
    return codecRows == Long.MAX_VALUE ? coarseRows : Math.max(coarseRows, codecRows);
  }

  @Override
  public long codecTrainingSampleSize() {
    return codec.trainingSampleSize();
  }

  /** Bytes per stored vector in the lists: the code plus its 8-byte id. */
  public int bytesPerVector() {
    return lists.codeBytes() + Long.BYTES;
  }

  private float[] prepare(String name, float[] vectors) {
    return Checks.prepareVectors(name, vectors, d, metric.normalizes());
  }

  private void requireTrained() {
    if (!isTrained()) {
      throw new IllegalStateException("the index is not trained: call train() before add() or search()");
    }
  }

  /**
   * Trains the coarse quantizer with k-means, then the codec on the residuals of the same
   * vectors (on the vectors, for a codec that is not by residual).
   *
   * @throws IllegalArgumentException with fewer than nlist points
   * @throws IllegalStateException when the index already holds vectors or shares its quantizers
   */
  @Override
  public void train(float[] vectors) {
    float[] x = prepare("training vectors", vectors);
    int n = x.length / d;
    if (n < nlist) {
      throw new IllegalArgumentException("training needs at least nlist=" + nlist + " points, got " + n);
    }
    checkRetrainable();
    float[] centroids = coarse.computeCentroids(x);
    publish(centroids, trainCodec(centroids, x));
  }

  /**
   * {@inheritDoc} For a codec that needs no training {@code vectors} may be empty; they are
   * checked when given.
   */
  @Override
  public void trainWithCentroids(float[] centroids, float[] vectors) {
    float[] x = vectors == null ? new float[0] : prepare("training vectors", vectors);
    coarse.checkCentroids(centroids);
    if (x.length == 0 && codec.needsTraining() && !codec.isTrained()) {
      throw new IllegalArgumentException("training the code quantizer needs vectors; got none");
    }
    checkRetrainable();
    float[] c = centroids.clone();
    publish(c, trainCodec(c, x));
  }

  /** A newly trained codec for these centroids (outside the lock), or the current one when there is nothing to train. */
  private Codec<A> trainCodec(float[] centroids, float[] x) {
    Codec<A> current = codec;
    if (!current.needsTraining() || x.length == 0) {
      return current;
    }
    Codec<A> fresh = current.untrainedCopy();
    if (byResidual) {
      CoarseQuantizer trained = coarse.withCentroids(centroids);
      fresh.train(trained.residuals(x, trained.assign(x, 0)));
    } else {
      fresh.train(x);
    }
    return fresh;
  }

  private void publish(float[] centroids, Codec<A> trained) {
    lock.writeLock().lock();
    try {
      if (ntotal > 0) {
        throw new IllegalStateException("cannot retrain an index that holds " + ntotal + " vectors; build a new index");
      }
      coarse.setCentroids(centroids);
      codec = trained;
      published();
      directMap.invalidate();
    } finally {
      lock.writeLock().unlock();
    }
  }

  private void checkRetrainable() {
    if (ntotal() > 0) {
      throw new IllegalStateException("cannot retrain an index that holds " + ntotal() + " vectors; build a new index");
    }
    if (sharesQuantizers) {
      throw new IllegalStateException("cannot train an index made by emptyCopy(): it shares its quantizers with the "
          + "index it was copied from; train a new index");
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

  /** Assigns and encodes outside the lock, then appends under it; ids from ntotal on when {@code givenIds} is null. */
  private void addInternal(float[] vectors, long[] givenIds) {
    requireTrained();
    float[] x = prepare("vectors", vectors);
    int n = x.length / d;
    long[] ids = null;
    if (givenIds != null) {
      Checks.ids(givenIds, n);
      ids = givenIds.clone();
    }
    long[] assign = coarse.assign(x, 0);
    A codes = encode(x, assign);
    int[] perList = new int[nlist];
    for (long a : assign) {
      perList[(int) a]++;
    }
    lock.writeLock().lock();
    try {
      for (int l = 0; l < nlist; l++) {
        if (perList[l] > 0) {
          lists.reserve(l, perList[l]); // may throw before anything is added
        }
      }
      long first = ntotal;
      for (int i = 0; i < n; i++) {
        lists.append((int) assign[i], ids == null ? first + i : ids[i], codes, i);
      }
      ntotal += n;
      directMap.invalidate();
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** The codes of {@code x} for their lists {@code assign}: of the residuals when by residual. */
  private A encode(float[] x, long[] assign) {
    return codec.encode(byResidual ? coarse.residuals(x, assign) : x);
  }

  /** The {@code np} nearest lists of each query and the query's coarse value for each ({@code nq * np}). */
  private record Probes(long[] lists, float[] values) {}

  private Probes probes(float[] q, int nq, int np, int efSearch, int threads) {
    long[] lists = new long[nq * np];
    float[] values = new float[nq * np];
    coarse.search(q, nq, np, efSearch, threads, values, lists);
    return new Probes(lists, values);
  }

  private int effectiveNprobe(SearchParams params) {
    return Math.min(params.nprobe() > 0 ? params.nprobe() : nprobe, nlist);
  }

  @Override
  public SearchResult search(float[] queries, int k, SearchParams params) {
    requireTrained();
    float[] q = prepare("queries", queries);
    Checks.k(k);
    int nq = q.length / d;
    int np = effectiveNprobe(params);
    IdSelector[] selectors = params.selectors(nq);
    lock.readLock().lock();
    try {
      Probes p = probes(q, nq, np, params.efSearch(), params.threads());
      return ComputeBackends.current().ivfSearch(new IvfSearchJob(listsView, q, nq, k, np, p.lists, p.values,
          selectors, params.threads(), () -> referenceScan(q, nq, k, np, p.lists, p.values, selectors,
          params.threads())));
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * The reference scan of {@link #search} (what the CPU backend runs), under the read lock:
   * queries in parallel, each over its probed lists with its {@link ListScan}. A codec with a
   * list-major kernel for whole blocks of queries overrides it ({@link IvfIndex}).
   */
  protected SearchResult referenceScan(float[] q, int nq, int k, int np, long[] probes, float[] coarseValues,
                                       IdSelector[] selectors, int threads) {
    boolean ip = metric.higherIsCloser();
    long[] outIds = new long[nq * k];
    float[] outDist = new float[nq * k];
    int batches = (nq + QUERY_BATCH - 1) / QUERY_BATCH;
    Parallel.forEach(threads, batches, batch -> {
      TopKHeap shared = selectors == null ? new TopKHeap(k) : null;
      for (int qi = batch * QUERY_BATCH, end = Math.min(nq, qi + QUERY_BATCH); qi < end; qi++) {
        TopKHeap heap = selectors == null ? shared : new TopKHeap(k, selectors[qi]);
        ListScan scan = newScan(q, qi * d);
        for (int p = 0; p < np; p++) {
          int list = (int) probes[qi * np + p];
          if (list >= 0) {
            scan.scan(list, coarseValues[qi * np + p], heap);
          }
        }
        Scans.drain(heap, outDist, outIds, qi * k, ip);
      }
    });
    return new SearchResult(nq, k, outIds, outDist);
  }

  @Override
  public RangeSearchResult rangeSearch(float[] queries, float radius, SearchParams params) {
    requireTrained();
    float[] q = prepare("queries", queries);
    Checks.radius(radius);
    int nq = q.length / d;
    int np = effectiveNprobe(params);
    IdSelector[] selectors = params.selectors(nq);
    lock.readLock().lock();
    try {
      Probes p = probes(q, nq, np, params.efSearch(), params.threads());
      return ComputeBackends.current().ivfRangeSearch(new IvfRangeJob(listsView, q, nq, radius, np, p.lists, p.values,
          selectors, params.threads(), () -> rangeScan(q, nq, radius, np, p.lists, p.values, selectors, params.threads())));
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public RangeSearchResult rangeSearchPreassigned(float[] queries, float radius, int nprobe, long[] probes,
                                                  float[] coarseValues, SearchParams params) {
    requireTrained();
    float[] q = prepare("queries", queries);
    Checks.radius(radius);
    Checks.atLeast("nprobe", nprobe, 1);
    int nq = q.length / d;
    PreassignedSearch.checkLists(nq, nprobe, probes, coarseValues, nlist);
    IdSelector[] selectors = params.selectors(nq);
    lock.readLock().lock();
    try {
      return ComputeBackends.current().ivfRangeSearch(new IvfRangeJob(listsView, q, nq, radius, nprobe, probes,
          coarseValues, selectors, params.threads(), () -> rangeScan(q, nq, radius, nprobe, probes, coarseValues,
          selectors, params.threads())));
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * The range scan of {@link #rangeSearch} and {@link #rangeSearchPreassigned}, under the read
   * lock: query {@code qi} scans lists {@code probes[qi * np .. qi * np + np)} (skipping -1) with
   * their coarse values.
   */
  private RangeSearchResult rangeScan(float[] q, int nq, float radius, int np, long[] probes, float[] coarseValues,
                                      IdSelector[] selectors, int threads) {
    boolean ip = metric.higherIsCloser();
    float keyBound = ip ? -radius : radius;
    RangeCollector[] results = new RangeCollector[nq];
    Parallel.forEach(threads, nq, qi -> {
      RangeCollector c = new RangeCollector(selectors == null ? null : selectors[qi]);
      ListScan scan = newScan(q, qi * d);
      for (int p = 0; p < np; p++) {
        int list = (int) probes[qi * np + p];
        if (list >= 0) {
          scan.range(list, coarseValues[qi * np + p], keyBound, c);
        }
      }
      c.sort();
      results[qi] = c;
    });
    return RangeCollector.toResult(results, ip);
  }

  /** Builds the direct map now (otherwise the first {@link #reconstruct} builds it). */
  public void makeDirectMap() {
    lock.readLock().lock();
    try {
      directMap.build(lists, ntotal);
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * The stored vector of this id (normalized input for cosine): the decoded code, plus the list's
   * centroid when by residual.
   */
  @Override
  public float[] reconstruct(long id) {
    requireTrained();
    lock.readLock().lock();
    try {
      long pos = directMap.positionOf(id, lists, ntotal);
      if (pos < 0) {
        throw new IllegalArgumentException("id " + id + " is not in the index (ntotal=" + ntotal + ")");
      }
      int list = (int) (pos >>> 32);
      float[] out = new float[d];
      codec.decode(lists.codes(list), (int) pos, out, 0);
      if (byResidual) {
        float[] c = coarse.centroids();
        for (int t = 0; t < d; t++) {
          out[t] += c[list * d + t];
        }
      }
      return out;
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public long removeIds(IdSelector selector) {
    if (selector == null) {
      throw new IllegalArgumentException("selector is null; pass an IdSelector that chooses the ids to remove");
    }
    lock.writeLock().lock();
    try {
      long removed = lists.remove(selector);
      if (removed > 0) {
        ntotal -= removed;
        directMap.invalidate();
      }
      return removed;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /**
   * Moves every vector of {@code other} into this index (FAISS's {@code merge_from}); {@code other}
   * is left empty. Both must be of the same kind with the same d, metric, nlist, centroids and
   * codec.
   */
  @Override
  public void mergeFrom(VectorIndex other) {
    if (other == this) {
      throw new IllegalArgumentException("cannot merge an index into itself");
    }
    if (other == null || other.getClass() != getClass()) {
      throw new IllegalArgumentException("cannot merge " + (other == null ? "null" : other.factoryString()) + " into "
          + factoryString() + ": kind, d, metric and nlist must match");
    }
    @SuppressWarnings("unchecked")
    IvfCodesIndex<A> o = (IvfCodesIndex<A>) other;
    if (o.d != d || o.metric != metric || o.nlist != nlist) {
      throw new IllegalArgumentException("cannot merge " + o.factoryString() + " d=" + o.d + " " + o.metric
          + " into " + factoryString() + " d=" + d + " " + metric + ": kind, d, metric and nlist must match");
    }
    requireTrained();
    o.requireTrained();
    Locks.withBothWriteLocks(this, lock, o, o.lock, () -> {
      boolean sameCentroids = Arrays.equals(coarse.centroids(), o.coarse.centroids());
      if (!sameCentroids || !codec.sameAs(o.codec)) {
        throw new IllegalArgumentException("cannot merge indexes trained separately ("
            + (sameCentroids ? "their " + codec.factoryName() + " code quantizers differ" : "centroids differ")
            + "); train once and add to copies of the trained index");
      }
      lists.moveFrom(o.lists);
      ntotal += o.ntotal;
      o.ntotal = 0;
      directMap.invalidate();
      o.directMap.invalidate();
    });
  }

  /** Bytes of the codec's trained state and any tables the index keeps for it. */
  protected long codecMemoryBytes() {
    return codec.memoryBytes();
  }

  /**
   * Lists (codes, ids, capacity included), centroids and their norms, and the codec with its
   * tables.
   */
  @Override
  public long memoryBytes() {
    lock.readLock().lock();
    try {
      return lists.memoryBytes() + coarseMemoryBytes() + codecMemoryBytes();
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Bytes of the lists alone (codes and ids, capacity included): the part that grows with ntotal. */
  public long listMemoryBytes() {
    lock.readLock().lock();
    try {
      return lists.memoryBytes();
    } finally {
      lock.readLock().unlock();
    }
  }

  // ---- InvertedFileIndex -------------------------------------------------------------------

  /** Bytes of one code: the codec's, or {@code 4 * d} little-endian float32 values for IVF-Flat. */
  @Override
  public int codeSize() {
    return lists.codeBytes();
  }

  @Override
  public byte[] assignAndEncode(float[] vectors, int[] listsOut, int threads) {
    requireTrained();
    float[] x = prepare("vectors", vectors);
    long[] assign = coarse.assignInto(x, listsOut, threads);
    A codes = encode(x, assign);
    return lists.kind().toBytes(codes, 0, lists.kind().length(codes));
  }

  @Override
  public void probe(float[] queries, int nprobe, int threads, float[] coarseValuesOut, long[] listsOut) {
    requireTrained();
    coarse.probe(prepare("queries", queries), nprobe, threads, coarseValuesOut, listsOut);
  }

  @Override
  public IvfCodesIndex<A> emptyCopy() {
    requireTrained();
    IvfCodesIndex<A> copy = newSharing(codec, coarse); // the trained coarse quantizer itself: read-only from now on
    copy.sharesQuantizers = true;
    copy.setNprobe(nprobe);
    return copy;
  }

  @Override
  public void addPreassigned(int list, long[] ids, int idsOff, byte[] codes, int codesOff, int n) {
    requireTrained();
    checkList(list);
    Checks.entries(ids, idsOff, codes, codesOff, n, lists.codeBytes());
    A a = lists.kind().fromBytes(codes, codesOff, n * lists.unitsPerCode());
    lock.writeLock().lock();
    try {
      lists.append(list, ids, idsOff, a, 0, n);
      ntotal += n;
      directMap.invalidate();
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  public SearchResult searchPreassigned(float[] queries, int k, int nprobe, long[] probes, float[] coarseValues,
                                        SearchParams params) {
    requireTrained();
    float[] q = prepare("queries", queries);
    Checks.k(k);
    Checks.atLeast("nprobe", nprobe, 1);
    int nq = q.length / d;
    IdSelector[] selectors = params.selectors(nq);
    PreassignedSearch.checkLists(nq, nprobe, probes, coarseValues, nlist);
    lock.readLock().lock();
    try {
      return ComputeBackends.current().ivfSearch(new IvfSearchJob(listsView, q, nq, k, nprobe, probes, coarseValues,
          selectors, params.threads(), () -> PreassignedSearch.run(nq, k, nprobe, probes, coarseValues, nlist,
          params.threads(), metric.higherIsCloser(), selectors, qi -> newScan(q, qi * d)::scan)));
    } finally {
      lock.readLock().unlock();
    }
  }

  // ---- storage access (index files) -------------------------------------------------------

  /** A copy of the centroids ({@code nlist * d} floats), or null before training. */
  public float[] centroids() {
    float[] c = coarse.centroids();
    return c == null ? null : c.clone();
  }

  @Override
  public int listSize(int list) {
    lock.readLock().lock();
    try {
      return lists.size(checkList(list));
    } finally {
      lock.readLock().unlock();
    }
  }

  /** A copy of the ids of a list. */
  @Override
  public long[] listIds(int list) {
    lock.readLock().lock();
    try {
      return lists.copyIds(checkList(list));
    } finally {
      lock.readLock().unlock();
    }
  }

  /** A copy of the codes of a list ({@code listSize * codeSize} bytes). */
  @Override
  public byte[] listCodes(int list) {
    lock.readLock().lock();
    try {
      ArrayKind<A> kind = lists.kind();
      return kind.toBytes(lists.codes(checkList(list)), 0, lists.size(list) * lists.unitsPerCode());
    } finally {
      lock.readLock().unlock();
    }
  }

  /** A copy of the codes of a list in the codec's array type ({@code listSize * unitsPerCode} elements). */
  protected A listCodesArray(int list) {
    lock.readLock().lock();
    try {
      return lists.copyCodes(checkList(list));
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * Restores lists and centroids read from storage (index files); arrays are taken as they are.
   * {@code centroids} is null for an untrained index (then every list must be empty).
   */
  protected final void restore(float[] centroids, int nprobe, long[][] listIds, A[] listCodes) {
    if (listIds.length != nlist || listCodes.length != nlist) {
      throw new IllegalArgumentException("expected " + nlist + " lists");
    }
    if (centroids != null) {
      if (centroids.length != (long) nlist * d) {
        throw new IllegalArgumentException("centroids.length " + centroids.length + " != nlist " + nlist + " * d " + d);
      }
      coarse.setCentroids(centroids);
    }
    long total = 0;
    for (int l = 0; l < nlist; l++) {
      lists.setList(l, listIds[l], listCodes[l]);
      total += listIds[l].length;
    }
    ntotal = total;
    setNprobe(nprobe);
    published();
  }

  private int checkList(int list) {
    if (list < 0 || list >= nlist) {
      throw new IndexOutOfBoundsException("list " + list + " outside [0, " + nlist + ")");
    }
    return list;
  }
}
