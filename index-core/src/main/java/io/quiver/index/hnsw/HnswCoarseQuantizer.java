package io.quiver.index.hnsw;

import io.quiver.index.codec.FlatCodec;
import io.quiver.index.ivf.CoarseQuantizer;
import io.quiver.index.scan.Scans;
import io.quiver.index.topk.TopKHeap;
import io.quiver.index.util.Checks;
import io.quiver.index.util.Parallel;

/**
 * The coarse quantizer of {@code IVF<nlist>_HNSW<M>} indexes, FAISS's {@code IndexHNSWFlat} as an
 * IVF quantizer: an {@link Hnsw} graph over the nlist centroids answers the nearest lists of a
 * vector in a few thousand distance computations instead of nlist, for assignment while adding
 * and for probing while searching. {@code efSearch} (default 16, raised to nprobe when smaller)
 * trades probe accuracy for time, per call through {@code SearchParams.withEfSearch}.
 *
 * <p>Training is the flat quantizer's (k-means on every centroid, exact assignment; FAISS assigns
 * with the HNSW during k-means, which is faster for very large nlist and slightly less exact).
 * Publishing centroids builds the graph on one thread, so the same centroids always give the same
 * graph (and the same assignments) on every machine with the same vector kernels.
 *
 * <p>Thread-safe: the graph and the centroids are published together; searches read them.
 */
public final class HnswCoarseQuantizer extends CoarseQuantizer {

  private static final int QUERY_BATCH = 16;

  private final int m;
  private volatile int efConstruction = Hnsw.DEFAULT_EF_CONSTRUCTION;
  private volatile int efSearch = Hnsw.DEFAULT_EF_SEARCH;
  /** The graph over the published centroids, and those centroids. */
  private volatile Published published;
  /** A graph read from a file, waiting for its centroids. */
  private Hnsw restored;

  private record Published(Hnsw graph, float[] centroids) {}

  /** An untrained quantizer of {@code nlist} centroids with an HNSW graph of {@code M} neighbours per node. */
  public HnswCoarseQuantizer(int d, int nlist, boolean innerProduct, int m) {
    super(d, nlist, innerProduct);
    new Hnsw(m); // checks M
    this.m = m;
  }

  /** Neighbours per node on the upper levels of the graph. */
  public int m() {
    return m;
  }

  public int efConstruction() {
    return efConstruction;
  }

  /** Candidates kept while linking the centroids (>= 1); takes effect at the next publication. */
  public void setEfConstruction(int efConstruction) {
    this.efConstruction = Checks.atLeast("efConstruction", efConstruction, 1);
  }

  /** The default efSearch of a probe. */
  public int efSearch() {
    return efSearch;
  }

  /** Sets the default efSearch (>= 1). */
  public void setEfSearch(int efSearch) {
    this.efSearch = Checks.atLeast("efSearch", efSearch, 1);
  }

  @Override
  public String factorySuffix() {
    return "_HNSW" + m;
  }

  @Override
  protected CoarseQuantizer newEmpty() {
    HnswCoarseQuantizer q = new HnswCoarseQuantizer(d(), nlist(), innerProduct(), m);
    q.efConstruction = efConstruction;
    q.efSearch = efSearch;
    return q;
  }

  /**
   * Builds the graph over {@code centroids} (or takes the one given to {@link #restoreGraph}),
   * then publishes both.
   */
  @Override
  public void setCentroids(float[] centroids) {
    if (centroids.length != (long) nlist() * d()) {
      throw new IllegalArgumentException("centroids.length " + centroids.length + " != nlist " + nlist() + " * d " + d());
    }
    Hnsw graph = restored;
    restored = null;
    if (graph == null) {
      graph = new Hnsw(m);
      graph.setEfConstruction(efConstruction);
      FlatCodec flat = new FlatCodec(d());
      graph.add(nlist(), centroids, d(), () -> CodecDistances.of(flat, centroids, innerProduct()), 1);
    }
    published = new Published(graph, centroids);
    super.setCentroids(centroids);
  }

  /**
   * Takes a stored graph over the nlist centroids (index files), which the next
   * {@link #setCentroids} publishes with them instead of building one.
   *
   * @throws IllegalArgumentException when it is not a valid graph of nlist nodes
   */
  public void restoreGraph(Hnsw.Stored stored) {
    if (stored.levels().length != nlist()) {
      throw new IllegalArgumentException("a graph of " + stored.levels().length + " nodes for nlist=" + nlist()
          + " centroids");
    }
    Hnsw graph = new Hnsw(m);
    graph.setEfConstruction(efConstruction);
    graph.restore(stored.levels(), stored.links(), stored.entryPoint());
    restored = graph;
  }

  /** A copy of the published graph, or null before training. */
  public Hnsw.Stored storedGraph() {
    Published p = published;
    return p == null ? null : p.graph().stored();
  }

  /** Bytes of the graph, once built (the centroids are counted by the index). */
  public long graphMemoryBytes() {
    Published p = published;
    return p == null ? 0 : p.graph().memoryBytes();
  }

  @Override
  public void search(float[] q, int nq, int np, int threads, float[] distances, long[] lists) {
    search(q, nq, np, 0, threads, distances, lists);
  }

  /** The {@code np} nearest centroids found by the graph, nearest first; padded with -1 if it finds fewer. */
  @Override
  public void search(float[] q, int nq, int np, int efSearch, int threads, float[] distances, long[] lists) {
    trained();
    Published p = published;
    int ef = efSearch > 0 ? efSearch : this.efSearch;
    boolean ip = innerProduct();
    int d = d();
    FlatCodec flat = new FlatCodec(d);
    int batches = (nq + QUERY_BATCH - 1) / QUERY_BATCH;
    Parallel.forEach(threads, batches, b -> {
      Hnsw.Distances dis = CodecDistances.of(flat, p.centroids(), ip);
      Hnsw.Visited vt = new Hnsw.Visited();
      TopKHeap heap = new TopKHeap(np);
      for (int qi = b * QUERY_BATCH, end = Math.min(nq, qi + QUERY_BATCH); qi < end; qi++) {
        heap.reset();
        dis.setQuery(q, qi * d);
        p.graph().search(dis, np, ef, (key, node) -> heap.offer(key, node), vt);
        Scans.drain(heap, distances, lists, qi * np, ip);
      }
    });
  }
}
