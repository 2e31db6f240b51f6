package io.quiver.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.io.CorruptIndexException;
import io.quiver.index.io.IndexIO;
import io.quiver.index.io.UnsupportedIndexTypeException;
import io.quiver.index.topk.TopKMerge;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * The pieces a distributed index is made of: assign and encode with a trained quantizer, fill
 * empty copies with some lists each (one list split across two parts), search each part with the
 * whole index's probes, merge. The merged result must equal the whole index's own search.
 */
class InvertedFileIndexTest {

  private static final int D = 24;
  private static final int N = 6000;
  private static final int NQ = 300;
  private static final int K = 10;
  private static final int NPROBE = 6;
  private static final int PARTS = 3;

  private static InvertedFileIndex trained(String factory, Metric metric, float[] x) {
    InvertedFileIndex index = (InvertedFileIndex) IndexFactory.create(D, factory, metric);
    index.train(x);
    return index;
  }

  /** Parts by list number modulo PARTS; the largest list is split between parts 0 and 1. */
  private static InvertedFileIndex[] split(InvertedFileIndex quantizer, float[] x, long[] ids) {
    int n = ids.length;
    int[] lists = new int[n];
    byte[] codes = quantizer.assignAndEncode(x, lists, 2);
    int[] sizes = new int[quantizer.nlist()];
    for (int l : lists) {
      sizes[l]++;
    }
    int largest = 0;
    for (int l = 1; l < sizes.length; l++) {
      largest = sizes[l] > sizes[largest] ? l : largest;
    }
    InvertedFileIndex[] parts = new InvertedFileIndex[PARTS];
    for (int p = 0; p < PARTS; p++) {
      parts[p] = quantizer.emptyCopy();
    }
    int cs = quantizer.codeSize();
    int seenOfLargest = 0;
    for (int i = 0; i < n; i++) {
      int p = lists[i] % PARTS;
      if (lists[i] == largest) {
        p = seenOfLargest++ % 2;
      }
      parts[p].addPreassigned(lists[i], ids, i, codes, i * cs, 1);
    }
    return parts;
  }

  private static SearchResult searchParts(InvertedFileIndex[] parts, InvertedFileIndex quantizer, float[] q, int k,
                                          int nprobe) {
    int nq = q.length / D;
    long[] probes = new long[nq * nprobe];
    float[] coarse = new float[nq * nprobe];
    quantizer.probe(q, nprobe, 1, coarse, probes);
    boolean hi = quantizer.metric().higherIsCloser();
    long[] ids = new long[nq * k];
    float[] dist = new float[nq * k];
    Arrays.fill(ids, -1);
    Arrays.fill(dist, hi ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY);
    for (InvertedFileIndex part : parts) {
      SearchResult r = part.searchPreassigned(q, k, nprobe, probes, coarse, SearchParams.defaults().withThreads(1));
      for (int qi = 0; qi < nq; qi++) {
        long[] mi = new long[k];
        float[] md = new float[k];
        TopKMerge.merge(Arrays.copyOfRange(ids, qi * k, qi * k + k), Arrays.copyOfRange(dist, qi * k, qi * k + k),
            r.ids(qi), r.distances(qi), k, hi, mi, md);
        System.arraycopy(mi, 0, ids, qi * k, k);
        System.arraycopy(md, 0, dist, qi * k, k);
      }
    }
    return new SearchResult(nq, k, ids, dist);
  }

