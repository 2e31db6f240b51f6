package io.quiver.index.quantize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.TestData;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** {@link KMeans} on seeded synthetic data; every assertion message carries its seed. */
class KMeansTest {

  /**
   * Allowed increase of the objective from one iteration to the next, relative to the previous
   * objective. Lloyd's iterations never increase it in exact arithmetic; float rounding of the
   * centroids and the 1/1024 perturbation of split clusters may, by far less than this.
   */
  static final double OBJECTIVE_TOL = 1e-4;

  static void assertNonIncreasing(String ctx, double[] obj) {
    for (int i = 1; i < obj.length; i++) {
      assertTrue(obj[i] <= obj[i - 1] * (1 + OBJECTIVE_TOL),
          ctx + ": objective rose from " + obj[i - 1] + " to " + obj[i] + " at iteration " + i
              + " (tolerance " + OBJECTIVE_TOL + " relative): " + Arrays.toString(obj));
    }
  }

  static void assertFinite(String ctx, float[] c) {
    for (int i = 0; i < c.length; i++) {
      assertTrue(Float.isFinite(c[i]), ctx + ": centroid component " + i + " is " + c[i]);
    }
  }

  /** Sum of squared distances of every point to its nearest centroid, in float64. */
  static double objective(float[] x, int d, float[] c) {
    int n = x.length / d;
    int k = c.length / d;
    double total = 0;
    for (int i = 0; i < n; i++) {
      double best = Double.POSITIVE_INFINITY;
      for (int j = 0; j < k; j++) {
        double s = 0;
        for (int t = 0; t < d; t++) {
          double u = (double) x[i * d + t] - c[j * d + t];
          s += u * u;
        }
        best = Math.min(best, s);
      }
      total += best;
    }
    return total;
  }

  @Test
  void objectiveDecreasesOnClusteredData() {
    long seed = 3001L;
    int d = 16;
    float[] x = TestData.clustered(seed, 4000, d, 20, 1.5);
    KMeans.Result r = new KMeans(d, 20).seed(seed).niter(25).train(x);
    double[] obj = r.objectives();
    assertEquals(25, obj.length, "one objective per iteration");
    assertNonIncreasing("seed " + seed, obj);
    assertTrue(obj[obj.length - 1] < obj[0], "seed " + seed + ": no progress: " + Arrays.toString(obj));
    assertEquals(4000, r.trainingPoints());
    assertEquals(20 * d, r.centroids().length);
    assertFinite("seed " + seed, r.centroids());
    // the reported final objective is the one of the last assignment, which the last update can only improve
    double exact = objective(x, d, r.centroids());
    assertTrue(exact <= r.finalObjective() * (1 + OBJECTIVE_TOL),
        "seed " + seed + ": objective of the returned centroids " + exact + " > last reported " + r.finalObjective());
    for (KMeans.IterationStats s : r.iterations()) {
      assertTrue(s.imbalanceFactor >= 1.0 - 1e-9, "imbalance factor below 1: " + s.imbalanceFactor);
      assertTrue(s.seconds >= 0);
    }
  }

  @Test
  void innerProductObjectiveIncreases() {
    long seed = 3002L;
    int d = 12;
    float[] x = TestData.clustered(seed, 3000, d, 15, 3.0);
    io.quiver.index.vector.VectorUtil.normalizeL2(x, d);
    KMeans.Result r = new KMeans(d, 15).seed(seed).innerProduct(true).spherical(true).train(x);
    double[] obj = r.objectives();
    for (int i = 1; i < obj.length; i++) {
      assertTrue(obj[i] >= obj[i - 1] * (1 - OBJECTIVE_TOL),
          "seed " + seed + ": inner-product objective fell at iteration " + i + ": " + Arrays.toString(obj));
    }
  }

  @Test
  void deterministicForTheSameSeed() {
    long seed = 3101L;
    int d = 10;
    float[] x = TestData.clustered(seed, 3000, d, 12, 2.0);
    KMeans.Result a = new KMeans(d, 12).seed(seed).train(x);
    KMeans.Result b = new KMeans(d, 12).seed(seed).train(x);
    assertArrayEquals(a.centroids(), b.centroids(), "seed " + seed + ": same seed, same centroids");
    assertArrayEquals(a.objectives(), b.objectives(), "seed " + seed + ": same seed, same objectives");
    KMeans.Result c = new KMeans(d, 12).seed(seed + 1).train(x);
    assertFalse(Arrays.equals(a.centroids(), c.centroids()), "seeds " + seed + " and " + (seed + 1) + " gave identical centroids");
    KMeans.Result pp1 = new KMeans(d, 12).seed(seed).kmeansPlusPlus(true).train(x);
    KMeans.Result pp2 = new KMeans(d, 12).seed(seed).kmeansPlusPlus(true).train(x);
    assertArrayEquals(pp1.centroids(), pp2.centroids(), "seed " + seed + ": k-means++ is deterministic too");
    KMeans.Result t1 = new KMeans(d, 12).seed(seed).threads(1).train(x);
    assertArrayEquals(a.centroids(), t1.centroids(), "seed " + seed + ": threads=1 vs all cores");
  }

