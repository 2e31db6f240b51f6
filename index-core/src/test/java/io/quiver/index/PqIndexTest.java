package io.quiver.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.quantize.ProductQuantizer;
import io.quiver.index.util.SyntheticData;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link PqIndex}: recall against exact ground truth on real data, with the threshold taken from
 * FAISS 1.7.3 on the same data and parameters, and the index operations on seeded synthetic data.
 * Search results are checked exactly against a reference that ranks every stored code by
 * {@link ProductQuantizer#adc} (same float values, ties by smaller id).
 */
class PqIndexTest {

  static final SearchParams THREADS1 = SearchParams.defaults().withThreads(1);

  // recall on the real datasets against FAISS's: IndexContractTest.recallMatchesFaiss

  // ---------------------------------------------------------------- operations on synthetic data

  static final int D = 16;
  static final int M = 4;

  static float[] data(int n, long seed) {
    return new SyntheticData(D, 20, 77L).generate(n, seed);
  }

  static PqIndex trained(Metric metric, int nbits, long seed) {
    PqIndex index = new PqIndex(D, M, nbits, metric);
    index.pq().seed(seed).niter(8);
    index.train(data(2000, seed));
    assertTrue(index.isTrained());
    return index;
  }

  /** The exact expected top-k: every stored code ranked by its ADC value, ties by smaller id, padded. */
  static SearchResult reference(PqIndex index, float[] queries, int k) {
    ProductQuantizer pq = index.pq();
    Metric metric = index.metric();
    float[] q = queries.clone();
    if (metric.normalizes()) {
      io.quiver.index.vector.VectorUtil.normalizeL2(q, D);
    }
    int nq = q.length / D;
    long[] ids = index.ids();
    byte[] codes = index.codes();
    float[] table = new float[pq.m() * pq.ksub()];
    long[] outIds = new long[nq * k];
    float[] outDist = new float[nq * k];
    boolean ip = metric.higherIsCloser();
    for (int qi = 0; qi < nq; qi++) {
      if (ip) {
        pq.computeInnerProductTable(q, qi * D, table);
      } else {
        pq.computeDistanceTable(q, qi * D, table);
      }
      Integer[] order = new Integer[ids.length];
      float[] v = new float[ids.length];
      for (int i = 0; i < ids.length; i++) {
        order[i] = i;
        v[i] = pq.adc(table, codes, i * pq.codeSize());
      }
      // the heap's order: smaller key (distance, or negated similarity) first, equal keys by smaller id
      Comparator<Integer> byKey = (a, b) -> {
        float ka = ip ? -v[a] : v[a];
        float kb = ip ? -v[b] : v[b];
        return ka < kb ? -1 : ka > kb ? 1 : Long.compare(ids[a], ids[b]);
      };
      Arrays.sort(order, byKey);
      for (int j = 0; j < k; j++) {
        outIds[qi * k + j] = j < ids.length ? ids[order[j]] : -1L;
        outDist[qi * k + j] = j < ids.length ? v[order[j]] : metric.worstValue();
      }
    }
    return new SearchResult(nq, k, outIds, outDist);
  }

  static void assertSameResults(String ctx, SearchResult expected, SearchResult got) {
    assertArrayEquals(expected.ids(), got.ids(), ctx + ": ids");
    assertArrayEquals(expected.distances(), got.distances(), ctx + ": distances");
  }

  @ParameterizedTest
  @EnumSource(Metric.class)
  void searchRanksEveryCodeByAdc(Metric metric) {
    long seed = 8001L + metric.ordinal();
    PqIndex index = trained(metric, 8, seed);
    index.add(data(3000, seed + 1));
    float[] queries = data(30, seed + 2);
    SearchResult expected = reference(index, queries, 10);
    String ctx = "seed " + seed + ", " + metric;
    assertSameResults(ctx + ", 1 thread", expected, index.search(queries, 10, THREADS1));
    assertSameResults(ctx + ", all cores", expected, index.search(queries, 10));
    SearchResult one = index.search(TestData.rows(queries, D, 4, 1), 10, SearchParams.defaults().withThreads(4));
    assertArrayEquals(Arrays.copyOfRange(expected.ids(), 40, 50), one.ids(), ctx + ": a single query");
    float[] caller = queries.clone();
    index.search(caller, 3);
    assertArrayEquals(queries, caller, ctx + ": the caller's queries must not be modified");
  }

  /** One query and 4 threads over 70,000 codes: the codes are split into parts whose heaps are merged. */
  @ParameterizedTest
  @EnumSource(value = Metric.class, names = {"L2", "INNER_PRODUCT"})
  void fewQueriesSplitTheCodesAcrossThreads(Metric metric) {
    long seed = 8101L + metric.ordinal();
    PqIndex index = trained(metric, 4, seed);
    assertEquals("PQ4x4", index.factoryString());
    index.add(data(70_000, seed + 1));
    float[] queries = data(2, seed + 2);
    SearchResult expected = reference(index, queries, 20);
    assertSameResults("seed " + seed + ", " + metric + ", 4 threads", expected,
        index.search(queries, 20, SearchParams.defaults().withThreads(4)));
    assertSameResults("seed " + seed + ", " + metric + ", 1 thread", expected, index.search(queries, 20, THREADS1));
  }

  @ParameterizedTest
  @EnumSource(Metric.class)
  void rangeSearchReturnsCodesStrictlyInsideTheRadius(Metric metric) {
    long seed = 8201L + metric.ordinal();
    PqIndex index = trained(metric, 6, seed);
    index.add(data(2000, seed + 1));
    float[] queries = data(5, seed + 2);
    SearchResult all = reference(index, queries, 2000);
    boolean ip = metric.higherIsCloser();
    // radius = the 50th best value of query 0; exactly-equal values are outside (strict comparison)
    float radius = all.distance(0, 49);
    RangeSearchResult r = index.rangeSearch(queries, radius, THREADS1);
    assertEquals(5, r.nq());
    for (int qi = 0; qi < 5; qi++) {
      List<Long> expectedIds = new ArrayList<>();
      List<Float> expectedDist = new ArrayList<>();
      for (int j = 0; j < 2000; j++) {
        float v = all.distance(qi, j);
        if (ip ? v > radius : v < radius) {
          expectedIds.add(all.id(qi, j));
          expectedDist.add(v);
        }
      }
      String ctx = "seed " + seed + ", " + metric + ", query " + qi + ", radius " + radius;
      assertEquals(expectedIds.size(), r.count(qi), ctx + ": count");
      for (int j = 0; j < expectedIds.size(); j++) {
        int o = (int) r.lims()[qi] + j;
        assertEquals(expectedIds.get(j), r.ids()[o], ctx + ": rank " + j);
        assertEquals(expectedDist.get(j), r.distances()[o], ctx + ": distance at rank " + j);
      }
    }
    assertTrue(r.count(0) > 0 && r.count(0) <= 49, "query 0 has the 49 values strictly better than the 50th, or fewer on ties");
  }

  @ParameterizedTest
  @EnumSource(Metric.class)
  void reconstructDecodesTheStoredCode(Metric metric) {
    long seed = 8301L + metric.ordinal();
    PqIndex index = trained(metric, 8, seed);
    int n = 500;
    float[] base = data(n, seed + 1);
    long[] ids = new long[n];
    for (int i = 0; i < n; i++) {
      ids[i] = 7_000_000_000L + 5L * i;
    }
    float[] copy = base.clone();
    index.addWithIds(base, ids);
    assertArrayEquals(copy, base, "the caller's array must not be modified");
    float[] prepared = base.clone();
    if (metric.normalizes()) {
      io.quiver.index.vector.VectorUtil.normalizeL2(prepared, D);
    }
    float[] decoded = index.pq().decode(index.pq().encode(prepared), n);
    for (int i = 0; i < n; i += 11) {
      assertArrayEquals(TestData.rows(decoded, D, i, 1), index.reconstruct(ids[i]),
          "seed " + seed + ", " + metric + ": reconstruct(" + ids[i] + ") = decode(encode(vector " + i + "))");
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> index.reconstruct(3L));
    assertTrue(e.getMessage().contains("id 3"), e.getMessage());
    // sequential ids need no map
    PqIndex seq = trained(metric, 8, seed);
    seq.add(base);
    assertArrayEquals(index.reconstruct(ids[17]), seq.reconstruct(17));
    assertThrows(IllegalArgumentException.class, () -> seq.reconstruct(n));
    assertThrows(IllegalArgumentException.class, () -> seq.reconstruct(-1));
  }

  @Test
  void removeIdsCompactsTheCodes() {
    long seed = 8401L;
    int n = 2000;
    PqIndex index = trained(Metric.L2, 8, seed);
    float[] base = data(n, seed + 1);
    index.add(base);
    byte[] codesBefore = index.codes();
    Set<Long> removed = new HashSet<>();
    long[] batch = new long[100];
    for (int i = 0; i < batch.length; i++) {
      batch[i] = 13L * i;
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
    long[] ids = index.ids();
    byte[] codes = index.codes();
    assertEquals(ids.length * index.codeSize(), codes.length);
    int cs = index.codeSize();
    for (int r = 0; r < ids.length; r++) {
      assertFalse(removed.contains(ids[r]), "removed id " + ids[r] + " still stored");
      assertArrayEquals(Arrays.copyOfRange(codesBefore, (int) ids[r] * cs, (int) ids[r] * cs + cs),
          Arrays.copyOfRange(codes, r * cs, r * cs + cs), "seed " + seed + ": code of id " + ids[r] + " kept with its id");
    }
    float[] queries = data(20, seed + 2);
    SearchResult r = index.search(queries, 10);
    assertSameResults("seed " + seed + " after removeIds", reference(index, queries, 10), r);
    for (long id : r.ids()) {
      assertFalse(removed.contains(id), "search returned removed id " + id);
    }
    for (long id : new long[] {0, 13, 500, 799}) {
      assertThrows(IllegalArgumentException.class, () -> index.reconstruct(id), "reconstruct of removed id " + id);
    }
    assertArrayEquals(index.pq().decode(Arrays.copyOfRange(codesBefore, 800 * cs, 801 * cs), 1), index.reconstruct(800));
  }

  @ParameterizedTest
  @EnumSource(Metric.class)
  void missingResultsArePadded(Metric metric) {
    long seed = 8501L + metric.ordinal();
    PqIndex index = trained(metric, 8, seed);
    float[] queries = data(3, seed + 2);
    SearchResult empty = index.search(queries, 4);
    for (int j = 0; j < 12; j++) {
      assertEquals(-1L, empty.ids()[j], "empty index: id padding");
      assertEquals(metric.worstValue(), empty.distances()[j], "empty index: distance padding");
    }
    index.add(data(5, seed + 1));
    SearchResult r = index.search(queries, 10, THREADS1);
    assertSameResults("seed " + seed + ", " + metric, reference(index, queries, 10), r);
    for (int qi = 0; qi < 3; qi++) {
      for (int j = 5; j < 10; j++) {
        assertEquals(-1L, r.id(qi, j), "query " + qi + ", rank " + j + ": padded id");
        assertEquals(metric.worstValue(), r.distance(qi, j), "query " + qi + ", rank " + j + ": padded distance");
      }
      for (int j = 0; j < 5; j++) {
        assertTrue(r.id(qi, j) >= 0 && r.id(qi, j) < 5);
      }
    }
    assertEquals(0, index.rangeSearch(queries, metric.higherIsCloser() ? 1e30f : -1f, THREADS1).count(0));
  }

  @Test
  void cosineNormalizesVectorsAndQueries() {
    long seed = 8601L;
    PqIndex index = trained(Metric.COSINE, 8, seed);
    float[] base = data(1000, seed + 1);
    index.add(base);
    float[] queries = data(10, seed + 2);
    float[] scaled = queries.clone();
    for (int i = 0; i < scaled.length; i++) {
      scaled[i] *= 3.5f * (1 + i / D);
    }
    SearchResult a = index.search(queries, 10, THREADS1);
    SearchResult b = index.search(scaled, 10, THREADS1);
    assertArrayEquals(a.ids(), b.ids(), "seed " + seed + ": scaling a query does not change cosine results");
    // scaling added vectors does not change their codes either
    PqIndex twice = trained(Metric.COSINE, 8, seed);
    float[] scaledBase = base.clone();
    for (int i = 0; i < scaledBase.length; i++) {
      scaledBase[i] *= 10f;
    }
    twice.add(scaledBase);
    assertArrayEquals(index.codes(), twice.codes(), "seed " + seed + ": codes of normalized copies");
    double[] unit = TestData.normalizedCopy(queries, D);
    for (int qi = 0; qi < 10; qi++) {
      float[] y = index.reconstruct(a.id(qi, 0));
      double dot = 0;
      double norm = 0;
      double scale = 0;
      for (int t = 0; t < D; t++) {
        dot += unit[qi * D + t] * y[t];
        scale += Math.abs(unit[qi * D + t] * y[t]);
        norm += (double) y[t] * y[t];
      }
      assertEquals(dot, a.distance(qi, 0), 1e-4 * scale, "seed " + seed + ", query " + qi + ": similarity to the decoded vector");
      assertEquals(1.0, Math.sqrt(norm), 0.25, "seed " + seed + ": decoded normalized vectors have a norm near 1");
      assertTrue(a.distance(qi, 0) <= 1.25f, "cosine similarity " + a.distance(qi, 0));
    }
  }

  @Test
  void fromStorageRestoresTheSameIndex() {
    long seed = 8701L;
    PqIndex index = trained(Metric.INNER_PRODUCT, 6, seed);
    float[] base = data(800, seed + 1);
    long[] ids = new long[800];
    for (int i = 0; i < 800; i++) {
      ids[i] = 1000 - i;
    }
    index.addWithIds(base, ids);
    ProductQuantizer restoredPq = ProductQuantizer.fromCentroids(D, M, 6, index.pq().centroids());
    PqIndex restored = PqIndex.fromStorage(D, Metric.INNER_PRODUCT, restoredPq, index.ids(), index.codes());
    assertEquals("PQ4x6", restored.factoryString());
    assertEquals(800, restored.ntotal());
    float[] queries = data(10, seed + 2);
    assertSameResults("seed " + seed + ": restored index", index.search(queries, 7), restored.search(queries, 7));
    assertArrayEquals(index.reconstruct(990), restored.reconstruct(990));
    restored.add(data(3, seed + 3));
    assertEquals(803, restored.ntotal());
    assertThrows(IllegalArgumentException.class, () -> PqIndex.fromStorage(D, Metric.L2, restoredPq, new long[2], new byte[5]));
    assertThrows(IllegalArgumentException.class, () -> PqIndex.fromStorage(D, Metric.L2, new ProductQuantizer(D, M, 6), new long[0], new byte[0]));
    assertThrows(IllegalArgumentException.class, () -> PqIndex.fromStorage(D + 4, Metric.L2, restoredPq, new long[0], new byte[0]));
  }

  // ---------------------------------------------------------------- bad input

  @Test
  void badShapesAreRejected() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PqIndex(100, 16, 8, Metric.L2));
    assertTrue(e.getMessage().contains("d=100") && e.getMessage().contains("m=16"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new PqIndex(64, 16, 9, Metric.L2));
    assertTrue(e.getMessage().contains("nbits"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new PqIndex(64, 16, 8, null));
    assertTrue(e.getMessage().contains("metric"), e.getMessage());
    assertEquals("PQ16x4", new PqIndex(128, 16, 4, Metric.L2).factoryString());
    assertEquals("PQ16", new PqIndex(128, 16, 8, Metric.COSINE).factoryString());
  }

  @Test
  void untrainedIndexRefusesAddAndSearch() {
    PqIndex index = new PqIndex(D, M, 8, Metric.L2);
    assertFalse(index.isTrained());
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> index.search(data(1, 1), 1));
    assertTrue(e.getMessage().contains("not trained"), e.getMessage());
    e = assertThrows(IllegalStateException.class, () -> index.add(data(1, 1)));
    assertTrue(e.getMessage().contains("not trained"), e.getMessage());
    assertThrows(IllegalStateException.class, () -> index.rangeSearch(data(1, 1), 1f, THREADS1));
    assertThrows(IllegalStateException.class, () -> index.reconstruct(0));
    IllegalArgumentException tooFew = assertThrows(IllegalArgumentException.class, () -> index.train(data(100, 1)));
    assertTrue(tooFew.getMessage().contains("ksub=256") && tooFew.getMessage().contains("100"), tooFew.getMessage());
    assertFalse(index.isTrained());
  }

  @ParameterizedTest
  @EnumSource(Metric.class)
  void badInputIsRejectedAndLeavesTheIndexUnchanged(Metric metric) {
    long seed = 8801L + metric.ordinal();
    PqIndex index = trained(metric, 8, seed);
    index.add(data(300, seed + 1));
    float[] queries = data(5, seed + 2);
    SearchResult before = index.search(queries, 5);
    byte[] codesBefore = index.codes();

    float[] bad = data(10, seed + 3);
    bad[3 * D + 5] = Float.NaN;
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> index.add(bad));
    assertTrue(e.getMessage().contains("vectors row 3") && e.getMessage().contains("component 5"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> index.search(bad, 5));
    assertTrue(e.getMessage().contains("queries row 3") && e.getMessage().contains("component 5"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> index.rangeSearch(bad, 1f, THREADS1));
    assertTrue(e.getMessage().contains("queries row 3"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> index.add(new float[D + 1]));
    assertTrue(e.getMessage().contains("multiple of d=" + D), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> index.search(queries, 0));
    assertTrue(e.getMessage().contains("k must be >= 1"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> index.addWithIds(data(3, seed), new long[2]));
    assertTrue(e.getMessage().contains("ids.length 2"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> index.addWithIds(data(3, seed), null));
    assertThrows(IllegalArgumentException.class, () -> index.rangeSearch(queries, Float.NaN, THREADS1));
    IllegalStateException s = assertThrows(IllegalStateException.class, () -> index.train(data(300, seed)));
    assertTrue(s.getMessage().contains("300 vectors"), s.getMessage());

    assertEquals(300, index.ntotal());
    assertArrayEquals(codesBefore, index.codes(), "failed calls leave the codes unchanged");
    assertSameResults("seed " + seed + ", " + metric + ": after failed calls", before, index.search(queries, 5));
  }
}
