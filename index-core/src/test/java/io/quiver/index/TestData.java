package io.quiver.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.quiver.index.io.VecsIO;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Seeded data generators and a float64 brute-force reference shared by the index tests.
 *
 * <p>Tolerance convention of the suite: a float result agrees with the float64 reference when
 * {@code |got - ref| <= 1e-5 * S}, where {@code S} is the sum of the absolute values of the
 * terms of the reference sum ({@code sum |a_i b_i|} for inner products, {@code sum (a_i - b_i)^2}
 * for squared L2, which is the distance itself). For L2 this is plain relative error.
 */
public final class TestData {

  /** The relative tolerance of every float-vs-float64 comparison in the suite. */
  public static final double REL_TOL = 1e-5;

  private TestData() {}

  /** {@code n * d} standard normal floats. */
  public static float[] gaussian(long seed, int n, int d) {
    SplittableRandom rng = new SplittableRandom(seed);
    float[] x = new float[n * d];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) nextGaussian(rng);
    }
    return x;
  }

  /** {@code n * d} floats uniform in {@code [-1, 1)}. */
  public static float[] uniform(long seed, int n, int d) {
    SplittableRandom rng = new SplittableRandom(seed);
    float[] x = new float[n * d];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (2 * rng.nextDouble() - 1);
    }
    return x;
  }

  /**
   * {@code n * d} floats from {@code nclusters} Gaussian blobs: centers standard normal times
   * {@code 10}, points at the center plus {@code spread} times standard normal noise. Point i
   * belongs to cluster {@code i % nclusters}.
   */
  public static float[] clustered(long seed, int n, int d, int nclusters, double spread) {
    SplittableRandom rng = new SplittableRandom(seed);
    double[] centers = new double[nclusters * d];
    for (int i = 0; i < centers.length; i++) {
      centers[i] = 10 * nextGaussian(rng);
    }
    float[] x = new float[n * d];
    for (int i = 0; i < n; i++) {
      int c = i % nclusters;
      for (int j = 0; j < d; j++) {
        x[i * d + j] = (float) (centers[c * d + j] + spread * nextGaussian(rng));
      }
    }
    return x;
  }

  public static double nextGaussian(SplittableRandom rng) {
    // Box-Muller; SplittableRandom has no nextGaussian on Java 17
    double u1 = rng.nextDouble();
    double u2 = rng.nextDouble();
    return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Rows {@code [from, from + count)} of a row-major array. */
  public static float[] rows(float[] x, int d, int from, int count) {
    return Arrays.copyOfRange(x, from * d, (from + count) * d);
  }

  /** A float64 copy of {@code x}, each row normalized to unit L2 norm (zero rows stay zero). */
  public static double[] normalizedCopy(float[] x, int d) {
    double[] out = new double[x.length];
    for (int r = 0; r < x.length / d; r++) {
      double s = 0;
      for (int j = 0; j < d; j++) {
        s += (double) x[r * d + j] * x[r * d + j];
      }
      double inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      for (int j = 0; j < d; j++) {
        out[r * d + j] = x[r * d + j] * inv;
      }
    }
    return out;
  }

  static double[] toDouble(float[] x) {
    double[] out = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      out[i] = x[i];
    }
    return out;
  }

  /**
   * An exact float64 reference over a base set: distances (squared L2, inner product, or cosine
   * similarity) and the tolerance scale {@code S} of each (query, base row) pair.
   */
  public static final class Reference {
    final Metric metric;
    final int d;
    final double[] base;
    final long[] ids;
    final Map<Long, Integer> rowOfId = new HashMap<>();

    /** {@code ids} null means ids 0..n-1. */
    public Reference(Metric metric, float[] base, long[] ids, int d) {
      this.metric = metric;
      this.d = d;
      this.base = metric.normalizes() ? normalizedCopy(base, d) : toDouble(base);
      int n = base.length / d;
      this.ids = ids != null ? ids.clone() : new long[n];
      for (int i = 0; i < n; i++) {
        if (ids == null) {
          this.ids[i] = i;
        }
        rowOfId.put(this.ids[i], i);
      }
    }

    public int n() {
      return ids.length;
    }

    double[] prepareQueries(float[] queries) {
      return metric.normalizes() ? normalizedCopy(queries, d) : toDouble(queries);
    }

    /** The reference distance of query row {@code qi} of {@code q} (from prepareQueries) to base row {@code row}. */
    double distance(double[] q, int qi, int row) {
      double s = 0;
      int qo = qi * d;
      int xo = row * d;
      if (metric == Metric.L2) {
        for (int j = 0; j < d; j++) {
          double t = q[qo + j] - base[xo + j];
          s += t * t;
        }
      } else {
        for (int j = 0; j < d; j++) {
          s += q[qo + j] * base[xo + j];
        }
      }
      return s;
    }

    /** The tolerance scale S (sum of |terms|) of a pair. */
    double scale(double[] q, int qi, int row) {
      if (metric == Metric.L2) {
        return distance(q, qi, row);
      }
      double s = 0;
      for (int j = 0; j < d; j++) {
        s += Math.abs(q[qi * d + j] * base[row * d + j]);
      }
      return s;
    }

    /** The allowed absolute error of a pair: REL_TOL * S, with a floor for exact zeros. */
    double tolerance(double[] q, int qi, int row) {
      return REL_TOL * scale(q, qi, row) + 1e-30;
    }

    boolean better(double a, long ia, double b, long ib) {
      boolean ip = metric.higherIsCloser();
      if (a != b) {
        return ip ? a > b : a < b;
      }
      return ia < ib;
    }

    /** Exact top-k base rows of each query, best first, ties by smaller id: {@code nq * k} rows, -1 padded. */
    public int[] topKRows(double[] q, int nq, int k) {
      int[] out = new int[nq * k];
      Arrays.fill(out, -1);
      Integer[] order = new Integer[n()];
      double[] dist = new double[n()];
      for (int qi = 0; qi < nq; qi++) {
        for (int r = 0; r < n(); r++) {
          order[r] = r;
          dist[r] = distance(q, qi, r);
        }
        Arrays.sort(order, (a, b) -> better(dist[a], ids[a], dist[b], ids[b]) ? -1
            : better(dist[b], ids[b], dist[a], ids[a]) ? 1 : 0);
        for (int j = 0; j < Math.min(k, n()); j++) {
          out[qi * k + j] = order[j];
        }
      }
      return out;
    }

    /**
     * Asserts that {@code result} is the exact top-k of {@code queries} up to float error: every
     * returned distance is within tolerance of the float64 distance of the returned id; rank j's
     * id equals the reference's rank-j id unless the two are tied within tolerance; ids in a row
     * are distinct; missing results (fewer than k vectors) are padded with -1 and the worst value.
     */
    public void assertSearchMatches(String context, float[] queries, SearchResult result, int k) {
      int nq = queries.length / d;
      assertEquals(nq, result.nq(), context + ": nq");
      assertEquals(k, result.k(), context + ": k");
      double[] q = prepareQueries(queries);
      int[] refRows = topKRows(q, nq, k);
      int ties = 0;
      for (int qi = 0; qi < nq; qi++) {
        Set<Long> seen = new HashSet<>();
        for (int j = 0; j < k; j++) {
          String where = context + ": query " + qi + ", rank " + j;
          long got = result.id(qi, j);
          float gotDist = result.distance(qi, j);
          int refRow = refRows[qi * k + j];
          if (refRow < 0) {
            assertEquals(-1L, got, where + ": missing result must be padded with id -1");
            assertEquals(metric.worstValue(), gotDist, where + ": missing result must be padded with " + metric.worstValue());
            continue;
          }
          Integer row = rowOfId.get(got);
          if (row == null) {
            fail(where + ": returned id " + got + " is not in the index (expected " + ids[refRow] + ")");
          }
          assertTrue(seen.add(got), where + ": id " + got + " returned twice");
          double exact = distance(q, qi, row);
          double tol = tolerance(q, qi, row);
          if (Math.abs(gotDist - exact) > tol) {
            fail(where + ": distance " + gotDist + " of id " + got + " differs from the float64 reference " + exact
                + " by " + Math.abs(gotDist - exact) + " > " + tol + " (relative tolerance " + REL_TOL + " of sum |terms|)");
          }
          if (got != ids[refRow]) {
            double refDist = distance(q, qi, refRow);
            double tieTol = tol + tolerance(q, qi, refRow);
            if (Math.abs(exact - refDist) > tieTol) {
              fail(where + ": id " + got + " (float64 distance " + exact + ") where the reference has id "
                  + ids[refRow] + " (float64 distance " + refDist + "); not a tie within " + tieTol);
            }
            ties++;
          }
        }
      }
      assertTrue(ties <= nq * k / 10 + 1, context + ": " + ties + " rank mismatches explained as ties is too many");
    }

    /**
     * Asserts that a range search returned exactly the vectors strictly inside the radius
     * (L2 below, similarities above), up to pairs within tolerance of the radius, sorted best
     * first with accurate distances.
     */
    public void assertRangeMatches(String context, float[] queries, float radius, RangeSearchResult result) {
      int nq = queries.length / d;
      assertEquals(nq, result.nq(), context + ": nq");
      double[] q = prepareQueries(queries);
      boolean ip = metric.higherIsCloser();
      for (int qi = 0; qi < nq; qi++) {
        String where = context + ": query " + qi;
        Set<Long> got = new HashSet<>();
        int from = (int) result.lims()[qi];
        int to = (int) result.lims()[qi + 1];
        for (int i = from; i < to; i++) {
          long id = result.ids()[i];
          Integer row = rowOfId.get(id);
          if (row == null) {
            fail(where + ": returned id " + id + " is not in the index");
          }
          assertTrue(got.add(id), where + ": id " + id + " returned twice");
          float dist = result.distances()[i];
          assertTrue(ip ? dist > radius : dist < radius,
              where + ": id " + id + " has distance " + dist + ", not strictly " + (ip ? "above" : "below") + " radius " + radius);
          double exact = distance(q, qi, row);
          assertTrue(Math.abs(dist - exact) <= tolerance(q, qi, row),
              where + ": distance " + dist + " of id " + id + " differs from float64 " + exact);
          if (i > from) {
            float prev = result.distances()[i - 1];
            long prevId = result.ids()[i - 1];
            boolean ordered = ip ? (prev > dist || (prev == dist && prevId < id)) : (prev < dist || (prev == dist && prevId < id));
            assertTrue(ordered, where + ": results not sorted best first at position " + (i - from));
          }
        }
        for (int r = 0; r < n(); r++) {
          double exact = distance(q, qi, r);
          double tol = tolerance(q, qi, r);
          boolean inside = ip ? exact > radius + tol : exact < radius - tol;
          boolean outside = ip ? exact < radius - tol : exact > radius + tol;
          if (inside) {
            assertTrue(got.contains(ids[r]), where + ": id " + ids[r] + " at float64 distance " + exact
                + " is inside radius " + radius + " but was not returned");
          } else if (outside) {
            assertTrue(!got.contains(ids[r]), where + ": id " + ids[r] + " at float64 distance " + exact
                + " is outside radius " + radius + " but was returned");
          }
        }
      }
    }
  }

  /**
   * recall@k: |found top-k ∩ true top-k| / k averaged over queries, the truth being the first k
   * entries of each ground-truth row (0-based row numbers, which are the ids of {@code add}).
   */
  public static double recallAtK(SearchResult result, VecsIO.IntVectors groundTruth, int k) {
    assertTrue(groundTruth.d() >= k, "ground truth has only " + groundTruth.d() + " neighbours per query");
    assertEquals(groundTruth.n(), result.nq(), "ground truth rows vs queries");
    long hits = 0;
    for (int qi = 0; qi < result.nq(); qi++) {
      Set<Long> truth = new HashSet<>();
      for (int j = 0; j < k; j++) {
        truth.add((long) groundTruth.data()[qi * groundTruth.d() + j]);
      }
      for (int j = 0; j < k; j++) {
        if (truth.contains(result.id(qi, j))) {
          hits++;
        }
      }
    }
    return hits / (double) (result.nq() * k);
  }
}
