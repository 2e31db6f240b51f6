package io.quiver.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.quiver.index.IndexFactory;
import io.quiver.index.Metric;
import io.quiver.index.SearchParams;
import io.quiver.index.SearchResult;
import io.quiver.index.VectorIndex;
import io.quiver.index.codec.PqCodec;
import io.quiver.index.codec.SqCodec;
import io.quiver.index.quantize.KMeans;
import io.quiver.index.quantize.ProductQuantizer;
import io.quiver.index.quantize.ScalarQuantizer;
import io.quiver.index.spi.ComputeBackendProvider;
import io.quiver.index.spi.ComputeBackends;
import io.quiver.index.spi.CpuBackend;
import io.quiver.index.util.SyntheticData;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * GPU results equal CPU results: ids equal except between equal distances, distances within 1e-4
 * relative. Every job goes to the device ({@code quiver.gpu.minWork=0}); some runs cap the device
 * memory ({@code quiver.gpu.maxBytes}) so that the tiled paths run too. Skipped, with the probe's
 * reason, where there is no usable GPU.
 */
class GpuMatchesCpuTest {
  private static final long SEED = 1234;

  @BeforeEach
  void requireGpu() {
    ComputeBackendProvider.Probe p = new JCudaBackendProvider().probe(CpuBackend.INSTANCE);
    assumeTrue(p.isAvailable(), () -> "skipped: no usable GPU (" + p.reason() + ")");
    System.setProperty(JCudaBackend.MIN_WORK_PROPERTY, "0");
  }

  @AfterAll
  static void restore() {
    System.clearProperty(JCudaBackend.MIN_WORK_PROPERTY);
    System.clearProperty(Device.MAX_BYTES_PROPERTY);
    ComputeBackends.reset();
  }

  private static <T> T on(String mode, Supplier<T> work) {
    ComputeBackends.configure(mode);
    try {
      return work.get();
    } finally {
      ComputeBackends.reset();
    }
  }

  private static void withMaxBytes(long bytes, Runnable r) {
    System.setProperty(Device.MAX_BYTES_PROPERTY, Long.toString(bytes));
    try {
      r.run();
    } finally {
      System.clearProperty(Device.MAX_BYTES_PROPERTY);
    }
  }

  static void assertSameNeighbours(SearchResult cpu, SearchResult dev, String what) {
    int k = cpu.k();
    int idMismatches = 0;
    for (int i = 0; i < cpu.nq() * k; i++) {
      float e = cpu.distances()[i];
      float a = dev.distances()[i];
      float tol = 1e-4f * Math.max(1e-3f, Math.abs(e));
      assertTrue(e == a || Math.abs(e - a) <= tol, what + ": query " + i / k + " rank " + i % k + ": gpu " + a
          + " vs cpu " + e);
      if (cpu.ids()[i] != dev.ids()[i]) {
        idMismatches++;
        // a different id is allowed only where the distances tie (within the tolerance) with a neighbour rank
        int row = i / k * k;
        boolean tie = (i > row && Math.abs(cpu.distances()[i - 1] - e) <= tol)
            || (i + 1 < row + k && Math.abs(cpu.distances()[i + 1] - e) <= tol) || i % k == k - 1;
        assertTrue(tie, what + ": query " + i / k + " rank " + i % k + ": gpu id " + dev.ids()[i] + " vs cpu id "
            + cpu.ids()[i] + " at distance " + e + " without a tie");
      }
    }
    System.out.println(what + ": " + idMismatches + " ids differ between tied distances of " + cpu.nq() * k);
  }

  private static SearchResult search(String mode, VectorIndex index, float[] q, int k, int nprobe) {
    return on(mode, () -> index.search(q, k, SearchParams.defaults().withNprobe(nprobe)));
  }

  @ParameterizedTest(name = "Flat {0} k={1}")
  @CsvSource({"L2, 10", "L2, 100", "L2, 1024", "INNER_PRODUCT, 10", "COSINE, 50"})
  void flatOnBigann(Metric metric, int k) {
    SharedData.Dataset ds = SharedData.bigann10k();
    VectorIndex flat = IndexFactory.create(ds.d(), "Flat", metric);
    flat.add(ds.base());
    float[] q = ds.queries();
    assertSameNeighbours(search("cpu", flat, q, k, 1), search("gpu", flat, q, k, 1), "Flat " + metric + " k=" + k);
    // base and queries in tiles
    withMaxBytes(2L << 20, () -> assertSameNeighbours(search("cpu", flat, q, k, 1), search("gpu", flat, q, k, 1),
        "Flat " + metric + " k=" + k + " tiled"));
  }