  @ParameterizedTest
  @CsvSource({"'IVF40,Flat', L2", "'IVF40,Flat', INNER_PRODUCT", "'IVF40,PQ8', L2", "'IVF40,PQ8', COSINE",
      "'IVF20,SQ8', L2", "'IVF20,SQ8', INNER_PRODUCT"})
  void partsSearchedWithWholeProbesGiveTheWholeResult(String factory, Metric metric) throws IOException {
    float[] x = TestData.clustered(11, N, D, 40, 0.3);
    float[] q = TestData.clustered(12, NQ, D, 40, 0.3);
    long[] ids = new long[N];
    for (int i = 0; i < N; i++) {
      ids[i] = 1000L + 7L * i;
    }
    InvertedFileIndex quantizer = trained(factory, metric, x);
    InvertedFileIndex whole = quantizer.emptyCopy();
    whole.addWithIds(x, ids);
    InvertedFileIndex[] parts = split(quantizer, x, ids);
    long total = 0;
    for (int p = 0; p < PARTS; p++) {
      // each part goes through its shard file, as on a cluster
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      long written = IndexIO.writeShard(parts[p], bytes);
      assertEquals(parts[p].ntotal(), written);
      byte[] b = bytes.toByteArray();
      parts[p] = IndexIO.readShard(new ByteArrayInputStream(b), "part" + p, b.length, quantizer);
      total += parts[p].ntotal();
    }
    assertEquals(N, total);

    SearchParams params = SearchParams.defaults().withNprobe(NPROBE).withThreads(1);
    SearchResult expected = whole.search(q, K, params);
    SearchResult merged = searchParts(parts, quantizer, q, K, NPROBE);
    SearchResult preassignedWhole = searchParts(new InvertedFileIndex[] {whole}, quantizer, q, K, NPROBE);
    for (int qi = 0; qi < NQ; qi++) {
      String ctx = factory + " " + metric + ", query " + qi;
      assertArrayEquals(expected.ids(qi), merged.ids(qi), ctx);
      assertArrayEquals(expected.ids(qi), preassignedWhole.ids(qi), ctx);
      for (int j = 0; j < K; j++) {
        float e = expected.distance(qi, j);
        assertEquals(e, merged.distance(qi, j), 1e-5 * Math.max(1, Math.abs(e)), ctx + ", rank " + j);
      }
    }
  }

  @Test
  void assignAndEncodeMatchesAdd() {
    float[] x = TestData.clustered(21, 2000, D, 10, 0.3);
    InvertedFileIndex quantizer = trained("IVF10,SQ8", Metric.COSINE, x);
    InvertedFileIndex viaAdd = quantizer.emptyCopy();
    viaAdd.add(x);
    int[] lists = new int[2000];
    byte[] codes = quantizer.assignAndEncode(x, lists, 1);
    assertEquals(2000 * quantizer.codeSize(), codes.length);
    for (int l = 0; l < 10; l++) {
      long[] ids = viaAdd.listIds(l);
      byte[] listCodes = viaAdd.listCodes(l);
      for (int j = 0; j < ids.length; j++) {
        int i = (int) ids[j];
        assertEquals(l, lists[i], "vector " + i);
        assertArrayEquals(Arrays.copyOfRange(codes, i * quantizer.codeSize(), (i + 1) * quantizer.codeSize()),
            Arrays.copyOfRange(listCodes, j * quantizer.codeSize(), (j + 1) * quantizer.codeSize()), "vector " + i);
      }
    }
  }

