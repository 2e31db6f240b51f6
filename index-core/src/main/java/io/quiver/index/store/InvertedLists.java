package io.quiver.index.store;

import io.quiver.index.IdSelector;
import io.quiver.index.ivf.ListDirectMap;
import java.util.Arrays;

/**
 * Inverted lists of fixed-size codes, FAISS's {@code ArrayInvertedLists}: for each of
 * {@code nlist} lists, its ids and its codes stored contiguously ({@code size * unitsPerCode}
 * elements of an {@link ArrayKind}). An IVF index holds {@code nlist} of them; a flat-codes
 * index is the one-list case.
 *
 * <p>Growth: a list that runs out of room grows to {@code max(need, 1.25 * capacity + 8)}
 * entries, so capacity stays within a quarter of the size (what memory figures count); every
 * list holds at most {@link #MAX_ELEMENTS} code elements. A call that throws changes nothing.
 *
 * <p>Not thread-safe: the owning index guards it with its lock. {@link #ids(int)} and
 * {@link #codes(int)} return the live storage (capacity may exceed {@link #size(int)}); callers
 * read them under the owner's read lock and never write them.
 *
 * @param <A> the code array type, {@code byte[]} or {@code float[]}
 */
public final class InvertedLists<A> implements ListDirectMap.Source {

  /** Largest number of array elements a list holds (the JVM's array bound). */
  public static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

  private static final long[] NO_IDS = new long[0];

  private final int nlist;
  private final ArrayKind<A> kind;
  private final int unitsPerCode;
  private final A empty;
  private final long[][] ids;
  private final Object[] codes;
  private final int[] sizes;
  /** Bumped by every change of the contents (see {@link #version()}). */
  private volatile long version;

  /**
   * Empty lists.
   *
   * @param unitsPerCode array elements per code: bytes of a PQ or SQ code, {@code d} floats
   */
  public InvertedLists(int nlist, ArrayKind<A> kind, int unitsPerCode) {
    this.nlist = nlist;
    this.kind = kind;
    this.unitsPerCode = unitsPerCode;
    this.empty = kind.newArray(0);
    this.ids = new long[nlist][];
    this.codes = new Object[nlist];
    this.sizes = new int[nlist];
    for (int l = 0; l < nlist; l++) {
      ids[l] = NO_IDS;
      codes[l] = empty;
    }
  }

  @Override
  public int nlist() {
    return nlist;
  }

  /** The array type of the codes. */
  public ArrayKind<A> kind() {
    return kind;
  }

  /** Array elements per code. */
  public int unitsPerCode() {
    return unitsPerCode;
  }

