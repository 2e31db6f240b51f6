package io.quiver.index.ivf;

import io.quiver.index.spi.ComputeBackends;

/**
 * The coarse quantizer that compares a query with every centroid (FAISS's {@code IndexFlat} as
 * an IVF quantizer): an exact k-NN over the centroids on the compute backend, with their norms
 * for L2.
 */
public final class FlatCoarseQuantizer extends CoarseQuantizer {

  FlatCoarseQuantizer(int d, int nlist, boolean innerProduct) {
    super(d, nlist, innerProduct);
  }

  @Override
  protected CoarseQuantizer newEmpty() {
    return new FlatCoarseQuantizer(d(), nlist(), innerProduct());
  }

  @Override
  public void search(float[] q, int nq, int np, int threads, float[] distances, long[] lists) {
    float[][] s = trained();
    ComputeBackends.current().knn(q, nq, s[0], nlist(), s[1], null, d(), innerProduct(), np, threads, null, distances,
        lists);
  }
}
