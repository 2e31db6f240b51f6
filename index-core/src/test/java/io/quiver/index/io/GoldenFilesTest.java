package io.quiver.index.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.quiver.index.FlatIndex;
import io.quiver.index.IvfIndex;
import io.quiver.index.Metric;
import io.quiver.index.SearchParams;
import io.quiver.index.SearchResult;
import io.quiver.index.VectorIndex;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Golden index files: tiny indexes built from hard-coded vectors, written once per released
 * format version under {@code src/test/resources/golden/v<version>/} and committed. Every file of
 * every version must keep loading with the content and search results hard-coded here, so a
 * reader change that breaks old files fails this test.
 *
 * <p>Regenerate (only when a new format version is released; old directories are never
 * rewritten) from {@code index-core}:
 * <pre>
 * mvn -pl index-core test -Dtest=GoldenFilesTest -Dquiver.golden.regenerate=true
 * </pre>
 * or run {@link #main} with the target directory as argument. Files are written to
 * {@code golden/v<VERSION_CURRENT>}. No randomness: the same code writes the same bytes.
 */
class GoldenFilesTest {

  /** Ids of the Flat L2 file; 2^40 checks that ids are stored as int64. */
  static final long[] FLAT_L2_IDS = {10, 20, 30, 1L << 40, 7};
  static final float[] FLAT_L2_VECTORS = {
      0, 0, 0, 0,
      1, 0, 0, 0,
      0, 2, 0, 0,
      1, 1, 1, 1,
      -1, 0.5f, 0, 3};

  /** Already unit length: cosine files store normalized vectors. */
  static final float[] FLAT_COSINE_VECTORS = {
      1, 0, 0, 0,
      0, 1, 0, 0,
      0.6f, 0.8f, 0, 0,
      0.5f, 0.5f, 0.5f, 0.5f};

  static final float[] IVF_L2_CENTROIDS = {0, 0, 0, 0, 10, 10, 10, 10};
  static final long[][] IVF_L2_IDS = {{1, 2, 3}, {4, 5, 6}};
  static final float[][] IVF_L2_VECTORS = {
      {0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0},
      {10, 10, 10, 11, 9, 10, 10, 10, 10, 10, 10, 10}};

  static final float[] IVF_IP_CENTROIDS = {1, 0, 0, 0, 0, 1, 0, 0};
  static final long[][] IVF_IP_IDS = {{100, 101, 102}, {200, 201}};
  static final float[][] IVF_IP_VECTORS = {
      {2, 0, 0, 0, 1, 0.5f, 0, 0, 0.5f, 0, 1, 0},
      {0, 3, 0, 0, 0.25f, 1, 0, 1}};

  /** The golden indexes by file name, built deterministically (no k-means, no randomness). */
  static Map<String, VectorIndex> goldenIndexes() {
    Map<String, VectorIndex> m = new LinkedHashMap<>();
    m.put("flat_l2.qvi", FlatIndex.fromStorage(4, Metric.L2, FLAT_L2_VECTORS.clone(), FLAT_L2_IDS.clone()));
    m.put("flat_cosine.qvi", FlatIndex.fromStorage(4, Metric.COSINE, FLAT_COSINE_VECTORS.clone(), new long[] {0, 1, 2, 3}));
    m.put("flat_ip_empty.qvi", FlatIndex.fromStorage(3, Metric.INNER_PRODUCT, new float[0], new long[0]));
    m.put("ivf_l2.qvi", IvfIndex.fromStorage(4, Metric.L2, 2, 1, IVF_L2_CENTROIDS.clone(), deepClone(IVF_L2_IDS),
        deepClone(IVF_L2_VECTORS)));
    m.put("ivf_ip.qvi", IvfIndex.fromStorage(4, Metric.INNER_PRODUCT, 2, 1, IVF_IP_CENTROIDS.clone(),
        deepClone(IVF_IP_IDS), deepClone(IVF_IP_VECTORS)));
    IvfIndex untrained = new IvfIndex(4, 2, Metric.COSINE);
    untrained.setNprobe(3);
    m.put("ivf_cosine_untrained.qvi", untrained);
    return m;
  }

  private static long[][] deepClone(long[][] a) {
    return Stream.of(a).map(long[]::clone).toArray(long[][]::new);
  }

  private static float[][] deepClone(float[][] a) {
    return Stream.of(a).map(float[]::clone).toArray(float[][]::new);
  }

  // ---- expectations, independent of goldenIndexes() ----

  private static void checkFlatL2(VectorIndex index, String ctx) {
    FlatIndex f = assertInstanceOf(FlatIndex.class, index, ctx);
    assertHeader(f, 4, Metric.L2, 5, ctx);
    assertArrayEquals(FLAT_L2_IDS, f.ids(), ctx);
    assertArrayEquals(FLAT_L2_VECTORS, f.copyRows(0, 5), ctx);
    assertArrayEquals(new float[] {-1, 0.5f, 0, 3}, f.reconstruct(7), ctx);
    assertSearch(f, new float[] {1, 0, 0, 0.5f}, 3, SearchParams.defaults(),
        new long[] {20, 10, 1L << 40}, new float[] {0.25f, 1.25f, 2.25f}, ctx);
  }

  private static void checkFlatCosine(VectorIndex index, String ctx) {
    FlatIndex f = assertInstanceOf(FlatIndex.class, index, ctx);
    assertHeader(f, 4, Metric.COSINE, 4, ctx);
    assertArrayEquals(new long[] {0, 1, 2, 3}, f.ids(), ctx);
    assertArrayEquals(FLAT_COSINE_VECTORS, f.copyRows(0, 4), ctx);
    // k = 5 > ntotal: the last result is padding
    assertSearch(f, new float[] {2, 0, 0, 0}, 5, SearchParams.defaults(),
        new long[] {0, 2, 3, 1, -1}, new float[] {1, 0.6f, 0.5f, 0, Float.NEGATIVE_INFINITY}, ctx);
  }

  private static void checkFlatIpEmpty(VectorIndex index, String ctx) {
    FlatIndex f = assertInstanceOf(FlatIndex.class, index, ctx);
    assertHeader(f, 3, Metric.INNER_PRODUCT, 0, ctx);
    assertArrayEquals(new long[0], f.ids(), ctx);
    assertSearch(f, new float[] {1, 2, 3}, 2, SearchParams.defaults(),
        new long[] {-1, -1}, new float[] {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}, ctx);
  }

  private static void checkIvfL2(VectorIndex index, String ctx) {
    IvfIndex v = assertInstanceOf(IvfIndex.class, index, ctx);
    assertHeader(v, 4, Metric.L2, 6, ctx);
    assertIvfContent(v, 1, IVF_L2_CENTROIDS, IVF_L2_IDS, IVF_L2_VECTORS, ctx);
    // nprobe 1 (stored): only list 0 is scanned; ties broken by the smaller id
    assertSearch(v, new float[] {1, 1, 1, 1}, 3, SearchParams.defaults(),
        new long[] {3, 1, 2}, new float[] {2, 3, 3}, ctx);
    assertSearch(v, new float[] {1, 1, 1, 1}, 4, SearchParams.defaults().withNprobe(2),
        new long[] {3, 1, 2, 5}, new float[] {2, 3, 3, 307}, ctx);
    assertSearch(v, new float[] {10, 10, 10, 10.5f}, 3, SearchParams.defaults(),
        new long[] {4, 6, 5}, new float[] {0.25f, 0.25f, 1.25f}, ctx);
  }

  private static void checkIvfIp(VectorIndex index, String ctx) {
    IvfIndex v = assertInstanceOf(IvfIndex.class, index, ctx);
    assertHeader(v, 4, Metric.INNER_PRODUCT, 5, ctx);
    assertIvfContent(v, 1, IVF_IP_CENTROIDS, IVF_IP_IDS, IVF_IP_VECTORS, ctx);
    assertSearch(v, new float[] {1, 0, 0, 0}, 3, SearchParams.defaults(),
        new long[] {100, 101, 102}, new float[] {2, 1, 0.5f}, ctx);
    assertSearch(v, new float[] {1, 0, 0, 0}, 5, SearchParams.defaults().withNprobe(2),
        new long[] {100, 101, 102, 201, 200}, new float[] {2, 1, 0.5f, 0.25f, 0}, ctx);
    assertSearch(v, new float[] {0, 1, 0, 1}, 3, SearchParams.defaults(),
        new long[] {200, 201, -1}, new float[] {3, 2, Float.NEGATIVE_INFINITY}, ctx);
  }

  private static void checkIvfCosineUntrained(VectorIndex index, String ctx) {
    IvfIndex v = assertInstanceOf(IvfIndex.class, index, ctx);
    assertHeader(v, 4, Metric.COSINE, 0, ctx);
    assertFalse(v.isTrained(), ctx);
    assertEquals(2, v.nlist(), ctx);
    assertEquals(3, v.nprobe(), ctx);
    assertNull(v.centroids(), ctx);
  }

  private static final Map<String, Checker> EXPECTED = Map.of(
      "flat_l2.qvi", GoldenFilesTest::checkFlatL2,
      "flat_cosine.qvi", GoldenFilesTest::checkFlatCosine,
      "flat_ip_empty.qvi", GoldenFilesTest::checkFlatIpEmpty,
      "ivf_l2.qvi", GoldenFilesTest::checkIvfL2,
      "ivf_ip.qvi", GoldenFilesTest::checkIvfIp,
      "ivf_cosine_untrained.qvi", GoldenFilesTest::checkIvfCosineUntrained);

  @FunctionalInterface
  private interface Checker {
    void check(VectorIndex index, String ctx);
  }

  private static void assertHeader(VectorIndex index, int d, Metric metric, long ntotal, String ctx) {
    assertEquals(d, index.d(), ctx + ": d");
    assertEquals(metric, index.metric(), ctx + ": metric");
    assertEquals(ntotal, index.ntotal(), ctx + ": ntotal");
  }

  private static void assertIvfContent(IvfIndex v, int nprobe, float[] centroids, long[][] ids, float[][] vectors,
                                       String ctx) {
    assertTrue(v.isTrained(), ctx);
    assertEquals(ids.length, v.nlist(), ctx + ": nlist");
    assertEquals(nprobe, v.nprobe(), ctx + ": nprobe");
    assertArrayEquals(centroids, v.centroids(), ctx + ": centroids");
    for (int l = 0; l < ids.length; l++) {
      assertArrayEquals(ids[l], v.listIds(l), ctx + ": ids of list " + l);
      assertArrayEquals(vectors[l], v.listVectors(l), ctx + ": vectors of list " + l);
    }
  }

  private static void assertSearch(VectorIndex index, float[] query, int k, SearchParams p, long[] ids, float[] dist,
                                   String ctx) {
    SearchResult r = index.search(query, k, p.withThreads(1));
    assertArrayEquals(ids, r.ids(), ctx + ": ids of search " + java.util.Arrays.toString(query) + " " + p);
    assertArrayEquals(dist, r.distances(), 1e-6f, ctx + ": distances of search " + java.util.Arrays.toString(query));
  }

  // ---- the golden directories ----

  /** The {@code golden/v<N>} directories on the test class path. */
  static List<Path> versionDirs() throws IOException, URISyntaxException {
    URL root = GoldenFilesTest.class.getResource("/golden");
    assertNotNull(root, "src/test/resources/golden is missing from the test class path");
    try (Stream<Path> s = Files.list(Paths.get(root.toURI()))) {
      return s.filter(p -> p.getFileName().toString().matches("v\\d+")).sorted().collect(Collectors.toList());
    }
  }

  static List<Path> filesOf(Path versionDir) throws IOException {
    try (Stream<Path> s = Files.list(versionDir)) {
      return s.filter(Files::isRegularFile).sorted().collect(Collectors.toList());
    }
  }

  @Test
  void theCurrentVersionHasGoldenFiles() throws Exception {
    List<String> versions = new ArrayList<>();
    for (Path p : versionDirs()) {
      versions.add(p.getFileName().toString());
    }
    assertTrue(versions.contains("v" + IndexFormat.VERSION_CURRENT), "no golden files for VERSION_CURRENT="
        + IndexFormat.VERSION_CURRENT + " (found " + versions + "): regenerate them, see GoldenFilesTest's Javadoc");
  }

  @Test
  void everyGoldenDirectoryHoldsExactlyTheExpectedFiles() throws Exception {
    for (Path vdir : versionDirs()) {
      List<String> names = filesOf(vdir).stream().map(p -> p.getFileName().toString()).sorted()
          .collect(Collectors.toList());
      List<String> expected = EXPECTED.keySet().stream().sorted().collect(Collectors.toList());
      assertEquals(expected, names, "files in " + vdir);
    }
  }

  @Test
  void everyGoldenFileLoadsWithItsExpectedContentAndResults() throws Exception {
    int checked = 0;
    for (Path vdir : versionDirs()) {
      for (Path file : filesOf(vdir)) {
        String name = file.getFileName().toString();
        Checker checker = EXPECTED.get(name);
        assertNotNull(checker, "no expectations for golden file " + file);
        String ctx = vdir.getFileName() + "/" + name;
        checker.check(IndexIO.read(file), ctx + " (path)");
        try (InputStream in = Files.newInputStream(file)) {
          checker.check(IndexIO.read(in, file.toString()), ctx + " (stream)");
          assertEquals(-1, in.read(), ctx + ": the reader consumes the whole file");
        }
        checked++;
      }
    }
    assertTrue(checked >= EXPECTED.size(), "checked " + checked + " golden files");
  }

  /** The builders here match the expectations (so regenerated files will pass). */
  @Test
  void theGoldenIndexesMatchTheExpectations() {
    goldenIndexes().forEach((name, index) -> EXPECTED.get(name).check(index, "built " + name));
  }

  /**
   * While the current version is the one the golden files were written with, the writer must
   * reproduce them byte for byte: a layout change without a new version number fails here.
   */
  @Test
  void theWriterReproducesTheGoldenBytesOfTheCurrentVersion() throws Exception {
    Path current = versionDirs().stream().filter(p -> p.getFileName().toString().equals("v" + IndexFormat.VERSION_CURRENT))
        .findFirst().orElse(null);
    assumeTrue(current != null, "no golden files for the current version");
    for (Map.Entry<String, VectorIndex> e : goldenIndexes().entrySet()) {
      byte[] golden = Files.readAllBytes(current.resolve(e.getKey()));
      assertArrayEquals(golden, IndexFiles.bytesOf(e.getValue()), "bytes of " + e.getKey()
          + ": the writer changed the layout without a new format version");
    }
  }

  /** Writes the golden files for the current version (off unless -Dquiver.golden.regenerate=true). */
  @Test
  @EnabledIfSystemProperty(named = "quiver.golden.regenerate", matches = "true")
  void regenerate() throws IOException {
    Path dir = Paths.get(System.getProperty("quiver.golden.dir",
        "src/test/resources/golden/v" + IndexFormat.VERSION_CURRENT));
    write(dir);
  }

  /** Writes the golden files into {@code args[0]} (default {@code src/test/resources/golden/v<current>}). */
  public static void main(String[] args) throws IOException {
    write(Paths.get(args.length > 0 ? args[0] : "src/test/resources/golden/v" + IndexFormat.VERSION_CURRENT));
  }

  private static void write(Path dir) throws IOException {
    Files.createDirectories(dir);
    for (Map.Entry<String, VectorIndex> e : goldenIndexes().entrySet()) {
      Path file = dir.resolve(e.getKey());
      IndexIO.write(e.getValue(), file);
      System.out.println("wrote " + file.toAbsolutePath() + " (" + Files.size(file) + " bytes)");
    }
  }
}