  /** Bytes per code as {@link ArrayKind#toBytes} writes it. */
  public int codeBytes() {
    return unitsPerCode * kind.elementBytes();
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

  /** Live code storage of a list; valid elements are {@code [0, size(list) * unitsPerCode)}. */
  @SuppressWarnings("unchecked")
  public A codes(int list) {
    return (A) codes[list];
  }

  /** Bytes held by ids and codes (capacity included). */
  public long memoryBytes() {
    long b = 0;
    for (int l = 0; l < nlist; l++) {
      b += 8L * ids[l].length + (long) kind.elementBytes() * kind.length(codes(l));
    }
    return b;
  }

  /** The most entries one list can hold. */
  public long maxEntries() {
    return MAX_ELEMENTS / Math.max(1, unitsPerCode);
  }

  /**
   * Makes room for {@code extra} more entries in a list.
   *
   * @throws IllegalArgumentException when the list cannot hold them (nothing changes)
   */
  public void reserve(int list, long extra) {
    long need = sizes[list] + extra;
    if (need > maxEntries()) {
      throw new IllegalArgumentException("inverted list " + list + " would hold " + need + " codes of " + codeBytes()
          + " bytes, more than one list can (" + maxEntries() + "); use a larger nlist or more shards");
    }
    if (need > ids[list].length) {
      int cap = (int) Math.min(maxEntries(), Math.max(need, (long) ids[list].length * 5 / 4 + 8));
      ids[list] = Arrays.copyOf(ids[list], cap);
      codes[list] = kind.copyOf(codes(list), cap * unitsPerCode);
    }
  }

  /** Appends one entry: code number {@code srcCode} of {@code src} with its id. */
  public void append(int list, long id, A src, int srcCode) {
    reserve(list, 1);
    version++;
    int s = sizes[list];
    ids[list][s] = id;
    System.arraycopy(src, srcCode * unitsPerCode, codes[list], s * unitsPerCode, unitsPerCode);
    sizes[list] = s + 1;
  }

  /**
   * Appends {@code n} entries: codes {@code src[srcCode .. srcCode + n)} with ids
   * {@code idsSrc[idsOff ..]}, or, when {@code idsSrc} is null, the ids
   * {@code idsOff, idsOff + 1, ...}.
   */
  public void append(int list, long[] idsSrc, long idsOff, A src, int srcCode, int n) {
    reserve(list, n);
    version++;
    int s = sizes[list];
    if (idsSrc == null) {
      for (int i = 0; i < n; i++) {
        ids[list][s + i] = idsOff + i;
      }
    } else {
      System.arraycopy(idsSrc, (int) idsOff, ids[list], s, n);
    }
    System.arraycopy(src, srcCode * unitsPerCode, codes[list], s * unitsPerCode, n * unitsPerCode);
    sizes[list] = s + n;
  }

  /** Replaces a list's content (index files); the arrays are taken as they are. */
  public void setList(int list, long[] listIds, A listCodes) {
    if (kind.length(listCodes) != (long) listIds.length * unitsPerCode) {
      throw new IllegalArgumentException("list " + list + ": " + kind.length(listCodes) + " code elements for "
          + listIds.length + " ids of " + unitsPerCode + " elements");
    }
    version++;
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
      Object lc = codes[l];
      int w = 0;
      int s = sizes[l];
      for (int r = 0; r < s; r++) {
        if (selector.isMember(li[r])) {
          continue;
        }
        if (w != r) {
          li[w] = li[r];
          System.arraycopy(lc, r * unitsPerCode, lc, w * unitsPerCode, unitsPerCode);
        }
        w++;
      }
      removed += s - w;
      sizes[l] = w;
    }
    return removed;
  }

  /**
   * Moves every entry of {@code other} to the end of the same list here, and empties
   * {@code other}.
   *
   * @throws IllegalArgumentException when the shapes differ or a list would overflow (nothing moves)
   */
  public void moveFrom(InvertedLists<A> other) {
    if (other.nlist != nlist || other.unitsPerCode != unitsPerCode || other.kind != kind) {
      throw new IllegalArgumentException("cannot merge lists of nlist=" + other.nlist + ", codeSize=" + other.codeBytes()
          + " into nlist=" + nlist + ", codeSize=" + codeBytes());
    }
    for (int l = 0; l < nlist; l++) {
      long need = (long) sizes[l] + other.sizes[l];
      if (need > maxEntries()) {
        throw new IllegalArgumentException("merging would make inverted list " + l + " hold " + need
            + " codes, more than one list can (" + maxEntries() + "); nothing was moved");
      }
    }
    version++;
    other.version++;
    for (int l = 0; l < nlist; l++) {
      int n = other.sizes[l];
      if (n == 0) {
        continue;
      }
      append(l, other.ids[l], 0, other.codes(l), 0, n);
      other.ids[l] = NO_IDS;
      other.codes[l] = other.empty;
      other.sizes[l] = 0;
    }
  }

  /** A copy of the ids of a list ({@code size} entries). */
  public long[] copyIds(int list) {
    return Arrays.copyOf(ids[list], sizes[list]);
  }

  /** A copy of the codes of a list ({@code size * unitsPerCode} elements). */
  public A copyCodes(int list) {
    return kind.copyOf(codes(list), sizes[list] * unitsPerCode);
  }
}