  @Test
  void trainingWithGivenCentroidsMatchesTrainingFromScratch() {
    float[] x = TestData.clustered(71, 3000, D, 12, 0.3);
    float[] q = TestData.clustered(72, 50, D, 12, 0.3);
    for (String factory : new String[] {"IVF12,Flat", "IVF12,PQ6", "IVF12,SQ8"}) {
      InvertedFileIndex a = trained(factory, Metric.L2, x);
      InvertedFileIndex b = (InvertedFileIndex) IndexFactory.create(D, factory, Metric.L2);
      b.trainWithCentroids(a.coarseQuantizer().centroids(), factory.endsWith("Flat") ? new float[0] : x);
      assertArrayEquals(a.coarseQuantizer().centroids(), b.coarseQuantizer().centroids(), factory);
      a.add(x);
      b.add(x);
      SearchParams p = SearchParams.defaults().withNprobe(3);
      assertArrayEquals(a.search(q, 5, p).ids(), b.search(q, 5, p).ids(), factory);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> ((InvertedFileIndex) IndexFactory.create(D, factory, Metric.L2)).trainWithCentroids(new float[7], x));
      assertTrue(e.getMessage().contains("nlist * d"), e.getMessage());
      assertThrows(IllegalStateException.class, () -> b.trainWithCentroids(a.coarseQuantizer().centroids(), x));
    }
  }

  @Test
  void flatCodesAreLittleEndianFloats() {
    float[] x = TestData.clustered(31, 500, D, 4, 0.3);
    InvertedFileIndex quantizer = trained("IVF4,Flat", Metric.L2, x);
    int[] lists = new int[500];
    byte[] codes = quantizer.assignAndEncode(x, lists, 1);
    assertEquals(4 * D, quantizer.codeSize());
    assertEquals(Float.floatToIntBits(x[D + 1]), (codes[4 * (D + 1)] & 0xFF) | (codes[4 * (D + 1) + 1] & 0xFF) << 8
        | (codes[4 * (D + 1) + 2] & 0xFF) << 16 | (codes[4 * (D + 1) + 3] & 0xFF) << 24);
  }

  @Test
  void emptyCopiesShareButNeverRetrainTheQuantizer() {
    float[] x = TestData.clustered(41, 1000, D, 8, 0.3);
    for (String factory : new String[] {"IVF8,Flat", "IVF8,PQ4", "IVF8,SQ4"}) {
      InvertedFileIndex quantizer = trained(factory, Metric.L2, x);
      InvertedFileIndex copy = quantizer.emptyCopy();
      assertEquals(0, copy.ntotal());
      assertTrue(copy.isTrained());
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> copy.train(x), factory);
      assertTrue(e.getMessage().contains("emptyCopy"), e.getMessage());
      InvertedFileIndex untrained = (InvertedFileIndex) IndexFactory.create(D, factory, Metric.L2);
      assertThrows(IllegalStateException.class, untrained::emptyCopy, factory);
    }
  }

  @Test
  void badPreassignedInputsNameTheProblem() {
    float[] x = TestData.clustered(51, 1000, D, 8, 0.3);
    InvertedFileIndex quantizer = trained("IVF8,PQ4", Metric.L2, x);
    InvertedFileIndex copy = quantizer.emptyCopy();
    assertThrows(IndexOutOfBoundsException.class, () -> copy.addPreassigned(8, new long[1], 0, new byte[4], 0, 1));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> copy.addPreassigned(0, new long[2], 0, new byte[4], 0, 2));
    assertTrue(e.getMessage().contains("do not fit"), e.getMessage());
    float[] q = Arrays.copyOf(x, 2 * D);
    e = assertThrows(IllegalArgumentException.class,
        () -> copy.searchPreassigned(q, 5, 2, new long[] {0, 1, 2, 8}, new float[4], SearchParams.defaults()));
    assertTrue(e.getMessage().contains("lists[3] = 8 (query 1)"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> copy.searchPreassigned(q, 5, 2, new long[3], new float[3], SearchParams.defaults()));
    assertTrue(e.getMessage().contains("nq * nprobe"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> quantizer.probe(q, 9, 1, new float[18], new long[18]));
    assertTrue(e.getMessage().contains("exceeds nlist"), e.getMessage());
    // -1 list numbers are skipped: no probes at all gives padding
    SearchResult r = copy.searchPreassigned(q, 3, 1, new long[] {-1, -1}, new float[2], SearchParams.defaults());
    assertArrayEquals(new long[] {-1, -1, -1}, r.ids(1));

    // range search on preassigned lists checks them the same way
    e = assertThrows(IllegalArgumentException.class,
        () -> copy.rangeSearchPreassigned(q, 1f, 2, new long[] {0, 1, 2, 8}, new float[4], SearchParams.defaults()));
    assertTrue(e.getMessage().contains("lists[3] = 8 (query 1)"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> copy.rangeSearchPreassigned(q, 1f, 2, new long[] {0, -2, 1, 1}, new float[4], SearchParams.defaults()));
    assertTrue(e.getMessage().contains("lists[1] = -2 (query 0)"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> copy.rangeSearchPreassigned(q, 1f, 2, new long[4], new float[3], SearchParams.defaults()));
    assertTrue(e.getMessage().contains("nq * nprobe"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> copy.rangeSearchPreassigned(q, Float.NaN, 1, new long[2], new float[2], SearchParams.defaults()));
    assertTrue(e.getMessage().contains("radius"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> copy.rangeSearchPreassigned(q, 1f, 0, new long[0], new float[0], SearchParams.defaults()));
    assertTrue(e.getMessage().contains("nprobe"), e.getMessage());
    InvertedFileIndex full = quantizer.emptyCopy();
    full.add(x);
    RangeSearchResult none = full.rangeSearchPreassigned(q, Float.MAX_VALUE, 1, new long[] {-1, -1}, new float[2],
        SearchParams.defaults());
    assertArrayEquals(new long[] {0, 0, 0}, none.lims(), "-1 lists are skipped");
  }

  /**
   * rangeSearchPreassigned with the probes of probe() is rangeSearch (the same scan, so the same
   * bits), with and without a selector; two parts holding the lower and upper halves of the lists
   * give disjoint results whose union is the whole index's.
   */
  @ParameterizedTest
  @CsvSource({"'IVF40,Flat', L2", "'IVF40,Flat', INNER_PRODUCT", "'IVF40,PQ8', L2", "'IVF40,PQ8', COSINE",
      "'IVF20,SQ8', L2", "'IVF20,SQ8', INNER_PRODUCT"})
  void rangeSearchPreassignedIsRangeSearchAndSplitsByList(String factory, Metric metric) {
    long seed = 81;
    float[] x = TestData.clustered(seed, N, D, 40, 0.3);
    float[] q = TestData.clustered(seed + 1, NQ, D, 40, 0.3);
    long[] ids = new long[N];
    for (int i = 0; i < N; i++) {
      ids[i] = 1000L + 7L * i;
    }
    InvertedFileIndex quantizer = trained(factory, metric, x);
    InvertedFileIndex whole = quantizer.emptyCopy();
    whole.addWithIds(x, ids);
    int nlist = whole.nlist();
    InvertedFileIndex lower = quantizer.emptyCopy();
    InvertedFileIndex upper = quantizer.emptyCopy();
    for (int l = 0; l < nlist; l++) {
      (l < nlist / 2 ? lower : upper).addPreassigned(l, whole.listIds(l), 0, whole.listCodes(l), 0, whole.listSize(l));
    }
    SearchParams params = SearchParams.defaults().withNprobe(NPROBE).withThreads(1);
    // about 30 results per query: the 30th neighbour of query 0
    float radius = whole.search(q, 30, params).distance(0, 29);
    long[] probes = new long[NQ * NPROBE];
    float[] coarse = new float[NQ * NPROBE];
    whole.probe(q, NPROBE, 1, coarse, probes);
    for (IdSelector sel : new IdSelector[] {null, id -> id % 10 == 3}) {
      String ctx = "seed " + seed + ", " + factory + " " + metric + ", radius " + radius + (sel == null ? "" : ", ids ending in 3");
      SearchParams p = params.withSelector(sel);
      RangeSearchResult expected = whole.rangeSearch(q, radius, p);
      assertTrue(expected.ids().length >= (sel == null ? 10 : 1) * NQ, ctx + ": only " + expected.ids().length + " results");
      RangeSearchResult got = whole.rangeSearchPreassigned(q, radius, NPROBE, probes, coarse, p);
      assertArrayEquals(expected.lims(), got.lims(), ctx + ": lims");
      assertArrayEquals(expected.ids(), got.ids(), ctx + ": ids");
      assertArrayEquals(expected.distances(), got.distances(), ctx + ": distances");

      RangeSearchResult a = lower.rangeSearchPreassigned(q, radius, NPROBE, probes, coarse, p);
      RangeSearchResult b = upper.rangeSearchPreassigned(q, radius, NPROBE, probes, coarse, p);
      for (int qi = 0; qi < NQ; qi++) {
        Map<Long, Float> union = new HashMap<>(rangeOf(a, qi));
        for (Map.Entry<Long, Float> e : rangeOf(b, qi).entrySet()) {
          assertNull(union.put(e.getKey(), e.getValue()), ctx + ", query " + qi + ": id " + e.getKey() + " found by both parts");
        }
        assertEquals(rangeOf(expected, qi), union, ctx + ", query " + qi + ": the parts' union");
        if (sel != null) {
          for (long id : union.keySet()) {
            assertTrue(sel.isMember(id), ctx + ", query " + qi + ": id " + id + " is not selected");
          }
        }
      }
    }
  }

  private static Map<Long, Float> rangeOf(RangeSearchResult r, int qi) {
    Map<Long, Float> out = new HashMap<>();
    for (long i = r.lims()[qi]; i < r.lims()[qi + 1]; i++) {
      out.put(r.ids()[(int) i], r.distances()[(int) i]);
    }
    return out;
  }

  @Test
  void shardFilesAreCheckedAgainstTheirQuantizer() throws IOException {
    float[] x = TestData.clustered(61, 1000, D, 8, 0.3);
    InvertedFileIndex pq = trained("IVF8,PQ4", Metric.L2, x);
    InvertedFileIndex shard = pq.emptyCopy();
    shard.add(x);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    IndexIO.writeShard(shard, bytes);
    byte[] b = bytes.toByteArray();

    InvertedFileIndex otherKind = trained("IVF8,SQ8", Metric.L2, x);
    CorruptIndexException e = assertThrows(CorruptIndexException.class,
        () -> IndexIO.readShard(new ByteArrayInputStream(b), "s.qvs", b.length, otherKind));
    assertTrue(e.getMessage().contains("'SHPR'") && e.getMessage().contains("'IVPQ'"), e.getMessage());
    InvertedFileIndex otherMetric = trained("IVF8,PQ4", Metric.INNER_PRODUCT, x);
    e = assertThrows(CorruptIndexException.class,
        () -> IndexIO.readShard(new ByteArrayInputStream(b), "s.qvs", b.length, otherMetric));
    assertTrue(e.getMessage().contains("metric"), e.getMessage());
    UnsupportedIndexTypeException u = assertThrows(UnsupportedIndexTypeException.class,
        () -> IndexIO.read(new ByteArrayInputStream(b), "s.qvs", b.length));
    assertTrue(u.getMessage().contains("readShard"), u.getMessage());

    byte[] flipped = b.clone();
    flipped[flipped.length / 2] ^= 1;
    assertThrows(io.quiver.index.io.ChecksumMismatchException.class,
        () -> IndexIO.readShard(new ByteArrayInputStream(flipped), "s.qvs", flipped.length, pq));
    assertThrows(io.quiver.index.io.TruncatedIndexException.class,
        () -> IndexIO.readShard(new ByteArrayInputStream(b, 0, b.length - 20), "s.qvs", -1, pq));

    ByteArrayOutputStream whole = new ByteArrayOutputStream();
    IndexIO.write(shard, whole);
    byte[] w = whole.toByteArray();
    u = assertThrows(UnsupportedIndexTypeException.class,
        () -> IndexIO.readShard(new ByteArrayInputStream(w), "idx.qvi", w.length, pq));
    assertTrue(u.getMessage().contains("not a shard"), u.getMessage());
  }

  /**
   * The version 1 golden shard: list 1 of the golden 'ivf_l2.qvi' index. Written once with
   * {@code -Dquiver.golden.regenerate=true} when missing; after that it must keep loading.
   */
  @Test
  void goldenShardLoads() throws IOException {
    java.nio.file.Path dir = java.nio.file.Path.of("src/test/resources/golden/v1");
    InvertedFileIndex quantizer = ((InvertedFileIndex) IndexIO.read(dir.resolve("ivf_l2.qvi"))).emptyCopy();
    java.nio.file.Path golden = dir.resolve("shard_ivf_l2_list1.qvs");
    if (!java.nio.file.Files.exists(golden) && Boolean.getBoolean("quiver.golden.regenerate")) {
      InvertedFileIndex whole = (InvertedFileIndex) IndexIO.read(dir.resolve("ivf_l2.qvi"));
      InvertedFileIndex shard = quantizer.emptyCopy();
      shard.addPreassigned(1, whole.listIds(1), 0, whole.listCodes(1), 0, whole.listSize(1));
      try (java.io.OutputStream out = java.nio.file.Files.newOutputStream(golden)) {
        IndexIO.writeShard(shard, out);
      }
    }
    byte[] b = java.nio.file.Files.readAllBytes(golden);
    InvertedFileIndex shard = IndexIO.readShard(new ByteArrayInputStream(b), golden.toString(), b.length, quantizer);
    assertEquals(3, shard.ntotal());
    assertEquals(0, shard.listSize(0));
    assertArrayEquals(new long[] {4, 5, 6}, shard.listIds(1));
    assertArrayEquals(new float[] {10, 10, 10, 11, 9, 10, 10, 10, 10, 10, 10, 10}, ((IvfIndex) shard).listVectors(1));
    SearchResult r = shard.search(new float[] {10, 10, 10, 10}, 2, SearchParams.defaults().withNprobe(2));
    assertArrayEquals(new long[] {6, 4}, r.ids(0));
    assertArrayEquals(new float[] {0, 1}, r.distances(0));
  }

  @Test
  void mergeKeepsTheBestAndBreaksTiesBySmallerId() {
    long[] ids = new long[4];
    float[] dist = new float[4];
    int real = TopKMerge.merge(new long[] {5, 9, -1}, new float[] {1, 3, Float.POSITIVE_INFINITY},
        new long[] {2, 7}, new float[] {1, 2}, 4, false, ids, dist);
    assertEquals(4, real);
    assertArrayEquals(new long[] {2, 5, 7, 9}, ids);
    assertArrayEquals(new float[] {1, 1, 2, 3}, dist);
    real = TopKMerge.merge(new long[] {5}, new float[] {0.5f}, new long[] {-1}, new float[] {Float.NEGATIVE_INFINITY},
        3, true, ids, dist);
    assertEquals(1, real);
    assertArrayEquals(new long[] {5, -1, -1}, Arrays.copyOf(ids, 3));
    assertEquals(Float.NEGATIVE_INFINITY, dist[2]);
    real = TopKMerge.merge(new long[] {1, 2}, new float[] {0.9f, 0.1f}, new long[] {3}, new float[] {0.5f}, 2, true,
        ids, dist);
    assertArrayEquals(new long[] {1, 3}, Arrays.copyOf(ids, 2));
  }
}
