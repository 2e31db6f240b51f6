package io.quiver.index.util;

/**
 * Finds the storage row of an id in an index that keeps one id per row (Flat, PQ and SQ
 * indexes): row = id while the ids are 0, 1, 2, ... in row order, otherwise through a direct map
 * built on the first lookup (FAISS's {@code make_direct_map}) and dropped by
 * {@link #invalidate()} whenever rows change. Lookups may run concurrently; the owner calls
 * {@link #invalidate()} under its write lock.
 */
public final class RowLookup {
  private volatile LongLongMap map;

  /**
   * The row of {@code id} among the first {@code ntotal} entries of {@code ids}, or -1.
   *
   * @param sequential true when {@code ids[i] == i} for every row
   * @throws IllegalStateException when an id is stored more than once
   */
  public int rowOf(long id, long[] ids, int ntotal, boolean sequential) {
    if (sequential) {
      return id >= 0 && id < ntotal ? (int) id : -1;
    }
    LongLongMap m = map;
    if (m == null) {
      synchronized (this) {
        m = map;
        if (m == null) {
          m = new LongLongMap(ntotal);
          for (int i = 0; i < ntotal; i++) {
            if (!m.putIfAbsent(ids[i], i)) {
              throw new IllegalStateException("id " + ids[i] + " is stored more than once; reconstruct needs unique ids");
            }
          }
          map = m;
        }
      }
    }
    return (int) m.get(id, -1);
  }

  /** Drops the direct map after rows changed. */
  public void invalidate() {
    map = null;
  }

  /** True when {@code a[from + i] == first + i} for every {@code i < n}. */
  public static boolean isSequential(long[] a, int from, int n, long first) {
    for (int i = 0; i < n; i++) {
      if (a[from + i] != first + i) {
        return false;
      }
    }
    return true;
  }
}
