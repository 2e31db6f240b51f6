package io.quiver.index.ivf;

import io.quiver.index.IdSelector;
import io.quiver.index.spi.IvfLists;
import java.util.Arrays;

/**
 * Inverted lists holding raw float vectors: for each of {@code nlist} lists, its ids and its
 * vectors stored contiguously ({@code size * d} floats), so that a list scan is one pass over
 * one array.
 *
 * <p>Not thread-safe: the owning index guards it with its lock. The arrays returned by
 * {@link #ids(int)} and {@link #vectors(int)} are the live storage (their capacity may exceed
 * {@link #size(int)}); callers read them under the owner's read lock and never write them.
 */
public final class FlatInvertedLists implements ListDirectMap.Source {
  private final int nlist;
  private final int d;
  private final long[][] ids;
  private final float[][] vectors;
  private final int[] sizes;
  /** Bumped by every change of the contents (see {@link #version()}). */
  private volatile long version;

  public FlatInvertedLists(int nlist, int d) {
    this.nlist = nlist;
    this.d = d;
    this.ids = new long[nlist][];
    this.vectors = new float[nlist][];
    this.sizes = new int[nlist];
    for (int l = 0; l < nlist; l++) {
      ids[l] = new long[0];
      vectors[l] = new float[0];
    }
  }

  @Override
  public int nlist() {
    return nlist;
  }

  public int d() {
    return d;
  }

  /** A number that changes whenever the contents of any list change (an accelerator's copy goes stale). */
  public long version() {
    return version;
  }

  @Override
  public int size(int list) {
    return sizes[list];
  }

  /** The total number of entries over all lists. */
  public long totalSize() {
    long t = 0;
    for (int s : sizes) {
      t += s;
    }
    return t;
  }

  /** The largest list size. */
  public int maxSize() {
    int m = 0;
    for (int s : sizes) {
      m = Math.max(m, s);
    }
    return m;
  }

  /** Bytes held by ids and vectors (capacity included). */
  public long memoryBytes() {
    long b = 0;
    for (int l = 0; l < nlist; l++) {
      b += 8L * ids[l].length + 4L * vectors[l].length;
    }
    return b;
  }

  /** Live id storage of a list; valid entries are {@code [0, size(list))}. */
  @Override
  public long[] ids(int list) {
    return ids[list];
  }

  /** Live vector storage of a list; valid floats are {@code [0, size(list) * d)}. */
  public float[] vectors(int list) {
    return vectors[list];
  }

  /** Makes room for {@code extra} more entries in a list. */
  public void reserve(int list, int extra) {
    long need = (long) sizes[list] + extra;
    if (need * d > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("inverted list " + list + " would hold " + need + " vectors of d=" + d
          + ", more than one list can; use a larger nlist");
    }
    if (need > ids[list].length) {
      int cap = (int) Math.min((Integer.MAX_VALUE - 8) / d, Math.max(need, (long) ids[list].length * 3 / 2 + 8));
      ids[list] = Arrays.copyOf(ids[list], cap);
      vectors[list] = Arrays.copyOf(vectors[list], cap * d);
    }
  }

  /** Appends one entry: the vector {@code src[srcOff .. srcOff+d)} with its id. */
  public void append(int list, long id, float[] src, int srcOff) {
    version++;
    reserve(list, 1);
    int s = sizes[list];
    ids[list][s] = id;
    System.arraycopy(src, srcOff, vectors[list], s * d, d);
    sizes[list] = s + 1;
  }

  /** Replaces a list's content (used when reading index files); the arrays are taken as they are. */
  public void setList(int list, long[] listIds, float[] listVectors) {
    version++;
    if (listVectors.length != (long) listIds.length * d) {
      throw new IllegalArgumentException("list " + list + ": " + listVectors.length + " floats for " + listIds.length + " ids of d=" + d);
    }
    ids[list] = listIds;
    vectors[list] = listVectors;
    sizes[list] = listIds.length;
  }

  /** Removes the selected entries from every list, keeping order; returns how many went. */
  public long remove(IdSelector selector) {
    version++;
    long removed = 0;
    for (int l = 0; l < nlist; l++) {
      long[] li = ids[l];
      float[] lv = vectors[l];
      int w = 0;
      int s = sizes[l];
      for (int r = 0; r < s; r++) {
        if (selector.isMember(li[r])) {
          continue;
        }
        if (w != r) {
          li[w] = li[r];
          System.arraycopy(lv, r * d, lv, w * d, d);
        }
        w++;
      }
      removed += s - w;
      sizes[l] = w;
    }
    return removed;
  }

  /** Moves every entry of {@code other} to the end of the same list here, and empties {@code other}. */
  public void moveFrom(FlatInvertedLists other) {
    version++;
    other.version++;
    for (int l = 0; l < nlist; l++) {
      if (((long) sizes[l] + other.sizes[l]) * d > Integer.MAX_VALUE - 8) {
        throw new IllegalArgumentException("merging would make inverted list " + l + " hold "
            + ((long) sizes[l] + other.sizes[l]) + " vectors of d=" + d + ", more than one list can; nothing was moved");
      }
    }
    for (int l = 0; l < nlist; l++) {
      int n = other.sizes[l];
      if (n == 0) {
        continue;
      }
      reserve(l, n);
      int s = sizes[l];
      System.arraycopy(other.ids[l], 0, ids[l], s, n);
      System.arraycopy(other.vectors[l], 0, vectors[l], s * d, n * d);
      sizes[l] = s + n;
      other.ids[l] = new long[0];
      other.vectors[l] = new float[0];
      other.sizes[l] = 0;
    }
  }

  /**
   * A live {@link IvfLists} view of these lists and {@code coarse}'s centroids, for a compute
   * backend; make one per index and keep it (backends cache device copies by view).
   */
  public IvfLists view(CoarseQuantizer coarse) {
    return new ListsView(d, nlist, coarse) {
      private final Codec codec = new IvfLists.Flat();

      @Override
      public Codec codec() {
        return codec;
      }

      @Override
      public int codeSize() {
        return 4 * d;
      }

      @Override
      public long version() {
        return version;
      }

      @Override
      public int listSize(int list) {
        return sizes[list];
      }

      @Override
      public long[] listIds(int list) {
        return ids[list];
      }

      @Override
      public float[] listVectors(int list) {
        return vectors[list];
      }

      @Override
      public byte[] listCodes(int list) {
        throw new UnsupportedOperationException("IVF-Flat lists hold vectors: use listVectors");
      }
    };
  }
}
