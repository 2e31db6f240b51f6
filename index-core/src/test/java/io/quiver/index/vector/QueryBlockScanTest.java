package io.quiver.index.vector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.quiver.index.IdSelector;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * QueryBlockScan against a brute force over each query's probed lists. Components are small
 * integers, so every distance and inner product is exact in float and the results must match
 * exactly (ids, order and distances), whatever the kernel's summation order.
 */
class QueryBlockScanTest {

  static final long SEED = 20261204L;

  @Test
  void matchesBruteForceOverProbedLists() {
    for (int d : new int[] {3, 17, 128}) {
      for (boolean ip : new boolean[] {false, true}) {
        for (int nq : new int[] {1, 37, 300}) {
          long seed = SEED + d * 1000L + nq * 2L + (ip ? 1 : 0);
          check(seed, d, nq, ip, false, false);
        }
      }
    }
  }

  /**
   * Lists of residuals (FAISS's by_residual: the key of row r in list c is |q - c - r|^2, or
   * -(<q, c> + <q, r>) with <q, c> the coarse value) and rows handed out through the scratch
   * buffer a tile at a time, as a decoding codec does.
   */
  @Test
  void residualRowsThroughScratchMatchBruteForce() {
    for (int d : new int[] {5, 128}) {
      for (boolean ip : new boolean[] {false, true}) {
        for (int nq : new int[] {1, 300}) {
          long seed = SEED + 7 + d * 1000L + nq * 2L + (ip ? 1 : 0);
          check(seed, d, nq, ip, true, true);
          check(seed + 1, d, nq, ip, false, true);
        }
      }
    }
  }

  private static void check(long seed, int d, int nq, boolean ip, boolean residual, boolean throughScratch) {
    SplittableRandom rng = new SplittableRandom(seed);
    int nlist = 23;
    int nprobe = 5;
    int k = 7;
    float[][] vectors = new float[nlist][];
    long[][] ids = new long[nlist][];
    int[] sizes = new int[nlist];
    long nextId = 0;
    for (int l = 0; l < nlist; l++) {
      // one empty list, one larger than a kernel tile, the rest small
      sizes[l] = l == 0 ? 0 : l == 1 ? QueryBlockScan.TILE + 37 : rng.nextInt(1, 40);
      vectors[l] = new float[sizes[l] * d + rng.nextInt(3) * d]; // spare capacity, as live lists have
      ids[l] = new long[sizes[l] + 2];
      for (int i = 0; i < sizes[l] * d; i++) {
        vectors[l][i] = rng.nextInt(-8, 9);
      }
      for (int j = 0; j < sizes[l]; j++) {
        ids[l][j] = nextId++ * 3 % 1001; // repeated keys, ids not in storage order
      }
    }
    float[] q = new float[nq * d];
    for (int i = 0; i < q.length; i++) {
      q[i] = rng.nextInt(-8, 9);
    }
    long[] probes = new long[nq * nprobe];
    for (int i = 0; i < nq; i++) {
      List<Integer> order = new ArrayList<>();
      for (int l = 0; l < nlist; l++) {
        order.add(l);
      }
      for (int p = 0; p < nprobe; p++) {
        int pick = rng.nextInt(order.size());
        // every query probes list 1 (the large one), and some probe nothing in their last slot
        probes[i * nprobe + p] = p == 0 ? 1 : (p == nprobe - 1 && i % 4 == 0) ? -1 : order.remove(pick);
        if (p == 0) {
          order.remove(Integer.valueOf(1));
        }
      }
    }
    float[] centroids = new float[nlist * d];
    for (int i = 0; i < centroids.length; i++) {
      centroids[i] = rng.nextInt(-4, 5);
    }
    float[] coarse = new float[nq * nprobe];
    for (int i = 0; i < nq * nprobe; i++) {
      int l = (int) probes[i];
      for (int t = 0; l >= 0 && t < d; t++) {
        coarse[i] += q[(i / nprobe) * d + t] * centroids[l * d + t];
      }
    }
    IdSelector[] selectors = new IdSelector[nq];
    for (int i = 0; i < nq; i += 3) {
      selectors[i] = id -> id % 2 == 0;
    }
    float[] dist = new float[nq * k];
    long[] got = new long[nq * k];
    if (!residual && !throughScratch) {
      QueryBlockScan.search(q, nq, d, k, nprobe, probes, l -> vectors[l], l -> ids[l], l -> sizes[l], ip, selectors, 1,
          dist, got);
    } else {
      QueryBlockScan.Lists lists = new QueryBlockScan.Lists() {
        @Override
        public int size(int list) {
          return sizes[list];
        }

        @Override
        public long[] ids(int list) {
          return ids[list];
        }

        @Override
        public float[] rows(int list, int from, int n, float[] scratch) {
          if (!throughScratch) {
            return vectors[list];
          }
          Arrays.fill(scratch, Float.NaN); // rows past n must not be read
          System.arraycopy(vectors[list], from * d, scratch, 0, n * d);
          return scratch;
        }
      };
      QueryBlockScan.search(q, nq, d, k, nprobe, probes, coarse, lists, residual ? centroids : null, ip, selectors, 1,
          dist, got);
    }
    for (int i = 0; i < nq; i++) {
      List<float[]> all = new ArrayList<>(); // {key, id}
      for (int p = 0; p < nprobe; p++) {
        int l = (int) probes[i * nprobe + p];
        if (l < 0) {
          continue;
        }
        for (int j = 0; j < sizes[l]; j++) {
          if (selectors[i] != null && !selectors[i].isMember(ids[l][j])) {
            continue;
          }
          float s = residual && ip ? coarse[i * nprobe + p] : 0;
          for (int t = 0; t < d; t++) {
            float a = q[i * d + t];
            float b = vectors[l][j * d + t] + (residual && !ip ? centroids[l * d + t] : 0);
            s += ip ? a * b : (a - b) * (a - b);
          }
          all.add(new float[] {ip ? -s : s, ids[l][j]});
        }
      }
      all.sort(Comparator.<float[]>comparingDouble(e -> e[0]).thenComparingDouble(e -> e[1]));
      for (int r = 0; r < k; r++) {
        String ctx = "seed " + seed + ", d " + d + ", ip " + ip + ", residual " + residual + ", scratch " + throughScratch
            + ", query " + i + ", rank " + r;
        if (r < all.size()) {
          assertEquals((long) all.get(r)[1], got[i * k + r], ctx);
          assertEquals(ip ? -all.get(r)[0] : all.get(r)[0], dist[i * k + r], 0f, ctx);
        } else {
          assertEquals(-1L, got[i * k + r], ctx);
          assertEquals(ip ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY, dist[i * k + r], 0f, ctx);
        }
      }
    }
  }

