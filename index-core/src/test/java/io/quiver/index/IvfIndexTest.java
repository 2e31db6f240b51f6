package io.quiver.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link IvfIndex}: recall against exact ground truth on real data (against FAISS's in
 * {@link IndexContractTest#recallMatchesFaiss}), and the index operations on seeded synthetic data.
 * recall@10 = |found top-10 ∩ true top-10| / 10, averaged over queries.
 */
class IvfIndexTest {

  static final SearchParams NPROBE8_THREADS1 = SearchParams.defaults().withNprobe(8).withThreads(1);

  // ---------------------------------------------------------------- recall on real data

  @Test
  void bigann10kRecall() {
    Datasets.Dataset ds = Datasets.bigann10k();
    int d = ds.d();
    float[] base = ds.base().data();
    float[] queries = ds.queries().data();

    VectorIndex flat = IndexFactory.create(d, "Flat", Metric.L2);
    flat.add(base);
    double flatRecall = TestData.recallAtK(flat.search(queries, 10, SearchParams.defaults().withThreads(1)), ds.groundTruth(), 10);

    long t0 = System.nanoTime();
    VectorIndex ivf = IndexFactory.create(d, "IVF100,Flat", Metric.L2);
    assertInstanceOf(IvfIndex.class, ivf);
    ivf.train(base);
    ivf.add(base);
    double seconds = (System.nanoTime() - t0) / 1e9;
    assertEquals(10_000, ivf.ntotal());
    double recall8 = TestData.recallAtK(ivf.search(queries, 10, NPROBE8_THREADS1), ds.groundTruth(), 10);
    double recall100 = TestData.recallAtK(ivf.search(queries, 10, SearchParams.defaults().withNprobe(100).withThreads(1)),
        ds.groundTruth(), 10);
    System.out.printf("IvfIndexTest bigann10k L2 recall@10 (%s): Flat %.4f, IVF100,Flat nprobe 8 %.4f, "
        + "nprobe 100 %.4f; train+add %.2f s%n", io.quiver.index.vector.VectorUtil.implementationName(),
        flatRecall, recall8, recall100, seconds);
    // recall against FAISS's at nprobe 8: IndexContractTest.recallMatchesFaiss
    assertEquals(1.0, flatRecall, "bigann10k Flat recall@10");
    assertEquals(1.0, recall100, "bigann10k IVF100,Flat nprobe 100 (= nlist, exhaustive) recall@10");
  }

  @Test
  void glove25CosineRecall() {
    Datasets.Dataset ds = Datasets.glove25();
    int d = ds.d();
    VectorIndex ivf = IndexFactory.create(d, "IVF100,Flat", Metric.COSINE);
    ivf.train(ds.base().data());
    ivf.add(ds.base().data());
    double recall8 = TestData.recallAtK(ivf.search(ds.queries().data(), 10, NPROBE8_THREADS1), ds.groundTruth(), 10);

    VectorIndex flat = IndexFactory.create(d, "Flat", Metric.COSINE);
    flat.add(ds.base().data());
    double flatRecall = TestData.recallAtK(flat.search(ds.queries().data(), 10), ds.groundTruth(), 10);
    System.out.printf("IvfIndexTest glove25 cosine recall@10 (%s): Flat %.4f, IVF100,Flat nprobe 8 %.4f%n",
        io.quiver.index.vector.VectorUtil.implementationName(), flatRecall, recall8);
    // recall against FAISS's at nprobe 8: IndexContractTest.recallMatchesFaiss
    assertTrue(flatRecall >= 0.999, "glove25 Flat cosine recall@10 " + flatRecall);
  }

  // ---------------------------------------------------------------- operations on synthetic data

  static final int D = 16;
  static final int NLIST = 16;

  static IvfIndex trained(Metric metric, long seed, float[] train) {
    IvfIndex index = new IvfIndex(D, NLIST, metric);
    index.train(train);
    assertTrue(index.isTrained());
    return index;
  }

  @ParameterizedTest
  @EnumSource(Metric.class)
  void exhaustiveProbeEqualsFlat(Metric metric) {
    long seed = 2001L + metric.ordinal();
    float[] base = TestData.clustered(seed, 3000, D, 30, 2.0);
    IvfIndex ivf = trained(metric, seed, base);
    ivf.add(base);
    FlatIndex flat = new FlatIndex(D, metric);
    flat.add(base);
    float[] queries = TestData.clustered(seed + 1, 40, D, 30, 2.0);
    // nprobe above nlist is clamped to nlist: every list is visited, so IVF is exact
    for (int np : new int[] {NLIST, NLIST + 1, 1000}) {
      SearchResult r = ivf.search(queries, 10, SearchParams.defaults().withNprobe(np));
      new TestData.Reference(metric, base, null, D)
          .assertSearchMatches("seed " + seed + ", " + metric + ", nprobe " + np + " (nlist " + NLIST + ")", queries, r, 10);
      SearchResult f = flat.search(queries, 10);
      assertArrayEquals(f.ids(), r.ids(), "seed " + seed + ", " + metric + ": IVF nprobe " + np + " vs Flat ids");
    }
  }

  @ParameterizedTest
  @EnumSource(Metric.class)
  void reconstructReturnsTheAddedVector(Metric metric) {
    long seed = 2101L + metric.ordinal();
    int n = 1000;
    float[] base = TestData.clustered(seed, n, D, 10, 1.0);
    IvfIndex index = trained(metric, seed, base);
    long[] ids = new long[n];
    for (int i = 0; i < n; i++) {
      ids[i] = 5_000_000_000L + 3L * i;
    }
    float[] copy = base.clone();
    index.addWithIds(base, ids);
    assertArrayEquals(copy, base, "the caller's array must not be modified");
    double[] normalized = TestData.normalizedCopy(base, D);
    for (int i = 0; i < n; i += 7) {
      float[] v = index.reconstruct(ids[i]);
      for (int j = 0; j < D; j++) {
        if (metric.normalizes()) {
          assertEquals(normalized[i * D + j], v[j], 1e-6, "seed " + seed + ": reconstruct(" + ids[i] + ")[" + j + "] normalized");
        } else {
          assertEquals(base[i * D + j], v[j], "seed " + seed + ": reconstruct(" + ids[i] + ")[" + j + "]");
        }
      }
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> index.reconstruct(7L));
    assertTrue(e.getMessage().contains("id 7"), e.getMessage());
    index.makeDirectMap();
    // adding more vectors invalidates and rebuilds the direct map
    index.addWithIds(TestData.rows(base, D, 0, 1), new long[] {42L});
    assertArrayEquals(index.reconstruct(ids[0]), index.reconstruct(42L));
  }

  @Test
  void removeIdsExcludesRemovedVectors() {
    long seed = 2201L;
    int n = 2000;
    float[] base = TestData.clustered(seed, n, D, 20, 2.0);
    IvfIndex index = trained(Metric.L2, seed, base);
    index.add(base);
    Set<Long> removed = new HashSet<>();
    long[] batch = new long[100];
    for (int i = 0; i < batch.length; i++) {
      batch[i] = 17L * i;
      removed.add(batch[i]);
    }
    assertEquals(100, index.removeIds(IdSelector.batch(batch)));
    long inRange = 0;
    for (long id = 500; id < 800; id++) {
      if (removed.add(id)) {
        inRange++;
      }
    }
    assertEquals(inRange, index.removeIds(IdSelector.range(500, 800)));
    assertEquals(0, index.removeIds(IdSelector.batch(1_000_000L)));
    assertEquals(n - removed.size(), index.ntotal());
    long total = 0;
    for (int l = 0; l < NLIST; l++) {
      total += index.listSize(l);
      for (long id : index.listIds(l)) {
        assertFalse(removed.contains(id), "removed id " + id + " still in list " + l);
      }
      assertEquals(index.listSize(l) * D, index.listVectors(l).length);
    }
    assertEquals(index.ntotal(), total, "list sizes add up to ntotal");

    int kept = n - removed.size();
    float[] keptBase = new float[kept * D];
    long[] keptIds = new long[kept];
    for (int i = 0, w = 0; i < n; i++) {
      if (!removed.contains((long) i)) {
        System.arraycopy(base, i * D, keptBase, w * D, D);
        keptIds[w++] = i;
      }
    }
    float[] queries = TestData.clustered(seed + 1, 30, D, 20, 2.0);
    SearchResult r = index.search(queries, 10, SearchParams.defaults().withNprobe(NLIST));
    new TestData.Reference(Metric.L2, keptBase, keptIds, D).assertSearchMatches("seed " + seed + " after removeIds", queries, r, 10);
    for (long id : new long[] {0, 17, 500, 799}) {
      assertThrows(IllegalArgumentException.class, () -> index.reconstruct(id), "reconstruct of removed id " + id);
    }
    assertArrayEquals(TestData.rows(base, D, 800, 1), index.reconstruct(800));
  }

  @ParameterizedTest
  @EnumSource(Metric.class)
  void mergeFromEqualsOneIndexWithAllVectors(Metric metric) {
    long seed = 2301L + metric.ordinal();
    int n = 3000;
    float[] base = TestData.clustered(seed, n, D, 25, 2.0);
    IvfIndex trainedOnce = trained(metric, seed, base);
    float[] centroids = trainedOnce.centroids();
    IvfIndex all = fromCentroids(metric, centroids);
    IvfIndex a = fromCentroids(metric, centroids);
    IvfIndex b = fromCentroids(metric, centroids);
    all.add(base);
    a.add(TestData.rows(base, D, 0, 1800));
    long[] idsB = new long[n - 1800];
    for (int i = 0; i < idsB.length; i++) {
      idsB[i] = 1800 + i;
    }
    b.addWithIds(TestData.rows(base, D, 1800, n - 1800), idsB);
    a.mergeFrom(b);
    assertEquals(n, a.ntotal());
    assertEquals(0, b.ntotal(), "the merged-from index is left empty");
    for (int l = 0; l < NLIST; l++) {
      assertEquals(all.listSize(l), a.listSize(l), "list " + l + " size");
      assertEquals(0, b.listSize(l));
    }
    float[] queries = TestData.clustered(seed + 1, 30, D, 25, 2.0);
    for (int np : new int[] {1, 4, NLIST}) {
      SearchParams p = SearchParams.defaults().withNprobe(np);
      SearchResult expected = all.search(queries, 10, p);
      SearchResult got = a.search(queries, 10, p);
      assertArrayEquals(expected.ids(), got.ids(), "seed " + seed + ", " + metric + ": merged vs single index, nprobe " + np);
      assertArrayEquals(expected.distances(), got.distances(), "seed " + seed + ", " + metric + ": merged vs single, nprobe " + np);
    }
    assertArrayEquals(all.reconstruct(2500), a.reconstruct(2500));
    // b can still be used
    b.add(TestData.rows(base, D, 0, 3));
    assertEquals(3, b.ntotal());
  }

  static IvfIndex fromCentroids(Metric metric, float[] centroids) {
    long[][] ids = new long[NLIST][0];
    float[][] vecs = new float[NLIST][0];
    return IvfIndex.fromStorage(D, metric, NLIST, 1, centroids.clone(), ids, vecs);
  }

  @Test
  void mergeFromDifferentCentroidsFails() {
    long seed = 2401L;
    float[] base = TestData.clustered(seed, 2000, D, 20, 2.0);
    IvfIndex a = new IvfIndex(D, NLIST, Metric.L2);
    a.train(base);
    IvfIndex b = new IvfIndex(D, NLIST, Metric.L2);
    b.setTrainSeed(99);
    b.train(base);
    assertFalse(Arrays.equals(a.centroids(), b.centroids()), "different seeds should give different centroids");
    a.add(TestData.rows(base, D, 0, 100));
    b.add(TestData.rows(base, D, 100, 50));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.mergeFrom(b));
    assertTrue(e.getMessage().contains("centroids differ"), e.getMessage());
    assertEquals(100, a.ntotal(), "a failed merge leaves the target unchanged");
    assertEquals(50, b.ntotal(), "a failed merge leaves the source unchanged");

    IvfIndex otherNlist = new IvfIndex(D, NLIST * 2, Metric.L2);
    e = assertThrows(IllegalArgumentException.class, () -> a.mergeFrom(otherNlist));
    assertTrue(e.getMessage().contains("nlist"), e.getMessage());
    IvfIndex otherMetric = new IvfIndex(D, NLIST, Metric.INNER_PRODUCT);
    e = assertThrows(IllegalArgumentException.class, () -> a.mergeFrom(otherMetric));
    assertTrue(e.getMessage().contains("metric"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> a.mergeFrom(a));
    assertTrue(e.getMessage().contains("itself"), e.getMessage());
    assertEquals(100, a.ntotal());
  }

  @Test
  void trainWithFewerPointsThanNlistFailsAndLeavesIndexUntrained() {
    long seed = 2501L;
    IvfIndex index = new IvfIndex(D, NLIST, Metric.L2);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> index.train(TestData.gaussian(seed, NLIST - 1, D)));
    assertTrue(e.getMessage().contains("nlist=" + NLIST), e.getMessage());
    assertFalse(index.isTrained());
    assertNull(index.centroids());
    // exactly nlist points: the centroids are the points
    float[] pts = TestData.gaussian(seed, NLIST, D);
    index.train(pts);
    assertTrue(index.isTrained());
    assertArrayEquals(pts, index.centroids());
  }

  @Test
  void useBeforeTrainFails() {
    IvfIndex index = new IvfIndex(D, NLIST, Metric.L2);
    float[] q = TestData.gaussian(2601L, 3, D);
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> index.search(q, 5));
    assertTrue(e.getMessage().contains("not trained"), e.getMessage());
    assertThrows(IllegalStateException.class, () -> index.add(q));
    assertThrows(IllegalStateException.class, () -> index.rangeSearch(q, 1f, SearchParams.defaults()));
    assertEquals(0, index.ntotal());
  }

  @Test
  void retrainWithVectorsFails() {
    long seed = 2651L;
    float[] base = TestData.clustered(seed, 1000, D, 10, 1.0);
    IvfIndex index = trained(Metric.L2, seed, base);
    float[] centroids = index.centroids();
    index.add(TestData.rows(base, D, 0, 10));
    assertThrows(IllegalStateException.class, () -> index.train(base));
    assertArrayEquals(centroids, index.centroids(), "a failed retrain keeps the centroids");
    assertEquals(10, index.ntotal());
  }

  @Test
  void threadsOneAndTwoGiveIdenticalResults() {
    long seed = 2701L;
    float[] base = TestData.clustered(seed, 5000, D, 40, 2.0);
    IvfIndex index = trained(Metric.L2, seed, base);
    index.add(base);
    for (int nq : new int[] {5, 60}) {
      float[] queries = TestData.clustered(seed + nq, nq, D, 40, 2.0);
      SearchResult r1 = index.search(queries, 10, SearchParams.defaults().withNprobe(3).withThreads(1));
      SearchResult r2 = index.search(queries, 10, SearchParams.defaults().withNprobe(3).withThreads(2));
      SearchResult r0 = index.search(queries, 10, SearchParams.defaults().withNprobe(3));
      assertArrayEquals(r1.ids(), r2.ids(), "seed " + seed + ", nq " + nq + ": threads 1 vs 2 ids");
      assertArrayEquals(r1.distances(), r2.distances(), "seed " + seed + ", nq " + nq + ": threads 1 vs 2 distances");
      assertArrayEquals(r1.ids(), r0.ids(), "seed " + seed + ", nq " + nq + ": threads 1 vs all ids");
      RangeSearchResult g1 = index.rangeSearch(queries, 30f, SearchParams.defaults().withNprobe(3).withThreads(1));
      RangeSearchResult g2 = index.rangeSearch(queries, 30f, SearchParams.defaults().withNprobe(3).withThreads(2));
      assertArrayEquals(g1.lims(), g2.lims());
      assertArrayEquals(g1.ids(), g2.ids());
    }
  }

  @ParameterizedTest
  @EnumSource(Metric.class)
  void rangeSearchWithAllListsMatchesBruteForce(Metric metric) {
    long seed = 2801L + metric.ordinal();
    float[] base = TestData.clustered(seed, 2000, D, 20, 1.0);
    IvfIndex index = trained(metric, seed, base);
    index.add(base);
    float[] queries = TestData.clustered(seed + 1, 8, D, 20, 1.0);
    FlatIndex flat = new FlatIndex(D, metric);
    flat.add(base);
    float radius = flat.search(TestData.rows(queries, D, 0, 1), 25).distance(0, 24);
    RangeSearchResult r = index.rangeSearch(queries, radius, SearchParams.defaults().withNprobe(NLIST));
    new TestData.Reference(metric, base, null, D)
        .assertRangeMatches("seed " + seed + ", " + metric + ", radius " + radius, queries, radius, r);
  }

  @Test
  void fewerReachableThanKIsPadded() {
    long seed = 2901L;
    float[] base = TestData.clustered(seed, 500, D, 16, 0.5);
    for (Metric metric : Metric.values()) {
      IvfIndex index = trained(metric, seed, base);
      index.add(TestData.rows(base, D, 0, 3));
      SearchResult r = index.search(TestData.rows(base, D, 0, 2), 5, SearchParams.defaults().withNprobe(NLIST));
      for (int q = 0; q < 2; q++) {
        for (int j = 3; j < 5; j++) {
          assertEquals(-1L, r.id(q, j), metric + ": padding id");
          assertEquals(metric.worstValue(), r.distance(q, j), metric + ": padding distance");
        }
      }
    }
  }

  @Test
  void defaultNprobeAndFactoryString() {
    IvfIndex index = new IvfIndex(D, 32, Metric.L2);
    assertEquals(1, index.nprobe(), "nprobe defaults to 1, as in FAISS");
    assertEquals("IVF32,Flat", index.factoryString());
    assertEquals(32, index.nlist());
    index.setNprobe(4);
    assertEquals(4, index.nprobe());
    assertThrows(IllegalArgumentException.class, () -> index.setNprobe(0));
    assertEquals(4, index.nprobe());
  }
}
