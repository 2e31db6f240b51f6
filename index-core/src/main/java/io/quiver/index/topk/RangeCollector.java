package io.quiver.index.topk;

import io.quiver.index.IdSelector;
import java.util.Arrays;

/**
 * Collects the results of one range-search query: (key, id) pairs with "smaller key is better",
 * sorted on {@link #sort()} by key then id. An optional {@link IdSelector} drops the ids it does
 * not choose; callers add only entries inside the radius, so it is asked about those alone.
 * Not thread-safe: one per query.
 */
public final class RangeCollector {
  private final IdSelector selector;
  private float[] keys = new float[16];
  private long[] ids = new long[16];
  private int size;

  /** A collector that keeps every id. */
  public RangeCollector() {
    this(null);
  }

  /** A collector that keeps the ids {@code selector} chooses; null keeps every id. */
  public RangeCollector(IdSelector selector) {
    this.selector = selector;
  }

  /** Adds an entry (already known to be inside the radius) unless the selector rejects its id. */
  public void add(float key, long id) {
    if (selector != null && !selector.isMember(id)) {
      return;
    }
    if (size == keys.length) {
      keys = Arrays.copyOf(keys, size * 2);
      ids = Arrays.copyOf(ids, size * 2);
    }
    keys[size] = key;
    ids[size] = id;
    size++;
  }

  public int size() {
    return size;
  }

  /** Sorts by key, then id. */
  public void sort() {
    Integer[] order = new Integer[size];
    for (int i = 0; i < size; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> {
      int c = Float.compare(keys[a], keys[b]);
      return c != 0 ? c : Long.compare(ids[a], ids[b]);
    });
    float[] k2 = new float[size];
    long[] i2 = new long[size];
    for (int i = 0; i < size; i++) {
      k2[i] = keys[order[i]];
      i2[i] = ids[order[i]];
    }
    keys = k2;
    ids = i2;
  }

  public float key(int i) {
    return keys[i];
  }

  public long id(int i) {
    return ids[i];
  }

  /**
   * Concatenates per-query collectors into a FAISS-style layout: {@code lims} (nq+1),
   * then ids and values; {@code negate} turns keys back into similarities.
   */
  public static io.quiver.index.RangeSearchResult toResult(RangeCollector[] perQuery, boolean negate) {
    int nq = perQuery.length;
    long[] lims = new long[nq + 1];
    for (int q = 0; q < nq; q++) {
      lims[q + 1] = lims[q] + perQuery[q].size;
    }
    if (lims[nq] > Integer.MAX_VALUE - 8) {
      throw new IllegalStateException("range search found " + lims[nq] + " results, more than one array holds; use a smaller radius or fewer queries per call");
    }
    long[] ids = new long[(int) lims[nq]];
    float[] dist = new float[(int) lims[nq]];
    for (int q = 0; q < nq; q++) {
      RangeCollector c = perQuery[q];
      int o = (int) lims[q];
      for (int i = 0; i < c.size; i++) {
        ids[o + i] = c.ids[i];
        dist[o + i] = negate ? -c.keys[i] : c.keys[i];
      }
    }
    return new io.quiver.index.RangeSearchResult(nq, lims, ids, dist);
  }
}
