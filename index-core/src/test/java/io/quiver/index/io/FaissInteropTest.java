package io.quiver.index.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.quiver.index.FlatCodesIndex;
import io.quiver.index.IndexFactory;
import io.quiver.index.IvfCodesIndex;
import io.quiver.index.Metric;
import io.quiver.index.SearchResult;
import io.quiver.index.TestData;
import io.quiver.index.VectorIndex;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * FAISS files both ways, for every index type Quiver and FAISS share: Quiver writes, FAISS
 * ({@code faiss.read_index}) reads and searches; FAISS writes, Quiver reads and searches; the two
 * searches must return the same ids and distances (ties and near-ties aside: a differing id must
 * have, within the tolerance, the distance of the rank it takes in the other result, or of the
 * k-th one). Runs against FAISS 1.15 and Debian's 1.7.3 where present (see {@link FaissPeers}).
 */
class FaissInteropTest {

  static final long SEED = 0xFA155L;
  static final int D = 32;
  static final int N = 3000;
  static final int NQ = 40;
  static final int K = 10;
  static final int NPROBE = 4;
  /** Distances agree to this relative tolerance (of max(1, |distance|)): float rounding of sums in another order. */
  static final float REL_TOL = 2e-4f;

  /** One index of the test: a factory string, a metric, and whether ids are not 0 .. n-1. */
  record Case(String factory, Metric metric, boolean ids) {
    String name() {
      return factory.replace(',', '_') + "-" + metric.name().toLowerCase(Locale.ROOT) + (ids ? "-ids" : "");
    }

    boolean ivf() {
      return factory.startsWith("IVF");
    }
  }

  static List<Case> cases() {
    List<Case> out = new ArrayList<>();
    String[] factories = {"Flat", "PQ8", "PQ8x4", "SQ8", "SQ4", "SQfp16", "IVF16,Flat", "IVF16,PQ8", "IVF16,PQ8x4",
        "IVF16,SQ8", "IVF16,SQ4", "IVF16,SQfp16"};
    for (String f : factories) {
      out.add(new Case(f, Metric.L2, false));
      out.add(new Case(f, Metric.INNER_PRODUCT, false));
    }
    for (String f : new String[] {"Flat", "SQ8", "IVF16,PQ8"}) {
      out.add(new Case(f, Metric.COSINE, false));
    }
    for (String f : new String[] {"Flat", "PQ8", "SQ8", "IVF16,Flat", "IVF16,SQ8"}) {
      out.add(new Case(f, Metric.L2, true));
    }
    return out;
  }

  static float[] base() {
    return TestData.clustered(SEED, N, D, 24, 3.0);
  }

  static float[] queries() {
    return TestData.clustered(SEED + 1, NQ, D, 24, 3.0);
  }

  static long[] baseIds() {
    long[] ids = new long[N];
    for (int i = 0; i < N; i++) {
      ids[i] = 1_000_003L * (N - i) + 17; // neither sequential nor ordered
    }
    return ids;
  }

  /** Quiver's index of a case, trained and filled (seeded training). */
  static VectorIndex quiverIndex(Case c) {
    VectorIndex index = IndexFactory.create(D, c.factory(), c.metric());
    float[] x = base();
    index.train(x);
    if (c.ids()) {
      index.addWithIds(x, baseIds());
    } else {
      index.add(x);
    }
    if (index instanceof IvfCodesIndex<?> ivf) {
      ivf.setNprobe(NPROBE);
    }
    return index;
  }

  // ---- FAISS reads what Quiver writes ----

