package io.quiver.index.topk;

import io.quiver.index.IdSelector;
import java.util.Arrays;

/**
 * A bounded heap that keeps the {@code k} best (smallest) keys seen, with their ids and an
 * optional int payload (such as a row number). Ties on the key are broken by the smaller id,
 * so the kept set and its order are deterministic whatever the order of offers.
 *
 * <p>Keys are "smaller is better". Callers searching by a similarity (inner product, cosine)
 * offer the negated similarity, which is exact in floating point, and negate back on output.
 *
 * <p>An optional {@link IdSelector} restricts the heap to selected ids (FAISS's
 * {@code SearchParameters.sel}): {@link #offer} rejects an id the selector does not choose. The
 * selector is asked only about entries that would otherwise be kept (after the key passes the
 * threshold), so a scan that filters on {@link #threshold()} first pays for it only on entries
 * that compete for the top k; without a selector the cost is one null check per kept entry.
 * Because the selection happens during the scan, a search returns k results whenever at least k
 * selected entries are scanned.
 *
 * <p>Not thread-safe: one heap per query per thread. {@link #reset()} makes it reusable.
 */
public final class TopKHeap {
  private final int k;
  private final float[] keys;
  private final long[] ids;
  private final int[] payloads;
  /** Only ids it selects are kept; null keeps every id. */
  private final IdSelector selector;
  private int size;

  /** A heap keeping at most {@code k >= 1} entries. */
  public TopKHeap(int k) {
    this(k, null);
  }

  /**
   * A heap keeping at most {@code k >= 1} entries whose ids {@code selector} chooses; a null
   * selector keeps every id.
   */
  public TopKHeap(int k, IdSelector selector) {
    if (k < 1) {
      throw new IllegalArgumentException("k must be >= 1, was " + k);
    }
    this.k = k;
    this.keys = new float[k];
    this.ids = new long[k];
    this.payloads = new int[k];
    this.selector = selector;
  }

  public int capacity() {
    return k;
  }

  public int size() {
    return size;
  }

  public void reset() {
    size = 0;
  }

  /** The largest key that can still enter: the worst kept key when full, +inf otherwise. */
  public float threshold() {
    return size == k ? keys[0] : Float.POSITIVE_INFINITY;
  }

  /** True when an entry with this key and id would be kept (asks the selector, if any). */
  public boolean accepts(float key, long id) {
    return (size < k || worse(keys[0], ids[0], key, id)) && selected(id);
  }

  private boolean selected(long id) {
    return selector == null || selector.isMember(id);
  }

  /** Offers an entry; returns true when it was kept. */
  public boolean offer(float key, long id) {
    return offer(key, id, 0);
  }

  /**
   * Offers an entry with a payload; returns true when it was kept. An entry whose id the selector
   * does not choose is never kept.
   */
  public boolean offer(float key, long id, int payload) {
    if (size < k) {
      if (!selected(id)) {
        return false;
      }
      // sift up: the worst entry stays on top
      int i = size++;
      while (i > 0) {
        int parent = (i - 1) >>> 1;
        if (worse(key, id, keys[parent], ids[parent])) {
          keys[i] = keys[parent];
          ids[i] = ids[parent];
          payloads[i] = payloads[parent];
          i = parent;
        } else {
          break;
        }
      }
      keys[i] = key;
      ids[i] = id;
      payloads[i] = payload;
      return true;
    }
    // the selector last: it is only asked about entries that would enter the top k
    if (!worse(keys[0], ids[0], key, id) || !selected(id)) {
      return false;
    }
    siftDownFromTop(key, id, payload);
    return true;
  }

  private void siftDownFromTop(float key, long id, int payload) {
    int i = 0;
    int n = size;
    while (true) {
      int l = 2 * i + 1;
      if (l >= n) {
        break;
      }
      int r = l + 1;
      int c = l;
      if (r < n && worse(keys[r], ids[r], keys[l], ids[l])) {
        c = r;
      }
      if (worse(keys[c], ids[c], key, id)) {
        keys[i] = keys[c];
        ids[i] = ids[c];
        payloads[i] = payloads[c];
        i = c;
      } else {
        break;
      }
    }
    keys[i] = key;
    ids[i] = id;
    payloads[i] = payload;
  }

  /** True when (ka, ia) ranks after (kb, ib): larger key, or equal key and larger id. */
  static boolean worse(float ka, long ia, float kb, long ib) {
    return ka > kb || (ka == kb && ia > ib);
  }

  /**
   * Writes the kept entries best first into {@code outKeys/outIds[off .. off+k)}, padding the
   * rest with key {@code padKey} and id -1, and {@code outPayloads} when not null. Empties the heap.
   */
  public void drainSorted(float[] outKeys, long[] outIds, int[] outPayloads, int off, float padKey) {
    int n = size;
    // heap sort in place: repeatedly move the worst to the end
    for (int end = n - 1; end > 0; end--) {
      float tk = keys[end];
      long ti = ids[end];
      int tp = payloads[end];
      keys[end] = keys[0];
      ids[end] = ids[0];
      payloads[end] = payloads[0];
      size = end;
      siftDownFromTop(tk, ti, tp);
    }
    size = 0;
    System.arraycopy(keys, 0, outKeys, off, n);
    System.arraycopy(ids, 0, outIds, off, n);
    if (outPayloads != null) {
      System.arraycopy(payloads, 0, outPayloads, off, n);
    }
    if (n < k) {
      Arrays.fill(outKeys, off + n, off + k, padKey);
      Arrays.fill(outIds, off + n, off + k, -1L);
      if (outPayloads != null) {
        Arrays.fill(outPayloads, off + n, off + k, -1);
      }
    }
  }
}
