package io.quiver.spark.shard;

import java.io.Serializable;
import java.util.Arrays;

/**
 * How the lists of an index are cut into shards, decided on the driver from the list-size
 * histogram. Lists are laid end to end in list order and the sequence is cut every
 * {@code ceil(ntotal / shards)} entries, so every shard gets the same share; a list that spans a
 * cut is split, its entries spread over its shards by a hash of the id in proportion to each
 * shard's share. A shard therefore exceeds the mean only by the hash's sampling noise on split
 * lists.
 */
public final class ShardPlan implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int shards;
  /** For each list, the shards it goes to (ascending). */
  private final int[][] listShards;
  /** For each list, the cumulative upper bounds (out of the list's size) of each of its shards. */
  private final long[][] listCuts;
  private final long[] listSizes;

  private ShardPlan(int shards, int[][] listShards, long[][] listCuts, long[] listSizes) {
    this.shards = shards;
    this.listShards = listShards;
    this.listCuts = listCuts;
    this.listSizes = listSizes;
  }

  /** Plans {@code shards} shards (at least 1) for lists of the given sizes. */
  public static ShardPlan balance(long[] listSizes, int shards) {
    if (shards < 1) {
      throw new IllegalArgumentException("shards must be >= 1, was " + shards);
    }
    long total = Arrays.stream(listSizes).sum();
    long share = Math.max(1, (total + shards - 1) / shards);
    int nlist = listSizes.length;
    int[][] listShards = new int[nlist][];
    long[][] cuts = new long[nlist][];
    long pos = 0;
    for (int l = 0; l < nlist; l++) {
      long size = listSizes[l];
      int first = (int) Math.min(shards - 1, pos / share);
      int last = size == 0 ? first : (int) Math.min(shards - 1, (pos + size - 1) / share);
      listShards[l] = new int[last - first + 1];
      cuts[l] = new long[last - first + 1];
      for (int s = first; s <= last; s++) {
        listShards[l][s - first] = s;
        long end = s == last ? pos + size : Math.min(pos + size, (long) (s + 1) * share);
        cuts[l][s - first] = end - pos;
      }
      pos += size;
    }
    return new ShardPlan(shards, listShards, cuts, listSizes.clone());
  }

  public int shards() {
    return shards;
  }

  public int nlist() {
    return listShards.length;
  }

  /** The shards holding entries of {@code list}. */
  public int[] shardsOf(int list) {
    return listShards[list];
  }

  /** The shard entry {@code id} of list {@code list} goes to. */
  public int shardOf(int list, long id) {
    int[] s = listShards[list];
    if (s.length == 1) {
      return s[0];
    }
    long size = listSizes[list];
    long r = Long.remainderUnsigned(mix(id), size);
    long[] cuts = listCuts[list];
    for (int i = 0; i < cuts.length; i++) {
      if (r < cuts[i]) {
        return s[i];
      }
    }
    return s[s.length - 1];
  }

  /** The expected entries of each shard. */
  public long[] expectedCounts() {
    long[] counts = new long[shards];
    for (int l = 0; l < listShards.length; l++) {
      long prev = 0;
      for (int i = 0; i < listShards[l].length; i++) {
        counts[listShards[l][i]] += listCuts[l][i] - prev;
        prev = listCuts[l][i];
      }
    }
    return counts;
  }

  /** A 64-bit finalizer (SplitMix64's), so that consecutive ids spread evenly. */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }
}
