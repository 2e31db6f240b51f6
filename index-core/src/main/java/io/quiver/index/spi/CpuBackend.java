package io.quiver.index.spi;

import io.quiver.index.IdSelector;
import io.quiver.index.SearchResult;
import io.quiver.index.vector.ExhaustiveSearch;

/**
 * The reference backend: index-core's own Java kernels (SIMD through the Vector API, or the scalar
 * kernels under {@code -Dquiver.vectorization=scalar}) on the calling thread and index-core's
 * worker threads.
 */
public final class CpuBackend implements ComputeBackend {

  /** The one instance. */
  public static final CpuBackend INSTANCE = new CpuBackend();

  private CpuBackend() {}

  @Override
  public String name() {
    return "cpu";
  }

  @Override
  public boolean isAccelerator() {
    return false;
  }

  @Override
  public void knn(float[] queries, int nq, float[] base, int nb, float[] baseNorms, long[] labels, int d,
                  boolean innerProduct, int k, int threads, IdSelector[] selectors, float[] outDistances,
                  long[] outIds) {
    ExhaustiveSearch.search(queries, nq, base, nb, baseNorms, labels, d, innerProduct, k, threads, selectors,
        outDistances, outIds);
  }

  /** The codecs encode in Java themselves. */
  @Override
  public byte[] encode(IvfLists.Codec codec, int d, float[] x) {
    return null;
  }

  @Override
  public SearchResult ivfSearch(IvfSearchJob job) {
    return job.reference().get();
  }

  @Override
  public String toString() {
    return name();
  }
}
