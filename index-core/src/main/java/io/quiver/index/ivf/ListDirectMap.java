package io.quiver.index.ivf;

import io.quiver.index.util.LongLongMap;

/**
 * The direct map of an inverted-file index (FAISS's {@code make_direct_map}): id to
 * {@code list << 32 | offset}, built on the first lookup and dropped by {@link #invalidate()}
 * whenever the lists change. Lookups may run concurrently (under the owner's read lock); the
 * owner calls {@link #invalidate()} under its write lock.
 */
public final class ListDirectMap {

  /** What the map is built from: the ids of each list. */
  public interface Source {
    int nlist();

    int size(int list);

    /** Live ids of a list; valid entries are {@code [0, size(list))}. */
    long[] ids(int list);
  }

  private volatile LongLongMap map;

  /**
   * The position of {@code id} as {@code list << 32 | offset}, or -1.
   *
   * @throws IllegalStateException when an id is stored more than once
   */
  public long positionOf(long id, Source lists, long ntotal) {
    return build(lists, ntotal).get(id, -1L);
  }

  /** Builds the map now if it is not built. */
  public LongLongMap build(Source lists, long ntotal) {
    LongLongMap m = map;
    if (m == null) {
      synchronized (this) {
        m = map;
        if (m == null) {
          m = new LongLongMap((int) Math.min(Integer.MAX_VALUE / 4, ntotal));
          for (int l = 0, nlist = lists.nlist(); l < nlist; l++) {
            long[] ids = lists.ids(l);
            for (int o = 0, s = lists.size(l); o < s; o++) {
              if (!m.putIfAbsent(ids[o], ((long) l << 32) | o)) {
                throw new IllegalStateException("id " + ids[o] + " is stored more than once; the direct map needs unique ids");
              }
            }
          }
          map = m;
        }
      }
    }
    return m;
  }

  /** Drops the map after the lists changed. */
  public void invalidate() {
    map = null;
  }
}
