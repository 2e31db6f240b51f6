package io.quiver.index;

import io.quiver.index.ivf.CoarseQuantizer;
import io.quiver.index.ivf.FlatInvertedLists;
import io.quiver.index.ivf.ListDirectMap;
import io.quiver.index.ivf.ListScanner;
import io.quiver.index.ivf.PreassignedSearch;
import io.quiver.index.spi.ComputeBackends;
import io.quiver.index.spi.IvfLists;
import io.quiver.index.spi.IvfSearchJob;
import io.quiver.index.topk.RangeCollector;
import io.quiver.index.util.Checks;
import io.quiver.index.util.Locks;
import io.quiver.index.util.Parallel;
import io.quiver.index.vector.QueryBlockScan;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * An inverted-file index with flat (uncompressed) lists: FAISS's {@code IndexIVFFlat}.
 *
 * <p>A coarse quantizer of {@code nlist} centroids, trained by k-means, splits the space into
 * cells; each vector is stored in the list of its nearest centroid. A search visits the
 * {@code nprobe} lists whose centroids are nearest to the query and scans them exactly.
 *
 * <p>Training mirrors FAISS's IVF: k-means with 10 iterations ({@code Level1Quantizer}'s
 * setting), at most 256 points per centroid, seed 1234; for inner product and cosine the
 * centroids are normalized (spherical k-means) and assignment ranks by inner product.
 *
 * <p>Searches run queries in parallel on {@link SearchParams#threads()} threads (all cores by
 * default). {@link #reconstruct} uses a direct map (id to list and offset) built on the first
 * call, as FAISS's {@code make_direct_map}, and dropped by any change to the lists.
 *
 * <p>Thread-safe: see {@link VectorIndex}.
 */
public final class IvfIndex implements InvertedFileIndex {

  /** k-means iterations used to train the coarse quantizer (FAISS's Level1Quantizer uses 10). */
  public static final int DEFAULT_TRAIN_NITER = CoarseQuantizer.DEFAULT_NITER;

  private static final int SCAN_BLOCK = 1024;

  private final int d;
  private final Metric metric;
  private final int nlist;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

  private volatile int nprobe = 1;
  private final CoarseQuantizer coarse;
  private final FlatInvertedLists lists;
  /** The live lists, for a compute backend ({@link IvfSearchJob}); one instance per index. */
  private final IvfLists listsView;
  private long ntotal;
  private final ListDirectMap directMap = new ListDirectMap();
  /** Set on {@link #emptyCopy} results: the centroids are shared and must not be retrained. */
  private boolean sharesQuantizers;

  public IvfIndex(int d, int nlist, Metric metric) {
    Checks.atLeast("d", d, 1);
    Checks.atLeast("nlist", nlist, 1);
    if (metric == null) {
      throw new IllegalArgumentException("metric is null; valid: L2, INNER_PRODUCT, COSINE");
    }
    this.d = d;
    this.nlist = nlist;
    this.metric = metric;
    this.lists = new FlatInvertedLists(nlist, d);
    this.coarse = new CoarseQuantizer(d, nlist, metric.higherIsCloser());
    this.listsView = lists.view(coarse);
  }

  /**
   * Restores a trained index from stored state (used by index files). Centroids are
   * {@code nlist * d} floats; list {@code l} holds {@code listIds[l].length} entries. Arrays are
   * taken, not copied.
   */
  public static IvfIndex fromStorage(int d, Metric metric, int nlist, int nprobe, float[] centroids,
                                     long[][] listIds, float[][] listVectors) {
    IvfIndex index = new IvfIndex(d, nlist, metric);
    if (centroids.length != (long) nlist * d) {
      throw new IllegalArgumentException("centroids.length " + centroids.length + " != nlist " + nlist + " * d " + d);
    }
    if (listIds.length != nlist || listVectors.length != nlist) {
      throw new IllegalArgumentException("expected " + nlist + " lists");
    }
    index.coarse.setCentroids(centroids);
    long total = 0;
    for (int l = 0; l < nlist; l++) {
      index.lists.setList(l, listIds[l], listVectors[l]);
      total += listIds[l].length;
    }
    index.ntotal = total;
    index.setNprobe(nprobe);
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

  public int nlist() {
    return nlist;
  }

  /** The default number of lists a search visits (1 unless set, as FAISS). */
  public int nprobe() {
    return nprobe;
  }

  /** Sets the default nprobe (>= 1) used when {@link SearchParams} leaves it at 0. */
  public void setNprobe(int nprobe) {
    this.nprobe = Checks.atLeast("nprobe", nprobe, 1);
  }

  /** k-means iterations for {@link #train} (default {@value #DEFAULT_TRAIN_NITER}). */
  public void setTrainNiter(int niter) {
    coarse.setNiter(niter);
  }

  /** Seed of the k-means that trains the quantizer (default 1234). */
  public void setTrainSeed(long seed) {
    coarse.setSeed(seed);
  }

  /** At most this many training points per centroid are used (default 256). */
  public void setMaxPointsPerCentroid(int max) {
    coarse.setMaxPointsPerCentroid(max);
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
    return coarse.isTrained();
  }

  @Override
  public String factoryString() {
    return "IVF" + nlist + ",Flat";
  }

  /**
   * Trains the coarse quantizer with k-means on {@code vectors}.
   *
   * @throws IllegalArgumentException with fewer than nlist points
   * @throws IllegalStateException when the index already holds vectors
   */
  @Override
  public void train(float[] vectors) {
    float[] x = prepare("training vectors", vectors);
    int n = x.length / d;
    if (n < nlist) {
      throw new IllegalArgumentException("training needs at least nlist=" + nlist + " points, got " + n);
    }
    if (ntotal() > 0) {
      throw new IllegalStateException("cannot retrain an index that holds " + ntotal() + " vectors; build a new index");
    }
    if (sharesQuantizers) {
      throw new IllegalStateException("cannot train an index made by emptyCopy(): it shares its centroids with the "
          + "index it was copied from; train a new index");
    }
    float[] c = coarse.computeCentroids(x);
    lock.writeLock().lock();
    try {
      if (ntotal > 0) {
        throw new IllegalStateException("cannot retrain an index that holds " + ntotal + " vectors; build a new index");
      }
      coarse.setCentroids(c);
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  public void trainWithCentroids(float[] centroids, float[] vectors) {
    if (vectors != null && vectors.length > 0) {
      prepare("training vectors", vectors);
    }
    coarse.checkCentroids(centroids);
    if (sharesQuantizers) {
      throw new IllegalStateException("cannot train an index made by emptyCopy(): it shares its centroids with the "
          + "index it was copied from; train a new index");
    }
    lock.writeLock().lock();
    try {
      if (ntotal > 0) {
        throw new IllegalStateException("cannot retrain an index that holds " + ntotal + " vectors; build a new index");
      }
      coarse.setCentroids(centroids.clone());
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
    if (ids == null) throw new IllegalArgumentException("ids is null"); // addInternal reads null as "number from ntotal"
    addInternal(vectors, ids);
  }

  /** Adds vectors with the given ids, or ids from ntotal on when {@code ids} is null. */
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
        lists.append((int) assign[i], ids == null ? first + i : ids[i], x, i * d);
      }
      ntotal += n;
      directMap.invalidate();
    } finally {
      lock.writeLock().unlock();
    }
  }

  private void requireTrained() {
    if (!coarse.isTrained()) {
      throw new IllegalStateException("the index is not trained: call train() before add() or search()");
    }
  }

  private float[] prepare(String name, float[] vectors) {
    return Checks.prepareVectors(name, vectors, d, metric.normalizes());
  }


  private int effectiveNprobe(SearchParams params) {
    int np = params.nprobe() > 0 ? params.nprobe() : nprobe;
    return Math.min(np, nlist);
  }

  /** The nprobe nearest lists of each query: {@code nq * nprobe} list numbers, nearest first. */
  private long[] probe(float[] q, int nq, int np, int threads) {
    long[] probes = new long[nq * np];
    float[] dist = new float[nq * np];
    coarse.search(q, nq, np, threads, dist, probes);
    return probes;
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
          selectors, params.threads(), () -> scan(q, nq, k, np, probes, selectors, params.threads())));
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * The reference scan of {@link #search}: list-major, each probed list scanned once for the
   * queries of a block that probe it (QueryBlockScan's query-block kernel).
   */
  private SearchResult scan(float[] q, int nq, int k, int np, long[] probes, IdSelector[] selectors, int threads) {
    long[] outIds = new long[nq * k];
    float[] outDist = new float[nq * k];
    QueryBlockScan.search(q, nq, d, k, np, probes, lists::vectors, lists::ids, lists::size, metric.higherIsCloser(),
        selectors, threads, outDist, outIds);
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
      return rangeScan(q, nq, radius, np, probe(q, nq, np, params.threads()), selectors, params.threads());
    } finally {
      lock.readLock().unlock();
    }
  }

  /** The coarse values are not needed by flat lists; they are checked for shape only. */
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
      return rangeScan(q, nq, radius, nprobe, probes, selectors, params.threads());
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * The range scan of {@link #rangeSearch} and {@link #rangeSearchPreassigned}, under the read
   * lock: query {@code qi} scans lists {@code probes[qi * np .. qi * np + np)}, skipping -1.
   */
  private RangeSearchResult rangeScan(float[] q, int nq, float radius, int np, long[] probes, IdSelector[] selectors,
                                      int threads) {
    boolean ip = metric.higherIsCloser();
    float keyBound = ip ? -radius : radius;
    RangeCollector[] results = new RangeCollector[nq];
    Parallel.forEach(threads, nq, qi -> {
      RangeCollector c = new RangeCollector(selectors == null ? null : selectors[qi]);
      float[] buf = new float[SCAN_BLOCK];
      for (int p = 0; p < np; p++) {
        int list = (int) probes[qi * np + p];
        if (list < 0) {
          continue;
        }
        ListScanner.range(q, qi * d, lists.vectors(list), lists.ids(list), lists.size(list), d, ip, keyBound, c, buf);
      }
      c.sort();
      results[qi] = c;
    });
    return RangeCollector.toResult(results, ip);
  }

  /** Builds the direct map now (it is otherwise built by the first {@link #reconstruct}). */
  public void makeDirectMap() {
    lock.readLock().lock();
    try {
      directMap.build(lists, ntotal);
    } finally {
      lock.readLock().unlock();
    }
  }

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
      return Arrays.copyOfRange(lists.vectors(list), off * d, off * d + d);
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
   * is left empty. Both must have the same d, metric, nlist and identical centroids.
   */
  @Override
  public void mergeFrom(VectorIndex other) {
    if (!(other instanceof IvfIndex)) {
      throw new IllegalArgumentException("cannot merge " + (other == null ? "null" : other.factoryString()) + " into "
          + factoryString() + ": kind, d, metric and nlist must match");
    }
    mergeFrom((IvfIndex) other);
  }

  /** See {@link #mergeFrom(VectorIndex)}; the centroids must be identical. */
  public void mergeFrom(IvfIndex other) {
    if (other == this) {
      throw new IllegalArgumentException("cannot merge an index into itself");
    }
    if (other.d != d || other.metric != metric || other.nlist != nlist) {
      throw new IllegalArgumentException("cannot merge " + other.factoryString() + " d=" + other.d + " " + other.metric
          + " into " + factoryString() + " d=" + d + " " + metric + ": d, metric and nlist must match");
    }
    requireTrained();
    other.requireTrained();
    Locks.withBothWriteLocks(this, lock, other, other.lock, () -> {
      if (!Arrays.equals(coarse.centroids(), other.coarse.centroids())) {
        throw new IllegalArgumentException("cannot merge indexes with different coarse quantizers (centroids differ); "
            + "train once and add to copies of the trained index");
      }
      lists.moveFrom(other.lists);
      ntotal += other.ntotal;
      other.ntotal = 0;
      directMap.invalidate();
      other.directMap.invalidate();
    });
  }

  @Override
  public long memoryBytes() {
    lock.readLock().lock();
    try {
      return lists.memoryBytes() + (coarse.isTrained() ? 4L * nlist * d + 4L * nlist : 0);
    } finally {
      lock.readLock().unlock();
    }
  }

  // ---- InvertedFileIndex -------------------------------------------------------------------

  @Override
  public CoarseQuantizer coarseQuantizer() {
    return coarse;
  }

  /** {@code 4 * d}: a code is the vector itself, as little-endian float32. */
  @Override
  public int codeSize() {
    return 4 * d;
  }

  @Override
  public byte[] assignAndEncode(float[] vectors, int[] listsOut, int threads) {
    requireTrained();
    float[] x = prepare("vectors", vectors);
    coarse.assignInto(x, listsOut, threads);
    byte[] codes = new byte[4 * x.length];
    ByteBuffer.wrap(codes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(x);
    return codes;
  }

  @Override
  public void probe(float[] queries, int nprobe, int threads, float[] coarseValuesOut, long[] listsOut) {
    requireTrained();
    coarse.probe(prepare("queries", queries), nprobe, threads, coarseValuesOut, listsOut);
  }

  @Override
  public IvfIndex emptyCopy() {
    requireTrained();
    IvfIndex copy = new IvfIndex(d, nlist, metric);
    copy.coarse.setCentroids(coarse.centroids());
    copy.sharesQuantizers = true;
    copy.setNprobe(nprobe);
    return copy;
  }

  @Override
  public void addPreassigned(int list, long[] ids, int idsOff, byte[] codes, int codesOff, int n) {
    requireTrained();
    checkList(list);
    int cs = codeSize();
    Checks.entries(ids, idsOff, codes, codesOff, n, cs);
    float[] v = new float[n * d];
    ByteBuffer.wrap(codes, codesOff, n * cs).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
    lock.writeLock().lock();
    try {
      lists.reserve(list, n);
      for (int i = 0; i < n; i++) {
        lists.append(list, ids[idsOff + i], v, i * d);
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
    boolean ip = metric.higherIsCloser();
    int nq = q.length / d;
    IdSelector[] selectors = params.selectors(nq);
    PreassignedSearch.checkLists(nq, nprobe, probes, coarseValues, nlist);
    lock.readLock().lock();
    try {
      return ComputeBackends.current().ivfSearch(new IvfSearchJob(listsView, q, nq, k, nprobe, probes, coarseValues,
          selectors, params.threads(), () ->
          PreassignedSearch.run(nq, k, nprobe, probes, coarseValues, nlist, params.threads(), ip, selectors, qi -> {
            float[] buf = new float[SCAN_BLOCK];
            return (list, coarseValue, heap) ->
                ListScanner.topK(q, qi * d, lists.vectors(list), lists.ids(list), lists.size(list), d, ip, heap, buf);
          })));
    } finally {
      lock.readLock().unlock();
    }
  }

  /** A copy of the vectors of list {@code list} as codes: little-endian float32. */
  @Override
  public byte[] listCodes(int list) {
    float[] v = listVectors(list);
    byte[] codes = new byte[4 * v.length];
    ByteBuffer.wrap(codes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(v);
    return codes;
  }

  /** A copy of the centroids ({@code nlist * d} floats), or null before training. */
  public float[] centroids() {
    float[] c = coarse.centroids();
    return c == null ? null : c.clone();
  }

  /** The number of vectors in list {@code list}. */
  @Override
  public int listSize(int list) {
    lock.readLock().lock();
    try {
      return lists.size(checkList(list));
    } finally {
      lock.readLock().unlock();
    }
  }

  /** A copy of the ids of list {@code list}. */
  @Override
  public long[] listIds(int list) {
    lock.readLock().lock();
    try {
      return Arrays.copyOf(lists.ids(checkList(list)), lists.size(list));
    } finally {
      lock.readLock().unlock();
    }
  }

  /** A copy of the vectors of list {@code list} ({@code listSize * d} floats). */
  public float[] listVectors(int list) {
    lock.readLock().lock();
    try {
      return Arrays.copyOf(lists.vectors(checkList(list)), lists.size(list) * d);
    } finally {
      lock.readLock().unlock();
    }
  }


  private int checkList(int list) {
    if (list < 0 || list >= nlist) {
      throw new IndexOutOfBoundsException("list " + list + " outside [0, " + nlist + ")");
    }
    return list;
  }
}
