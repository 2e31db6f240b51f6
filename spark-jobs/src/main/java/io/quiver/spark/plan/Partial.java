package io.quiver.spark.plan;

import io.quiver.index.topk.TopKMerge;
import java.io.Serializable;

/** A partial top-k of one query: ids and distances, best first, padded with id -1. */
public final class Partial implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The query's own id (Long or String), carried to the output row. */
  public Object queryId;
  public long[] ids;
  public float[] distances;

  /** For serializers. */
  public Partial() {}

  public Partial(Object queryId, long[] ids, float[] distances) {
    this.queryId = queryId;
    this.ids = ids;
    this.distances = distances;
  }

  /** The better k of two partials (a bounded merge, linear in k). */
  public static Partial merge(Partial a, Partial b, boolean higherIsCloser) {
    int k = a.ids.length;
    long[] ids = new long[k];
    float[] dist = new float[k];
    TopKMerge.merge(a.ids, a.distances, b.ids, b.distances, k, higherIsCloser, ids, dist);
    return new Partial(a.queryId != null ? a.queryId : b.queryId, ids, dist);
  }
}
