package io.quiver.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.quantize.ScalarQuantizer;
import io.quiver.index.quantize.ScalarQuantizer.Type;
import io.quiver.index.util.SyntheticData;
import io.quiver.index.vector.VectorUtil;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link SqIndex}: recall against exact ground truth on real data, with thresholds taken from
 * FAISS 1.7.3's {@code IndexScalarQuantizer} on the same data (Debian python3-faiss, one thread,
 * k=10), and the index operations on seeded synthetic data. recall@10 = |found top-10 ∩ true
 * top-10| / 10, averaged over queries.
 *
 * <p>On synthetic data a search must be the exact top-k over the <em>decoded</em> vectors
 * (what {@link SqIndex#reconstruct} returns): checked with {@link TestData.Reference} (distances
 * within 1e-5 relative of the float64 distance to the decoded vector).
 */
class SqIndexTest {

  static final SearchParams THREADS1 = SearchParams.defaults().withThreads(1);

  // recall on the real datasets against FAISS's: IndexContractTest.recallMatchesFaiss

  // ---------------------------------------------------------------- operations on synthetic data

  static final int D = 24;

  static float[] synthetic(int d, int n, long seed) {
    return new SyntheticData(d, 20, seed).generate(n, seed);
  }

  static SqIndex built(Type type, Metric metric, float[] base, long[] ids) {
    SqIndex index = new SqIndex(D, type, metric);
    index.train(base);
    assertTrue(index.isTrained());
    if (ids == null) {
      index.add(base);
    } else {
      index.addWithIds(base, ids);
    }
    return index;
  }

  /** The decoded vectors of the index, in storage order. */
  static float[] decoded(SqIndex index) {
    return index.sq().decode(index.codes(), (int) index.ntotal());
  }

  /** The exact reference over the decoded vectors; cosine compares normalized queries by inner product. */
  static TestData.Reference referenceOnCodes(SqIndex index) {
    Metric m = index.metric() == Metric.COSINE ? Metric.INNER_PRODUCT : index.metric();
    return new TestData.Reference(m, decoded(index), index.ids(), D);
  }

  static float[] asSearched(SqIndex index, float[] queries) {
    if (!index.metric().normalizes()) {
      return queries;
    }
    float[] q = queries.clone();
    VectorUtil.normalizeL2(q, D);
    return q;
  }

  @ParameterizedTest
  @EnumSource(Metric.class)
  void searchIsExactOverTheDecodedVectors(Metric metric) {
    for (Type type : Type.values()) {
      long seed = 6001L + metric.ordinal() * 10 + type.ordinal();
      float[] base = synthetic(D, 2000, seed);
      SqIndex index = built(type, metric, base, null);
      float[] queries = synthetic(D, 30, seed + 1);
      String ctx = "seed " + seed + ", " + type.factoryName() + " " + metric;
      SearchResult r = index.search(queries, 10, THREADS1);
      referenceOnCodes(index).assertSearchMatches(ctx, asSearched(index, queries), r, 10);
      SearchResult parallel = index.search(queries, 10, SearchParams.defaults().withThreads(4));
      assertArrayEquals(r.ids(), parallel.ids(), ctx + ": ids with 4 threads vs 1");
      assertArrayEquals(r.distances(), parallel.distances(), ctx + ": distances with 4 threads vs 1");
      assertEquals(type.factoryName(), index.factoryString());
    }
  }

  @ParameterizedTest
  @EnumSource(Metric.class)
  void rangeSearchIsExactOverTheDecodedVectors(Metric metric) {
    for (Type type : new Type[] {Type.SQ8, Type.SQ4}) {
      long seed = 6101L + metric.ordinal() * 10 + type.ordinal();
      float[] base = synthetic(D, 1500, seed);
      SqIndex index = built(type, metric, base, null);
      float[] queries = synthetic(D, 12, seed + 1);
      // a radius that takes about 20 results of query 0
      float radius = index.search(TestData.rows(queries, D, 0, 1), 20, THREADS1).distance(0, 19);
      RangeSearchResult r = index.rangeSearch(queries, radius, THREADS1);
      String ctx = "seed " + seed + ", " + type.factoryName() + " " + metric + ", radius " + radius;
      referenceOnCodes(index).assertRangeMatches(ctx, asSearched(index, queries), radius, r);
      assertTrue(r.count(0) >= 15 && r.count(0) <= 20, ctx + ": query 0 found " + r.count(0));
    }
  }

  @ParameterizedTest
  @EnumSource(Metric.class)
  void reconstructDecodesTheStoredCode(Metric metric) {
    long seed = 6201L + metric.ordinal();
    int n = 1000;
    float[] base = synthetic(D, n, seed);
    long[] ids = new long[n];
    for (int i = 0; i < n; i++) {
      ids[i] = 5_000_000_000L + 3L * i;
    }
    float[] copy = base.clone();
    SqIndex index = built(Type.SQ8, metric, base, ids);
    assertArrayEquals(copy, base, "the caller's array must not be modified");
    float[] stored = metric.normalizes() ? base.clone() : base;
    if (metric.normalizes()) {
      VectorUtil.normalizeL2(stored, D);
    }
    ScalarQuantizer sq = index.sq();
    float[] dec = decoded(index);
    for (int i = 0; i < n; i += 7) {
      float[] v = index.reconstruct(ids[i]);
      assertArrayEquals(TestData.rows(dec, D, i, 1), v, "seed " + seed + ": reconstruct(" + ids[i] + ") is the decoded code");
      for (int j = 0; j < D; j++) {
        // trained on the same vectors, so every component is in range: error <= step/2 (+ rounding)
        double tol = sq.step(j) / 2.0 + 1e-6;
        assertEquals(stored[i * D + j], v[j], tol, "seed " + seed + ": reconstruct(" + ids[i] + ")[" + j + "] vs the added vector");
      }
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> index.reconstruct(7L));
    assertTrue(e.getMessage().contains("id 7"), e.getMessage());
    // adding more vectors invalidates and rebuilds the direct map
    index.addWithIds(TestData.rows(base, D, 0, 1), new long[] {42L});
    assertArrayEquals(index.reconstruct(ids[0]), index.reconstruct(42L));
    assertEquals(n + 1, index.ntotal());
  }

  @Test
  void reconstructWithSequentialIdsAndFp16WithoutTraining() {
    long seed = 6251L;
    float[] base = synthetic(D, 300, seed);
    SqIndex index = new SqIndex(D, Type.SQFP16, Metric.L2);
    assertTrue(index.isTrained(), "SQfp16 needs no training");
    index.add(TestData.rows(base, D, 0, 100));
    index.add(TestData.rows(base, D, 100, 200));
    for (int i = 0; i < 300; i += 11) {
      float[] v = index.reconstruct(i);
      for (int j = 0; j < D; j++) {
        float x = base[i * D + j];
        assertEquals(x, v[j], Math.max(Math.abs(x) * 0x1p-11, 0x1p-25), "seed " + seed + ": fp16 reconstruct(" + i + ")[" + j + "]");
      }
    }
    assertThrows(IllegalArgumentException.class, () -> index.reconstruct(300));
    assertThrows(IllegalArgumentException.class, () -> index.reconstruct(-1));
    index.train(base); // a no-op for SQfp16, allowed with vectors stored
    assertEquals(300, index.ntotal());
  }

  @Test
  void removeIdsExcludesRemovedVectors() {
    long seed = 6301L;
    int n = 2000;
    float[] base = synthetic(D, n, seed);
    SqIndex index = built(Type.SQ8, Metric.L2, base, null);
    float[] decodedBefore = decoded(index);
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
    long[] ids = index.ids();
    assertEquals(index.ntotal(), ids.length);
    assertEquals(index.ntotal() * index.sq().codeSize(), index.codes().length);
    for (long id : ids) {
      assertFalse(removed.contains(id), "removed id " + id + " still stored");
    }
    float[] queries = synthetic(D, 30, seed + 1);
    SearchResult r = index.search(queries, 10, THREADS1);
    referenceOnCodes(index).assertSearchMatches("seed " + seed + " after removeIds", queries, r, 10);
    for (long id : new long[] {0, 17, 500, 799}) {
      assertThrows(IllegalArgumentException.class, () -> index.reconstruct(id), "reconstruct of removed id " + id);
    }
    assertArrayEquals(TestData.rows(decodedBefore, D, 800, 1), index.reconstruct(800), "kept vectors keep their codes");
  }

  @ParameterizedTest
  @EnumSource(Metric.class)
  void missingResultsArePadded(Metric metric) {
    long seed = 6401L + metric.ordinal();
    float[] base = synthetic(D, 5, seed);
    SqIndex index = built(Type.SQ4, metric, base, new long[] {10, 11, 12, 13, 14});
    float[] queries = synthetic(D, 3, seed + 1);
    SearchResult r = index.search(queries, 8, THREADS1);
    for (int q = 0; q < 3; q++) {
      Set<Long> seen = new HashSet<>();
      for (int j = 0; j < 5; j++) {
        assertTrue(r.id(q, j) >= 10 && r.id(q, j) <= 14 && seen.add(r.id(q, j)), "seed " + seed + ": query " + q + " rank " + j);
      }
      for (int j = 5; j < 8; j++) {
        assertEquals(-1L, r.id(q, j), "seed " + seed + ": query " + q + " rank " + j + " padded with -1");
        assertEquals(metric.worstValue(), r.distance(q, j), "seed " + seed + ": padded with " + metric.worstValue());
      }
    }
    SqIndex empty = new SqIndex(D, Type.SQFP16, metric);
    SearchResult e = empty.search(queries, 2, THREADS1);
    for (int i = 0; i < 6; i++) {
      assertEquals(-1L, e.ids()[i]);
      assertEquals(metric.worstValue(), e.distances()[i]);
    }
    assertEquals(0, empty.rangeSearch(queries, 1f, THREADS1).ids().length);
  }

  @Test
  void cosineStoresNormalizedVectors() {
    long seed = 6501L;
    float[] base = synthetic(D, 800, seed);
    for (int i = 0; i < base.length; i++) {
      base[i] *= 1 + (i / D) % 7; // different norms per row
    }
    SqIndex cos = built(Type.SQ8, Metric.COSINE, base, null);
    float[] normalized = base.clone();
    VectorUtil.normalizeL2(normalized, D);
    SqIndex ip = built(Type.SQ8, Metric.INNER_PRODUCT, normalized, null);
    float[] queries = synthetic(D, 20, seed + 1);
    float[] nq = asSearched(cos, queries);
    SearchResult a = cos.search(queries, 10, THREADS1);
    SearchResult b = ip.search(nq, 10, THREADS1);
    assertArrayEquals(b.ids(), a.ids(), "seed " + seed + ": cosine = inner product on normalized vectors");
    assertArrayEquals(b.distances(), a.distances());
    for (int j = 0; j < 10; j++) {
      assertTrue(a.distance(0, j) <= 1.01f, "cosine similarity " + a.distance(0, j));
    }
    float[] v = cos.reconstruct(3);
    double norm = Math.sqrt(VectorUtil.dotProduct(v, 0, v, 0, D));
    assertEquals(1.0, norm, 0.01, "seed " + seed + ": reconstructed cosine vector has unit norm up to quantization");
  }

  @ParameterizedTest
  @EnumSource(Type.class)
  void fromStorageRestoresTheSameIndex(Type type) {
    long seed = 6601L + type.ordinal();
    float[] base = synthetic(D, 700, seed);
    long[] ids = new long[700];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = 1000 - i;
    }
    SqIndex index = built(type, Metric.INNER_PRODUCT, base, ids);
    SqIndex restored = SqIndex.fromStorage(D, Metric.INNER_PRODUCT, index.sq(), index.ids(), index.codes());
    assertEquals(index.ntotal(), restored.ntotal());
    assertEquals(type.factoryName(), restored.factoryString());
    float[] queries = synthetic(D, 10, seed + 1);
    SearchResult a = index.search(queries, 5, THREADS1);
    SearchResult b = restored.search(queries, 5, THREADS1);
    assertArrayEquals(a.ids(), b.ids(), "seed " + seed);
    assertArrayEquals(a.distances(), b.distances(), "seed " + seed);
    assertArrayEquals(index.reconstruct(1000), restored.reconstruct(1000));
    // the quantizer handed out is a copy
    ScalarQuantizer copy = index.sq();
    if (type != Type.SQFP16) {
      copy.train(synthetic(D, 10, seed + 2));
      assertArrayEquals(a.distances(), index.search(queries, 5, THREADS1).distances(), "training sq() must not change the index");
    }
  }

  // ---------------------------------------------------------------- bad input

  @Test
  void badInput() {
    long seed = 6701L;
    float[] base = synthetic(D, 200, seed);
    SqIndex untrained = new SqIndex(D, Type.SQ8, Metric.L2);
    assertFalse(untrained.isTrained());
    IllegalStateException ise = assertThrows(IllegalStateException.class, () -> untrained.add(base));
    assertTrue(ise.getMessage().contains("not trained"), ise.getMessage());
    assertThrows(IllegalStateException.class, () -> untrained.search(base, 1));
    assertThrows(IllegalStateException.class, () -> untrained.rangeSearch(base, 1f, THREADS1));
    // every index refuses an untrained reconstruct the same way (VectorIndex: untrained use is IllegalStateException)
    assertThrows(IllegalStateException.class, () -> untrained.reconstruct(0));

    assertThrows(IllegalArgumentException.class, () -> new SqIndex(0, Type.SQ8, Metric.L2));
    assertThrows(IllegalArgumentException.class, () -> new SqIndex(D, null, Metric.L2));
    assertThrows(IllegalArgumentException.class, () -> new SqIndex(D, Type.SQ8, null));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> untrained.train(new float[0]));
    assertTrue(e.getMessage().contains("at least 1"), e.getMessage());

    SqIndex index = built(Type.SQ8, Metric.L2, base, null);
    float[] queries = synthetic(D, 4, seed + 1);
    SearchResult before = index.search(queries, 5, THREADS1);
    ise = assertThrows(IllegalStateException.class, () -> index.train(base));
    assertTrue(ise.getMessage().contains("retrain"), ise.getMessage());

    float[] bad = base.clone();
    bad[3 * D + 5] = Float.NaN;
    e = assertThrows(IllegalArgumentException.class, () -> index.add(bad));
    assertTrue(e.getMessage().contains("vectors") && e.getMessage().contains("row 3") && e.getMessage().contains("component 5"),
        e.getMessage());
    float[] badQ = queries.clone();
    badQ[D + 2] = Float.POSITIVE_INFINITY;
    e = assertThrows(IllegalArgumentException.class, () -> index.search(badQ, 5));
    assertTrue(e.getMessage().contains("queries") && e.getMessage().contains("row 1") && e.getMessage().contains("component 2"),
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> index.add(new float[D + 1]));
    assertTrue(e.getMessage().contains("multiple of d=" + D), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> index.search(queries, 0));
    assertTrue(e.getMessage().contains("k must be >= 1"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> index.rangeSearch(queries, Float.NaN, THREADS1));
    assertThrows(IllegalArgumentException.class, () -> index.addWithIds(base, null));
    e = assertThrows(IllegalArgumentException.class, () -> index.addWithIds(TestData.rows(base, D, 0, 2), new long[3]));
    assertTrue(e.getMessage().contains("ids.length 3"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> index.removeIds(null));

    assertEquals(200, index.ntotal(), "failed calls leave the index unchanged");
    SearchResult after = index.search(queries, 5, THREADS1);
    assertArrayEquals(before.ids(), after.ids());
    assertArrayEquals(before.distances(), after.distances());

    ScalarQuantizer sq = index.sq();
    assertThrows(IllegalArgumentException.class, () -> SqIndex.fromStorage(D + 1, Metric.L2, sq, new long[0], new byte[0]));
    e = assertThrows(IllegalArgumentException.class, () -> SqIndex.fromStorage(D, Metric.L2, sq, new long[2], new byte[D]));
    assertTrue(e.getMessage().contains("codeSize " + D), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> SqIndex.fromStorage(D, Metric.L2, new ScalarQuantizer(D, Type.SQ8), new long[1], new byte[D]));
    assertThrows(IllegalArgumentException.class, () -> SqIndex.fromStorage(D, Metric.L2, null, new long[0], new byte[0]));
    assertFalse(SqIndex.fromStorage(D, Metric.L2, new ScalarQuantizer(D, Type.SQ4), new long[0], new byte[0]).isTrained());
  }
}
