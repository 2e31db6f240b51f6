package io.quiver.index;

/**
 * The results of a range search, laid out as FAISS's {@code RangeSearchResult}: the results of
 * query {@code q} are entries {@code lims[q] .. lims[q+1]} of {@code ids} and
 * {@code distances}, sorted best first (ties by smaller id).
 */
public final class RangeSearchResult {
  private final int nq;
  private final long[] lims;
  private final long[] ids;
  private final float[] distances;

  public RangeSearchResult(int nq, long[] lims, long[] ids, float[] distances) {
    if (lims.length != nq + 1 || lims[nq] != ids.length || ids.length != distances.length) {
      throw new IllegalArgumentException("lims must have nq+1 entries ending at ids.length");
    }
    this.nq = nq;
    this.lims = lims;
    this.ids = ids;
    this.distances = distances;
  }

  public int nq() {
    return nq;
  }

  /** Offsets of each query's results, size nq+1. Shared, not copied. */
  public long[] lims() {
    return lims;
  }

  /** All result ids. Shared, not copied. */
  public long[] ids() {
    return ids;
  }

  /** All result distances. Shared, not copied. */
  public float[] distances() {
    return distances;
  }

  /** The number of results of query {@code q}. */
  public int count(int q) {
    return (int) (lims[q + 1] - lims[q]);
  }
}
