package io.quiver.spark.plan;

import java.io.Serializable;
import java.util.Arrays;

/**
 * One encoded vector on its way to its shard: the shard and list it goes to, its id, and its
 * code. Ordered by (shard, list, id, code), the order of entries inside a shard file.
 */
public final class Encoded implements Comparable<Encoded>, Serializable {
  private static final long serialVersionUID = 1L;

  public int shard;
  public int list;
  public long id;
  public byte[] code;
  /** The raw vector, for RFlat indexes (null otherwise); not part of the order. */
  public float[] raw;

  /** For serializers. */
  public Encoded() {}

  public Encoded(int shard, int list, long id, byte[] code) {
    this.shard = shard;
    this.list = list;
    this.id = id;
    this.code = code;
  }

  @Override
  public int compareTo(Encoded o) {
    int c = Integer.compare(shard, o.shard);
    if (c == 0) {
      c = Integer.compare(list, o.list);
    }
    if (c == 0) {
      c = Long.compare(id, o.id);
    }
    return c != 0 ? c : Arrays.compareUnsigned(code, o.code);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Encoded e && compareTo(e) == 0;
  }

  @Override
  public int hashCode() {
    return Long.hashCode(id) * 31 + list;
  }
}
