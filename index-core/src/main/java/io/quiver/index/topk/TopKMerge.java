package io.quiver.index.topk;

/**
 * Merges partial top-k results of one query (as {@code SearchResult} rows hold them: best first,
 * padded with id -1) into one top-k, in linear time. Used to combine the results of several shards
 * or index parts; the order is that of a single search: better distance first, ties broken by the
 * smaller id.
 */
public final class TopKMerge {
  private TopKMerge() {}

  /**
   * Merges {@code a} and {@code b} (each sorted best first; entries with id -1 are padding and
   * are dropped) into at most {@code k} entries written to {@code outIds}/{@code outDist}, padded
   * with id -1 and the worst distance ({@code +inf}, or {@code -inf} when {@code higherIsCloser}).
   *
   * @return the number of real (non-padding) entries written
   */
  public static int merge(long[] aIds, float[] aDist, long[] bIds, float[] bDist, int k, boolean higherIsCloser,
                          long[] outIds, float[] outDist) {
    if (aIds.length != aDist.length || bIds.length != bDist.length) {
      throw new IllegalArgumentException("ids and distances differ in length: " + aIds.length + "/" + aDist.length
          + " and " + bIds.length + "/" + bDist.length);
    }
    if (outIds.length < k || outDist.length < k) {
      throw new IllegalArgumentException("the output holds " + Math.min(outIds.length, outDist.length)
          + " entries, fewer than k = " + k);
    }
    int i = 0;
    int j = 0;
    int n = 0;
    while (n < k) {
      i = skipPadding(aIds, i);
      j = skipPadding(bIds, j);
      boolean takeA;
      if (i == aIds.length) {
        if (j == bIds.length) {
          break;
        }
        takeA = false;
      } else if (j == bIds.length) {
        takeA = true;
      } else {
        takeA = better(aDist[i], aIds[i], bDist[j], bIds[j], higherIsCloser);
      }
      if (takeA) {
        outIds[n] = aIds[i];
        outDist[n++] = aDist[i++];
      } else {
        outIds[n] = bIds[j];
        outDist[n++] = bDist[j++];
      }
    }
    int real = n;
    float pad = higherIsCloser ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY;
    for (; n < k; n++) {
      outIds[n] = -1;
      outDist[n] = pad;
    }
    return real;
  }

  private static int skipPadding(long[] ids, int i) {
    while (i < ids.length && ids[i] == -1) {
      i++;
    }
    return i;
  }

  /** True when (da, ia) ranks before (db, ib). */
  private static boolean better(float da, long ia, float db, long ib, boolean higherIsCloser) {
    if (da != db) {
      return higherIsCloser ? da > db : da < db;
    }
    return ia <= ib;
  }
}
