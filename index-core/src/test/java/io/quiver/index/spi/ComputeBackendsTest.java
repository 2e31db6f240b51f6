package io.quiver.index.spi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.FlatIndex;
import io.quiver.index.IdSelector;
import io.quiver.index.IndexFactory;
import io.quiver.index.InvertedFileIndex;
import io.quiver.index.IvfIndex;
import io.quiver.index.Metric;
import io.quiver.index.SearchParams;
import io.quiver.index.SearchResult;
import io.quiver.index.TestData;
import io.quiver.index.VectorIndex;
import io.quiver.index.codec.PqCodec;
import io.quiver.index.codec.SqCodec;
import io.quiver.index.quantize.KMeans;
import io.quiver.index.quantize.ProductQuantizer;
import io.quiver.index.quantize.ScalarQuantizer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Backend selection ({@code quiver.backend}, ServiceLoader providers) and the dispatch of
 * index-core's hot loops through {@link ComputeBackends#current()}, with {@link TestGpuProvider}
 * standing in for a GPU. Its {@link ViewBackend} answers IVF searches from the {@link IvfLists}
 * view alone, so these tests also check that the view describes the lists as a device needs them.
 */
class ComputeBackendsTest {
  private static final long SEED = 20261121L;
  private static final int D = 32;

  @BeforeEach
  @AfterEach
  void reset() {
    System.clearProperty(TestGpuProvider.SWITCH);
    System.clearProperty(ComputeBackends.PROPERTY);
    ComputeBackends.reset();
  }

  private static ViewBackend fakeGpu() {
    System.setProperty(TestGpuProvider.SWITCH, "true");
    ComputeBackends.configure("gpu");
    return (ViewBackend) ComputeBackends.current();
  }

