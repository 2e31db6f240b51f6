package io.quiver.index;

import io.quiver.index.scan.Scans;
import io.quiver.index.topk.RangeCollector;
import io.quiver.index.topk.TopKHeap;
import io.quiver.index.util.Checks;
import io.quiver.index.util.Parallel;

/**
 * Re-ranks the candidates of a compressed index with the raw vectors: FAISS's
 * {@code IndexRefineFlat} (the {@code ,RFlat} factory suffix). Every added vector goes to the
 * base index (codes) and to a {@link FlatIndex} (raw floats) under the same id. A search takes
 * {@code kFactor * k} candidates from the base index and returns the {@code k} best by exact
 * distance, so returned distances are exact.
 *
 * <p>Id selectors in {@link SearchParams} go to the base index, so the candidates it proposes
 * are already selected ones and the re-ranking keeps only selected ids.
 *
 * <p>Memory: the raw vectors (4 * d bytes each) come on top of the codes. Thread-safe like its
 * two parts; a search that runs during an add may see a vector in one part and not yet in the
 * other, and then skips it.
 */
public final class RefineIndex implements VectorIndex {

  private final VectorIndex base;
  private final FlatIndex refine;
  private volatile float kFactor = 1f;

  /** Refines {@code base} (untrained or trained, empty) with raw vectors. */
  public RefineIndex(VectorIndex base) {
    this(base, new FlatIndex(base.d(), base.metric()));
  }

  /**
   * Restores a refine index from its two stored parts (index files). The raw vectors must hold
   * each id once, and exactly the base index's ids: a re-ranking looks every candidate up by id.
   *
   * @throws IllegalArgumentException naming the first id at fault
   */
  public static RefineIndex fromParts(VectorIndex base, FlatIndex refine, float kFactor) {
    RefineIndex r = new RefineIndex(base, refine);
    r.setKFactor(kFactor);
    long[] raw = refine.ids();
    java.util.Arrays.sort(raw);
    for (int i = 1; i < raw.length; i++) {
      if (raw[i] == raw[i - 1]) {
        throw new IllegalArgumentException("the raw vectors hold id " + raw[i] + " more than once; each id is stored "
            + "once");
      }
    }
    long[] ids = idsOf(base);
    if (ids != null) {
      java.util.Arrays.sort(ids);
      // as many ids in both (the constructor checks), the raw ones distinct: equal when sorted
      for (int i = 0; i < ids.length; i++) {
        if (ids[i] != raw[i]) {
          throw new IllegalArgumentException(java.util.Arrays.binarySearch(raw, ids[i]) < 0
              ? "the base index holds id " + ids[i] + ", which the raw vectors do not; both parts hold the same ids"
              : "the raw vectors hold id " + raw[i] + ", which the base index does not; both parts hold the same ids");
        }
      }
    }
    return r;
  }

  /** Every id of an index whose ids can be listed (IVF, Flat, PQ, SQ), in any order; null for others. */
  private static long[] idsOf(VectorIndex index) {
    if (index instanceof InvertedFileIndex ivf) {
      long[] all = new long[(int) Math.min(Integer.MAX_VALUE - 8, ivf.ntotal())];
      int n = 0;
      for (int l = 0; l < ivf.nlist(); l++) {
        long[] li = ivf.listIds(l);
        System.arraycopy(li, 0, all, n, li.length);
        n += li.length;
      }
      return all;
    }
    if (index instanceof FlatCodesIndex<?> flat) {
      return flat.ids();
    }
    return null;
  }

  private RefineIndex(VectorIndex base, FlatIndex refine) {
    if (base.d() != refine.d() || base.metric() != refine.metric()) {
      throw new IllegalArgumentException("base and refine indexes must have the same d and metric");
    }
    if (base.ntotal() != refine.ntotal()) {
      throw new IllegalArgumentException("base holds " + base.ntotal() + " vectors, refine " + refine.ntotal() + "; they must match");
    }
    this.base = base;
    this.refine = refine;
  }

  /** The index that proposes candidates. */
  public VectorIndex base() {
    return base;
  }

  /** The raw vectors. */
  public FlatIndex refine() {
    return refine;
  }

  /** The default kFactor (>= 1; FAISS's default is 1), used when {@link SearchParams} leaves it at 0. */
  public void setKFactor(float kFactor) {
    this.kFactor = Checks.kFactor(kFactor);
  }

  public float kFactor() {
    return kFactor;
  }

  @Override
  public int d() {
    return base.d();
  }

  @Override
  public Metric metric() {
    return base.metric();
  }

  @Override
  public long ntotal() {
    return base.ntotal();
  }

  @Override
  public boolean isTrained() {
    return base.isTrained();
  }

  @Override
  public String factoryString() {
    return base.factoryString() + ",RFlat";
  }

  @Override
  public void train(float[] vectors) {
    base.train(vectors);
  }

  @Override
  public void add(float[] vectors) {
    // ids are numbered by the base, so the refine part gets them explicitly
    long first = base.ntotal();
    base.add(vectors);
    int n = vectors.length / d();
    long[] ids = new long[n];
    for (int i = 0; i < n; i++) {
      ids[i] = first + i;
    }
    refine.addWithIds(vectors, ids);
  }

