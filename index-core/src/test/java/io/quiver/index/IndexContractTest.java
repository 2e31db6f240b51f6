package io.quiver.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.quiver.index.io.IndexIO;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The contract every index keeps ({@link VectorIndex}), run for every factory string and metric:
 * train, add, search, range search, reconstruct, remove, merge, write and read, the concurrency
 * rules and bad input; then recall on the real datasets against FAISS's, from one table
 * ({@code faiss-recalls.tsv}, written by {@code scripts/faiss_recalls.py} with FAISS 1.15).
 */
class IndexContractTest {

  private static final int D = 32;
  private static final int N = 3000;
  private static final long SEED = 20261204L;
  /** Recall may trail FAISS's on the same data and parameters by at most this much. */
  static final double RECALL_TOLERANCE = 0.03;

  static final List<String> FACTORIES = List.of("Flat", "PQ8", "PQ8x4", "SQ8", "SQ4", "SQfp16", "IVF16,Flat",
      "IVF16,PQ8", "IVF16,PQ8x4", "IVF16,SQ8", "IVF16,SQ4", "IVF16,SQfp16", "IVF16,PQ8,RFlat", "SQ8,RFlat",
      "L2norm,Flat", "L2norm,IVF16,SQ8", "HNSW16", "HNSW16,SQ8", "HNSW16,PQ8", "IVF16_HNSW8,Flat", "IVF16_HNSW8,PQ8");

  /** HNSW graph indexes: no removal and no merging, as in FAISS. */
  private static boolean isGraph(String factory) {
    return factory.startsWith("HNSW");
  }

  static Stream<Arguments> cases() {
    List<Arguments> out = new ArrayList<>();
    for (String f : FACTORIES) {
      for (Metric m : Metric.values()) {
        out.add(Arguments.of(f, m));
      }
    }
    return out.stream();
  }

  private static float[] data(long seed, int n) {
    return TestData.clustered(seed, n, D, 24, 1.5);
  }

  private static long[] ids(int n, long first, long step) {
    long[] ids = new long[n];
    for (int i = 0; i < n; i++) {
      ids[i] = first + step * i;
    }
    return ids;
  }

  /** Searches every list (IVF) or candidate (refine) there is, so results depend only on the codes. */
  private static final SearchParams ALL = SearchParams.defaults().withNprobe(16).withKFactor(4).withThreads(2);

  /** True when reconstruct returns the added vector itself (normalized for cosine and L2norm). */
  private static boolean keepsVectors(String factory) {
    return factory.equals("Flat") || factory.equals("IVF16,Flat") || factory.equals("L2norm,Flat")
        || factory.endsWith(",RFlat") || factory.equals("HNSW16") || factory.equals("IVF16_HNSW8,Flat");
  }

  /** A copy of {@code x} with every row L2-normalized. */
  private static float[] normalized(float[] x) {
    float[] out = x.clone();
    for (int i = 0; i < x.length / D; i++) {
      double s = 0;
      for (int t = 0; t < D; t++) {
        s += (double) x[i * D + t] * x[i * D + t];
      }
      for (int t = 0; t < D; t++) {
        out[i * D + t] = (float) (x[i * D + t] / Math.sqrt(s));
      }
    }
    return out;
  }

