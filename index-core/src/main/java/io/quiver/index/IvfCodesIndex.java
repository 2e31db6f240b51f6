package io.quiver.index;

import io.quiver.index.ivf.CoarseQuantizer;
import io.quiver.index.ivf.CodeInvertedLists;
import io.quiver.index.ivf.ListDirectMap;
import io.quiver.index.ivf.PreassignedSearch;
import io.quiver.index.spi.ComputeBackends;
import io.quiver.index.spi.IvfLists;
import io.quiver.index.spi.IvfSearchJob;
import io.quiver.index.topk.RangeCollector;
import io.quiver.index.topk.TopKHeap;
import io.quiver.index.util.Checks;
import io.quiver.index.util.Locks;
import io.quiver.index.util.Parallel;
import java.util.Arrays;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * An inverted-file index whose lists hold compressed codes ({@link IvfPqIndex},
 * {@link IvfSqIndex}): FAISS's {@code IndexIVF} with {@code by_residual} on. A coarse quantizer of
 * {@code nlist} centroids assigns each vector to a list; the list stores its id and the code of
 * its residual (the vector minus its list's centroid). A search probes the {@code nprobe}
 * nearest lists and scans their codes; subclasses say how codes are trained, made and compared.
 *
 * <p>Thread-safe: searches, range searches and reconstructs run concurrently under a read lock;
 * training, adding, removing and merging take the write lock. See {@link VectorIndex}.
 */
public abstract class IvfCodesIndex implements InvertedFileIndex {

  private static final int QUERY_BATCH = 16;

  protected final int d;
  protected final Metric metric;
  protected final int nlist;
  protected final CoarseQuantizer coarse;
  protected final CodeInvertedLists lists;
  /** The live lists, for a compute backend ({@link IvfSearchJob}); one instance per index. */
  private final IvfLists listsView;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

  private volatile int nprobe = 1;
  private long ntotal;
  private final ListDirectMap directMap = new ListDirectMap();
  /** Set on {@link #emptyCopy} results: the quantizers are shared and must not be retrained. */
  private boolean sharesQuantizers;

  protected IvfCodesIndex(int d, int nlist, Metric metric, int codeSize) {
    Checks.atLeast("d", d, 1);
    Checks.atLeast("nlist", nlist, 1);
    if (metric == null) {
      throw new IllegalArgumentException("metric is null; valid: L2, INNER_PRODUCT, COSINE");
    }
    this.d = d;
    this.nlist = nlist;
    this.metric = metric;
    this.coarse = new CoarseQuantizer(d, nlist, metric.higherIsCloser());
    this.lists = new CodeInvertedLists(nlist, codeSize);
    this.listsView = lists.view(coarse, d, this::listsCodec);
  }

  // ---- what subclasses provide -----------------------------------------------------------

  /** True when the code quantizer is trained. */
  protected abstract boolean codecTrained();

  /** Trains the code quantizer on residuals ({@code n * d} floats). Must not publish state on failure. */
  protected abstract void trainCodec(float[] residuals);

  /** Encodes {@code n} residuals into {@code n * codeSize} bytes. */
  protected abstract byte[] encode(float[] residuals);

  /** Decodes one code into a residual. */
  protected abstract void decode(byte[] codes, int codeOff, float[] out, int outOff);

  /** True when {@code other}'s code quantizer equals this one's (for merging). */
  protected abstract boolean sameCodec(IvfCodesIndex other);

  /**
   * A new untrained-looking index of the same kind whose code quantizer (and its tables) is this
   * one's, shared; {@link #emptyCopy} adds the coarse centroids.
   */
  protected abstract IvfCodesIndex newSharingCodec();

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

  /** The scanning state for query {@code q[qOff .. qOff+d)} (already normalized for cosine). */
  protected abstract ListScan newScan(float[] q, int qOff);

  /** How the lists' codes read, for a compute backend ({@link IvfLists#codec()}). */
  protected abstract IvfLists.Codec listsCodec();

  // ---- VectorIndex -------------------------------------------------------------------------

  @Override
  public int d() {
    return d;
  }

  @Override
  public Metric metric() {
    return metric;
  }

  public int nlist() {
    return nlist;
  }

  public int nprobe() {
    return nprobe;
  }

  /** Sets the default nprobe (>= 1) used when {@link SearchParams} leaves it at 0. */
  public void setNprobe(int nprobe) {
    this.nprobe = Checks.atLeast("nprobe", nprobe, 1);
  }

  /** The coarse quantizer (its k-means settings can be changed before training). */
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
    return coarse.isTrained() && codecTrained();
  }

  /** Bytes per stored vector in the lists: the code plus its 8-byte id. */
  public int bytesPerVector() {
    return lists.codeSize() + Long.BYTES;
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
   * Trains the coarse quantizer with k-means, then the code quantizer on the residuals of the
   * same vectors.
   */
  @Override
  public void train(float[] vectors) {
    float[] x = prepare("training vectors", vectors);
    int n = x.length / d;
    if (n < nlist) {
      throw new IllegalArgumentException("training needs at least nlist=" + nlist + " points, got " + n);
    }
    checkRetrainable();
    lock.writeLock().lock();
    try {
      publishAndTrainCodec(coarse.computeCentroids(x), x);
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  public void trainWithCentroids(float[] centroids, float[] vectors) {
    float[] x = prepare("training vectors", vectors);
    coarse.checkCentroids(centroids);
    if (x.length == 0 && !codecTrained()) {
      throw new IllegalArgumentException("training the code quantizer needs vectors; got none");
    }
    checkRetrainable();
    lock.writeLock().lock();
    try {
      publishAndTrainCodec(centroids.clone(), x);
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

  /** Publishes centroids and trains the codec on residuals; restores the old centroids on failure. */
  private void publishAndTrainCodec(float[] centroids, float[] x) {
    float[] old = coarse.centroids();
    coarse.setCentroids(centroids);
    try {
      if (x.length > 0) {
        trainCodec(coarse.residuals(x, coarse.assign(x, 0)));
      }
    } catch (RuntimeException e) {
      if (old != null) {
        coarse.setCentroids(old);
      }
      throw e;
    }
    directMap.invalidate();
  }

  @Override
  public void add(float[] vectors) {
    addInternal(vectors, null);
  }

  @Override
  public void addWithIds(float[] vectors, long[] ids) {
    if (ids == null) {
      throw new IllegalArgumentException("ids is null");
    }
    addInternal(vectors, ids);
  }

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
    byte[] codes = encode(coarse.residuals(x, assign));
    int codeSize = lists.codeSize();
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
        lists.append((int) assign[i], ids == null ? first + i : ids[i], codes, i * codeSize);
      }
      ntotal += n;
      directMap.invalidate();
    } finally {
      lock.writeLock().unlock();
    }
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
      long[] probes = new long[nq * np];
      float[] coarseValues = new float[nq * np];
      coarse.search(q, nq, np, params.threads(), coarseValues, probes);
      return ComputeBackends.current().ivfSearch(new IvfSearchJob(listsView, q, nq, k, np, probes, coarseValues,
          selectors, params.threads(), () -> scan(q, nq, k, np, probes, coarseValues, selectors, params.threads())));
    } finally {
      lock.readLock().unlock();
    }
  }

  /** The reference scan of {@link #search}: queries in parallel, each over its probed lists. */
  private SearchResult scan(float[] q, int nq, int k, int np, long[] probes, float[] coarseValues,
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
        heap.drainSorted(outDist, outIds, null, qi * k, Float.POSITIVE_INFINITY);
        if (ip) {
          for (int j = qi * k; j < qi * k + k; j++) {
            outDist[j] = -outDist[j];
          }
        }
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
      long[] probes = new long[nq * np];
      float[] coarseValues = new float[nq * np];
      coarse.search(q, nq, np, params.threads(), coarseValues, probes);
      return rangeScan(q, nq, radius, np, probes, coarseValues, selectors, params.threads());
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
      return rangeScan(q, nq, radius, nprobe, probes, coarseValues, selectors, params.threads());
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

  /** The decoded vector: centroid plus decoded residual (normalized input for cosine). */
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
      int off = (int) pos;
      float[] out = new float[d];
      decode(lists.codes(list), off * lists.codeSize(), out, 0);
      float[] c = coarse.centroids();
      for (int t = 0; t < d; t++) {
        out[t] += c[list * d + t];
      }
      return out;
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public long removeIds(IdSelector selector) {
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
   * code quantizer.
   */
  @Override
  public void mergeFrom(VectorIndex other) {
    if (!(other instanceof IvfCodesIndex)) {
      throw new IllegalArgumentException("cannot merge " + (other == null ? "null" : other.factoryString()) + " into "
          + factoryString() + ": kind, d, metric and nlist must match");
    }
    mergeFrom((IvfCodesIndex) other);
  }

  /** See {@link #mergeFrom(VectorIndex)}. */
  public void mergeFrom(IvfCodesIndex other) {
    if (other == this) {
      throw new IllegalArgumentException("cannot merge an index into itself");
    }
    if (other.getClass() != getClass() || other.d != d || other.metric != metric || other.nlist != nlist) {
      throw new IllegalArgumentException("cannot merge " + other.factoryString() + " d=" + other.d + " " + other.metric
          + " into " + factoryString() + " d=" + d + " " + metric + ": kind, d, metric and nlist must match");
    }
    requireTrained();
    other.requireTrained();
    Locks.withBothWriteLocks(this, lock, other, other.lock, () -> {
      if (!Arrays.equals(coarse.centroids(), other.coarse.centroids()) || !sameCodec(other)) {
        throw new IllegalArgumentException("cannot merge indexes trained separately (centroids or code quantizers differ); "
            + "train once and add to copies of the trained index");
      }
      lists.moveFrom(other.lists);
      ntotal += other.ntotal;
      other.ntotal = 0;
      directMap.invalidate();
      other.directMap.invalidate();
    });
  }

  /** Bytes of the code quantizer and any tables it keeps (codebooks, precomputed tables). */
  protected abstract long codecMemoryBytes();

  /**
   * Lists (codes, ids, capacity included), centroids and their norms, and the code quantizer
   * with its tables.
   */
  @Override
  public long memoryBytes() {
    lock.readLock().lock();
    try {
      return lists.memoryBytes() + (coarse.isTrained() ? 4L * nlist * d + 4L * nlist : 0) + codecMemoryBytes();
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

  @Override
  public int codeSize() {
    return lists.codeSize();
  }

  @Override
  public byte[] assignAndEncode(float[] vectors, int[] listsOut, int threads) {
    requireTrained();
    float[] x = prepare("vectors", vectors);
    long[] assign = coarse.assignInto(x, listsOut, threads);
    return encode(coarse.residuals(x, assign));
  }

  @Override
  public void probe(float[] queries, int nprobe, int threads, float[] coarseValuesOut, long[] listsOut) {
    requireTrained();
    coarse.probe(prepare("queries", queries), nprobe, threads, coarseValuesOut, listsOut);
  }

  @Override
  public IvfCodesIndex emptyCopy() {
    requireTrained();
    IvfCodesIndex copy = newSharingCodec();
    copy.coarse.setCentroids(coarse.centroids());
    copy.sharesQuantizers = true;
    copy.setNprobe(nprobe);
    return copy;
  }

  @Override
  public void addPreassigned(int list, long[] ids, int idsOff, byte[] codes, int codesOff, int n) {
    requireTrained();
    checkList(list);
    int cs = lists.codeSize();
    Checks.entries(ids, idsOff, codes, codesOff, n, cs);
    lock.writeLock().lock();
    try {
      lists.reserve(list, n);
      for (int i = 0; i < n; i++) {
        lists.append(list, ids[idsOff + i], codes, codesOff + i * cs);
      }
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

  /** A copy of the centroids, or null before training. */
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
      return Arrays.copyOf(lists.ids(checkList(list)), lists.size(list));
    } finally {
      lock.readLock().unlock();
    }
  }

  /** A copy of the codes of a list ({@code listSize * codeSize} bytes). */
  @Override
  public byte[] listCodes(int list) {
    lock.readLock().lock();
    try {
      return Arrays.copyOf(lists.codes(checkList(list)), lists.size(list) * lists.codeSize());
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Restores lists and centroids read from storage (index files); arrays are taken as they are. */
  protected final void restore(float[] centroids, int nprobe, long[][] listIds, byte[][] listCodes) {
    if (listIds.length != nlist || listCodes.length != nlist) {
      throw new IllegalArgumentException("expected " + nlist + " lists");
    }
    coarse.setCentroids(centroids);
    long total = 0;
    for (int l = 0; l < nlist; l++) {
      lists.setList(l, listIds[l], listCodes[l]);
      total += listIds[l].length;
    }
    ntotal = total;
    setNprobe(nprobe);
  }

  private int checkList(int list) {
    if (list < 0 || list >= nlist) {
      throw new IndexOutOfBoundsException("list " + list + " outside [0, " + nlist + ")");
    }
    return list;
  }
}
