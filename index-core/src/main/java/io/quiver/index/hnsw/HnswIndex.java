package io.quiver.index.hnsw;

import io.quiver.index.FlatCodesIndex;
import io.quiver.index.IdSelector;
import io.quiver.index.Metric;
import io.quiver.index.RangeSearchResult;
import io.quiver.index.SearchParams;
import io.quiver.index.SearchResult;
import io.quiver.index.VectorIndex;
import io.quiver.index.codec.Codec;
import io.quiver.index.codec.FlatCodec;
import io.quiver.index.scan.Scans;
import io.quiver.index.topk.RangeCollector;
import io.quiver.index.topk.TopKHeap;
import io.quiver.index.util.Checks;
import io.quiver.index.util.Parallel;

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
 * <p>Storage, training, adding, {@link #reconstruct} and the id map are the flat-codes index's
 * ({@link FlatCodesIndex}); each add then links its new rows into the graph.
 *
 * <p>Thread-safe: see {@link VectorIndex}; adding holds the write lock for the whole insertion.
 *
 * @param <A> the code array type of the codec
 */
public final class HnswIndex<A> extends FlatCodesIndex<A> {

  /** Queries per task of a search: they share one visited table and one scorer. */
  private static final int QUERY_BATCH = 16;

  private final Hnsw graph;
  private volatile int efSearch = Hnsw.DEFAULT_EF_SEARCH;

  /**
   * An empty index; untrained when the codec needs training (SQ8, SQ4, PQ).
   *
   * @param m neighbours per node on the upper levels (FAISS's {@code M}), 2 .. {@value Hnsw#MAX_M}
   * @throws IllegalArgumentException for a bad d, M, metric or a codec of another d
   */
  public HnswIndex(int d, int m, Metric metric, Codec<A> codec) {
    super(d, metric, checkCodec(d, codec));
    this.graph = new Hnsw(m);
  }

  private static <A> Codec<A> checkCodec(int d, Codec<A> codec) {
    if (codec == null || codec.d() != d) {
      throw new IllegalArgumentException("the codec must have d=" + d + ", has " + (codec == null ? "null" : codec.d()));
    }
    return codec;
  }

  /** {@code HNSW<M>}: float vectors. */
  public static HnswIndex<float[]> flat(int d, int m, Metric metric) {
    return new HnswIndex<>(d, m, metric, new FlatCodec(d));
  }

  /**
   * Restores an index from stored state (index files): the trained codec, the ids and codes in
   * node order, the graph and the parameters. The arrays are taken, not copied.
   *
   * @throws IllegalArgumentException when the parts do not fit together
   */
  public static <A> HnswIndex<A> fromStorage(int d, int m, Metric metric, Codec<A> codec, int efConstruction,
                                             int efSearch, long[] ids, A codes, Hnsw.Stored graph) {
    HnswIndex<A> index = new HnswIndex<>(d, m, metric, codec);
    index.graph.setEfConstruction(efConstruction);
    index.setEfSearch(efSearch);
    if (graph.levels().length != ids.length) {
      throw new IllegalArgumentException(graph.levels().length + " graph nodes for " + ids.length + " ids");
    }
    index.restore(ids, codes);
    index.graph.restore(graph.levels(), graph.links(), graph.entryPoint());
    return index;
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
    graph.setEfConstruction(efConstruction);
  }

  /** The default efSearch, used when {@link SearchParams} leaves it at 0. */
  public int efSearch() {
    return efSearch;
  }

  /** Sets the default efSearch (>= 1). */
  public void setEfSearch(int efSearch) {
    this.efSearch = Checks.atLeast("efSearch", efSearch, 1);
  }

  @Override
  public String factoryString() {
    Codec<A> c = codec();
    return "HNSW" + graph.m() + (c instanceof FlatCodec ? "" : "," + c.factoryName());
  }

  /** Links the rows just stored into the graph, querying with the vectors themselves as FAISS does. */
  @Override
  protected void added(float[] x, int first, int n) {
    Codec<A> c = codec();
    A all = store.codes(0);
    boolean ip = metric.higherIsCloser();
    graph.add(n, x, d, () -> CodecDistances.of(c, all, ip), 0);
  }

  /** What one query of a search does with the graph, its distances and its visited table. */
  private interface QueryTask {
    void run(int qi, Hnsw.Distances dis, Hnsw.Visited vt, long[] ids);
  }

  /** Runs {@code task} for every query, in parallel batches, under the read lock. */
  private void forEachQuery(float[] q, int nq, SearchParams params, QueryTask task) {
    Codec<A> c = requireTrained();
    boolean ip = metric.higherIsCloser();
    withReadLock(() -> {
      A codes = store.codes(0);
      long[] ids = store.ids(0);
      Parallel.forEach(params.threads(), (nq + QUERY_BATCH - 1) / QUERY_BATCH, b -> {
        Hnsw.Distances dis = CodecDistances.of(c, codes, ip);
        Hnsw.Visited vt = new Hnsw.Visited();
        for (int qi = b * QUERY_BATCH, end = Math.min(nq, qi + QUERY_BATCH); qi < end; qi++) {
          dis.setQuery(q, qi * d);
          task.run(qi, dis, vt, ids);
        }
      });
      return null;
    });
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

  /** The k nearest neighbours the graph search finds (with {@code max(efSearch, k)} candidates). */
  @Override
  public SearchResult search(float[] queries, int k, SearchParams params) {
    requireTrained();
    float[] q = prepare("queries", queries);
    Checks.k(k);
    int nq = q.length / d;
    int ef = effectiveEfSearch(params);
    boolean ip = metric.higherIsCloser();
    IdSelector[] selectors = selectors(params, nq);
    long[] outIds = new long[nq * k];
    float[] outDist = new float[nq * k];
    forEachQuery(q, nq, params, (qi, dis, vt, ids) -> {
      TopKHeap heap = new TopKHeap(k, selectors[qi]);
      graph.search(dis, k, ef, (key, node) -> heap.offer(key, ids[node]), vt);
      Scans.drain(heap, outDist, outIds, qi * k, ip);
    });
    return new SearchResult(nq, k, outIds, outDist);
  }

  /** Every vector the graph search reaches strictly inside the radius. */
  @Override
  public RangeSearchResult rangeSearch(float[] queries, float radius, SearchParams params) {
    requireTrained();
    float[] q = prepare("queries", queries);
    Checks.radius(radius);
    int nq = q.length / d;
    int ef = effectiveEfSearch(params);
    boolean ip = metric.higherIsCloser();
    float keyBound = ip ? -radius : radius;
    IdSelector[] selectors = selectors(params, nq);
    RangeCollector[] results = new RangeCollector[nq];
    forEachQuery(q, nq, params, (qi, dis, vt, ids) -> {
      RangeCollector out = new RangeCollector(selectors[qi]);
      graph.search(dis, 1, ef, (key, node) -> {
        if (key < keyBound) {
          out.add(key, ids[node]);
        }
      }, vt);
      out.sort();
      results[qi] = out;
    });
    return RangeCollector.toResult(results, ip);
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
    return super.memoryBytes() + withReadLock(graph::memoryBytes);
  }

  // ---- storage access (index files) -------------------------------------------------------

  /** What an index file stores: the ids in node order, the graph and the parameters, copied under one read lock. */
  public record GraphState(long[] ids, Hnsw.Stored graph, int efConstruction, int efSearch) {}

  /** A consistent copy of the ids, the graph and the parameters. */
  public GraphState graphState() {
    return withReadLock(() -> new GraphState(store.copyIds(0), graph.stored(), graph.efConstruction(), efSearch));
  }
}