  @Test
  void subsamplesToKTimesMaxPointsPerCentroid() {
    long seed = 3201L;
    int d = 8;
    float[] x = TestData.clustered(seed, 3000, d, 10, 1.0);
    KMeans.Result r = new KMeans(d, 10).seed(seed).maxPointsPerCentroid(50).train(x);
    assertEquals(500, r.trainingPoints(), "seed " + seed + ": 3000 points, k=10, maxPointsPerCentroid=50");
    assertFinite("seed " + seed, r.centroids());
    KMeans.Result all = new KMeans(d, 10).seed(seed).maxPointsPerCentroid(300).train(x);
    assertEquals(3000, all.trainingPoints(), "k * maxPointsPerCentroid = 3000 >= n: no subsampling");
    KMeans.Result def = new KMeans(d, 2).seed(seed).train(x);
    assertEquals(512, def.trainingPoints(), "default maxPointsPerCentroid is 256");
  }

  @Test
  void fewerPointsThanKFailsNamingK() {
    float[] x = TestData.gaussian(3301L, 5, 4);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new KMeans(4, 10).train(x));
    assertTrue(e.getMessage().contains("k=10"), e.getMessage());
    assertTrue(e.getMessage().contains("5"), e.getMessage());
  }

  @Test
  void badConfigurationIsRejected() {
    assertThrows(IllegalArgumentException.class, () -> new KMeans(0, 4));
    assertThrows(IllegalArgumentException.class, () -> new KMeans(4, 0));
    assertThrows(IllegalArgumentException.class, () -> new KMeans(4, 4).nredo(0));
    assertThrows(IllegalArgumentException.class, () -> new KMeans(4, 4).niter(-1));
    assertThrows(IllegalArgumentException.class, () -> new KMeans(4, 4).maxPointsPerCentroid(0));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new KMeans(4, 2).train(new float[] {1, 2, 3, 4, 5, 6, 7, Float.NaN}));
    assertTrue(e.getMessage().contains("row 1") && e.getMessage().contains("component 3"), e.getMessage());
  }

  /**
   * Data made of exact duplicates: 12 distinct locations, each repeated many times, plus a few
   * noisy points around each. Random initialisation picks the same location several times, so
   * identical centroids leave clusters empty, which must be split.
   */
  static float[] duplicated(long seed, int d, int locations, int copies, int noisy) {
    SplittableRandom rng = new SplittableRandom(seed);
    float[] centers = new float[locations * d];
    for (int i = 0; i < centers.length; i++) {
      centers[i] = (float) (20 * TestData.nextGaussian(rng));
    }
    int n = locations * (copies + noisy);
    float[] x = new float[n * d];
    int row = 0;
    for (int c = 0; c < locations; c++) {
      for (int i = 0; i < copies + noisy; i++, row++) {
        for (int t = 0; t < d; t++) {
          x[row * d + t] = centers[c * d + t] + (i < copies ? 0f : (float) TestData.nextGaussian(rng));
        }
      }
    }
    return x;
  }

  @Test
  void emptyClustersAreSplit() {
    long seed = 3401L;
    int d = 8;
    int k = 24;
    float[] x = duplicated(seed, d, 12, 60, 20);
    KMeans.Result r = new KMeans(d, k).seed(seed).niter(20).train(x);
    int splits = r.iterations().stream().mapToInt(s -> s.nsplit).sum();
    assertTrue(splits > 0, "seed " + seed + ": expected empty clusters to be split; nsplit per iteration "
        + Arrays.toString(r.iterations().stream().mapToInt(s -> s.nsplit).toArray()));
    float[] c = r.centroids();
    assertFinite("seed " + seed, c);
    long[] assign = KMeans.assign(x, d, c, false, 1);
    Set<Long> used = new HashSet<>();
    for (long a : assign) {
      used.add(a);
    }
    assertEquals(k, used.size(), "seed " + seed + ": every centroid should own points after splitting; nsplit per iteration "
        + Arrays.toString(r.iterations().stream().mapToInt(s -> s.nsplit).toArray()));
    assertNonIncreasingAfterSplits("seed " + seed, r);
  }

  /** With splits the objective may rise by the perturbation; it must still end below where it started. */
  static void assertNonIncreasingAfterSplits(String ctx, KMeans.Result r) {
    double[] obj = r.objectives();
    assertTrue(obj[obj.length - 1] <= obj[0], ctx + ": objective " + Arrays.toString(obj));
  }

  @Test
  void sphericalGivesUnitNormCentroids() {
    long seed = 3501L;
    int d = 20;
    float[] x = TestData.clustered(seed, 2000, d, 10, 3.0);
    for (boolean ip : new boolean[] {false, true}) {
      KMeans.Result r = new KMeans(d, 10).seed(seed).spherical(true).innerProduct(ip).train(x);
      float[] c = r.centroids();
      for (int j = 0; j < 10; j++) {
        double s = 0;
        for (int t = 0; t < d; t++) {
          s += (double) c[j * d + t] * c[j * d + t];
        }
        assertEquals(1.0, Math.sqrt(s), 1e-5, "seed " + seed + ", innerProduct " + ip + ": norm of centroid " + j);
      }
    }
  }

  @Test
  void kmeansPlusPlusFindsWellSeparatedClusters() {
    long seed = 3601L;
    int d = 6;
    int k = 8;
    // centers ~10 apart per dimension, spread 0.05: D^2 sampling picks one point per cluster
    float[] x = TestData.clustered(seed, 2000, d, k, 0.05);
    KMeans.Result r = new KMeans(d, k).seed(seed).kmeansPlusPlus(true).niter(5).train(x);
    float[] c = r.centroids();
    assertFinite("seed " + seed, c);
    // each true cluster (rows i % k) ends with exactly one centroid: every centroid owns one cluster
    long[] assign = KMeans.assign(x, d, c, false, 1);
    for (int cl = 0; cl < k; cl++) {
      long owner = assign[cl];
      for (int i = cl; i < assign.length; i += k) {
        assertEquals(owner, assign[i], "seed " + seed + ": cluster " + cl + " split across centroids");
      }
    }
    Set<Long> owners = new HashSet<>();
    for (int cl = 0; cl < k; cl++) {
      owners.add(assign[cl]);
    }
    assertEquals(k, owners.size(), "seed " + seed + ": two clusters share a centroid");
    assertNonIncreasing("seed " + seed + " k-means++", r.objectives());
    double perPoint = r.finalObjective() / 2000;
    assertTrue(perPoint < 6 * 0.05 * 0.05 * 1.5, "seed " + seed + ": objective per point " + perPoint + " is not the within-cluster spread");
  }

  @Test
  void nredoKeepsTheBestObjective() {
    long seed = 3701L;
    int d = 4;
    int k = 15;
    float[] x = TestData.clustered(seed, 1500, d, k, 0.3);
    KMeans.Result one = new KMeans(d, k).seed(seed).niter(8).train(x);
    KMeans.Result five = new KMeans(d, k).seed(seed).niter(8).nredo(5).train(x);
    // run 0 of nredo uses the same seed as nredo = 1, so the best of five cannot be worse
    assertTrue(five.finalObjective() <= one.finalObjective(),
        "seed " + seed + ": nredo 5 objective " + five.finalObjective() + " > nredo 1 objective " + one.finalObjective());
    // and it is the best of the five runs it made
    double best = Double.POSITIVE_INFINITY;
    for (int redo = 0; redo < 5; redo++) {
      KMeans.Result single = new KMeans(d, k).seed(seed + redo * 15486557L).niter(8).train(x);
      best = Math.min(best, single.finalObjective());
    }
    assertEquals(best, five.finalObjective(), "seed " + seed + ": nredo keeps the best final objective of its runs");
  }

  @Test
  void nEqualsKReturnsThePoints() {
    long seed = 3801L;
    int d = 5;
    float[] x = TestData.gaussian(seed, 7, d);
    KMeans.Result r = new KMeans(d, 7).seed(seed).train(x);
    assertArrayEquals(x, r.centroids(), "seed " + seed + ": n == k");
    assertTrue(r.centroids() != x, "the result must be a copy");
    KMeans.Result s = new KMeans(d, 7).seed(seed).spherical(true).train(x);
    double[] norm = TestData.normalizedCopy(x, d);
    for (int i = 0; i < x.length; i++) {
      assertEquals(norm[i], s.centroids()[i], 1e-6, "seed " + seed + ": n == k, spherical, component " + i);
    }
  }

  @Test
  void assignFindsNearestCentroid() {
    long seed = 3901L;
    int d = 9;
    float[] c = TestData.gaussian(seed, 30, d);
    for (int nq : new int[] {5, 50}) {
      float[] x = TestData.gaussian(seed + nq, nq, d);
      long[] a = KMeans.assign(x, d, c, false, 0);
      for (int i = 0; i < nq; i++) {
        double best = Double.POSITIVE_INFINITY;
        int arg = -1;
        for (int j = 0; j < 30; j++) {
          double s = 0;
          for (int t = 0; t < d; t++) {
            double u = (double) x[i * d + t] - c[j * d + t];
            s += u * u;
          }
          if (s < best) {
            best = s;
            arg = j;
          }
        }
        assertEquals(arg, a[i], "seed " + seed + ", nq " + nq + ", point " + i);
      }
    }
  }
}