  /**
   * Threads share out whole blocks, or split one block's lists and merge their heaps: either way
   * every result must be bit-for-bit the one thread's (random float data, so kernel choice and
   * summation order would show).
   */
  @Test
  void resultsDoNotDependOnTheThreadCount() {
    int d = 24;
    int nlist = 40;
    int nprobe = 6;
    int k = 9;
    for (int nq : new int[] {300, QueryBlockScan.MAX_BLOCK + 700}) {
      long seed = SEED + 99 + nq;
      SplittableRandom rng = new SplittableRandom(seed);
      float[][] vectors = new float[nlist][];
      long[][] ids = new long[nlist][];
      int[] sizes = new int[nlist];
      for (int l = 0; l < nlist; l++) {
        sizes[l] = rng.nextInt(0, 90);
        vectors[l] = new float[sizes[l] * d];
        ids[l] = new long[sizes[l]];
        for (int i = 0; i < vectors[l].length; i++) {
          vectors[l][i] = (float) rng.nextGaussian();
        }
        for (int j = 0; j < sizes[l]; j++) {
          ids[l][j] = l * 1000L + j;
        }
      }
      float[] q = new float[nq * d];
      for (int i = 0; i < q.length; i++) {
        q[i] = (float) rng.nextGaussian();
      }
      long[] probes = new long[nq * nprobe];
      for (int i = 0; i < probes.length; i++) {
        probes[i] = rng.nextInt(nlist); // repeats within a query are allowed by the scan
      }
      for (boolean ip : new boolean[] {false, true}) {
        float[] dist1 = new float[nq * k];
        long[] ids1 = new long[nq * k];
        QueryBlockScan.search(q, nq, d, k, nprobe, probes, l -> vectors[l], l -> ids[l], l -> sizes[l], ip, null, 1,
            dist1, ids1);
        for (int threads : new int[] {2, 3, 8}) {
          float[] dist = new float[nq * k];
          long[] got = new long[nq * k];
          QueryBlockScan.search(q, nq, d, k, nprobe, probes, l -> vectors[l], l -> ids[l], l -> sizes[l], ip, null,
              threads, dist, got);
          String ctx = "seed " + seed + ", nq " + nq + ", ip " + ip + ", threads " + threads;
          assertArrayEquals(ids1, got, ctx + ": ids");
          assertArrayEquals(dist1, dist, 0f, ctx + ": distances");
        }
      }
    }
  }
}
