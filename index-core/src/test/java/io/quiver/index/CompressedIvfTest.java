package io.quiver.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.util.SyntheticData;
import org.junit.jupiter.api.Test;

/**
 * IVF with PQ and SQ codes, refinement, the L2norm prefix and the factory grammar. Recall on
 * the real datasets against FAISS's is {@link IndexContractTest#recallMatchesFaiss}.
 */
class CompressedIvfTest {

  private static final long SEED = 42;

  private static float[] data(int n, int d, long seed) {
    return new SyntheticData(d, 20, SEED).generate(n, seed);
  }

  @Test
  void precomputedTablesGiveTheSameResults() {
    int d = 32;
    float[] x = data(4000, d, 1);
    float[] q = data(30, d, 2);
    IvfPqIndex a = new IvfPqIndex(d, 16, 8, 8, Metric.L2);
    a.train(x);
    a.add(x);
    // 16 * 8 * 256 floats = 128 KiB: auto keeps it
    assertEquals(IvfPqIndex.PRECOMPUTED_AUTO, a.usePrecomputedTable());
    assertTrue(a.usesPrecomputedTable());
    SearchParams p = SearchParams.defaults().withNprobe(4).withThreads(1);
    SearchResult withTables = a.search(q, 10, p);
    long withTableBytes = a.memoryBytes();
    a.setUsePrecomputedTable(IvfPqIndex.PRECOMPUTED_OFF);
    assertFalse(a.usesPrecomputedTable());
    assertEquals(withTableBytes - a.precomputedTableBytes(), a.memoryBytes());
    assertSameDistances(a.search(q, 10, p), withTables);
    // the direct path matches an exhaustive ADC on the decoded residuals
    SearchResult all = a.search(q, 10, SearchParams.defaults().withNprobe(16).withThreads(1));
    for (int qi = 0; qi < 30; qi++) {
      for (int r = 0; r < 10; r++) {
        float[] rec = a.reconstruct(all.id(qi, r));
        float exact = io.quiver.index.vector.VectorUtil.squareDistance(q, qi * d, rec, 0, d);
        float got = all.distance(qi, r);
        assertEquals(exact, got, 1e-3f * Math.max(1f, exact), "query " + qi + " rank " + r + " seed " + SEED);
      }
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.setUsePrecomputedTable(2));
    assertTrue(e.getMessage().contains("-1 (off), 0 (auto"), e.getMessage());
  }

  @Test
  void autoDropsTablesAboveTwoMebibytes() {
    int d = 32;
    float[] x = data(6000, d, 5);
    float[] q = data(20, d, 6);
    // 130 lists * 16 * 256 floats = 2.03 MiB: above the auto bound, kept only when asked for
    IvfPqIndex a = new IvfPqIndex(d, 130, 16, 8, Metric.L2);
    a.train(x);
    a.add(x);
    assertTrue(a.precomputedTableBytes() > IvfPqIndex.AUTO_PRECOMPUTED_MAX_BYTES);
    assertFalse(a.usesPrecomputedTable());
    SearchParams p = SearchParams.defaults().withNprobe(8).withThreads(1);
    SearchResult direct = a.search(q, 10, p);
    a.setUsePrecomputedTable(IvfPqIndex.PRECOMPUTED_ON);
    assertTrue(a.usesPrecomputedTable());
    assertSameDistances(direct, a.search(q, 10, p));
  }

  /** Distances equal within 1e-3 relative (k = 10): the two table paths round differently. */
  private static void assertSameDistances(SearchResult expected, SearchResult actual) {
    for (int i = 0; i < expected.distances().length; i++) {
      float r = expected.distances()[i];
      assertEquals(r, actual.distances()[i], 1e-3f * Math.max(1f, Math.abs(r)),
          "query " + (i / 10) + " rank " + (i % 10) + " seed " + SEED);
    }
  }

  @Test
  void reconstructRemoveAndMerge() {
    int d = 16;
    float[] x = data(2000, d, 3);
    for (String f : new String[] {"IVF8,PQ4", "IVF8,PQ8x6", "IVF8,SQ8", "IVF8,SQ4", "IVF8,SQfp16"}) {
      IvfCodesIndex a = (IvfCodesIndex) IndexFactory.create(d, f, Metric.L2);
      a.train(x);
      IvfCodesIndex b = (IvfCodesIndex) IndexFactory.create(d, f, Metric.L2);
      // a copy of the trained state: train b on the same data with the same seeds
      b.train(x);
      a.add(TestData.rows(x, d, 0, 1000));
      long[] ids = new long[1000];
      for (int i = 0; i < 1000; i++) {
        ids[i] = 1000 + i;
      }
      b.addWithIds(TestData.rows(x, d, 1000, 1000), ids);
      a.mergeFrom(b);
      assertEquals(2000, a.ntotal(), f);
      assertEquals(0, b.ntotal(), f);
      // reconstruct is close to the original (SQfp16 almost exact, PQ4 coarse)
      double err = 0;
      double norm = 0;
      for (int i = 0; i < 2000; i += 97) {
        float[] r = a.reconstruct(i);
        for (int t = 0; t < d; t++) {
          double e = r[t] - x[i * d + t];
          err += e * e;
          norm += (double) x[i * d + t] * x[i * d + t];
        }
      }
      assertTrue(err / norm < 0.1, f + " relative reconstruction error " + err / norm);
      assertEquals(500, a.removeIds(IdSelector.range(0, 500)), f);
      SearchResult r = a.search(TestData.rows(x, d, 0, 600), 5, SearchParams.defaults().withNprobe(8));
      for (long id : r.ids()) {
        assertTrue(id >= 500, f + ": removed id " + id + " returned");
      }
      assertThrows(IllegalArgumentException.class, () -> a.reconstruct(3), f);
    }
  }