  @ParameterizedTest
  @ValueSource(strings = {"1.15", "1.7.3"})
  void faissReadsAndSearchesWhatQuiverWrites(String version, @TempDir Path dir) throws IOException {
    FaissPeers.Peer peer = version.equals("1.15") ? FaissPeers.require115() : FaissPeers.require173();
    List<Case> cases = cases();
    List<SearchResult> expected = new ArrayList<>();
    for (Case c : cases) {
      VectorIndex index = quiverIndex(c);
      FaissIO.write(index, dir.resolve(c.name() + ".faiss"));
      expected.add(index.search(queries(), K));
    }
    String out = runPeer(peer, "search", dir, cases, false);
    for (int i = 0; i < cases.size(); i++) {
      Case c = cases.get(i);
      String ctx = peer.label() + " reading Quiver's " + c.name() + ", seed=" + SEED;
      String cls = faissClass(c);
      // 1.7.3's downcast_index gives IndexFlat for IndexFlatL2 and IndexFlatIP
      String legacy = cls.startsWith("IndexFlat") ? "IndexFlat" : cls;
      assertTrue(out.contains("\"" + c.name() + "\": {\"class\": \"" + cls + "\", \"ntotal\": " + N + "}")
          || out.contains("\"" + c.name() + "\": {\"class\": \"" + legacy + "\", \"ntotal\": " + N + "}"),
          ctx + ": FAISS must read it as a " + cls + " of " + N + " vectors: " + out);
      assertSameResults(ctx, expected.get(i).ids(), expected.get(i).distances(), readLongs(dir.resolve(c.name() + ".ids")),
          readFloats(dir.resolve(c.name() + ".dist")));
    }
  }

  /** The FAISS class {@code faiss.read_index} must make of a case's file. */
  static String faissClass(Case c) {
    String base = switch (c.factory().replaceFirst("^IVF16,", "")) {
      case "Flat" -> c.ivf() ? "IndexIVFFlat" : c.metric() == Metric.L2 ? "IndexFlatL2" : "IndexFlatIP";
      case "PQ8", "PQ8x4" -> c.ivf() ? "IndexIVFPQ" : "IndexPQ";
      default -> c.ivf() ? "IndexIVFScalarQuantizer" : "IndexScalarQuantizer";
    };
    return c.ids() && !c.ivf() ? "IndexIDMap2" : base;
  }

  // ---- Quiver reads what FAISS writes ----

  @ParameterizedTest
  @ValueSource(strings = {"1.15", "1.7.3"})
  void quiverReadsAndSearchesWhatFaissWrites(String version, @TempDir Path dir) throws IOException {
    FaissPeers.Peer peer = version.equals("1.15") ? FaissPeers.require115() : FaissPeers.require173();
    List<Case> cases = cases();
    writeFloats(dir.resolve("base.f32"), base());
    writeLongs(dir.resolve("base_ids.i64"), baseIds());
    runPeer(peer, "build", dir, cases, true);
    for (Case c : cases) {
      String ctx = "Quiver reading " + peer.label() + "'s " + c.name() + ", seed=" + SEED;
      VectorIndex index = FaissIO.read(dir.resolve(c.name() + ".faiss"));
      Metric read = c.metric() == Metric.L2 ? Metric.L2 : Metric.INNER_PRODUCT;
      assertEquals(read, index.metric(), ctx);
      assertEquals(N, index.ntotal(), ctx);
      assertEquals(c.factory(), index.factoryString(), ctx);
      if (index instanceof IvfCodesIndex<?> ivf) {
        assertEquals(NPROBE, ivf.nprobe(), ctx + ": the stored nprobe");
      }
      float[] q = queries();
      if (c.metric() == Metric.COSINE) {
        q = normalized(q);
      }
      SearchResult r = index.search(q, K);
      assertSameResults(ctx, readLongs(dir.resolve(c.name() + ".ids")), readFloats(dir.resolve(c.name() + ".dist")),
          r.ids(), r.distances());
    }
  }

  // ---- without FAISS: Quiver's own round trip through the FAISS format ----