  private static byte[] bytes(VectorIndex index) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      IndexIO.write(index, out);
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static VectorIndex read(byte[] b) {
    try (InputStream in = new ByteArrayInputStream(b)) {
      return IndexIO.read(in, "contract", b.length);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A trained, empty index (training on the first rows of the data). */
  private static VectorIndex trained(String factory, Metric metric, float[] x) {
    VectorIndex index = IndexFactory.create(D, factory, metric);
    index.train(x);
    assertTrue(index.isTrained(), factory);
    return index;
  }

  /** Asserts results are sorted best first for the metric, with padding (-1) only at the end. */
  private static void assertWellFormed(String ctx, SearchResult r, Metric metric, long ntotal) {
    for (int qi = 0; qi < r.nq(); qi++) {
      Set<Long> seen = new HashSet<>();
      int found = 0;
      for (int j = 0; j < r.k(); j++) {
        long id = r.id(qi, j);
        if (id == -1) {
          assertEquals(metric.worstValue(), r.distance(qi, j), ctx + ": padding value");
          continue;
        }
        assertEquals(found, j, ctx + ": padding only after results, query " + qi);
        found++;
        assertTrue(seen.add(id), ctx + ": id " + id + " twice in query " + qi);
        if (j > 0) {
          float prev = r.distance(qi, j - 1);
          float cur = r.distance(qi, j);
          assertTrue(metric.higherIsCloser() ? prev >= cur : prev <= cur, ctx + ": order at query " + qi + " rank " + j);
        }
      }
      assertEquals(Math.min(r.k(), ntotal), found, ctx + ": results of query " + qi);
    }
  }

  /** The value the index reports for {@code q} against a decoded vector. */
  private static float value(Metric metric, float[] q, int qOff, float[] v) {
    double s = 0;
    if (metric.higherIsCloser()) {
      double nq = 0;
      for (int t = 0; t < D; t++) {
        s += (double) q[qOff + t] * v[t];
        nq += (double) q[qOff + t] * q[qOff + t];
      }
      return (float) (metric.normalizes() ? s / Math.sqrt(nq) : s);
    }
    for (int t = 0; t < D; t++) {
      double e = q[qOff + t] - v[t];
      s += e * e;
    }
    return (float) s;
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("cases")
  void lifecycle(String factory, Metric metric) {
    String ctx = factory + " " + metric + " seed " + SEED;
    float[] x = data(SEED, N);
    float[] q = data(SEED + 1, 20);
    VectorIndex index = IndexFactory.create(D, factory, metric);
    assertEquals(factory, index.factoryString(), ctx);
    assertEquals(D, index.d());
    assertEquals(metric, index.metric());
    if (!index.isTrained()) {
      assertThrows(IllegalStateException.class, () -> index.add(x), ctx + ": add before train");
      assertThrows(IllegalStateException.class, () -> index.search(q, 5), ctx + ": search before train");
      assertThrows(IllegalStateException.class, () -> index.reconstruct(0), ctx + ": reconstruct before train");
    }
    index.train(x);
    assertTrue(index.isTrained(), ctx);
    long[] ids = ids(N, 1000, 3);
    index.addWithIds(x, ids);
    assertEquals(N, index.ntotal(), ctx);

    // search: well-formed, and each reported value is the value of the id's reconstructed vector
    SearchResult r = index.search(q, 10, ALL);
    assertWellFormed(ctx, r, metric, N);
    float[] qSeen = factory.startsWith("L2norm") ? normalized(q) : q; // what the inner index is asked
    Set<Long> all = new HashSet<>();
    for (long id : ids) {
      all.add(id);
    }
    for (int qi = 0; qi < r.nq(); qi++) {
      for (int j = 0; j < r.k(); j++) {
        long id = r.id(qi, j);
        assertTrue(all.contains(id), ctx + ": unknown id " + id);
        float want = value(metric, qSeen, qi * D, index.reconstruct(id));
        assertEquals(want, r.distance(qi, j), 2e-3f * Math.max(1f, Math.abs(want)),
            ctx + ": query " + qi + " rank " + j + " value against the reconstructed vector");
      }
    }
    // more neighbours than vectors: padded
    VectorIndex small = IndexFactory.create(D, factory, metric);
    small.train(x);
    small.add(TestData.rows(x, D, 0, 3));
    assertWellFormed(ctx + " (3 vectors, k 5)", small.search(q, 5, ALL), metric, 3);

    // range search: every hit strictly inside the radius; with an exact index every closer top-k hit too
    float radius = r.distance(0, 4);
    RangeSearchResult range = index.rangeSearch(q, radius, ALL);
    for (int qi = 0; qi < range.nq(); qi++) {
      for (long i = range.lims()[qi]; i < range.lims()[qi + 1]; i++) {
        float v = range.distances()[(int) i];
        assertTrue(metric.higherIsCloser() ? v > radius : v < radius, ctx + ": range value " + v + " vs radius " + radius);
      }
    }
    Set<Long> inRange = new HashSet<>();
    for (long i = range.lims()[0]; i < range.lims()[1]; i++) {
      inRange.add(range.ids()[(int) i]);
    }
    // (a refine index range-searches its base's codes, then measures exactly: a vector whose code
    // falls outside the radius is not seen, as in FAISS, so the check needs an exact base)
    boolean exactBase = keepsVectors(factory) && !factory.endsWith(",RFlat");
    for (int j = 0; j < 4 && exactBase; j++) {
      if (r.distance(0, j) != radius) {
        assertTrue(inRange.contains(r.id(0, j)), ctx + ": top-" + (j + 1) + " id " + r.id(0, j) + " within the radius");
      }
    }

    // reconstruct
    if (keepsVectors(factory)) {
      float[] v = index.reconstruct(ids[7]);
      float[] want = TestData.rows(x, D, 7, 1);
      if (metric.normalizes() || factory.startsWith("L2norm")) {
        want = normalized(want);
      }
      assertArrayEquals(want, v, 1e-6f, ctx + ": reconstruct of an exact index");
    }
    assertThrows(IllegalArgumentException.class, () -> index.reconstruct(1), ctx + ": unknown id");

    // write, read: same answers, same bytes again
    byte[] file = bytes(index);
    VectorIndex back = read(file);
    assertEquals(factory, back.factoryString(), ctx);
    assertEquals(N, back.ntotal(), ctx);
    SearchResult r2 = back.search(q, 10, ALL);
    assertArrayEquals(r.ids(), r2.ids(), ctx + ": ids after write and read");
    assertArrayEquals(r.distances(), r2.distances(), ctx + ": distances after write and read");
    assertArrayEquals(file, bytes(back), ctx + ": rewritten bytes");

    if (isGraph(factory)) { // FAISS's IndexHNSW has no remove_ids: refused, and nothing changes
      UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
          () -> index.removeIds(id -> id < 1000 + 3L * (N / 2)), ctx + ": removal");
      assertTrue(e.getMessage().contains(factory) && e.getMessage().contains("removeIds"), ctx + ": " + e.getMessage());
      assertEquals(N, index.ntotal(), ctx + ": a refused removal changes nothing");
      assertArrayEquals(r.ids(), index.search(q, 10, ALL).ids(), ctx + ": same results after a refused removal");
      return;
    }
    // remove the first half; removed ids are gone
    assertThrows(IllegalArgumentException.class, () -> index.removeIds(null), ctx + ": null selector");
    long removed = index.removeIds(id -> id < 1000 + 3L * (N / 2));
    assertEquals(N / 2, removed, ctx);
    assertEquals(N - N / 2, index.ntotal(), ctx);
    SearchResult after = index.search(q, 10, ALL);
    assertWellFormed(ctx + " after remove", after, metric, N - N / 2);
    for (long id : after.ids()) {
      assertTrue(id >= 1000 + 3L * (N / 2), ctx + ": removed id " + id + " returned");
    }
    assertThrows(IllegalArgumentException.class, () -> index.reconstruct(1000), ctx + ": removed id");
    assertEquals(0, index.removeIds(id -> id == 1), ctx + ": removing an absent id");
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("cases")
  void mergeFromCopiesOfOneTrainingEqualsOneIndex(String factory, Metric metric) {
    String ctx = factory + " " + metric + " seed " + SEED;
    float[] x = data(SEED + 2, N);
    float[] q = data(SEED + 3, 10);
    byte[] empty = bytes(trained(factory, metric, x));
    VectorIndex whole = read(empty);
    VectorIndex a = read(empty);
    VectorIndex b = read(empty);
    long[] ids = ids(N, 0, 1);
    whole.addWithIds(x, ids);
    a.addWithIds(TestData.rows(x, D, 0, N / 3), ids(N / 3, 0, 1));
    b.addWithIds(TestData.rows(x, D, N / 3, N - N / 3), ids(N - N / 3, N / 3, 1));
    if (isGraph(factory)) { // FAISS's IndexHNSW has no merge_from: refused, and neither index changes
      assertThrows(UnsupportedOperationException.class, () -> a.mergeFrom(b), ctx + ": merge");
      assertEquals(N / 3, a.ntotal(), ctx);
      assertEquals(N - N / 3, b.ntotal(), ctx);
      return;
    }
    a.mergeFrom(b);
    assertEquals(N, a.ntotal(), ctx);
    assertEquals(0, b.ntotal(), ctx + ": the source is left empty");
    SearchResult want = whole.search(q, 10, ALL);
    SearchResult got = a.search(q, 10, ALL);
    FilteredSearchTest.assertSameResult(ctx + ": merged", want, got);

    assertThrows(IllegalArgumentException.class, () -> a.mergeFrom(a), ctx + ": into itself");
    VectorIndex other = IndexFactory.create(D, factory, metric);
    other.train(data(SEED + 4, N)); // another training (Flat: the same, as it needs none)
    other.add(TestData.rows(x, D, 0, 10));
    if (!factory.equals("Flat") && !factory.equals("L2norm,Flat") && !factory.equals("SQfp16")) {
      assertThrows(IllegalArgumentException.class, () -> a.mergeFrom(other), ctx + ": trained separately");
      assertEquals(N, a.ntotal(), ctx + ": a refused merge changes nothing");
      assertEquals(10, other.ntotal(), ctx + ": a refused merge changes nothing");
    }
    VectorIndex wrongD = IndexFactory.create(D * 2, factory, metric);
    assertThrows(IllegalArgumentException.class, () -> a.mergeFrom(wrongD), ctx + ": another d");
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("cases")
  void badInputIsRefusedAndChangesNothing(String factory, Metric metric) {
    String ctx = factory + " " + metric;
    float[] x = data(SEED + 5, N);
    VectorIndex index = trained(factory, metric, x);
    index.add(TestData.rows(x, D, 0, 100));
    float[] bad = TestData.rows(x, D, 0, 3);
    bad[D + 5] = Float.NaN;
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> index.add(bad), ctx);
    assertTrue(e.getMessage().contains("row 1"), ctx + ": names the row: " + e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> index.add(new float[D + 1]), ctx + ": length");
    assertThrows(IllegalArgumentException.class, () -> index.addWithIds(TestData.rows(x, D, 0, 2), new long[1]), ctx);
    assertThrows(IllegalArgumentException.class, () -> index.addWithIds(TestData.rows(x, D, 0, 2), null), ctx);
    assertThrows(IllegalArgumentException.class, () -> index.search(TestData.rows(x, D, 0, 1), 0), ctx + ": k 0");
    assertThrows(IllegalArgumentException.class, () -> index.search(bad, 3), ctx + ": NaN query");
    assertEquals(100, index.ntotal(), ctx + ": refused calls change nothing");
    if (index.isTrained() && !factory.equals("Flat") && !factory.contains("SQfp16") && !factory.equals("L2norm,Flat")
        && !factory.equals("HNSW16")) {
      assertThrows(IllegalStateException.class, () -> index.train(x), ctx + ": retraining an index that holds vectors");
    }
  }

  /**
   * Training runs outside the write lock: searches of the (empty, trained) index go on while a
   * retraining's k-means runs, instead of waiting for it.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("trainedFactories")
  void searchesDoNotWaitForTraining(String factory) throws Exception {
    float[] x = TestData.clustered(SEED + 6, 40_000, D, 50, 1.5);
    float[] q = data(SEED + 7, 4);
    VectorIndex index = IndexFactory.create(D, factory, Metric.L2);
    index.train(TestData.rows(x, D, 0, 5000));
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread trainer = new Thread(() -> {
      try {
        index.train(x);
      } catch (Throwable t) {
        failure.set(t);
      }
    });
    AtomicInteger during = new AtomicInteger();
    trainer.start();
    while (trainer.isAlive()) {
      index.search(q, 3, SearchParams.defaults().withThreads(1));
      if (trainer.isAlive()) {
        during.incrementAndGet();
      }
    }
    trainer.join();
    assertEquals(null, failure.get(), factory + ": training failed");
    assertTrue(during.get() > 0, factory + ": no search finished while training ran");
  }

  static Stream<String> trainedFactories() {
    return Stream.of("PQ8", "IVF64,Flat", "IVF64,PQ8", "IVF64,SQ8");
  }

  /** One row of {@code faiss-recalls.tsv}. */
  record Reference(String dataset, String factory, Metric metric, int nprobe, float kFactor, int efSearch, double recall,
                   String version) {
    @Override
    public String toString() {
      return dataset + " " + factory + (nprobe > 0 ? " nprobe " + nprobe : "") + (kFactor > 0 ? " kFactor " + kFactor : "")
          + (efSearch > 0 ? " efSearch " + efSearch : "");
    }

    /**
     * Recall may trail FAISS's by this much: {@link #RECALL_TOLERANCE}, and {@link #GRAPH_RECALL_TOLERANCE} for HNSW
     * indexes, whose graph is built as FAISS builds it (same levels, order and neighbour selection).
     */
    double tolerance() {
      return factory.startsWith("HNSW") ? GRAPH_RECALL_TOLERANCE : RECALL_TOLERANCE;
    }
  }

  /** How far an HNSW index's recall may be from FAISS's on the same data and parameters, either way. */
  static final double GRAPH_RECALL_TOLERANCE = 0.01;

  static Stream<Reference> references() throws IOException {
    List<Reference> out = new ArrayList<>();
    try (InputStream in = IndexContractTest.class.getResourceAsStream("/faiss-recalls.tsv")) {
      String[] lines = new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n");
      for (int i = 1; i < lines.length; i++) {
        String[] f = lines[i].split("\t");
        out.add(new Reference(f[0], f[1], f[2].equals("cosine") ? Metric.COSINE : Metric.L2, Integer.parseInt(f[3]),
            Float.parseFloat(f[4]), Integer.parseInt(f[5]), Double.parseDouble(f[6]), f[7]));
      }
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("references")
  void recallMatchesFaiss(Reference ref) {
    assumeTrue(Datasets.folderOrNull() != null, "skipped: no ../shared/datasets (set -D" + Datasets.PROPERTY + ")");
    Datasets.Dataset ds = ref.dataset().equals("bigann10k") ? Datasets.bigann10k() : Datasets.glove25();
    VectorIndex index = IndexFactory.create(ds.d(), ref.factory(), ref.metric());
    index.train(ds.base().data());
    // FAISS's numbers come from one thread; an HNSW graph built on one thread is the same every run
    io.quiver.index.util.Parallel.setDefaultThreads(ref.factory().startsWith("HNSW") ? 1 : 0);
    try {
      index.add(ds.base().data());
    } finally {
      io.quiver.index.util.Parallel.setDefaultThreads(0);
    }
    SearchParams p = SearchParams.defaults().withThreads(1);
    if (ref.nprobe() > 0) {
      p = p.withNprobe(ref.nprobe());
    }
    if (ref.kFactor() > 0) {
      p = p.withKFactor(ref.kFactor());
    }
    if (ref.efSearch() > 0) {
      p = p.withEfSearch(ref.efSearch());
    }
    double recall = TestData.recallAtK(index.search(ds.queries().data(), 10, p), ds.groundTruth(), 10);
    System.out.printf("IndexContractTest %s recall@10 %.4f (FAISS %s: %.4f; %s)%n", ref, recall, ref.version(),
        ref.recall(), io.quiver.index.vector.VectorUtil.implementationName());
    assertTrue(recall >= ref.recall() - ref.tolerance(), ref + ": recall@10 " + recall + " < FAISS " + ref.version() + "'s "
        + ref.recall() + " - " + ref.tolerance());
    if (ref.factory().startsWith("HNSW")) {
      assertTrue(recall <= ref.recall() + ref.tolerance(), ref + ": recall@10 " + recall + " > FAISS " + ref.version()
          + "'s " + ref.recall() + " + " + ref.tolerance() + ": not the graph FAISS builds");
    }
    assertNotEquals(0, recall);
    assertFalse(Double.isNaN(recall));
  }
}