  @Test
  void mergeFromWorksForEveryIndexType() {
    int d = 16;
    float[] x = data(1500, d, 13);
    float[] q = data(7, d, 14);
    for (String f : new String[] {"Flat", "PQ4", "PQ8x4", "SQ8", "SQ4", "SQfp16", "IVF8,Flat", "IVF8,PQ4", "IVF8,SQ8",
        "IVF8,PQ4,RFlat", "L2norm,PQ4", "L2norm,IVF8,SQ8,RFlat"}) {
      VectorIndex all = IndexFactory.create(d, f, Metric.L2);
      VectorIndex a = IndexFactory.create(d, f, Metric.L2);
      VectorIndex b = IndexFactory.create(d, f, Metric.L2);
      // the same data and seeds train the same quantizers
      all.train(x);
      a.train(x);
      b.train(x);
      long[] second = new long[700];
      for (int i = 0; i < 700; i++) {
        second[i] = 800 + i;
      }
      all.add(x);
      a.add(TestData.rows(x, d, 0, 800));
      b.addWithIds(TestData.rows(x, d, 800, 700), second);
      a.mergeFrom(b);
      assertEquals(1500, a.ntotal(), f);
      assertEquals(0, b.ntotal(), f);
      SearchParams p = SearchParams.defaults().withNprobe(8).withKFactor(3).withThreads(1);
      SearchResult want = all.search(q, 10, p);
      SearchResult got = a.search(q, 10, p);
      assertArrayEquals(want.ids(), got.ids(), f);
      assertArrayEquals(want.distances(), got.distances(), f);
      assertThrows(IllegalArgumentException.class, () -> a.mergeFrom(a), f);
      VectorIndex other = IndexFactory.create(d, f.contains("Flat") && !f.contains("IVF") ? "PQ4" : "Flat", Metric.L2);
      assertThrows(IllegalArgumentException.class, () -> a.mergeFrom(other), f);
      assertEquals(1500, a.ntotal(), f);
    }
  }