  @Test
  void roundTripKeepsEveryResultExactly() throws IOException {
    for (Case c : cases()) {
      String ctx = c.name() + ", seed=" + SEED;
      VectorIndex index = quiverIndex(c);
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      FaissIO.write(index, bytes);
      VectorIndex back = FaissIO.read(new ByteArrayInputStream(bytes.toByteArray()), ctx, bytes.size());
      assertEquals(index.getClass(), back.getClass(), ctx);
      assertEquals(index.factoryString(), back.factoryString(), ctx);
      assertEquals(index.ntotal(), back.ntotal(), ctx);
      float[] q = queries();
      if (c.metric() == Metric.COSINE) {
        assertEquals(Metric.INNER_PRODUCT, back.metric(), ctx + ": cosine is written as inner product");
        q = normalized(q);
      } else {
        assertEquals(c.metric(), back.metric(), ctx);
      }
      SearchResult a = index.search(queries(), K);
      SearchResult b = back.search(q, K);
      assertArrayEquals(a.ids(), b.ids(), ctx + ": ids");
      if (c.metric() != Metric.COSINE) {
        assertArrayEquals(a.distances(), b.distances(), ctx + ": distances");
      } else {
        assertSameResults(ctx, a.ids(), a.distances(), b.ids(), b.distances());
      }
      if (index instanceof FlatCodesIndex<?> flat) {
        assertArrayEquals(flat.ids(), ((FlatCodesIndex<?>) back).ids(), ctx + ": ids in storage order");
      } else {
        IvfCodesIndex<?> ivf = (IvfCodesIndex<?>) index;
        IvfCodesIndex<?> ivfBack = (IvfCodesIndex<?>) back;
        assertArrayEquals(ivf.centroids(), ivfBack.centroids(), ctx + ": centroids");
        for (int l = 0; l < ivf.nlist(); l++) {
          assertArrayEquals(ivf.listIds(l), ivfBack.listIds(l), ctx + ": ids of list " + l);
          assertArrayEquals(ivf.listCodes(l), ivfBack.listCodes(l), ctx + ": codes of list " + l);
        }
      }
      // writing what was read gives the same bytes
      ByteArrayOutputStream again = new ByteArrayOutputStream();
      FaissIO.write(back, again);
      assertArrayEquals(bytes.toByteArray(), again.toByteArray(), ctx + ": rewritten bytes");
    }
  }

  @Test
  void streamedIvfWriterMatchesTheWholeIndexWriter() throws IOException {
    VectorIndex index = quiverIndex(new Case("IVF16,PQ8", Metric.L2, true));
    IvfCodesIndex<?> ivf = (IvfCodesIndex<?>) index;
    ByteArrayOutputStream whole = new ByteArrayOutputStream();
    FaissIO.write(index, whole);
    long[] sizes = new long[ivf.nlist()];
    for (int l = 0; l < sizes.length; l++) {
      sizes[l] = ivf.listSize(l);
    }
    ByteArrayOutputStream streamed = new ByteArrayOutputStream();
    FaissIO.IvfWriter w = FaissIO.ivfWriter(ivf.emptyCopy(), sizes, streamed);
    for (int l = 0; l < sizes.length; l++) {
      w.writeList(l, ivf.listIds(l), ivf.listCodes(l));
    }
    w.finish();
    assertArrayEquals(whole.toByteArray(), streamed.toByteArray());
  }

