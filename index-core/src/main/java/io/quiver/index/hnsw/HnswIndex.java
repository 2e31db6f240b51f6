package io.quiver.index.hnsw;

import io.quiver.index.IdSelector;
import io.quiver.index.Metric;
import io.quiver.index.RangeSearchResult;
import io.quiver.index.SearchParams;
import io.quiver.index.SearchResult;
import io.quiver.index.VectorIndex;
import io.quiver.index.codec.Codec;
import io.quiver.index.codec.FlatCodec;
import io.quiver.index.scan.Scans;
import io.quiver.index.store.InvertedLists;
import io.quiver.index.topk.RangeCollector;
import io.quiver.index.topk.TopKHeap;
import io.quiver.index.util.Checks;
import io.quiver.index.util.Parallel;
import io.quiver.index.util.RowLookup;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A graph index, FAISS's {@code IndexHNSW} with an id map: every vector is stored as one
 * {@link Codec} code ({@code IndexHNSWFlat}, {@code IndexHNSWSQ}, {@code IndexHNSWPQ}) and is a
 * node of an {@link Hnsw} graph over those codes. Factory strings {@code HNSW<M>} (or
 * {@code HNSW<M>,Flat}), {@code HNSW<M>,SQ8|SQ4|SQfp16}, {@code HNSW<M>,PQ<m>[x<nbits>]}.
 *
 * <p>Parameters, with FAISS's defaults: {@code M} (neighbours per node on the upper levels,
 * {@code 2M} on level 0), {@code efConstruction} 40 (candidates while linking; set it before
 * adding), {@code efSearch} 16 (candidates while searching; per call with
 * {@link SearchParams#withEfSearch}, raised to k when smaller). Adding links the new vectors in
 * parallel on all cores ({@link Parallel#defaultThreads()}) with a lock per neighbour list; a
 * search runs queries in parallel on {@link SearchParams#threads()} threads. Distances are
 * computed on the codes, as in FAISS: exact for Flat, to the decoded code for SQ, by ADC for PQ;
 * reported values are squared L2, inner products or cosine similarities, best first, ties broken
 * by the smaller id, padded with id -1 and {@link Metric#worstValue()} when the search finds fewer
 * than k (an id selector is applied to what the graph search reaches, as FAISS does, so a
 * selective filter can leave results short). Range search returns what the same graph search
 * reaches strictly inside the radius. {@link #reconstruct} decodes the stored code.
 *
 * <p>Removal and merging are not supported, as in FAISS ({@code IndexHNSW} has neither
 * {@code remove_ids} nor {@code merge_from}): a node cannot leave the graph without breaking the
 * paths through it. Both throw {@link UnsupportedOperationException}.
 *
 * <p>Thread-safe: see {@link VectorIndex}; adding holds the write lock for the whole insertion.
 *
 * @param <A> the code array type of the codec
 */
public final class HnswIndex<A> implements VectorIndex {

  /** Queries per task of a search: they share one visited table and one scorer. */
  private static final int QUERY_BATCH = 16;

  private final int d;
  private final Metric metric;
  private final Hnsw graph;
  /** One list: ids and codes in node order. */
  private final InvertedLists<A> store;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final RowLookup rowLookup = new RowLookup();
  private volatile Codec<A> codec;
  private volatile int efSearch = Hnsw.DEFAULT_EF_SEARCH;
  private boolean sequentialIds = true;

  /**
   * An empty index; untrained when the codec needs training (SQ8, SQ4, PQ).
   *
   * @param m neighbours per node on the upper levels (FAISS's {@code M}), 2 .. {@value Hnsw#MAX_M}
   * @throws IllegalArgumentException for a bad d, M, metric or a codec of another d
   */
  public HnswIndex(int d, int m, Metric metric, Codec<A> codec) {
    Checks.atLeast("d", d, 1);
    if (metric == null) {
      throw new IllegalArgumentException("metric is null; valid: L2, INNER_PRODUCT, COSINE");
    }
    if (codec == null || codec.d() != d) {
      throw new IllegalArgumentException("the codec must have d=" + d + ", has " + (codec == null ? "null" : codec.d()));
    }
    this.d = d;
    this.metric = metric;
    this.codec = codec;
    this.graph = new Hnsw(m);
    this.store = new InvertedLists<>(1, codec.kind(), codec.unitsPerCode());
  }

  /** {@code HNSW<M>}: float vectors. */
  public static HnswIndex<float[]> flat(int d, int m, Metric metric) {
    return new HnswIndex<>(d, m, metric, new FlatCodec(d));
  }

  /**
   * Restores an index from stored state (index files): the trained codec, the ids and codes in
   * node order, the graph's levels, concatenated links and entry point, and the parameters. The
   * arrays are taken, not copied.
   *
   * @throws IllegalArgumentException when the parts do not fit together
   */
  public static <A> HnswIndex<A> fromStorage(int d, int m, Metric metric, Codec<A> codec, int efConstruction,
                                             int efSearch, long[] ids, A codes, Hnsw.Stored graph) {
    HnswIndex<A> index = new HnswIndex<>(d, m, metric, codec);
    index.graph.setEfConstruction(efConstruction);
    index.setEfSearch(efSearch);
    if (codec.kind().length(codes) != (long) ids.length * codec.unitsPerCode()) {
      throw new IllegalArgumentException(codec.kind().length(codes) + " code units for " + ids.length + " ids of "
          + codec.unitsPerCode() + " units each (" + codec.factoryName() + ", d=" + d + ")");
    }
    if (graph.levels().length != ids.length) {
      throw new IllegalArgumentException(graph.levels().length + " graph nodes for " + ids.length + " ids");
    }
    if (!codec.isTrained() && ids.length > 0) {
      throw new IllegalArgumentException(codec.factoryName() + " is not trained; a stored index with vectors needs its "
          + "trained quantizer");
    }
    index.graph.restore(graph.levels(), graph.links(), graph.entryPoint());
    index.store.setList(0, ids, codes);
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

  /** Neighbours per node on the upper levels ({@code 2M} on level 0). */
  public int m() {
    return graph.m();
  }

  public int efConstruction() {
    return graph.efConstruction();
  }

  /** Sets the candidates kept while linking new vectors (FAISS's {@code efConstruction}, >= 1). */
  public void setEfConstruction(int efConstruction) {
    lock.writeLock().lock();
    try {
      graph.setEfConstruction(efConstruction);
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** The default efSearch, used when {@link SearchParams} leaves it at 0. */
  public int efSearch() {
    return efSearch;
  }

  /** Sets the default efSearch (>= 1). */
  public void setEfSearch(int efSearch) {
    this.efSearch = Checks.atLeast("efSearch", efSearch, 1);
  }

  /** The codec of the stored vectors (read-only once trained). */
  public Codec<A> codec() {
    return codec;
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
    Codec<A> c = codec;
    return "HNSW" + graph.m() + (c instanceof FlatCodec ? "" : "," + c.factoryName());
  }

  private float[] prepare(String name, float[] vectors) {
    return Checks.prepareVectors(name, vectors, d, metric.normalizes());
  }

  private Codec<A> requireTrained() {
    Codec<A> c = codec;
    if (!c.isTrained()) {
      throw new IllegalStateException("the " + factoryString() + " index is not trained: call train() before add() or "
          + "search()");
    }
    return c;
  }

  /**
   * Trains the codec (SQ ranges, PQ codebooks) on {@code vectors}; a no-op that only checks them
   * for codecs that need no training.
   *
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

  /** Encodes without the lock; stores the codes and links the new nodes under it. */
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
      Codec<A> now = codec;
      if (now != c) {
        codes = now.encode(x); // retrained while encoding (only possible while empty)
      }
      int ntotal = store.size(0);
      long total = (long) ntotal + n;
      if (total > store.maxEntries()) {
        throw new IllegalArgumentException("adding " + n + " vectors would hold " + total + " codes of "
            + now.codeSize() + " bytes, more than one " + factoryString() + " index can (" + store.maxEntries()
            + "); split the data across indexes or shards");
      }
      store.reserve(0, n);
      store.append(0, newIds, newIds == null ? ntotal : 0, codes, 0, n);
      sequentialIds = sequentialIds && (newIds == null || RowLookup.isSequential(newIds, 0, n, ntotal));
      rowLookup.invalidate();
      A all = store.codes(0);
      boolean ip = metric.higherIsCloser();
      graph.add(n, x, d, () -> CodecDistances.of(now, all, ip), 0);
    } finally {
      lock.writeLock().unlock();
    }
  }

  private int effectiveEfSearch(SearchParams params) {
    return params.efSearch() > 0 ? params.efSearch() : efSearch;
  }

  private static IdSelector[] selectors(SearchParams params, int nq) {
    IdSelector[] out = new IdSelector[nq];
    for (int i = 0; i < nq; i++) {
      out[i] = params.selector(i);
    }
    return out;
  }

  @Override
  public SearchResult search(float[] queries, int k, SearchParams params) {
    Codec<A> c = requireTrained();
    float[] q = prepare("queries", queries);
    Checks.k(k);
    int nq = q.length / d;
    int ef = effectiveEfSearch(params);
    boolean ip = metric.higherIsCloser();
    IdSelector[] selectors = selectors(params, nq);
    long[] outIds = new long[nq * k];
    float[] outDist = new float[nq * k];
    lock.readLock().lock();
    try {
      A codes = store.codes(0);
      long[] ids = store.ids(0);
      int batches = (nq + QUERY_BATCH - 1) / QUERY_BATCH;
      Parallel.forEach(params.threads(), batches, b -> {
        Hnsw.Distances dis = CodecDistances.of(c, codes, ip);
        Hnsw.Visited vt = new Hnsw.Visited();
        for (int qi = b * QUERY_BATCH, end = Math.min(nq, qi + QUERY_BATCH); qi < end; qi++) {
          TopKHeap heap = new TopKHeap(k, selectors[qi]);
          dis.setQuery(q, qi * d);
          graph.search(dis, k, ef, (key, node) -> heap.offer(key, ids[node]), vt);
          Scans.drain(heap, outDist, outIds, qi * k, ip);
        }
      });
    } finally {
      lock.readLock().unlock();
    }
    return new SearchResult(nq, k, outIds, outDist);
  }

  @Override
  public RangeSearchResult rangeSearch(float[] queries, float radius, SearchParams params) {
    Codec<A> c = requireTrained();
    float[] q = prepare("queries", queries);
    Checks.radius(radius);
    int nq = q.length / d;
    int ef = effectiveEfSearch(params);
    boolean ip = metric.higherIsCloser();
    float keyBound = ip ? -radius : radius;
    IdSelector[] selectors = selectors(params, nq);
    RangeCollector[] results = new RangeCollector[nq];
    lock.readLock().lock();
    try {
      A codes = store.codes(0);
      long[] ids = store.ids(0);
      int batches = (nq + QUERY_BATCH - 1) / QUERY_BATCH;
      Parallel.forEach(params.threads(), batches, b -> {
        Hnsw.Distances dis = CodecDistances.of(c, codes, ip);
        Hnsw.Visited vt = new Hnsw.Visited();
        for (int qi = b * QUERY_BATCH, end = Math.min(nq, qi + QUERY_BATCH); qi < end; qi++) {
          RangeCollector out = new RangeCollector(selectors[qi]);
          dis.setQuery(q, qi * d);
          graph.search(dis, 1, ef, (key, node) -> {
            if (key < keyBound) {
              out.add(key, ids[node]);
            }
          }, vt);
          out.sort();
          results[qi] = out;
        }
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
      int row = rowLookup.rowOf(id, store.ids(0), store.size(0), sequentialIds);
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

  /**
   * Not supported, as in FAISS: {@code IndexHNSW} has no {@code remove_ids}.
   *
   * @throws UnsupportedOperationException always
   */
  @Override
  public long removeIds(IdSelector selector) {
    throw new UnsupportedOperationException(factoryString() + " does not support removeIds: as FAISS's IndexHNSW, a "
        + "graph index cannot drop nodes without breaking the paths through them; rebuild the index without those ids "
        + "(or use a Flat, PQ, SQ or IVF index, which support removal)");
  }

  /**
   * Not supported, as in FAISS: {@code IndexHNSW} has no {@code merge_from}.
   *
   * @throws UnsupportedOperationException always
   */
  @Override
  public void mergeFrom(VectorIndex other) {
    throw new UnsupportedOperationException(factoryString() + " does not support mergeFrom: as FAISS's IndexHNSW, two "
        + "graphs cannot be merged; add the other index's vectors to this one instead");
  }

  /** Codes and ids (capacity included), the codec's trained state and the graph. */
  @Override
  public long memoryBytes() {
    lock.readLock().lock();
    try {
      return store.memoryBytes() + codec.memoryBytes() + graph.memoryBytes();
    } finally {
      lock.readLock().unlock();
    }
  }

  // ---- storage access (index files) -------------------------------------------------------

  /** What an index file stores: the ids in node order, the graph and the parameters, copied under one read lock. */
  public record GraphState(long[] ids, Hnsw.Stored graph, int efConstruction, int efSearch) {}

  /** A consistent copy of the ids, the graph and the parameters. */
  public GraphState graphState() {
    lock.readLock().lock();
    try {
      return new GraphState(store.copyIds(0), graph.stored(), graph.efConstruction(), efSearch);
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * A copy of {@code count} stored codes from row {@code from} ({@code count * unitsPerCode}
   * elements): what index files stream.
   *
   * @throws IndexOutOfBoundsException when the rows are not all stored
   */
  public A copyCodes(int from, int count) {
    lock.readLock().lock();
    try {
      int ntotal = store.size(0);
      if (from < 0 || count < 0 || (long) from + count > ntotal) {
        throw new IndexOutOfBoundsException("rows [" + from + ", " + ((long) from + count) + ") outside [0, " + ntotal + ")");
      }
      int u = store.unitsPerCode();
      A out = store.kind().newArray(count * u);
      System.arraycopy(store.codes(0), from * u, out, 0, count * u);
      return out;
    } finally {
      lock.readLock().unlock();
    }
  }
}