  @Test
  void mergeRefusesSeparatelyTrainedCodecs() {
    int d = 16;
    IvfPqIndex a = new IvfPqIndex(d, 8, 4, 8, Metric.L2);
    IvfPqIndex b = new IvfPqIndex(d, 8, 4, 8, Metric.L2);
    a.train(data(2000, d, 4));
    b.train(data(2000, d, 5));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.mergeFrom(b));
    assertTrue(e.getMessage().contains("differ"), e.getMessage());
  }

  @Test
  void innerProductAndCosineSearchAgreeWithExactRanking() {
    int d = 32;
    float[] x = data(3000, d, 6);
    float[] q = data(20, d, 7);
    for (Metric metric : new Metric[] {Metric.INNER_PRODUCT, Metric.COSINE}) {
      FlatIndex exact = new FlatIndex(d, metric);
      exact.add(x);
      SearchResult truth = exact.search(q, 10, SearchParams.defaults());
      for (String f : new String[] {"IVF16,PQ16", "IVF16,SQ8", "IVF16,SQfp16", "PQ16", "SQ8", "IVF16,PQ8,RFlat"}) {
        VectorIndex index = IndexFactory.create(d, f, metric);
        index.train(x);
        index.add(x);
        SearchResult r = index.search(q, 10, SearchParams.defaults().withNprobe(16).withKFactor(8));
        int hits = 0;
        for (int i = 0; i < 20; i++) {
          for (int j = 0; j < 10; j++) {
            for (int t = 0; t < 10; t++) {
              if (r.id(i, j) == truth.id(i, t)) {
                hits++;
              }
            }
          }
          // reported values are similarities: larger first
          for (int j = 1; j < 10; j++) {
            assertTrue(r.distance(i, j - 1) >= r.distance(i, j), f + " " + metric + " query " + i + " not sorted");
          }
        }
        double recall = hits / 200.0;
        double min = f.contains("SQ4") || f.contains("PQ8") && !f.contains("RFlat") ? 0.3 : 0.6;
        assertTrue(recall >= min, f + " " + metric + " recall@10 " + recall + " vs exact < " + min);
      }
    }
  }

  @Test
  void refineReturnsExactDistances() {
    int d = 16;
    float[] x = data(1500, d, 8);
    float[] q = data(5, d, 9);
    RefineIndex r = (RefineIndex) IndexFactory.create(d, "IVF8,PQ4,RFlat", Metric.L2);
    r.train(x);
    r.add(x);
    SearchResult res = r.search(q, 5, SearchParams.defaults().withNprobe(8).withKFactor(4));
    for (int i = 0; i < 5; i++) {
      for (int j = 0; j < 5; j++) {
        long id = res.id(i, j);
        double s = 0;
        for (int t = 0; t < d; t++) {
          double e = q[i * d + t] - x[(int) id * d + t];
          s += e * e;
        }
        assertEquals(s, res.distance(i, j), 1e-5 * Math.max(1, s), "query " + i + " rank " + j);
      }
    }
    assertArrayEquals(TestData.rows(x, d, 7, 1), r.reconstruct(7));
    assertThrows(IllegalArgumentException.class, () -> SearchParams.defaults().withKFactor(0.5f));
  }

  @Test
  void l2normPrefixNormalizes() {
    int d = 8;
    float[] x = data(500, d, 10);
    VectorIndex index = IndexFactory.create(d, "L2norm,Flat", Metric.L2);
    index.add(x);
    float[] r = index.reconstruct(3);
    double n = 0;
    for (float v : r) {
      n += v * v;
    }
    assertEquals(1.0, n, 1e-5);
    assertEquals("L2norm,Flat", index.factoryString());
  }

  @Test
  void badInputIsRefusedAndLeavesTheIndexUnchanged() {
    int d = 16;
    float[] x = data(1000, d, 12);
    for (String f : new String[] {"IVF8,PQ4", "IVF8,SQ8", "IVF8,PQ4,RFlat"}) {
      VectorIndex index = IndexFactory.create(d, f, Metric.L2);
      assertThrows(IllegalStateException.class, () -> index.search(TestData.rows(x, d, 0, 1), 1, SearchParams.defaults()), f);
      assertThrows(IllegalStateException.class, () -> index.add(x), f);
      IllegalArgumentException few = assertThrows(IllegalArgumentException.class, () -> index.train(TestData.rows(x, d, 0, 5)), f);
      assertTrue(few.getMessage().contains("nlist=8"), few.getMessage());
      assertFalse(index.isTrained(), f);
      index.train(x);
      index.add(x);
      SearchResult before = index.search(TestData.rows(x, d, 0, 3), 5, SearchParams.defaults().withNprobe(2));
      float[] bad = TestData.rows(x, d, 0, 4);
      bad[2 * d + 5] = Float.NaN;
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> index.add(bad), f);
      assertTrue(e.getMessage().contains("row 2") && e.getMessage().contains("component 5"), f + ": " + e.getMessage());
      e = assertThrows(IllegalArgumentException.class, () -> index.search(bad, 5, SearchParams.defaults()), f);
      assertTrue(e.getMessage().contains("queries row 2"), f + ": " + e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> index.search(TestData.rows(x, d, 0, 1), 0, SearchParams.defaults()), f);
      assertThrows(IllegalArgumentException.class, () -> index.add(new float[d + 1]), f);
      assertEquals(1000, index.ntotal(), f);
      SearchResult after = index.search(TestData.rows(x, d, 0, 3), 5, SearchParams.defaults().withNprobe(2));
      assertArrayEquals(before.ids(), after.ids(), f);
      assertArrayEquals(before.distances(), after.distances(), f);
    }
  }

  @Test
  void everySupportedFactoryStringBuildsTrainsAndSearches() {
    int d = 16;
    float[] x = data(1200, d, 11);
    String[] good = {"Flat", "PQ4", "PQ8x4", "PQ16x8", "SQ8", "SQ4", "SQfp16", "IVF4,Flat", "IVF4,PQ4", "IVF4,PQ8x5",
        "IVF4,SQ8", "IVF4,SQ4", "IVF4,SQfp16", "Flat,RFlat", "PQ4,RFlat", "IVF4,PQ4,RFlat", "L2norm,IVF4,SQ8",
        "L2norm,PQ4,RFlat", " IVF4 , PQ4 "};
    for (String f : good) {
      VectorIndex index = IndexFactory.create(d, f, Metric.L2);
      index.train(x);
      index.add(x);
      SearchResult r = index.search(TestData.rows(x, d, 0, 3), 4, SearchParams.defaults().withNprobe(4));
      assertEquals(3 * 4, r.ids().length, f);
      assertTrue(r.id(0, 0) >= 0, f);
      // factoryString() is the canonical form: no spaces, and nbits 8 (the default) left out
      assertEquals(f.replace(" ", "").replace("x8", ""), index.factoryString(), f);
    }
    String[] bad = {"", "IVF,Flat", "IVF0,Flat", "HNSW1", "HNSW32,IVF4,Flat", "flat", "PQ5", "PQ4x9", "PQ4x3", "PQ0", "SQ7", "IVF4,PQ4,Flat",
        "RFlat", "L2norm", "IVF4", "IVF4,IVF4,Flat", "Flat,RFlat,RFlat", "PQ", "IVF4,sq8"};
    for (String f : bad) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> IndexFactory.create(d, f, Metric.L2), f);
      assertTrue(e.getMessage().contains(IndexFactory.GRAMMAR), f + ": " + e.getMessage());
    }
  }
}
