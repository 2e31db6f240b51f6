package io.quiver.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.hnsw.HnswCoarseQuantizer;
import io.quiver.index.hnsw.HnswIndex;
import org.junit.jupiter.api.Test;

/**
 * HNSW indexes and the HNSW coarse quantizer, beyond the contract suite ({@link IndexContractTest},
 * which also checks recall against FAISS 1.15's on the real datasets).
 */
class HnswIndexTest {

  private static final long SEED = 20261204L;
  private static final int D = 16;

  @Test
  void factoryStringsAndParameters() {
    assertEquals("HNSW32", IndexFactory.create(D, "HNSW32", Metric.L2).factoryString());
    assertEquals("HNSW32", IndexFactory.create(D, "HNSW32,Flat", Metric.L2).factoryString(), "HNSW32,Flat is HNSW32");
    assertEquals("HNSW16,SQ8", IndexFactory.create(D, "HNSW16,SQ8", Metric.COSINE).factoryString());
    assertEquals("HNSW16,PQ4x4", IndexFactory.create(D, "HNSW16,PQ4x4", Metric.L2).factoryString());
    assertEquals("IVF64_HNSW32,PQ8", IndexFactory.create(D, "IVF64_HNSW32,PQ8", Metric.L2).factoryString());
    HnswIndex<?> h = (HnswIndex<?>) IndexFactory.create(D, "HNSW24", Metric.L2);
    assertEquals(24, h.m());
    assertEquals(40, h.efConstruction(), "FAISS's default efConstruction");
    assertEquals(16, h.efSearch(), "FAISS's default efSearch");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> IndexFactory.create(D, "HNSW1", Metric.L2));
    assertTrue(e.getMessage().contains("HNSW M must be in [2, 4096], got 1"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> IndexFactory.create(D, "HNSW32,PQ5", Metric.L2));
    assertTrue(e.getMessage().contains("dividing d=16"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> IndexFactory.create(D, "hnsw32", Metric.L2));
    assertTrue(e.getMessage().contains("case-sensitive"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> SearchParams.defaults().withEfSearch(0));
    assertTrue(e.getMessage().contains("efSearch must be >= 1, was 0"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> h.setEfSearch(0));
  }

  /**
   * A larger efSearch never loses recall on the same graph, and efSearch = ntotal is exact here
   * (Gaussian data: level 0 is connected, which well-separated clusters need not be).
   */
  @Test
  void efSearchTradesTimeForRecall() {
    float[] x = TestData.gaussian(SEED, 4000, D);
    float[] q = TestData.gaussian(SEED + 1, 100, D);
    VectorIndex flat = IndexFactory.create(D, "Flat", Metric.L2);
    flat.add(x);
    SearchResult truth = flat.search(q, 10, SearchParams.defaults().withThreads(1));
    VectorIndex hnsw = IndexFactory.create(D, "HNSW8", Metric.L2);
    hnsw.add(x);
    double previous = 0;
    for (int ef : new int[] {1, 4, 16, 64, 4000}) {
      double recall = recall(hnsw.search(q, 10, SearchParams.defaults().withEfSearch(ef)), truth);
      assertTrue(recall >= previous - 0.01, "seed " + SEED + ": efSearch " + ef + " recall " + recall + " < " + previous);
      previous = recall;
    }
    assertEquals(1.0, previous, 1e-9, "seed " + SEED + ": efSearch = ntotal");
  }

  private static double recall(SearchResult got, SearchResult truth) {
    int hits = 0;
    for (int qi = 0; qi < got.nq(); qi++) {
      for (int j = 0; j < got.k(); j++) {
        for (int t = 0; t < truth.k(); t++) {
          hits += got.id(qi, j) == truth.id(qi, t) && got.id(qi, j) != -1 ? 1 : 0;
        }
      }
    }
    return hits / (double) (got.nq() * got.k());
  }

  /**
   * The HNSW coarse quantizer is trained as the flat one (same k-means, same centroids), so with
   * efSearch >= nlist it probes exactly the lists the flat quantizer probes and the index returns
   * the same results; with a small efSearch it probes approximately.
   */
  @Test
  void hnswCoarseQuantizerProbesTheFlatQuantizersLists() {
    for (Metric metric : Metric.values()) {
      String ctx = metric + " seed " + SEED;
      float[] x = TestData.clustered(SEED + 2, 6000, D, 40, 1.5);
      float[] q = TestData.clustered(SEED + 3, 50, D, 40, 1.5);
      InvertedFileIndex flat = (InvertedFileIndex) IndexFactory.create(D, "IVF128,SQ8", metric);
      InvertedFileIndex hnsw = (InvertedFileIndex) IndexFactory.create(D, "IVF128_HNSW16,SQ8", metric);
      assertInstanceOf(HnswCoarseQuantizer.class, hnsw.coarseQuantizer());
      flat.train(x);
      hnsw.train(x);
      assertArrayEquals(flat.coarseQuantizer().centroids(), hnsw.coarseQuantizer().centroids(), ctx + ": centroids");
      flat.add(x);
      hnsw.add(x);
      SearchParams p = SearchParams.defaults().withNprobe(8).withEfSearch(128);
      SearchResult a = flat.search(q, 10, p);
      SearchResult b = hnsw.search(q, 10, p);
      assertArrayEquals(a.ids(), b.ids(), ctx + ": ids with efSearch = nlist");
      assertArrayEquals(a.distances(), b.distances(), 1e-5f, ctx + ": distances with efSearch = nlist");
      double approx = recall(hnsw.search(q, 10, SearchParams.defaults().withNprobe(8)), a);
      assertTrue(approx > 0.9, ctx + ": efSearch 16 keeps recall@10 " + approx + " of the flat probe's results");
    }
  }

  @Test
  void addingInSeveralCallsKeepsEveryVectorFindable() {
    float[] x = TestData.clustered(SEED + 4, 3000, D, 30, 1.5);
    VectorIndex hnsw = IndexFactory.create(D, "HNSW16", Metric.L2);
    long[] ids = new long[3000];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = 5_000_000_000L + 7L * i;
    }
    for (int from = 0; from < 3000; from += 1000) {
      hnsw.addWithIds(TestData.rows(x, D, from, 1000), java.util.Arrays.copyOfRange(ids, from, from + 1000));
    }
    assertEquals(3000, hnsw.ntotal());
    // every stored vector finds itself at rank 1 or ties with one at least as close
    SearchResult r = hnsw.search(x, 1, SearchParams.defaults().withEfSearch(64));
    int self = 0;
    for (int i = 0; i < 3000; i++) {
      self += r.id(i, 0) == ids[i] ? 1 : 0;
    }
    assertTrue(self >= 2970, "seed " + SEED + ": " + self + " of 3000 vectors find themselves first");
    assertArrayEquals(TestData.rows(x, D, 17, 1), hnsw.reconstruct(ids[17]), 0f);
  }
}