  @Test
  void ivfWriterRefusesListsOutOfOrderOrOfAnotherSize() throws IOException {
    IvfCodesIndex<?> ivf = (IvfCodesIndex<?>) quiverIndex(new Case("IVF16,SQ8", Metric.L2, false));
    long[] sizes = new long[ivf.nlist()];
    for (int l = 0; l < sizes.length; l++) {
      sizes[l] = ivf.listSize(l);
    }
    int first = 0;
    while (sizes[first] == 0) {
      first++;
    }
    int l0 = first;
    FaissIO.IvfWriter w = FaissIO.ivfWriter(ivf, sizes, new ByteArrayOutputStream());
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> w.writeList(l0, new long[1], new byte[ivf.codeSize()]));
    assertTrue(e.getMessage().contains("list " + l0 + " was announced with " + sizes[l0]), e.getMessage());
    w.writeList(l0, ivf.listIds(l0), ivf.listCodes(l0));
    e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> w.writeList(l0, ivf.listIds(l0), ivf.listCodes(l0)));
    assertTrue(e.getMessage().contains("out of order"), e.getMessage());
    IllegalStateException s = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, w::finish);
    assertTrue(s.getMessage().contains("was not written"), s.getMessage());
  }

  @Test
  void indexesWithoutAFaissTypeAreRefusedBeforeWriting() {
    VectorIndex refine = IndexFactory.create(D, "PQ8,RFlat", Metric.L2);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> FaissIO.write(refine, out));
    assertTrue(e.getMessage().contains("RefineIndex"), e.getMessage());
    assertEquals(0, out.size());
  }

  // ---- comparison ----

  /** Ids and distances of two nq x K results agree, but for near-ties (see the class comment). */
  static void assertSameResults(String ctx, long[] ia, float[] da, long[] ib, float[] db) {
    assertEquals(NQ * K, ia.length, ctx);
    assertEquals(NQ * K, ib.length, ctx);
    for (int q = 0; q < NQ; q++) {
      for (int r = 0; r < K; r++) {
        int o = q * K + r;
        float tol = REL_TOL * Math.max(1f, Math.abs(da[o]));
        if (!(Math.abs(da[o] - db[o]) <= tol)) {
          fail(ctx + ": query " + q + " rank " + r + ": distance " + da[o] + " (id " + ia[o] + ") against " + db[o]
              + " (id " + ib[o] + "), tolerance " + tol);
        }
        if (ia[o] != ib[o]) {
          if (!nearTie(ia[o], da[o], ib, db, q, tol) || !nearTie(ib[o], db[o], ia, da, q, tol)) {
            fail(ctx + ": query " + q + " rank " + r + ": id " + ia[o] + " (" + da[o] + ") against id " + ib[o] + " ("
                + db[o] + "), which is no near-tie (tolerance " + tol + ")");
          }
        }
      }
    }
  }

  /** {@code id} (at distance {@code dist}) is in the other row at about that distance, or ties its k-th. */
  private static boolean nearTie(long id, float dist, long[] ids, float[] dists, int q, float tol) {
    for (int r = 0; r < K; r++) {
      if (ids[q * K + r] == id) {
        return Math.abs(dists[q * K + r] - dist) <= tol;
      }
    }
    return Math.abs(dists[q * K + K - 1] - dist) <= tol;
  }

  static float[] normalized(float[] x) {
    float[] out = x.clone();
    for (int i = 0; i < out.length; i += D) {
      double s = 0;
      for (int j = 0; j < D; j++) {
        s += (double) out[i + j] * out[i + j];
      }
      float inv = (float) (1 / Math.sqrt(s));
      for (int j = 0; j < D; j++) {
        out[i + j] *= inv;
      }
    }
    return out;
  }

  // ---- the peer ----

  /** Writes spec.json and queries.f32, runs faiss_interop.py MODE DIR, returns its JSON output. */
  static String runPeer(FaissPeers.Peer peer, String mode, Path dir, List<Case> cases, boolean build)
      throws IOException {
    StringBuilder spec = new StringBuilder("{\"d\": " + D + ", \"k\": " + K + ", \"cases\": [");
    for (int i = 0; i < cases.size(); i++) {
      Case c = cases.get(i);
      spec.append(i > 0 ? ", " : "").append("{\"name\": \"").append(c.name()).append("\", \"factory\": \"")
          .append(c.factory()).append("\", \"metric\": \"").append(c.metric() == Metric.L2 ? "l2" : "ip")
          .append("\", \"normalize\": ").append(c.metric() == Metric.COSINE).append(", \"nprobe\": ").append(NPROBE)
          .append(", \"ids\": ").append(c.ids()).append("}");
    }
    Files.writeString(dir.resolve("spec.json"), spec.append("]}").toString());
    writeFloats(dir.resolve("queries.f32"), queries());
    Path script = dir.resolve("faiss_interop.py");
    try (InputStream in = FaissInteropTest.class.getResourceAsStream("faiss_interop.py")) {
      Files.copy(in, script);
    }
    FaissPeers.Result r = FaissPeers.run(peer.pythonPath(), 600, script.toString(), mode, dir.toString());
    if (r.rc() != 0) {
      fail(peer.label() + " " + mode + " failed (exit " + r.rc() + "):\n" + r.stderr());
    }
    assertTrue(r.stdout().contains("\"version\": \"" + peer.version() + "\""), r.stdout());
    return r.stdout();
  }

  static void writeFloats(Path file, float[] x) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(4 * x.length).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(x);
    Files.write(file, b.array());
  }

  static void writeLongs(Path file, long[] x) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(8 * x.length).order(ByteOrder.LITTLE_ENDIAN);
    b.asLongBuffer().put(x);
    Files.write(file, b.array());
  }

  static float[] readFloats(Path file) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    float[] x = new float[b.remaining() / 4];
    b.asFloatBuffer().get(x);
    return x;
  }

  static long[] readLongs(Path file) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    long[] x = new long[b.remaining() / 8];
    b.asLongBuffer().get(x);
    return x;
  }
}
