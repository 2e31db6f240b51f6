package io.quiver.index;

import io.quiver.index.codec.FlatCodec;
import io.quiver.index.spi.ComputeBackends;
import io.quiver.index.vector.ExhaustiveSearch;
import io.quiver.index.vector.VectorUtil;
import java.util.Arrays;

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
public final class FlatIndex extends FlatCodesIndex<float[]> {

  /** Squared norms of the rows for L2 searches, with the store version they were computed for. */
  private record Norms(long version, float[] norms) {}

  private volatile Norms norms;

  public FlatIndex(int d, Metric metric) {
    super(d, metric, new FlatCodec(d));
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
    index.restore(ids, vectors);
    return index;
  }

  /** Exact k-NN through the compute backend (the blocked kernel for batches, with the rows' norms for L2). */
  @Override
  public SearchResult search(float[] queries, int k, SearchParams params) {
    float[] q = prepare("queries", queries);
    io.quiver.index.util.Checks.k(k);
    int nq = q.length / d;
    IdSelector[] selectors = params.selectors(nq);
    long[] outIds = new long[nq * k];
    float[] outDist = new float[nq * k];
    withReadLock(() -> {
      int ntotal = store.size(0);
      ComputeBackends.current().knn(q, nq, store.codes(0), ntotal, metric == Metric.L2 ? norms() : null,
          sequentialIds() ? null : store.ids(0), d, metric.higherIsCloser(), k, params.threads(), selectors, outDist,
          outIds);
      return null;
    });
    return new SearchResult(nq, k, outIds, outDist);
  }

  /** The rows' squared norms, computed once per change of the rows; call under the read lock. */
  private float[] norms() {
    long version = store.version();
    Norms n = norms;
    if (n == null || n.version != version) {
      n = new Norms(version, VectorUtil.squareNorms(store.codes(0), store.size(0), d));
      norms = n; // racing searches compute the same array
    }
    return n.norms;
  }

  @Override
  protected void rowsChanged() {
    norms = null;
  }

  /** Vectors and ids (capacity included), and the rows' norms once an L2 search computed them. */
  @Override
  public long memoryBytes() {
    Norms n = norms;
    return super.memoryBytes() + (n == null ? 0 : 4L * n.norms.length);
  }

  /**
   * Exact keys of stored vectors by id, for re-ranking (smaller is better: squared L2, or the
   * negated inner product): {@code out[j] = key(q, ids[from + j])}, +inf for id -1 or an id not
   * stored. {@code q} must already be normalized for cosine. Thread-safe.
   */
  void exactKeys(float[] q, int qOff, long[] candidates, int from, int n, float[] out) {
    boolean ip = metric.higherIsCloser();
    withReadLock(() -> {
      float[] data = store.codes(0);
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
      return null;
    });
  }

  /** A copy of {@code count} stored rows from row {@code from} ({@code count * d} floats). */
  public float[] copyRows(int from, int count) {
    return copyCodes(from, count);
  }
}
