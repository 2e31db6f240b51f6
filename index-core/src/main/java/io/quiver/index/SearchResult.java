package io.quiver.index;

/**
 * The k nearest neighbours of each of {@code nq} queries: ids and distances of shape
 * {@code nq x k}, row-major, best first. Missing results (fewer than k vectors reachable) are
 * padded with id -1 and {@link Metric#worstValue()}.
 */
public final class SearchResult {
  private final int nq;
  private final int k;
  private final long[] ids;
  private final float[] distances;

  public SearchResult(int nq, int k, long[] ids, float[] distances) {
    if (ids.length != (long) nq * k || distances.length != (long) nq * k) {
      throw new IllegalArgumentException("ids and distances must have nq*k=" + ((long) nq * k) + " entries");
    }
    this.nq = nq;
    this.k = k;
    this.ids = ids;
    this.distances = distances;
  }

  public int nq() {
    return nq;
  }

  public int k() {
    return k;
  }

  /** All ids, size nq*k, row-major. The array is shared, not copied. */
  public long[] ids() {
    return ids;
  }

  /** All distances, size nq*k, row-major. The array is shared, not copied. */
  public float[] distances() {
    return distances;
  }

  /** The id of the {@code rank}-th neighbour of query {@code q}, or -1. */
  public long id(int q, int rank) {
    return ids[q * k + rank];
  }

  /** The distance of the {@code rank}-th neighbour of query {@code q}. */
  public float distance(int q, int rank) {
    return distances[q * k + rank];
  }

  /** A copy of the k ids of query {@code q}, best first. */
  public long[] ids(int q) {
    return java.util.Arrays.copyOfRange(ids, q * k, q * k + k);
  }

  /** A copy of the k distances of query {@code q}, best first. */
  public float[] distances(int q) {
    return java.util.Arrays.copyOfRange(distances, q * k, q * k + k);
  }
}
