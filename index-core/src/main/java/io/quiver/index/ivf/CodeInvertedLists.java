package io.quiver.index.ivf;

import io.quiver.index.IdSelector;
import io.quiver.index.spi.IvfLists;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * Inverted lists of fixed-size codes (PQ or SQ): for each of {@code nlist} lists, its ids and
 * its codes stored contiguously ({@code size * codeSize} bytes), as FAISS's
 * {@code ArrayInvertedLists}.
 *
 * <p>Not thread-safe: the owning index guards it with its lock. {@link #ids(int)} and
 * {@link #codes(int)} return the live storage (capacity may exceed {@link #size(int)}).
 */
public final class CodeInvertedLists implements ListDirectMap.Source {
  private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

  private final int nlist;
  private final int codeSize;
  private final long[][] ids;
  private final byte[][] codes;
  private final int[] sizes;
  /** Bumped by every change of the contents (see {@link #version()}). */
  private volatile long version;

  public CodeInvertedLists(int nlist, int codeSize) {
    this.nlist = nlist;
    this.codeSize = codeSize;
    this.ids = new long[nlist][];
    this.codes = new byte[nlist][];
    this.sizes = new int[nlist];
    for (int l = 0; l < nlist; l++) {
      ids[l] = new long[0];
      codes[l] = new byte[0];
    }
  }

  @Override
  public int nlist() {
    return nlist;
  }

  public int codeSize() {
    return codeSize;
  }

  /** A number that changes whenever the contents of any list change (an accelerator's copy goes stale). */
  public long version() {
    return version;
  }

  @Override
  public int size(int list) {
    return sizes[list];
  }

  /** Live id storage of a list; valid entries are {@code [0, size(list))}. */
  @Override
  public long[] ids(int list) {
    return ids[list];
  }

  /** Live code storage of a list; valid bytes are {@code [0, size(list) * codeSize)}. */
  public byte[] codes(int list) {
    return codes[list];
  }

  /** Bytes held by ids and codes (capacity included). */
  public long memoryBytes() {
    long b = 0;
    for (int l = 0; l < nlist; l++) {
      b += 8L * ids[l].length + codes[l].length;
    }
    return b;
  }

  /** Makes room for {@code extra} more entries in a list. */
  public void reserve(int list, int extra) {
    long need = (long) sizes[list] + extra;
    if (need * codeSize > MAX_ARRAY || need > MAX_ARRAY) {
      throw new IllegalArgumentException("inverted list " + list + " would hold " + need + " codes of " + codeSize
          + " bytes, more than one list can; use a larger nlist");
    }
    if (need > ids[list].length) {
      long cap = Math.min(MAX_ARRAY / Math.max(1, codeSize), Math.max(need, (long) ids[list].length * 5 / 4 + 8));
      ids[list] = Arrays.copyOf(ids[list], (int) cap);
      codes[list] = Arrays.copyOf(codes[list], (int) cap * codeSize);
    }
  }

  /** Appends one entry: the code {@code src[srcOff .. srcOff+codeSize)} with its id. */
  public void append(int list, long id, byte[] src, int srcOff) {
    version++;
    reserve(list, 1);
    int s = sizes[list];
    ids[list][s] = id;
    System.arraycopy(src, srcOff, codes[list], s * codeSize, codeSize);
    sizes[list] = s + 1;
  }

  /** Replaces a list's content (index files); the arrays are taken as they are. */
  public void setList(int list, long[] listIds, byte[] listCodes) {
    version++;
    if (listCodes.length != (long) listIds.length * codeSize) {
      throw new IllegalArgumentException("list " + list + ": " + listCodes.length + " code bytes for " + listIds.length
          + " ids of " + codeSize + " bytes");
    }
    ids[list] = listIds;
    codes[list] = listCodes;
    sizes[list] = listIds.length;
  }

  /** Removes the selected entries from every list, keeping order; returns how many went. */
  public long remove(IdSelector selector) {
    version++;
    long removed = 0;
    for (int l = 0; l < nlist; l++) {
      long[] li = ids[l];
      byte[] lc = codes[l];
      int w = 0;
      int s = sizes[l];
      for (int r = 0; r < s; r++) {
        if (selector.isMember(li[r])) {
          continue;
        }
        if (w != r) {
          li[w] = li[r];
          System.arraycopy(lc, r * codeSize, lc, w * codeSize, codeSize);
        }
        w++;
      }
      removed += s - w;
      sizes[l] = w;
    }
    return removed;
  }

  /** Moves every entry of {@code other} to the end of the same list here, and empties {@code other}. */
  public void moveFrom(CodeInvertedLists other) {
    version++;
    other.version++;
    if (other.nlist != nlist || other.codeSize != codeSize) {
      throw new IllegalArgumentException("cannot merge lists of nlist=" + other.nlist + ", codeSize=" + other.codeSize
          + " into nlist=" + nlist + ", codeSize=" + codeSize);
    }
    for (int l = 0; l < nlist; l++) {
      long need = (long) sizes[l] + other.sizes[l];
      if (need * codeSize > MAX_ARRAY) {
        throw new IllegalArgumentException("merging would make inverted list " + l + " hold " + need
            + " codes, more than one list can; nothing was moved");
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
      System.arraycopy(other.codes[l], 0, codes[l], s * codeSize, n * codeSize);
      sizes[l] = s + n;
      other.ids[l] = new long[0];
      other.codes[l] = new byte[0];
      other.sizes[l] = 0;
    }
  }

  /**
   * A live {@link IvfLists} view of these lists and {@code coarse}'s centroids, for a compute
   * backend, with the codec {@code codec} describes; make one per index and keep it.
   */
  public IvfLists view(CoarseQuantizer coarse, int d, Supplier<IvfLists.Codec> codec) {
    return new ListsView(d, nlist, coarse) {
      @Override
      public Codec codec() {
        return codec.get();
      }

      @Override
      public int codeSize() {
        return codeSize;
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
        throw new UnsupportedOperationException("these lists hold codes: use listCodes");
      }

      @Override
      public byte[] listCodes(int list) {
        return codes[list];
      }
    };
  }
}