  @ParameterizedTest(name = "{0} {1} nprobe {2}")
  @CsvSource({"'IVF100,Flat', L2, 8", "'IVF100,Flat', INNER_PRODUCT, 8", "'IVF100,PQ16', L2, 8", "'IVF100,PQ16', INNER_PRODUCT, 8",
      "'IVF100,PQ32', L2, 16", "'IVF100,SQ8', L2, 8", "'IVF100,SQ8', INNER_PRODUCT, 8", "'IVF100,PQ16,RFlat', L2, 8"})
  void ivfOnBigann(String factory, Metric metric, int nprobe) {
    SharedData.Dataset ds = SharedData.bigann10k();
    VectorIndex index = on("cpu", () -> {
      VectorIndex ix = IndexFactory.create(ds.d(), factory, metric);
      ix.train(ds.base());
      ix.add(ds.base());
      return ix;
    });
    float[] q = ds.queries();
    SearchResult cpu = search("cpu", index, q, 10, nprobe);
    assertSameNeighbours(cpu, search("gpu", index, q, 10, nprobe), factory + " " + metric);
    // lists scanned group by group
    withMaxBytes(1L << 20, () -> assertSameNeighbours(cpu, search("gpu", index, q, 10, nprobe),
        factory + " " + metric + " in list groups"));
  }

  @Test
  void ivfOnGlove25Cosine() {
    SharedData.Dataset ds = SharedData.glove25();
    VectorIndex index = on("cpu", () -> {
      VectorIndex ix = IndexFactory.create(ds.d(), "IVF100,PQ5", Metric.COSINE);
      ix.train(ds.base());
      ix.add(ds.base());
      return ix;
    });
    float[] q = ds.queries();
    assertSameNeighbours(search("cpu", index, q, 10, 16), search("gpu", index, q, 10, 16), "glove25 IVF100,PQ5");
  }

  @Test
  void kmeansAssignmentAndEncoding() {
    SharedData.Dataset ds = SharedData.bigann10k();
    float[] x = ds.base();
    KMeans.Result cpu = on("cpu", () -> new KMeans(ds.d(), 100).niter(10).seed(SEED).train(x));
    KMeans.Result dev = on("gpu", () -> new KMeans(ds.d(), 100).niter(10).seed(SEED).train(x));
    double rel = Math.abs(cpu.finalObjective() - dev.finalObjective()) / cpu.finalObjective();
    assertTrue(rel < 1e-4, "k-means objective: cpu " + cpu.finalObjective() + " gpu " + dev.finalObjective());

    ProductQuantizer pq = new ProductQuantizer(ds.d(), 16, 8).seed(SEED);
    on("cpu", () -> {
      pq.train(x);
      return null;
    });
    byte[] a = pq.encode(x);
    byte[] b = on("gpu", () -> new PqCodec(pq).encode(x));
    assertCodesMatch(pq, x, a, b);
    ProductQuantizer pq4 = new ProductQuantizer(ds.d(), 32, 4).seed(SEED);
    on("cpu", () -> {
      pq4.train(x);
      return null;
    });
    assertCodesMatch(pq4, x, pq4.encode(x), on("gpu", () -> new PqCodec(pq4).encode(x)));

    ScalarQuantizer sq = new ScalarQuantizer(ds.d(), ScalarQuantizer.Type.SQ8);
    sq.train(x);
    assertArrayEquals(sq.encode(x), on("gpu", () -> new SqCodec(sq).encode(x)), "SQ8 codes (the same float operations)");
  }

  /** Codes equal, except sub-codes whose two centroids are equally near (within 1e-4 relative). */
  private static void assertCodesMatch(ProductQuantizer pq, float[] x, byte[] cpu, byte[] gpu) {
    int n = x.length / pq.d();
    int dsub = pq.dsub();
    float[] c = pq.centroids();
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < pq.m(); j++) {
        int ca = pq.code(cpu, i * pq.codeSize(), j);
        int cb = pq.code(gpu, i * pq.codeSize(), j);
        if (ca != cb) {
          double da = 0;
          double db = 0;
          for (int t = 0; t < dsub; t++) {
            double xa = x[i * pq.d() + j * dsub + t];
            da += Math.pow(xa - c[(j * pq.ksub() + ca) * dsub + t], 2);
            db += Math.pow(xa - c[(j * pq.ksub() + cb) * dsub + t], 2);
          }
          assertTrue(Math.abs(da - db) <= 1e-4 * Math.max(da, 1e-6), "vector " + i + " sub-space " + j + ": cpu "
              + ca + " (" + da + ") vs gpu " + cb + " (" + db + ")");
        }
      }
    }
  }

  /** Generated 1M x 128 (SIFT-like): Flat, IVF1024,Flat and IVF1024,PQ16 on 1,000 queries. */
  @Test
  void generatedMillion() {
    SyntheticData gen = new SyntheticData(128, 1000, SEED);
    float[] base = gen.generate(1_000_000, 1);
    float[] q = gen.generate(1000, 2);
    VectorIndex flat = IndexFactory.create(128, "Flat", Metric.L2);
    flat.add(base);
    assertSameNeighbours(search("cpu", flat, q, 10, 1), search("gpu", flat, q, 10, 1), "1M Flat");
    for (String factory : new String[] {"IVF1024,Flat", "IVF1024,PQ16"}) {
      VectorIndex index = on("gpu", () -> {
        VectorIndex ix = IndexFactory.create(128, factory, Metric.L2);
        ix.train(base);
        ix.add(base);
        return ix;
      });
      assertSameNeighbours(search("cpu", index, q, 10, 16), search("gpu", index, q, 10, 16), "1M " + factory);
    }
  }
}
