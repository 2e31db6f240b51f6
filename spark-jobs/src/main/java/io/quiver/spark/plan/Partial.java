package io.quiver.spark.plan;

import io.quiver.index.topk.TopKMerge;
import java.io.Serializable;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A partial result of one query: ids and distances, best first. A top-k partial holds k entries
 * padded with id -1; a range partial holds its entries only. For maximal-marginal-relevance
 * re-ranking it also carries the query and the candidates' vectors.
 */
public final class Partial implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The query's own id (Long or String), carried to the output row. */
  public Object queryId;
  public long[] ids;
  public float[] distances;
  /** The query vector, when the candidates' vectors are carried; else null. */
  public float[] query;
  /** {@code ids.length * d} floats: the candidates' vectors (zeros for padding), or null. */
  public float[] vectors;

  /** For serializers. */
  public Partial() {}

  public Partial(Object queryId, long[] ids, float[] distances) {
    this.queryId = queryId;
    this.ids = ids;
    this.distances = distances;
  }

  /**
   * Merges two partials of one query: at most {@code bound} entries, padded with id -1 to
   * {@code bound} when {@code pad}, else only the real entries; carried vectors follow their ids.
   */
  public static Partial merge(Partial a, Partial b, boolean higherIsCloser, int bound, boolean pad) {
    int n = (int) Math.min(bound, (long) a.ids.length + b.ids.length);
    if (pad) {
      n = bound;
    }
    long[] ids = new long[n];
    float[] dist = new float[n];
    int real = TopKMerge.merge(a.ids, a.distances, b.ids, b.distances, n, higherIsCloser, ids, dist);
    if (!pad && real < n) {
      ids = Arrays.copyOf(ids, real);
      dist = Arrays.copyOf(dist, real);
    }
    Partial out = new Partial(a.queryId != null ? a.queryId : b.queryId, ids, dist);
    float[] q = a.query != null ? a.query : b.query;
    if (q != null) {
      int d = q.length;
      out.query = q;
      out.vectors = new float[ids.length * d];
      Map<Long, float[]> from = new HashMap<>();
      for (Partial p : new Partial[] {a, b}) {
        for (int i = 0; p.vectors != null && i < p.ids.length; i++) {
          if (p.ids[i] >= 0) {
            from.put(p.ids[i], Arrays.copyOfRange(p.vectors, i * d, i * d + d));
          }
        }
      }
      for (int i = 0; i < ids.length; i++) {
        float[] v = ids[i] >= 0 ? from.get(ids[i]) : null;
        if (v != null) {
          System.arraycopy(v, 0, out.vectors, i * d, d);
        }
      }
    }
    return out;
  }
}
