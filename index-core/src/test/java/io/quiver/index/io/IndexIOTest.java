package io.quiver.index.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.FlatIndex;
import io.quiver.index.IvfIndex;
import io.quiver.index.Metric;
import io.quiver.index.SearchParams;
import io.quiver.index.SearchResult;
import io.quiver.index.VectorIndex;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Round trips of Flat and IVF indexes through streams and paths, and the writer's guarantees. */
class IndexIOTest {

  /** Seed of every random input in this class; failure messages print it. */
  static final long SEED = 0x51_5EEDL;

  @TempDir
  Path dir;

  static float[] randomVectors(Random rnd, int n, int d) {
    float[] x = new float[n * d];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) rnd.nextGaussian();
    }
    return x;
  }

  /** A Flat index of n random vectors with scattered, non-sequential ids. */
  static FlatIndex randomFlat(Metric metric, Random rnd, int n, int d) {
    FlatIndex index = new FlatIndex(d, metric);
    long[] ids = new long[n];
    for (int i = 0; i < n; i++) {
      ids[i] = 1_000_000_007L * i + rnd.nextInt(1000);
    }
    index.addWithIds(randomVectors(rnd, n, d), ids);
    return index;
  }

  /** A trained IVF index of n random vectors, nprobe set to 3 so that the stored value matters. */
  static IvfIndex randomIvf(Metric metric, Random rnd, int n, int d, int nlist) {
    IvfIndex index = new IvfIndex(d, nlist, metric);
    index.setTrainSeed(rnd.nextLong());
    index.train(randomVectors(rnd, Math.max(n, 40 * nlist), d));
    index.add(randomVectors(rnd, n, d));
    index.setNprobe(3);
    return index;
  }

  static VectorIndex throughStream(VectorIndex index) throws IOException {
    return IndexFiles.readBytes(IndexFiles.bytesOf(index), "round-trip" + IndexFormat.FILE_EXTENSION);
  }

  VectorIndex throughPath(VectorIndex index) throws IOException {
    Path file = dir.resolve("index" + IndexFormat.FILE_EXTENSION);
    IndexIO.write(index, file);
    return IndexIO.read(file);
  }

  static void assertSameFlat(FlatIndex expected, VectorIndex actual, String ctx) {
    FlatIndex got = assertInstanceOf(FlatIndex.class, actual, ctx);
    assertEquals(expected.d(), got.d(), ctx);
    assertEquals(expected.metric(), got.metric(), ctx);
    assertEquals(expected.ntotal(), got.ntotal(), ctx);
    assertArrayEquals(expected.ids(), got.ids(), ctx + ": ids");
    int n = (int) expected.ntotal();
    assertArrayEquals(expected.copyRows(0, n), got.copyRows(0, n), ctx + ": vectors");
  }

  static void assertSameIvf(IvfIndex expected, VectorIndex actual, String ctx) {
    IvfIndex got = assertInstanceOf(IvfIndex.class, actual, ctx);
    assertEquals(expected.d(), got.d(), ctx);
    assertEquals(expected.metric(), got.metric(), ctx);
    assertEquals(expected.ntotal(), got.ntotal(), ctx);
    assertEquals(expected.nlist(), got.nlist(), ctx);
    assertEquals(expected.nprobe(), got.nprobe(), ctx);
    assertEquals(expected.isTrained(), got.isTrained(), ctx);
    assertArrayEquals(expected.centroids(), got.centroids(), ctx + ": centroids");
    for (int l = 0; l < expected.nlist(); l++) {
      assertArrayEquals(expected.listIds(l), got.listIds(l), ctx + ": ids of list " + l);
      assertArrayEquals(expected.listVectors(l), got.listVectors(l), ctx + ": vectors of list " + l);
    }
  }

  /** Same neighbours and bit-identical distances for the same queries. */
  static void assertSameSearch(VectorIndex expected, VectorIndex actual, float[] queries, int k, SearchParams p,
                               String ctx) {
    SearchResult a = expected.search(queries, k, p);
    SearchResult b = actual.search(queries, k, p);
    assertArrayEquals(a.ids(), b.ids(), ctx + ": search ids");
    assertArrayEquals(a.distances(), b.distances(), ctx + ": search distances");
  }

  @ParameterizedTest
  @EnumSource(Metric.class)
  void flatRoundTripThroughStream(Metric metric) throws IOException {
    String ctx = "Flat " + metric + " via stream, seed=" + SEED;
    Random rnd = new Random(SEED);
    FlatIndex index = randomFlat(metric, rnd, 300, 16);
    VectorIndex back = throughStream(index);
    assertSameFlat(index, back, ctx);
    assertSameSearch(index, back, randomVectors(rnd, 25, 16), 10, SearchParams.defaults(), ctx);
    long someId = index.ids()[123];
    assertArrayEquals(index.reconstruct(someId), back.reconstruct(someId), ctx);
  }

  @ParameterizedTest
  @EnumSource(Metric.class)
  void flatRoundTripThroughPath(Metric metric) throws IOException {
    String ctx = "Flat " + metric + " via path, seed=" + SEED;
    Random rnd = new Random(SEED + 1);
    FlatIndex index = randomFlat(metric, rnd, 257, 7);
    VectorIndex back = throughPath(index);
    assertSameFlat(index, back, ctx);
    assertSameSearch(index, back, randomVectors(rnd, 5, 7), 12, SearchParams.defaults(), ctx);
  }

  @ParameterizedTest
  @EnumSource(Metric.class)
  void ivfRoundTripThroughStream(Metric metric) throws IOException {
    String ctx = "IVF " + metric + " via stream, seed=" + SEED;
    Random rnd = new Random(SEED + 2);
    IvfIndex index = randomIvf(metric, rnd, 600, 8, 8);
    VectorIndex back = throughStream(index);
    assertSameIvf(index, back, ctx);
    float[] q = randomVectors(rnd, 30, 8);
    assertSameSearch(index, back, q, 10, SearchParams.defaults(), ctx + ", stored nprobe");
    assertSameSearch(index, back, q, 10, SearchParams.defaults().withNprobe(8), ctx + ", nprobe=8");
    long someId = index.listIds(0).length > 0 ? index.listIds(0)[0] : index.listIds(1)[0];
    assertArrayEquals(index.reconstruct(someId), back.reconstruct(someId), ctx);
  }

  @ParameterizedTest
  @EnumSource(Metric.class)
  void ivfRoundTripThroughPath(Metric metric) throws IOException {
    String ctx = "IVF " + metric + " via path, seed=" + SEED;
    Random rnd = new Random(SEED + 3);
    IvfIndex index = randomIvf(metric, rnd, 500, 12, 6);
    VectorIndex back = throughPath(index);
    assertSameIvf(index, back, ctx);
    assertSameSearch(index, back, randomVectors(rnd, 21, 12), 7, SearchParams.defaults().withNprobe(2), ctx);
  }

  @ParameterizedTest
  @EnumSource(Metric.class)
  void untrainedIvfRoundTripsAndCanBeTrainedAfterwards(Metric metric) throws IOException {
    String ctx = "untrained IVF " + metric + ", seed=" + SEED;
    IvfIndex index = new IvfIndex(5, 4, metric);
    index.setNprobe(2);
    for (VectorIndex back : List.of(throughStream(index), throughPath(index))) {
      assertSameIvf(index, back, ctx);
      assertFalse(back.isTrained(), ctx);
      assertNull(((IvfIndex) back).centroids(), ctx);
      assertThrows(IllegalStateException.class, () -> back.search(new float[5], 1), ctx);
      Random rnd = new Random(SEED + 4);
      back.train(randomVectors(rnd, 200, 5));
      back.add(randomVectors(rnd, 10, 5));
      assertEquals(10, back.ntotal(), ctx);
    }
  }

  @Test
  void emptyIndexesRoundTrip() throws IOException {
    FlatIndex flat = new FlatIndex(3, Metric.INNER_PRODUCT);
    assertSameFlat(flat, throughStream(flat), "empty Flat");
    assertSameFlat(flat, throughPath(flat), "empty Flat via path");
    // trained but empty, with more lists than vectors later
    Random rnd = new Random(SEED + 5);
    IvfIndex ivf = new IvfIndex(3, 4, Metric.L2);
    ivf.train(randomVectors(rnd, 100, 3));
    assertSameIvf(ivf, throughStream(ivf), "empty trained IVF, seed=" + SEED);
  }

  @Test
  void ivfWithManyEmptyListsRoundTrips() throws IOException {
    String ctx = "IVF nlist=64 n=10, seed=" + SEED;
    Random rnd = new Random(SEED + 6);
    IvfIndex ivf = new IvfIndex(4, 64, Metric.L2);
    ivf.train(randomVectors(rnd, 64 * 40, 4));
    ivf.add(randomVectors(rnd, 10, 4));
    VectorIndex back = throughPath(ivf);
    assertSameIvf(ivf, back, ctx);
    assertSameSearch(ivf, back, randomVectors(rnd, 4, 4), 5, SearchParams.defaults().withNprobe(64), ctx);
  }

  /** Larger than the reader's growth chunk, so arrays grow several times when the length is unknown. */
  @Test
  void largeIndexThroughAStreamOfUnknownLength() throws IOException {
    String ctx = "Flat n=70000 d=8 via stream, seed=" + SEED;
    Random rnd = new Random(SEED + 7);
    FlatIndex flat = randomFlat(Metric.L2, rnd, 70_000, 8);
    assertTrue(70_000L * 8 * 4 > 2L * FormatInput.GROW_CHUNK_BYTES, "the test must exercise growth");
    VectorIndex back = throughStream(flat);
    assertSameFlat(flat, back, ctx);
    IvfIndex ivf = randomIvf(Metric.INNER_PRODUCT, rnd, 70_000, 8, 2);
    assertSameIvf(ivf, throughStream(ivf), "IVF n=70000 nlist=2 via stream, seed=" + SEED);
  }

  /** A stream that hands out one byte per read call, as a slow network stream may. */
  @Test
  void readsFromAStreamThatDeliversOneByteAtATime() throws IOException {
    Random rnd = new Random(SEED + 8);
    IvfIndex ivf = randomIvf(Metric.L2, rnd, 200, 4, 4);
    byte[] bytes = IndexFiles.bytesOf(ivf);
    InputStream trickle = new FilterInputStream(new ByteArrayInputStream(bytes)) {
      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        return super.read(b, off, Math.min(len, 1));
      }
    };
    assertSameIvf(ivf, IndexIO.read(trickle, "trickle"), "one byte per read, seed=" + SEED);
  }

  @Test
  void fileSizeAndHeaderMatchTheDocumentedLayout() throws IOException {
    Random rnd = new Random(SEED + 9);
    int n = 11;
    int d = 5;
    FlatIndex flat = randomFlat(Metric.COSINE, rnd, n, d);
    byte[] b = IndexFiles.bytesOf(flat);
    assertEquals(IndexFormat.HEADER_BYTES + 2 * IndexFormat.SECTION_HEADER_BYTES + 8 * n + 4 * n * d
        + IndexFormat.FOOTER_BYTES, b.length, "Flat file size");
    assertEquals("QVR1", new String(b, IndexFormat.OFFSET_MAGIC, 4, StandardCharsets.US_ASCII));
    assertEquals(IndexFormat.VERSION_CURRENT, IndexFiles.getInt(b, IndexFormat.OFFSET_VERSION));
    assertEquals("FLAT", new String(b, IndexFormat.OFFSET_FILE_TYPE, 4, StandardCharsets.US_ASCII));
    assertEquals(d, IndexFiles.getInt(b, IndexFormat.OFFSET_D));
    assertEquals(Metric.COSINE.code(), IndexFiles.getInt(b, IndexFormat.OFFSET_METRIC));
    assertEquals(n, IndexFiles.getLong(b, IndexFormat.OFFSET_NTOTAL));
    assertEquals("IDS_ VECS", sectionNames(b));
    assertEquals("QEND", new String(b, b.length - 8, 4, StandardCharsets.US_ASCII));
    assertEquals(flat.ids()[0], IndexFiles.getLong(b, IndexFiles.section(b, "IDS_").payloadStart()));

    int nlist = 3;
    IvfIndex ivf = randomIvf(Metric.L2, rnd, 40, d, nlist);
    byte[] c = IndexFiles.bytesOf(ivf);
    assertEquals(IndexFormat.HEADER_BYTES + 5 * IndexFormat.SECTION_HEADER_BYTES + IndexFormat.IVF_PARAMS_BYTES
        + 4 * nlist * d + 8 * nlist + 8 * 40 + 4 * 40 * d + IndexFormat.FOOTER_BYTES, c.length, "IVF file size");
    assertEquals("IVFF", new String(c, IndexFormat.OFFSET_FILE_TYPE, 4, StandardCharsets.US_ASCII));
    assertEquals("PRMS CENT LSIZ LIDS LVEC", sectionNames(c));
    int prms = IndexFiles.section(c, "PRMS").payloadStart();
    assertEquals(nlist, IndexFiles.getInt(c, prms));
    assertEquals(3, IndexFiles.getInt(c, prms + 4));
    assertEquals(IndexFormat.IVF_FLAG_TRAINED, IndexFiles.getInt(c, prms + 8));
    int lsiz = IndexFiles.section(c, "LSIZ").payloadStart();
    for (int l = 0; l < nlist; l++) {
      assertEquals(ivf.listSize(l), IndexFiles.getLong(c, lsiz + 8 * l), "size of list " + l);
    }

    byte[] u = IndexFiles.bytesOf(new IvfIndex(d, nlist, Metric.L2));
    assertEquals("PRMS LSIZ LIDS LVEC", sectionNames(u), "untrained IVF has no CENT");
    assertEquals(0, IndexFiles.getInt(u, IndexFiles.section(u, "PRMS").payloadStart() + 8), "untrained flags");
  }

  private static String sectionNames(byte[] file) {
    return IndexFiles.sections(file).stream()
        .map(s -> IndexFormat.fourccToString(s.fourcc()).replace("'", ""))
        .collect(Collectors.joining(" "));
  }

  @Test
  void writingLeavesTheStreamOpenAndReadingStopsAtTheFooter() throws IOException {
    Random rnd = new Random(SEED + 10);
    FlatIndex a = randomFlat(Metric.L2, rnd, 20, 4);
    IvfIndex b = randomIvf(Metric.COSINE, rnd, 50, 4, 2);
    boolean[] closed = {false};
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    OutputStream out = new FilterOutputStream(sink) {
      @Override
      public void close() {
        closed[0] = true;
      }
    };
    IndexIO.write(a, out);
    IndexIO.write(b, out);
    out.write(0x5A);
    assertFalse(closed[0], "write must not close the caller's stream");
    InputStream in = new ByteArrayInputStream(sink.toByteArray());
    assertSameFlat(a, IndexIO.read(in, "concatenated#0"), "first of two concatenated files");
    assertSameIvf(b, IndexIO.read(in, "concatenated#1"), "second of two concatenated files, seed=" + SEED);
    assertEquals(0x5A, in.read(), "the reader must stop right after the footer");
  }

  @Test
  void pathWriteReplacesAnExistingFileAndLeavesNoTemporaryFiles() throws IOException {
    Random rnd = new Random(SEED + 11);
    Path file = dir.resolve("replace" + IndexFormat.FILE_EXTENSION);
    IndexIO.write(randomFlat(Metric.L2, rnd, 10, 3), file);
    FlatIndex second = randomFlat(Metric.INNER_PRODUCT, rnd, 15, 3);
    IndexIO.write(second, file);
    assertSameFlat(second, IndexIO.read(file), "after overwrite");
    assertEquals(List.of(file.getFileName().toString()), listDir(), "no temporary files may remain");
  }

  @Test
  void failedPathWriteLeavesTheOldFileAndNoTemporaryFile() throws IOException {
    Random rnd = new Random(SEED + 12);
    Path file = dir.resolve("kept" + IndexFormat.FILE_EXTENSION);
    FlatIndex original = randomFlat(Metric.L2, rnd, 10, 3);
    IndexIO.write(original, file);
    byte[] before = Files.readAllBytes(file);

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> IndexIO.write(unsupportedIndex(), file));
    assertTrue(e.getMessage().contains("Flat"), e.getMessage());
    assertArrayEquals(before, Files.readAllBytes(file), "the existing file must be untouched");
    assertEquals(List.of(file.getFileName().toString()), listDir(), "the temporary file must be deleted");

    Path fresh = dir.resolve("never" + IndexFormat.FILE_EXTENSION);
    assertThrows(IllegalArgumentException.class, () -> IndexIO.write(unsupportedIndex(), fresh));
    assertFalse(Files.exists(fresh), "a failed write must not create the target");
    assertEquals(List.of(file.getFileName().toString()), listDir());
  }

  @Test
  void writingAnUnsupportedIndexTypeToAStreamFailsBeforeWritingAnything() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> IndexIO.write(unsupportedIndex(), out));
    assertTrue(e.getMessage().contains("Stub,Index"), e.getMessage());
    assertEquals(0, out.size());
  }

  @Test
  void readPathOfAMissingFileNamesIt() {
    Path missing = dir.resolve("missing" + IndexFormat.FILE_EXTENSION);
    IOException e = assertThrows(IOException.class, () -> IndexIO.read(missing));
    assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
  }

  @Test
  void nullSourceNameIsReportedAsStream() {
    IndexFileException e = assertThrows(NotAnIndexFileException.class,
        () -> IndexIO.read(new ByteArrayInputStream("nope, not an index".getBytes(StandardCharsets.UTF_8)), null));
    assertEquals("<stream>", e.file());
  }

  @Test
  void lengthArgumentIsChecked() {
    assertThrows(IllegalArgumentException.class, () -> IndexIO.read(new ByteArrayInputStream(new byte[0]), "x", -2));
  }

  @Test
  void cosineVectorsAreStoredNormalizedAndReadAsTheyAre() throws IOException {
    FlatIndex index = new FlatIndex(2, Metric.COSINE);
    index.add(new float[] {3, 4, 0, 2});
    byte[] b = IndexFiles.bytesOf(index);
    ByteBuffer vecs = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    int p = IndexFiles.section(b, "VECS").payloadStart();
    float[] stored = {vecs.getFloat(p), vecs.getFloat(p + 4), vecs.getFloat(p + 8), vecs.getFloat(p + 12)};
    assertArrayEquals(index.copyRows(0, 2), stored);
    assertEquals(1.0, Math.hypot(stored[0], stored[1]), 1e-6);
    assertArrayEquals(stored, ((FlatIndex) IndexFiles.readBytes(b, "cos")).copyRows(0, 2));
  }

  private List<String> listDir() throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
    }
  }

  /** A VectorIndex the format does not cover (a proxy, so it survives interface changes). */
  static VectorIndex unsupportedIndex() {
    return (VectorIndex) Proxy.newProxyInstance(IndexIOTest.class.getClassLoader(), new Class<?>[] {VectorIndex.class},
        (proxy, method, args) -> {
          switch (method.getName()) {
            case "factoryString":
              return "Stub,Index";
            case "d":
              return 4;
            case "metric":
              return Metric.L2;
            case "ntotal":
              return 0L;
            case "toString":
              return "StubIndex";
            case "hashCode":
              return 0;
            case "equals":
              return proxy == args[0];
            default:
              throw new UnsupportedOperationException(method.getName() + " " + Arrays.toString(args));
          }
        });
  }
}
