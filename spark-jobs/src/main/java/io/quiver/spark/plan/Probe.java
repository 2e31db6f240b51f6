package io.quiver.spark.plan;

import java.io.Serializable;

/**
 * A query routed to one shard: its number, vector, and the probed lists that shard holds (the
 * others are -1), with the coarse values index-core's preassigned search needs.
 */
public final class Probe implements Serializable {
  private static final long serialVersionUID = 1L;

  public long qid;
  /** The query's own id (Long or String). */
  public Object id;
  public float[] vector;
  public long[] lists;
  public float[] coarse;
  /** The query's filter set, or -1. */
  public int set = -1;
  /** The index id of the query's own row, or -1. */
  public long self = -1;

  /** For serializers. */
  public Probe() {}

  public Probe(long qid, Object id, float[] vector, long[] lists, float[] coarse, int set, long self) {
    this.qid = qid;
    this.id = id;
    this.vector = vector;
    this.lists = lists;
    this.coarse = coarse;
    this.set = set;
    this.self = self;
  }
}
