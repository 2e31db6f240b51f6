package io.quiver.index.topk;

import io.quiver.index.vector.VectorUtil;

/**
 * Maximal marginal relevance (Carbonell and Goldstein, 1998), the diversity re-ranking vector
 * stores offer: from candidates already ranked by a search, it picks {@code k} one at a time,
 * each maximising {@code lambda * sim(query, c) - (1 - lambda) * max sim(c, s)} over the
 * candidates {@code s} already picked. Similarities are cosines whatever the index's metric, so
 * that {@code lambda} weighs two quantities on one scale: {@code lambda = 1} keeps the search's
 * order by cosine, {@code lambda = 0} only avoids redundancy. Ties go to the earlier candidate.
 */
public final class Mmr {
  private Mmr() {}

  /**
   * Positions (into the {@code n} candidates) of the {@code min(k, n)} picked, in pick order.
   *
   * @param query      {@code d} floats
   * @param candidates {@code n * d} floats, row-major
   * @param lambda     in [0, 1]
   */
  public static int[] select(float[] query, float[] candidates, int n, int d, float lambda, int k) {
    if (!(lambda >= 0f && lambda <= 1f)) {
      throw new IllegalArgumentException("the MMR lambda must be in [0, 1], was " + lambda);
    }
    if (query.length != d || candidates.length < (long) n * d) {
      throw new IllegalArgumentException("expected a query of d = " + d + " floats and " + n + " candidates of d floats; got "
          + query.length + " and " + candidates.length + " floats");
    }
    int m = Math.min(k, n);
    float[] norms = new float[n];
    for (int i = 0; i < n; i++) {
      norms[i] = (float) Math.sqrt(VectorUtil.dotProduct(candidates, i * d, candidates, i * d, d));
    }
    float qn = (float) Math.sqrt(VectorUtil.dotProduct(query, 0, query, 0, d));
    float[] relevance = new float[n];
    float[] redundancy = new float[n];
    java.util.Arrays.fill(redundancy, Float.NEGATIVE_INFINITY);
    for (int i = 0; i < n; i++) {
      relevance[i] = cosine(VectorUtil.dotProduct(query, 0, candidates, i * d, d), qn, norms[i]);
    }
    boolean[] picked = new boolean[n];
    int[] out = new int[m];
    for (int r = 0; r < m; r++) {
      int best = -1;
      float bestScore = Float.NEGATIVE_INFINITY;
      for (int i = 0; i < n; i++) {
        if (picked[i]) {
          continue;
        }
        float score = r == 0 ? relevance[i] : lambda * relevance[i] - (1 - lambda) * redundancy[i];
        if (best < 0 || score > bestScore) {
          best = i;
          bestScore = score;
        }
      }
      picked[best] = true;
      out[r] = best;
      for (int i = 0; i < n; i++) {
        if (!picked[i]) {
          float s = cosine(VectorUtil.dotProduct(candidates, best * d, candidates, i * d, d), norms[best], norms[i]);
          redundancy[i] = Math.max(redundancy[i], s);
        }
      }
    }
    return out;
  }

  private static float cosine(float dot, float na, float nb) {
    return na == 0f || nb == 0f ? 0f : dot / (na * nb);
  }
}
