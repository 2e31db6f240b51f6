package io.quiver.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.io.VecsIO;
import io.quiver.index.vector.ExhaustiveSearch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link FlatIndex} against a float64 brute force: ids equal except exact ties, distances within
 * 1e-5 relative (of the sum of |terms|, see {@link TestData}), on both search paths: the scan
 * (fewer than {@value ExhaustiveSearch#BLOCKED_THRESHOLD} queries) and the blocked kernel.
 */
class FlatIndexTest {

  static final int SCAN_NQ = 7;
  static final int BLOCKED_NQ = 45;

  static {
    // the two query counts must take the two paths
    if (SCAN_NQ >= ExhaustiveSearch.BLOCKED_THRESHOLD || BLOCKED_NQ < ExhaustiveSearch.BLOCKED_THRESHOLD) {
      throw new AssertionError("SCAN_NQ / BLOCKED_NQ do not straddle BLOCKED_THRESHOLD");
    }
  }

  static FlatIndex build(Metric metric, float[] base, int d) {
    FlatIndex index = new FlatIndex(d, metric);
    index.add(base);
    return index;
  }

  @ParameterizedTest
  @EnumSource(Metric.class)
  void randomDataMatchesFloat64BothPaths(Metric metric) {
    long seed = 1001L + metric.ordinal();
    int d = 37;
    float[] base = TestData.gaussian(seed, 3000, d);
    FlatIndex index = build(metric, base, d);
    TestData.Reference ref = new TestData.Reference(metric, base, null, d);
    for (int nq : new int[] {1, SCAN_NQ, 19, 20, BLOCKED_NQ}) {
      float[] queries = TestData.gaussian(seed * 7 + nq, nq, d);
      for (int k : new int[] {1, 10}) {
        SearchResult r = index.search(queries, k, SearchParams.defaults());
        ref.assertSearchMatches("seed " + seed + ", " + metric + ", random d=" + d + ", nq " + nq + ", k " + k, queries, r, k);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Metric.class)
  void siftMatchesFloat64BothPaths(Metric metric) {
    Datasets.Dataset ds = Datasets.bigann10k();
    int d = ds.d();
    FlatIndex index = build(metric, ds.base().data(), d);
    assertEquals(10_000, index.ntotal());
    TestData.Reference ref = new TestData.Reference(metric, ds.base().data(), null, d);
    float[] scanQueries = TestData.rows(ds.queries().data(), d, 0, SCAN_NQ);
    float[] blockedQueries = TestData.rows(ds.queries().data(), d, 50, BLOCKED_NQ);
    ref.assertSearchMatches("bigann10k " + metric + " scan path", scanQueries, index.search(scanQueries, 20), 20);
    ref.assertSearchMatches("bigann10k " + metric + " blocked path", blockedQueries, index.search(blockedQueries, 20), 20);
  }

  @Test
  void siftL2AgreesWithGroundTruthFile() {
    Datasets.Dataset ds = Datasets.bigann10k();
    int d = ds.d();
    FlatIndex index = build(Metric.L2, ds.base().data(), d);
    SearchResult all = index.search(ds.queries().data(), 10, SearchParams.defaults());
    SearchResult few = index.search(TestData.rows(ds.queries().data(), d, 0, 10), 10, SearchParams.defaults());
    double recallBlocked = TestData.recallAtK(all, ds.groundTruth(), 10);
    double recallScan = TestData.recallAtK(few, new VecsIO.IntVectors(10, ds.groundTruth().d(),
        Arrays.copyOf(ds.groundTruth().data(), 10 * ds.groundTruth().d())), 10);
    System.out.printf("FlatIndexTest bigann10k Flat L2 recall@10: blocked path (100 queries) %.4f, scan path (10 queries) %.4f%n",
        recallBlocked, recallScan);
    assertEquals(1.0, recallBlocked, "Flat recall@10 on bigann10k (blocked path)");
    assertEquals(1.0, recallScan, "Flat recall@10 on bigann10k (scan path)");
  }

  @ParameterizedTest
  @EnumSource(Metric.class)
  void fewerVectorsThanKArePadded(Metric metric) {
    long seed = 1101L;
    int d = 5;
    float[] base = TestData.gaussian(seed, 3, d);
    FlatIndex index = build(metric, base, d);
    TestData.Reference ref = new TestData.Reference(metric, base, null, d);
    for (int nq : new int[] {2, 25}) {
      float[] queries = TestData.gaussian(seed + nq, nq, d);
      SearchResult r = index.search(queries, 5);
      ref.assertSearchMatches("seed " + seed + ", " + metric + ", ntotal 3 < k 5, nq " + nq, queries, r, 5);
      for (int q = 0; q < nq; q++) {
        for (int j = 3; j < 5; j++) {
          assertEquals(-1L, r.id(q, j), "padding id, query " + q + " rank " + j);
          assertEquals(metric.worstValue(), r.distance(q, j), "padding distance, query " + q + " rank " + j);
        }
      }
    }
    FlatIndex empty = new FlatIndex(d, metric);
    for (int nq : new int[] {1, 30}) {
      SearchResult r = empty.search(TestData.gaussian(seed, nq, d), 4);
      for (int i = 0; i < nq * 4; i++) {
        assertEquals(-1L, r.ids()[i], "empty index: padding id");
        assertEquals(metric.worstValue(), r.distances()[i], "empty index: padding distance");
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Metric.class)
  void addWithIdsReconstructRemove(Metric metric) {
    long seed = 1201L + metric.ordinal();
    int d = 12;
    int n = 600;
    float[] base = TestData.gaussian(seed, n, d);
    long[] ids = new long[n];
    for (int i = 0; i < n; i++) {
      ids[i] = 1_000_000_000_000L + 7L * ((i * 37) % n); // non-sequential, unordered
    }
    FlatIndex index = new FlatIndex(d, metric);
    float[] firstHalf = TestData.rows(base, d, 0, n / 2);
    float[] firstHalfCopy = firstHalf.clone();
    index.addWithIds(firstHalf, Arrays.copyOf(ids, n / 2));
    assertArrayEquals(firstHalfCopy, firstHalf, "the caller's array must not be modified");
    index.addWithIds(TestData.rows(base, d, n / 2, n - n / 2), Arrays.copyOfRange(ids, n / 2, n));
    assertEquals(n, index.ntotal());

    double[] expected = metric.normalizes() ? TestData.normalizedCopy(base, d) : null;
    for (int i = 0; i < n; i += 13) {
      float[] v = index.reconstruct(ids[i]);
      for (int j = 0; j < d; j++) {
        double want = metric.normalizes() ? expected[i * d + j] : base[i * d + j];
        assertEquals(want, v[j], metric.normalizes() ? 1e-6 : 0.0, "seed " + seed + ": reconstruct(" + ids[i] + ")[" + j + "]");
      }
    }
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> index.reconstruct(12345L));
    assertTrue(missing.getMessage().contains("12345"), missing.getMessage());

    // remove a batch and a range of ids
    Set<Long> removed = new HashSet<>();
    long[] batch = new long[40];
    for (int i = 0; i < batch.length; i++) {
      batch[i] = ids[i * 11];
      removed.add(batch[i]);
    }
    assertEquals(40, index.removeIds(IdSelector.batch(batch)));
    long lo = 1_000_000_000_000L + 7L * 100;
    long hi = 1_000_000_000_000L + 7L * 200;
    long inRange = 0;
    for (long id : ids) {
      if (id >= lo && id < hi && !removed.contains(id)) {
        inRange++;
      }
    }
    assertEquals(inRange, index.removeIds(IdSelector.range(lo, hi)));
    for (long id : ids) {
      if (id >= lo && id < hi) {
        removed.add(id);
      }
    }
    assertEquals(0, index.removeIds(IdSelector.batch(-5L, 3L)), "removing absent ids removes nothing");
    assertEquals(n - removed.size(), index.ntotal());

    List<Long> keptIds = new ArrayList<>();
    List<Integer> keptRows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      if (!removed.contains(ids[i])) {
        keptIds.add(ids[i]);
        keptRows.add(i);
      }
    }
    float[] keptBase = new float[keptRows.size() * d];
    for (int r = 0; r < keptRows.size(); r++) {
      System.arraycopy(base, keptRows.get(r) * d, keptBase, r * d, d);
    }
    TestData.Reference ref = new TestData.Reference(metric, keptBase, keptIds.stream().mapToLong(Long::longValue).toArray(), d);
    for (int nq : new int[] {SCAN_NQ, BLOCKED_NQ}) {
      float[] queries = TestData.gaussian(seed + nq, nq, d);
      SearchResult r = index.search(queries, 15);
      for (long id : r.ids()) {
        assertTrue(!removed.contains(id), "seed " + seed + ": removed id " + id + " was returned");
      }
      ref.assertSearchMatches("seed " + seed + ", " + metric + " after removeIds, nq " + nq, queries, r, 15);
    }
    for (long id : removed) {
      assertThrows(IllegalArgumentException.class, () -> index.reconstruct(id), "reconstruct of removed id " + id);
    }
    int row = keptRows.get(5);
    float[] v = index.reconstruct(ids[row]);
    for (int j = 0; j < d; j++) {
      double want = metric.normalizes() ? expected[row * d + j] : base[row * d + j];
      assertEquals(want, v[j], metric.normalizes() ? 1e-6 : 0.0, "reconstruct after removal");
    }
  }

  @Test
  void removeFromSequentialIndexThenReconstructAndAdd() {
    long seed = 1301L;
    int d = 6;
    float[] base = TestData.gaussian(seed, 50, d);
    FlatIndex index = build(Metric.L2, base, d);
    assertEquals(10, index.removeIds(IdSelector.range(10, 20)));
    assertArrayEquals(TestData.rows(base, d, 25, 1), index.reconstruct(25), "reconstruct(25) after removing 10..19");
    assertThrows(IllegalArgumentException.class, () -> index.reconstruct(15));
    // add() numbers new vectors from ntotal on, as FAISS does
    index.add(TestData.gaussian(seed + 1, 2, d));
    assertEquals(42, index.ntotal());
  }

  @Test
  void negativeIdsGetTheirRealDistances() {
    // ids are caller-chosen longs; only the padding uses -1, so a vector stored with a negative
    // id must still report its distance, whichever search path found it
    int d = 4;
    float[] base = {0, 0, 0, 0, 1, 0, 0, 0, 0, 3, 0, 0};
    for (Metric metric : new Metric[] {Metric.L2, Metric.INNER_PRODUCT}) {
      FlatIndex index = new FlatIndex(d, metric);
      index.addWithIds(base, new long[] {-7, -2, 5});
      for (int nq : new int[] {1, 25}) {
        float[] queries = new float[nq * d];
        for (int q = 0; q < nq; q++) {
          queries[q * d] = 1;
          queries[q * d + 1] = 1;
        }
        SearchResult r = index.search(queries, 3);
        TestData.Reference ref = new TestData.Reference(metric, base, new long[] {-7, -2, 5}, d);
        ref.assertSearchMatches(metric + " negative ids, nq " + nq, queries, r, 3);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Metric.class)
  void rangeSearchMatchesBruteForce(Metric metric) {
    long seed = 1401L + metric.ordinal();
    int d = 16;
    float[] base = TestData.clustered(seed, 2000, d, 20, 1.0);
    FlatIndex index = build(metric, base, d);
    TestData.Reference ref = new TestData.Reference(metric, base, null, d);
    float[] queries = TestData.rows(TestData.clustered(seed + 1, 4000, d, 20, 1.0), d, 0, 12);
    // a radius that catches a few tens of vectors per query: the 30th nearest of query 0
    SearchResult top = index.search(TestData.rows(queries, d, 0, 1), 30);
    float radius = top.distance(0, 29);
    RangeSearchResult r = index.rangeSearch(queries, radius, SearchParams.defaults());
    ref.assertRangeMatches("seed " + seed + ", " + metric + ", radius " + radius, queries, radius, r);
    assertTrue(r.count(0) >= 20 && r.count(0) <= 30, "query 0 found " + r.count(0));
    // threads=1 gives the same
    RangeSearchResult r1 = index.rangeSearch(queries, radius, SearchParams.defaults().withThreads(1));
    assertArrayEquals(r.lims(), r1.lims());
    assertArrayEquals(r.ids(), r1.ids());
    assertArrayEquals(r.distances(), r1.distances());
  }

  @Test
  void rangeSearchBoundaryIsStrict() {
    int d = 2;
    FlatIndex l2 = new FlatIndex(d, Metric.L2);
    l2.add(new float[] {0, 0, 3, 4, 6, 8});
    RangeSearchResult r = l2.rangeSearch(new float[] {0, 0}, 25f, SearchParams.defaults());
    assertArrayEquals(new long[] {0}, r.ids(), "L2: a distance equal to the radius (25) is excluded");
    r = l2.rangeSearch(new float[] {0, 0}, 25.5f, SearchParams.defaults());
    assertArrayEquals(new long[] {0, 1}, r.ids());
    assertArrayEquals(new float[] {0f, 25f}, r.distances());

    FlatIndex ip = new FlatIndex(d, Metric.INNER_PRODUCT);
    ip.add(new float[] {1, 0, 2, 0, -1, 0});
    r = ip.rangeSearch(new float[] {1, 0}, 1f, SearchParams.defaults());
    assertArrayEquals(new long[] {1}, r.ids(), "IP: a similarity equal to the radius (1) is excluded");
    r = ip.rangeSearch(new float[] {1, 0}, -1.5f, SearchParams.defaults());
    assertArrayEquals(new long[] {1, 0, 2}, r.ids(), "IP: sorted by decreasing similarity");
    assertArrayEquals(new float[] {2f, 1f, -1f}, r.distances());
  }

  @Test
  void concurrentSearchesEqualSingleThreaded() throws Exception {
    long seed = 1501L;
    int d = 8;
    // 100,000 rows so that the scan path splits the base into several chunks per query
    float[] base = TestData.gaussian(seed, 100_000, d);
    FlatIndex index = build(Metric.L2, base, d);
    float[] small = TestData.gaussian(seed + 1, SCAN_NQ, d);
    float[] large = TestData.gaussian(seed + 2, BLOCKED_NQ, d);
    SearchParams one = SearchParams.defaults().withThreads(1);
    SearchResult expSmall = index.search(small, 10, one);
    SearchResult expLarge = index.search(large, 10, one);
    for (int threads : new int[] {0, 2, 3}) {
      SearchParams p = SearchParams.defaults().withThreads(threads);
      assertSame("seed " + seed + ", threads=" + threads + " vs 1, scan path", expSmall, index.search(small, 10, p));
      assertSame("seed " + seed + ", threads=" + threads + " vs 1, blocked path", expLarge, index.search(large, 10, p));
    }
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<SearchResult[]>> futures = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int threads = t % 2 == 0 ? 0 : 1;
        futures.add(pool.submit(() -> {
          start.await();
          SearchParams p = SearchParams.defaults().withThreads(threads);
          SearchResult[] out = new SearchResult[6];
          for (int i = 0; i < out.length; i++) {
            out[i] = index.search(i % 2 == 0 ? small : large, 10, p);
          }
          return out;
        }));
      }
      start.countDown();
      for (int t = 0; t < futures.size(); t++) {
        SearchResult[] got = futures.get(t).get();
        for (int i = 0; i < got.length; i++) {
          assertSame("seed " + seed + ": concurrent search, thread " + t + ", call " + i, i % 2 == 0 ? expSmall : expLarge, got[i]);
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  static void assertSame(String ctx, SearchResult expected, SearchResult got) {
    assertArrayEquals(expected.ids(), got.ids(), ctx + ": ids");
    assertArrayEquals(expected.distances(), got.distances(), ctx + ": distances");
  }

  @Test
  void cosineNormalizesAndReportsSimilarity() {
    int d = 3;
    FlatIndex index = new FlatIndex(d, Metric.COSINE);
    float[] base = {3, 0, 0, 0, 5, 0, 1, 1, 0, 0, 0, 0};
    index.add(base);
    SearchResult r = index.search(new float[] {10, 0, 0}, 4);
    assertArrayEquals(new long[] {0, 2, 1, 3}, r.ids());
    assertEquals(1f, r.distance(0, 0), 1e-6f);
    assertEquals((float) Math.sqrt(0.5), r.distance(0, 1), 1e-6f);
    assertEquals(0f, r.distance(0, 2), 1e-6f);
    assertEquals(0f, r.distance(0, 3), 0f, "a zero vector stays zero, similarity 0");
    assertArrayEquals(new float[] {0, 1, 0}, index.reconstruct(1), 1e-7f);
  }

  @Test
  void flatIsTrainedAndDescribesItself() {
    FlatIndex index = new FlatIndex(4, Metric.INNER_PRODUCT);
    assertTrue(index.isTrained());
    assertEquals("Flat", index.factoryString());
    assertEquals(4, index.d());
    assertEquals(Metric.INNER_PRODUCT, index.metric());
    index.train(new float[8]); // a no-op that checks its input
    assertEquals(0, index.ntotal());
  }
}
