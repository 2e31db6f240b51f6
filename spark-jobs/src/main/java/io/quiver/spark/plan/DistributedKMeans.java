package io.quiver.spark.plan;

import io.quiver.index.ivf.CoarseQuantizer;
import io.quiver.index.vector.VectorUtil;
import java.io.Serializable;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lloyd's k-means over an RDD of vectors, for training sets too large for the driver: each
 * iteration broadcasts the centroids, assigns every vector on the executors with index-core's
 * batched kernels, sums vectors and counts per centroid, and combines the sums with a tree
 * aggregation. Initialization and empty clusters follow FAISS: k distinct random training
 * points, and an empty cluster takes half of a large one (its centroid copied and both moved
 * apart by a small symmetric perturbation).
 */
public final class DistributedKMeans {
  private static final Logger LOG = LoggerFactory.getLogger(DistributedKMeans.class);

  /** FAISS's relative perturbation when splitting a cluster. */
  static final float EPS = 1f / 1024;
  static final int BATCH = 4096;

  private DistributedKMeans() {}

  /** Per-iteration sums: k x d sums, k counts, the objective. */
  public static final class Stats implements Serializable {
    private static final long serialVersionUID = 1L;
    public double[] sums;
    public long[] counts;
    public double objective;

    /** For serializers. */
    public Stats() {}

    Stats(int k, int d) {
      sums = new double[k * d];
      counts = new long[k];
    }

    Stats add(Stats o) {
      for (int i = 0; i < sums.length; i++) {
        sums[i] += o.sums[i];
      }
      for (int i = 0; i < counts.length; i++) {
        counts[i] += o.counts[i];
      }
      objective += o.objective;
      return this;
    }
  }

  /**
   * Runs k-means and returns {@code k * d} centroids (unit length when {@code spherical}). The
   * vectors must already be normalized when the metric wants it; {@code data} should be persisted.
   */
  public static float[] train(JavaSparkContext jsc, JavaRDD<float[]> data, int k, int d, int niter, long seed,
                              boolean innerProduct, boolean spherical) {
    List<float[]> init = data.takeSample(false, k, seed);
    if (init.size() < k) {
      throw new IllegalArgumentException("k-means needs at least k = " + k + " training vectors, got " + init.size());
    }
    float[] centroids = new float[k * d];
    for (int i = 0; i < k; i++) {
      System.arraycopy(init.get(i), 0, centroids, i * d, d);
    }
    SplittableRandom rng = new SplittableRandom(seed + 1);
    for (int it = 0; it < niter; it++) {
      long t0 = System.nanoTime();
      Broadcast<float[]> cb = jsc.broadcast(centroids);
      Stats s = data.mapPartitions(part -> {
        CoarseQuantizer q = CoarseQuantizer.flat(d, k, innerProduct);
        q.setCentroids(cb.value());
        Stats st = new Stats(k, d);
        float[] x = new float[BATCH * d];
        while (part.hasNext()) {
          int n = 0;
          while (n < BATCH && part.hasNext()) {
            System.arraycopy(part.next(), 0, x, n * d, d);
            n++;
          }
          float[] xb = n == BATCH ? x : Arrays.copyOf(x, n * d);
          long[] lists = new long[n];
          float[] dist = new float[n];
          q.search(xb, n, 1, 1, dist, lists);
          for (int i = 0; i < n; i++) {
            int c = (int) lists[i];
            st.counts[c]++;
            st.objective += dist[i];
            for (int j = 0; j < d; j++) {
              st.sums[c * d + j] += xb[i * d + j];
            }
          }
        }
        return Collections.singletonList(st).iterator();
      }).treeReduce(Stats::add);
      cb.destroy();
      float[] next = new float[k * d];
      for (int c = 0; c < k; c++) {
        if (s.counts[c] > 0) {
          for (int j = 0; j < d; j++) {
            next[c * d + j] = (float) (s.sums[c * d + j] / s.counts[c]);
          }
        }
      }
      int split = splitEmpty(next, s.counts, k, d, rng);
      if (spherical) {
        VectorUtil.normalizeL2(next, d);
      }
      centroids = next;
      LOG.info("k-means iteration {}/{}: objective {} ({} empty clusters split) in {} ms", it + 1, niter,
          String.format("%.6g", s.objective), split, (System.nanoTime() - t0) / 1_000_000);
    }
    return centroids;
  }

  /** FAISS's split of empty clusters: each takes half of a cluster chosen in proportion to its size. */
  static int splitEmpty(float[] c, long[] counts, int k, int d, SplittableRandom rng) {
    long n = Arrays.stream(counts).sum();
    int split = 0;
    if (Arrays.stream(counts).max().orElse(0) <= 1) {
      return 0; // nothing to split
    }
    for (int ci = 0; ci < k; ci++) {
      if (counts[ci] != 0) {
        continue;
      }
      int cj;
      while (true) {
        double p = (rng.nextDouble()) * (n - k + 1);
        cj = 0;
        double acc = 0;
        for (; cj < k; cj++) {
          acc += Math.max(0, counts[cj] - 1);
          if (acc > p) {
            break;
          }
        }
        if (cj < k && counts[cj] > 1) {
          break;
        }
      }
      for (int j = 0; j < d; j++) {
        float v = c[cj * d + j];
        if (j % 2 == 0) {
          c[ci * d + j] = v * (1 + EPS);
          c[cj * d + j] = v * (1 - EPS);
        } else {
          c[ci * d + j] = v * (1 - EPS);
          c[cj * d + j] = v * (1 + EPS);
        }
      }
      counts[ci] = counts[cj] / 2;
      counts[cj] -= counts[ci];
      split++;
    }
    return split;
  }
}
