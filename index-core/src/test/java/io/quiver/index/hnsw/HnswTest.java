package io.quiver.index.hnsw;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.codec.FlatCodec;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The graph itself: FAISS's level draws, the candidate queue, and search on small graphs against brute force. */
class HnswTest {

  /**
   * The levels FAISS 1.15 draws for the first 100000 nodes, from
   * {@code h = faiss.HNSW(M); h.prepare_level_tab(100000, False); np.bincount(faiss.vector_to_array(h.levels))}:
   * M=32 gives 96812, 3093, 92, 3 nodes with 1, 2, 3, 4 levels; M=16 gives 93626, 6003, 351, 19, 1, and nodes 11
   * and 12 are the first with 2 levels.
   */
  @Test
  void levelsAreFaisssDraws() {
    assertArrayEquals(new int[] {96812, 3093, 92, 3}, histogram(32, 100_000));
    assertArrayEquals(new int[] {93626, 6003, 351, 19, 1}, histogram(16, 100_000));
    Hnsw h = new Hnsw(16);
    int[] first = new int[20];
    for (int i = 0; i < 20; i++) {
      first[i] = h.randomLevel() + 1;
    }
    int[] want = new int[20];
    Arrays.fill(want, 1);
    want[11] = 2;
    want[12] = 2;
    assertArrayEquals(want, first);
    assertEquals(6, Hnsw.maxLevels(32));
    assertEquals(29, Hnsw.maxLevels(2));
  }

  private static int[] histogram(int m, int n) {
    Hnsw h = new Hnsw(m);
    int[] hist = new int[Hnsw.maxLevels(m)];
    int top = 0;
    for (int i = 0; i < n; i++) {
      int l = h.randomLevel();
      hist[l]++;
      top = Math.max(top, l);
    }
    return Arrays.copyOf(hist, top + 1);
  }

  @Test
  void badMIsRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Hnsw(1));
    assertTrue(e.getMessage().contains("M must be in [2, 4096], was 1"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new Hnsw(Hnsw.MAX_M + 1));
  }

  /** Popped candidates keep their slot and still count below a threshold (FAISS's stopping rule). */
  @Test
  void minimaxHeapKeepsPoppedEntries() {
    Hnsw.MinimaxHeap h = new Hnsw.MinimaxHeap(3);
    h.push(10, 5f);
    h.push(11, 1f);
    h.push(12, 3f);
    assertEquals(11, h.popMin());
    assertEquals(1f, h.lastPopped());
    assertEquals(2, h.size());
    assertEquals(2, h.countBelow(4f), "the popped 1 and the queued 3");
    h.push(13, 2f); // full: evicts the largest (5)
    assertEquals(13, h.popMin());
    assertEquals(12, h.popMin());
    assertEquals(-1, h.popMin());
    h.push(14, 9f); // not below the largest kept key (3): refused
    assertEquals(0, h.size());
  }

  /**
   * With efSearch = ntotal a search visits every node reachable from the entry point, so on a
   * connected graph its top-k is the exact top-k; with the default efSearch it is close.
   */
  @Test
  void searchWithLargeEfIsExactOnSmallGraphs() {
    long seed = 20261204L;
    int n = 1500;
    int d = 8;
    float[] x = new float[n * d];
    SplittableRandom rng = new SplittableRandom(seed);
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) rng.nextGaussian();
    }
    for (int threads : new int[] {1, 2}) {
      Hnsw g = new Hnsw(8);
      FlatCodec flat = new FlatCodec(d);
      g.add(n, x, d, () -> CodecDistances.of(flat, x, false), threads);
      assertEquals(n, g.ntotal());
      Hnsw.Distances dis = CodecDistances.of(flat, x, false);
      Hnsw.Visited vt = new Hnsw.Visited();
      int k = 10;
      int hitsFull = 0;
      int hitsDefault = 0;
      int nq = 50;
      for (int qi = 0; qi < nq; qi++) {
        float[] q = new float[d];
        for (int t = 0; t < d; t++) {
          q[t] = (float) rng.nextGaussian();
        }
        float[] exact = new float[n];
        for (int i = 0; i < n; i++) {
          exact[i] = io.quiver.index.vector.VectorUtil.squareDistance(q, 0, x, i * d, d);
        }
        float[] sorted = exact.clone();
        Arrays.sort(sorted);
        float kth = sorted[k - 1];
        dis.setQuery(q, 0);
        hitsFull += countWithin(g, dis, vt, k, n, kth);
        hitsDefault += countWithin(g, dis, vt, k, Hnsw.DEFAULT_EF_SEARCH, kth);
      }
      String ctx = "seed " + seed + ", " + threads + " threads";
      assertEquals(nq * k, hitsFull, ctx + ": efSearch = ntotal finds the exact top-" + k);
      assertTrue(hitsDefault >= 0.9 * nq * k, ctx + ": efSearch 16 finds " + hitsDefault + " of " + nq * k);
    }
  }

  /** How many of the k best keys a search reports are within the exact k-th key. */
  private static int countWithin(Hnsw g, Hnsw.Distances dis, Hnsw.Visited vt, int k, int ef, float kth) {
    float[] best = new float[k];
    Arrays.fill(best, Float.POSITIVE_INFINITY);
    g.search(dis, k, ef, (key, node) -> {
      if (key < best[k - 1]) {
        best[k - 1] = key;
        Arrays.sort(best);
      }
    }, vt);
    int c = 0;
    for (float b : best) {
      c += b <= kth ? 1 : 0;
    }
    return c;
  }
}