  @Test
  void modesParseAndUnknownNamesListTheValidOnes() {
    assertEquals(ComputeBackends.Mode.GPU, ComputeBackends.Mode.parse(" GPU "));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ComputeBackends.configure("tpu"));
    assertEquals("unknown compute backend 'tpu'; valid: auto, cpu, gpu", e.getMessage());
    System.setProperty(ComputeBackends.PROPERTY, "fpga");
    e = assertThrows(IllegalArgumentException.class, ComputeBackends::current);
    assertTrue(e.getMessage().startsWith("system property quiver.backend=fpga: unknown compute backend"), e.getMessage());
  }

  @Test
  void autoFallsBackToTheCpuAndSaysWhy() {
    assertSame(CpuBackend.INSTANCE, ComputeBackends.current());
    String line = ComputeBackends.describe();
    assertTrue(line.startsWith("cpu (quiver.backend=auto; no GPU: "), line);
    assertTrue(line.contains("the test GPU is switched off"), line);
  }

  @Test
  void cpuDoesNotProbe() {
    int before = TestGpuProvider.PROBES.get();
    System.setProperty(ComputeBackends.PROPERTY, "cpu");
    assertSame(CpuBackend.INSTANCE, ComputeBackends.current());
    assertEquals(before, TestGpuProvider.PROBES.get());
    assertEquals("cpu (quiver.backend=cpu)", ComputeBackends.describe());
  }

  @Test
  void gpuWithoutADeviceFailsWithEachProvidersReason() {
    ComputeBackends.configure("gpu");
    IllegalStateException e = assertThrows(IllegalStateException.class, ComputeBackends::current);
    assertTrue(e.getMessage().startsWith("quiver.backend=gpu but no GPU is usable: "), e.getMessage());
    assertTrue(e.getMessage().contains("the test GPU is switched off"), e.getMessage());
    assertTrue(e.getMessage().contains("--backend auto"), e.getMessage());
  }

  @Test
  void autoPicksAnAvailableProviderAndConfigureSwitchesBack() {
    System.setProperty(TestGpuProvider.SWITCH, "true");
    assertTrue(ComputeBackends.current().isAccelerator());
    assertEquals("gpu 0 (test) (quiver.backend=auto)", ComputeBackends.describe());
    ComputeBackends.configure("cpu");
    assertSame(CpuBackend.INSTANCE, ComputeBackends.current());
  }

  @Test
  void flatSearchKMeansAndEncodingGoThroughTheBackend() {
    ViewBackend gpu = fakeGpu();
    float[] x = TestData.clustered(SEED, 3000, D, 20, 1.0);
    float[] q = TestData.clustered(SEED + 1, 50, D, 20, 1.0);
    FlatIndex flat = new FlatIndex(D, Metric.L2);
    flat.add(x);
    flat.search(q, 5, SearchParams.defaults());
    assertTrue(gpu.calls.contains("knn 50x3000 k=5"), gpu.calls.toString());

    gpu.calls.clear();
    new KMeans(D, 16).niter(3).seed(SEED).train(x);
    assertEquals(3, gpu.calls.stream().filter(c -> c.endsWith("x16 k=1")).count(), gpu.calls.toString());

    // codecs hand encoding to the backend with their descriptor; PQ codes of fewer bits are packed after
    ProductQuantizer pq = new ProductQuantizer(D, 8, 8).seed(SEED);
    pq.train(x);
    ProductQuantizer pq4 = new ProductQuantizer(D, 8, 4).seed(SEED);
    pq4.train(x);
    ScalarQuantizer sq = new ScalarQuantizer(D, ScalarQuantizer.Type.SQ8);
    sq.train(x);
    gpu.calls.clear();
    assertArrayEquals(pq.encode(x), new PqCodec(pq).encode(x), "PQ8 codes from the backend");
    assertArrayEquals(pq4.encode(x), new PqCodec(pq4).encode(x), "PQ8x4 codes from the backend, packed");
    assertArrayEquals(sq.encode(x), new SqCodec(sq).encode(x), "SQ8 codes, left to Java");
    assertEquals(java.util.List.of("encode PQ8x8", "encode PQ8x4", "encode SQ8 (left to Java)"), gpu.calls);
  }

  /** The IVF search a device would do from the view equals the index's own scan (search and preassigned). */
  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"'IVF16,Flat', L2", "'IVF16,Flat', INNER_PRODUCT", "'IVF16,PQ8', L2", "'IVF16,PQ8', INNER_PRODUCT",
      "'IVF16,SQ8', L2", "'IVF16,SQ8', INNER_PRODUCT", "'IVF16,SQ4', L2"})
  void ivfSearchesFromTheViewEqualTheReference(String factory, Metric metric) {
    float[] x = TestData.clustered(SEED, 4000, D, 30, 2.0);
    float[] q = TestData.clustered(SEED + 7, 40, D, 30, 2.0);
    VectorIndex index = IndexFactory.create(D, factory, metric);
    index.train(x);
    index.add(x);
    int k = 10;
    int nprobe = 4;
    SearchParams params = SearchParams.defaults().withNprobe(nprobe);
    SearchResult cpu = index.search(q, k, params);

    ViewBackend gpu = fakeGpu();
    SearchResult viaView = index.search(q, k, params);
    String codec = factory.endsWith("Flat") ? "Flat" : factory.endsWith("PQ8") ? "Pq"
        : factory.endsWith("SQ8") ? "Sq8" : "Other";
    assertTrue(gpu.calls.contains("ivfSearch " + codec), gpu.calls.toString());
    assertSameNeighbours(cpu, viaView, factory + " " + metric);

    // the preassigned path (Spark's shard scans) goes through the backend as well
    InvertedFileIndex ivf = (InvertedFileIndex) index;
    long[] probes = new long[q.length / D * nprobe];
    float[] coarse = new float[probes.length];
    ivf.probe(q, nprobe, 1, coarse, probes);
    gpu.calls.clear();
    SearchResult pre = ivf.searchPreassigned(q, k, nprobe, probes, coarse, SearchParams.defaults());
    assertEquals(java.util.List.of("ivfSearch " + codec), gpu.calls);
    assertSameNeighbours(cpu, pre, factory + " " + metric + " preassigned");

    // range scans reach the backend too (which hands them to the reference)
    gpu.calls.clear();
    float radius = cpu.distance(0, 4);
    io.quiver.index.RangeSearchResult range = ivf.rangeSearchPreassigned(q, radius, nprobe, probes, coarse,
        SearchParams.defaults());
    assertEquals(java.util.List.of("ivfRangeSearch " + codec), gpu.calls);
    assertTrue(range.count(0) >= 4, factory + " " + metric + ": the range holds query 0's four nearer neighbours");

    // per-query selectors stay with the reference, which applies them during the scan
    SearchResult filtered = index.search(q, k, params.withSelector(IdSelector.range(0, 2000)));
    for (long id : filtered.ids()) {
      assertTrue(id < 2000, "id " + id + " escaped the selector");
    }
  }

  @Test
  void theListsVersionChangesWithTheContents() {
    IvfIndex index = new IvfIndex(D, 8, Metric.L2);
    float[] x = TestData.gaussian(SEED, 500, D);
    index.train(x);
    ViewBackend gpu = fakeGpu();
    long[] seen = new long[3];
    ComputeBackend capture = new ComputeBackend() {
      @Override public String name() {
        return "capture";
      }

      @Override public boolean isAccelerator() {
        return true;
      }

      @Override public void knn(float[] queries, int nq, float[] base, int nb, float[] baseNorms, long[] labels, int d,
                                boolean innerProduct, int k, int threads, IdSelector[] selectors, float[] outDistances,
                                long[] outIds) {
        gpu.knn(queries, nq, base, nb, baseNorms, labels, d, innerProduct, k, threads, selectors, outDistances, outIds);
      }

      @Override public byte[] encode(IvfLists.Codec codec, int d, float[] v) {
        return null;
      }

      @Override public SearchResult ivfSearch(IvfSearchJob job) {
        seen[0] = job.lists().version();
        return job.reference().get();
      }
    };
    ComputeBackends.reset();
    ComputeBackends.useForTests(capture);
    float[] q = TestData.gaussian(SEED + 1, 3, D);
    index.search(q, 1, SearchParams.defaults());
    long v0 = seen[0];
    index.add(x);
    index.search(q, 1, SearchParams.defaults());
    long v1 = seen[0];
    assertNotEquals(v0, v1);
    index.removeIds(IdSelector.range(0, 10));
    index.search(q, 1, SearchParams.defaults());
    assertNotEquals(v1, seen[0]);
  }

  static void assertSameNeighbours(SearchResult expected, SearchResult actual, String what) {
    int k = expected.k();
    for (int i = 0; i < expected.nq() * k; i++) {
      float e = expected.distances()[i];
      float a = actual.distances()[i];
      float tol = 1e-4f * Math.max(1f, Math.abs(e));
      assertTrue(Math.abs(e - a) <= tol || e == a, what + ": query " + i / k + " rank " + i % k + ": distance " + a
          + " vs reference " + e);
      if (expected.ids()[i] != actual.ids()[i]) {
        // only a tie may reorder: the reference's id must sit at the same distance elsewhere in the row
        int row = i / k * k;
        boolean tied = false;
        for (int j = row; j < row + k; j++) {
          tied |= actual.ids()[j] == expected.ids()[i] && Math.abs(actual.distances()[j] - e) <= tol;
        }
        assertTrue(tied || i % k == k - 1, what + ": query " + i / k + " rank " + i % k + ": id " + actual.ids()[i]
            + " vs reference " + expected.ids()[i] + " at distance " + e);
      }
    }
  }
}
