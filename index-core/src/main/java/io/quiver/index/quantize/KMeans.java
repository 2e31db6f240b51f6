package io.quiver.index.quantize;

import io.quiver.index.spi.ComputeBackends;
import io.quiver.index.util.Checks;
import io.quiver.index.util.Mt19937;
import io.quiver.index.util.Parallel;
import io.quiver.index.vector.VectorUtil;
import java.lang.System.Logger.Level;
import java.lang.System.Logger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Lloyd's k-means with FAISS's {@code Clustering} semantics.
 *
 * <ul>
 *   <li>{@code niter} iterations (default 25) of assignment then update; the objective (sum of
 *       squared distances, or of inner products for {@link #innerProduct}) is measured at each
 *       assignment and reported per iteration.</li>
 *   <li>More than {@code k * maxPointsPerCentroid} (default 256) training points: a seeded
 *       random subsample of that size is used, with a log line. Fewer than
 *       {@code k * minPointsPerCentroid} (default 39): a warning. Fewer than {@code k}: an error.</li>
 *   <li>Initialisation: {@code k} distinct training points chosen at random (default), or
 *       k-means++.</li>
 *   <li>The subsample, the random initialisation and the split draws use FAISS's generator
 *       ({@code std::mt19937}, see {@link Mt19937}) in FAISS's order, so with the same data and seed
 *       they pick the same rows as FAISS's {@code Clustering}.</li>
 *   <li>Empty clusters are split as FAISS does: a non-empty cluster is drawn with probability
 *       proportional to its size minus one, its centroid copied with a symmetric relative
 *       perturbation of 1/1024, and its count shared.</li>
 *   <li>{@code spherical}: centroids are L2-normalized after each update.</li>
 *   <li>{@code nredo}: the whole run is repeated with different seeds and the best final
 *       objective kept.</li>
 * </ul>
 *
 * <p>Assignment uses the blocked distance kernel on all threads. Every run is deterministic for
 * a given seed and thread count.
 *
 * <p>Instances are configuration holders: set the fields, then call {@link #train}. A configured
 * instance may be used from several threads at once.
 */
public final class KMeans {

  private static final Logger LOG = System.getLogger(KMeans.class.getName());
  private static final float SPLIT_EPS = 1f / 1024f;

  private final int d;
  private final int k;
  private int niter = 25;
  private int nredo = 1;
  private long seed = 1234;
  private int maxPointsPerCentroid = 256;
  private int minPointsPerCentroid = 39;
  private boolean spherical;
  private boolean innerProduct;
  private boolean kmeansPlusPlus;
  private int threads;
  private boolean verbose;

  /** k-means of {@code d}-dimensional vectors into {@code k} centroids. */
  public KMeans(int d, int k) {
    this.d = Checks.atLeast("d", d, 1);
    this.k = Checks.atLeast("k", k, 1);
  }

  public KMeans niter(int niter) {
    this.niter = Checks.atLeast("niter", niter, 0);
    return this;
  }

  public KMeans nredo(int nredo) {
    this.nredo = Checks.atLeast("nredo", nredo, 1);
    return this;
  }

  public KMeans seed(long seed) {
    this.seed = seed;
    return this;
  }

  public KMeans maxPointsPerCentroid(int max) {
    this.maxPointsPerCentroid = Checks.atLeast("maxPointsPerCentroid", max, 1);
    return this;
  }

  public KMeans minPointsPerCentroid(int min) {
    this.minPointsPerCentroid = Checks.atLeast("minPointsPerCentroid", min, 0);
    return this;
  }

  /** Normalize centroids after each update (for cosine / inner-product data). */
  public KMeans spherical(boolean spherical) {
    this.spherical = spherical;
    return this;
  }

  /** Assign by largest inner product instead of smallest L2 distance. */
  public KMeans innerProduct(boolean innerProduct) {
    this.innerProduct = innerProduct;
    return this;
  }

  /** Initialise with k-means++ instead of k random points. */
  public KMeans kmeansPlusPlus(boolean kmeansPlusPlus) {
    this.kmeansPlusPlus = kmeansPlusPlus;
    return this;
  }

  /** Threads for assignment and update; 0 (the default) means all cores. */
  public KMeans threads(int threads) {
    this.threads = Checks.atLeast("threads", threads, 0);
    return this;
  }

  /** Log one line per iteration. */
  public KMeans verbose(boolean verbose) {
    this.verbose = verbose;
    return this;
  }

  public int d() {
    return d;
  }

  public int k() {
    return k;
  }

  public int niter() {
    return niter;
  }

  public long seed() {
    return seed;
  }

  /** Statistics of one iteration, as FAISS's {@code ClusteringIterationStats}. */
  public static final class IterationStats {
    /** The objective at this iteration's assignment. */
    public final double objective;
    /** Seconds since the start of this run. */
    public final double seconds;
    /** {@code k * sum(size^2) / n^2}: 1 for perfectly balanced clusters. */
    public final double imbalanceFactor;
    /** Empty clusters split at this iteration. */
    public final int nsplit;

    IterationStats(double objective, double seconds, double imbalanceFactor, int nsplit) {
      this.objective = objective;
      this.seconds = seconds;
      this.imbalanceFactor = imbalanceFactor;
      this.nsplit = nsplit;
    }
  }

  /** The result of {@link #train}. */
  public static final class Result {
    private final float[] centroids;
    private final List<IterationStats> iterations;
    private final int trainingPoints;

    Result(float[] centroids, List<IterationStats> iterations, int trainingPoints) {
      this.centroids = centroids;
      this.iterations = Collections.unmodifiableList(iterations);
      this.trainingPoints = trainingPoints;
    }

    /** The centroids, {@code k * d} floats row-major. */
    public float[] centroids() {
      return centroids;
    }

    /** Per-iteration statistics of the kept run. */
    public List<IterationStats> iterations() {
      return iterations;
    }

    /** The objective per iteration of the kept run. */
    public double[] objectives() {
      return iterations.stream().mapToDouble(s -> s.objective).toArray();
    }

    /** The final objective, or NaN when no iteration ran. */
    public double finalObjective() {
      return iterations.isEmpty() ? Double.NaN : iterations.get(iterations.size() - 1).objective;
    }

    /** Points actually used (after subsampling). */
    public int trainingPoints() {
      return trainingPoints;
    }
  }

  /**
   * Trains on {@code x} ({@code n * d} floats, finite).
   *
   * @throws IllegalArgumentException for fewer than k points, a bad length or a non-finite value
   */
  public Result train(float[] x) {
    int n = Checks.vectors("training vectors", x, d);
    if (n < k) {
      throw new IllegalArgumentException("training needs at least k=" + k + " points, got " + n
          + " (each centroid starts from a distinct training point)");
    }
    float[] data = x;
    long maxPoints = (long) k * maxPointsPerCentroid;
    if (n > maxPoints) {
      LOG.log(Level.INFO, String.format(Locale.ROOT,
          "k-means: sampling %d of %d points for %d centroids (at most %d per centroid)", maxPoints, n, k, maxPointsPerCentroid));
      data = subsample(x, n, (int) maxPoints, seed);
      n = (int) maxPoints;
    } else if (n < (long) k * minPointsPerCentroid) {
      LOG.log(Level.WARNING, String.format(Locale.ROOT,
          "k-means: %d training points for %d centroids; at least %d (%d per centroid) are advised",
          n, k, (long) k * minPointsPerCentroid, minPointsPerCentroid));
    }
    if (n == k) {
      float[] c = data.clone();
      if (spherical) {
        VectorUtil.normalizeL2(c, d);
      }
      return new Result(c, new ArrayList<>(), n);
    }
    Result best = null;
    for (int redo = 0; redo < nredo; redo++) {
      Result r = run(data, n, seed + 1 + redo * 15486557L);
      if (nredo > 1) {
        LOG.log(Level.INFO, String.format(Locale.ROOT, "k-means redo %d/%d: objective %.6g", redo + 1, nredo, r.finalObjective()));
      }
      if (best == null || better(r.finalObjective(), best.finalObjective())) {
        best = r;
      }
    }
    return best;
  }

  private boolean better(double a, double b) {
    return innerProduct ? a > b : a < b;
  }

  private Result run(float[] x, int n, long runSeed) {
    long t0 = System.nanoTime();
    float[] centroids = kmeansPlusPlus ? initPlusPlus(x, n, new SplittableRandom(runSeed)) : initRandom(x, n, runSeed);
    if (spherical) {
      VectorUtil.normalizeL2(centroids, d);
    }
    long[] assign = new long[n];
    float[] dist = new float[n];
    int[] counts = new int[k];
    List<IterationStats> stats = new ArrayList<>(niter);
    for (int it = 0; it < niter; it++) {
      ComputeBackends.current().knn(x, n, centroids, k, null, null, d, innerProduct, 1, threads, null, dist, assign);
      double objective = 0;
      for (int i = 0; i < n; i++) {
        objective += dist[i];
      }
      java.util.Arrays.fill(counts, 0);
      for (int i = 0; i < n; i++) {
        counts[(int) assign[i]]++;
      }
      double imbalance = imbalance(counts, n);
      updateCentroids(x, n, assign, counts, centroids);
      int nsplit = splitEmpty(centroids, counts, n);
      if (spherical) {
        VectorUtil.normalizeL2(centroids, d);
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      stats.add(new IterationStats(objective, seconds, imbalance, nsplit));
      if (verbose) {
        LOG.log(Level.INFO, String.format(Locale.ROOT,
            "k-means iteration %d/%d (%.2f s): objective=%.6g imbalance=%.3f nsplit=%d",
            it + 1, niter, seconds, objective, imbalance, nsplit));
      }
    }
    return new Result(centroids, stats, n);
  }

  private static double imbalance(int[] counts, int n) {
    double sumSq = 0;
    for (int c : counts) {
      sumSq += (double) c * c;
    }
    return sumSq * counts.length / ((double) n * n);
  }

  /** Centroid = mean of its points; each thread owns a range of centroids (no shared writes). */
  private void updateCentroids(float[] x, int n, long[] assign, int[] counts, float[] centroids) {
    int nt = Math.min(Parallel.resolveThreads(threads), k);
    int per = (k + nt - 1) / nt;
    Parallel.forEach(nt, nt, t -> {
      int c0 = t * per;
      int c1 = Math.min(k, c0 + per);
      if (c0 >= c1) {
        return;
      }
      double[] sums = new double[(c1 - c0) * d];
      for (int i = 0; i < n; i++) {
        int c = (int) assign[i];
        if (c >= c0 && c < c1) {
          int o = (c - c0) * d;
          int xo = i * d;
          for (int j = 0; j < d; j++) {
            sums[o + j] += x[xo + j];
          }
        }
      }
      for (int c = c0; c < c1; c++) {
        if (counts[c] == 0) {
          continue; // keeps its old centroid until split
        }
        double inv = 1.0 / counts[c];
        int o = (c - c0) * d;
        for (int j = 0; j < d; j++) {
          centroids[c * d + j] = (float) (sums[o + j] * inv);
        }
      }
    });
  }

  /**
   * FAISS's split_clusters: give every empty cluster half of a large one, picked with FAISS's
   * generator seeded 1234 at each call. Returns the number split.
   */
  private int splitEmpty(float[] centroids, int[] counts, int n) {
    int nsplit = 0;
    Mt19937 rng = null;
    for (int ci = 0; ci < k; ci++) {
      if (counts[ci] != 0) {
        continue;
      }
      if (rng == null) {
        rng = new Mt19937(1234);
      }
      int cj = 0;
      while (true) {
        float p = (counts[cj] - 1.0f) / (float) (n - k);
        if (rng.nextFloat() < p) {
          break;
        }
        cj = (cj + 1) % k;
      }
      System.arraycopy(centroids, cj * d, centroids, ci * d, d);
      for (int j = 0; j < d; j++) {
        if (j % 2 == 0) {
          centroids[ci * d + j] *= 1 + SPLIT_EPS;
          centroids[cj * d + j] *= 1 - SPLIT_EPS;
        } else {
          centroids[ci * d + j] *= 1 - SPLIT_EPS;
          centroids[cj * d + j] *= 1 + SPLIT_EPS;
        }
      }
      counts[ci] = counts[cj] / 2;
      counts[cj] -= counts[ci];
      nsplit++;
    }
    return nsplit;
  }

  /** FAISS's initialisation: the first k rows of {@code rand_perm(n, runSeed)}. */
  private float[] initRandom(float[] x, int n, long runSeed) {
    int[] perm = Mt19937.randPerm(n, k, runSeed);
    float[] c = new float[k * d];
    for (int i = 0; i < k; i++) {
      System.arraycopy(x, perm[i] * d, c, i * d, d);
    }
    return c;
  }

  /** k-means++: each next centroid drawn with probability proportional to D(x)^2. */
  private float[] initPlusPlus(float[] x, int n, SplittableRandom rng) {
    float[] c = new float[k * d];
    float[] minDist = new float[n];
    int first = rng.nextInt(n);
    System.arraycopy(x, first * d, c, 0, d);
    updateMinDistances(x, n, c, 0, minDist, true);
    for (int ci = 1; ci < k; ci++) {
      double total = 0;
      for (int i = 0; i < n; i++) {
        total += minDist[i];
      }
      int pick = n - 1;
      if (total > 0) {
        double r = rng.nextDouble() * total;
        double acc = 0;
        for (int i = 0; i < n; i++) {
          acc += minDist[i];
          if (acc > r) {
            pick = i;
            break;
          }
        }
      } else {
        pick = rng.nextInt(n);
      }
      System.arraycopy(x, pick * d, c, ci * d, d);
      updateMinDistances(x, n, c, ci * d, minDist, false);
    }
    return c;
  }

  private void updateMinDistances(float[] x, int n, float[] c, int cOff, float[] minDist, boolean first) {
    int chunk = 4096;
    int chunks = (n + chunk - 1) / chunk;
    Parallel.forEach(threads, chunks, b -> {
      int from = b * chunk;
      int m = Math.min(chunk, n - from);
      float[] buf = new float[m];
      VectorUtil.squareDistanceOneToMany(c, cOff, x, from * d, m, d, buf, 0);
      for (int i = 0; i < m; i++) {
        if (first || buf[i] < minDist[from + i]) {
          minDist[from + i] = buf[i];
        }
      }
    });
  }

  /**
   * A seeded random subsample of {@code m} of the {@code n} rows of {@code x}: the first {@code m}
   * rows of FAISS's {@code rand_perm(n, seed)}, the rows FAISS's training picks with this seed.
   */
  static float[] subsample(float[] x, int n, int m, long seed, int d) {
    int[] rows = Mt19937.randPerm(n, m, seed);
    float[] out = new float[m * d];
    for (int i = 0; i < m; i++) {
      System.arraycopy(x, rows[i] * d, out, i * d, d);
    }
    return out;
  }

  private float[] subsample(float[] x, int n, int m, long s) {
    return subsample(x, n, m, s, d);
  }

  /**
   * The nearest centroid of each vector: {@code n} ids into {@code centroids} ({@code k * d}).
   */
  public static long[] assign(float[] x, int d, float[] centroids, boolean innerProduct, int threads) {
    int n = x.length / d;
    int kc = centroids.length / d;
    long[] out = new long[n];
    float[] dist = new float[n];
    ComputeBackends.current().knn(x, n, centroids, kc, null, null, d, innerProduct, 1, threads, null, dist, out);
    return out;
  }
}