  @Override
  public void addWithIds(float[] vectors, long[] ids) {
    base.addWithIds(vectors, ids);
    refine.addWithIds(vectors, ids);
  }

  @Override
  public SearchResult search(float[] queries, int k, SearchParams params) {
    Checks.k(k);
    float kf = params.kFactor() > 0 ? params.kFactor() : kFactor;
    return rerank(queries, base.search(queries, candidates(k, kf, base.ntotal()), params), k, params.threads());
  }

  /**
   * How many candidates a refined search of {@code k} takes from a base index of {@code ntotal}
   * vectors: {@code ceil(k * kFactor)}, but no more than the base holds (more are padding) or
   * than {@link Checks#MAX_K}, and never fewer than k.
   */
  public static int candidates(int k, float kFactor, long ntotal) {
    long want = (long) Math.ceil(k * (double) kFactor);
    return (int) Math.max(k, Math.min(want, Math.min(ntotal, Checks.MAX_K)));
  }

  /**
   * Re-ranks candidate ids (a result of the base index, or of part of it, for the same queries) by
   * their exact distances to the queries, keeping the best {@code k}: the second half of
   * {@link #search}. Candidates that are -1 or not in the refine index are dropped.
   */
  public SearchResult rerank(float[] queries, SearchResult candidates, int k, int threads) {
    Checks.k(k);
    float[] q = Checks.prepareVectors("queries", queries, d(), metric().normalizes());
    int nq = candidates.nq();
    int k2 = candidates.k();
    int d = d();
    if (q.length != (long) nq * d) {
      throw new IllegalArgumentException("candidates are for " + nq + " queries, got " + q.length / d + " queries");
    }
    if ((long) nq * Math.max(k, k2) > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(nq + " queries x k " + Math.max(k, k2) + " results are more than one array "
          + "holds; search fewer queries at a time");
    }
    boolean ip = metric().higherIsCloser();
    long[] outIds = new long[nq * k];
    float[] outDist = new float[nq * k];
    long[] cand = candidates.ids();
    Parallel.forEach(threads, nq, qi -> {
      float[] keys = new float[k2];
      refine.exactKeys(q, qi * d, cand, qi * k2, k2, keys);
      TopKHeap heap = new TopKHeap(k);
      for (int j = 0; j < k2; j++) {
        long id = cand[qi * k2 + j];
        if (id >= 0 && keys[j] != Float.POSITIVE_INFINITY) {
          heap.offer(keys[j], id);
        }
      }
      Scans.drain(heap, outDist, outIds, qi * k, ip);
    });
    return new SearchResult(nq, k, outIds, outDist);
  }

  /**
   * Range search by exact distance over the candidates the base index finds within the radius
   * by its approximate distances: a vector whose code lies outside the radius is not returned
   * even when its exact distance is inside.
   */
  @Override
  public RangeSearchResult rangeSearch(float[] queries, float radius, SearchParams params) {
    RangeSearchResult r = base.rangeSearch(queries, radius, params);
    float[] q = Checks.prepareVectors("queries", queries, d(), metric().normalizes());
    boolean ip = metric().higherIsCloser();
    float keyBound = ip ? -radius : radius;
    RangeCollector[] out = new RangeCollector[r.nq()];
    Parallel.forEach(params.threads(), r.nq(), qi -> {
      int from = (int) r.lims()[qi];
      int n = r.count(qi);
      float[] keys = new float[n];
      refine.exactKeys(q, qi * d(), r.ids(), from, n, keys);
      RangeCollector c = new RangeCollector();
      for (int j = 0; j < n; j++) {
        if (keys[j] < keyBound) {
          c.add(keys[j], r.ids()[from + j]);
        }
      }
      c.sort();
      out[qi] = c;
    });
    return RangeCollector.toResult(out, ip);
  }

  /** The raw stored vector (exact, normalized for cosine). */
  @Override
  public float[] reconstruct(long id) {
    if (!base.isTrained()) {
      throw new IllegalStateException("the index is not trained: call train() before add() or search()");
    }
    return refine.reconstruct(id);
  }

  /**
   * Merges base into base and raw vectors into raw vectors. The raw part is checked first, so a
   * failure leaves both indexes as they were.
   */
  @Override
  public void mergeFrom(VectorIndex other) {
    if (!(other instanceof RefineIndex) || other == this) {
      throw new IllegalArgumentException("cannot merge " + (other == null ? "null" : other.factoryString()) + " into "
          + factoryString() + ": both must be refine indexes of the same kind");
    }
    RefineIndex o = (RefineIndex) other;
    long total = refine.ntotal() + o.refine.ntotal();
    if (total * d() > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("merging would hold " + total + " raw vectors of d=" + d() + ", more than one index can");
    }
    base.mergeFrom(o.base);
    refine.mergeFrom(o.refine);
  }

  /** Both parts; -1 when the base cannot tell. */
  @Override
  public long memoryBytes() {
    long b = base.memoryBytes();
    return b < 0 ? -1 : b + refine.memoryBytes();
  }

  @Override
  public long removeIds(IdSelector selector) {
    long removed = base.removeIds(selector);
    refine.removeIds(selector);
    return removed;
  }
}
