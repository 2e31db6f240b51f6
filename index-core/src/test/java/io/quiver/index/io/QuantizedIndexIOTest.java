package io.quiver.index.io;

import static io.quiver.index.io.IndexIOTest.assertSameSearch;
import static io.quiver.index.io.IndexIOTest.randomVectors;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.FlatIndex;
import io.quiver.index.IvfCodesIndex;
import io.quiver.index.IvfIndex;
import io.quiver.index.IvfPqIndex;
import io.quiver.index.IvfSqIndex;
import io.quiver.index.L2NormIndex;
import io.quiver.index.Metric;
import io.quiver.index.PqIndex;
import io.quiver.index.RefineIndex;
import io.quiver.index.SearchParams;
import io.quiver.index.SqIndex;
import io.quiver.index.VectorIndex;
import io.quiver.index.quantize.ProductQuantizer;
import io.quiver.index.quantize.ScalarQuantizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Round trips of the quantized index types ('PQ__', 'SQ__', 'IVPQ', 'IVSQ') and the wrappers ('RFLT',
 * 'L2NM') through streams and paths: same parameters, ids, codes and training, bit-identical
 * search results and reconstructions after reloading.
 */
class QuantizedIndexIOTest {

  /** Seed of every random input in this class; failure messages print it. */
  static final long SEED = 0x9A_17EDL;

  @TempDir
  Path dir;

  // ---- builders ----

  /** Scattered, non-sequential ids, so the direct maps are exercised. */
  static long[] scatteredIds(Random rnd, int n) {
    long[] ids = new long[n];
    for (int i = 0; i < n; i++) {
      ids[i] = 1_000_000_007L * i + rnd.nextInt(1000);
    }
    return ids;
  }

  static PqIndex randomPq(Metric metric, Random rnd, int n, int d, int m, int nbits) {
    PqIndex index = new PqIndex(d, m, nbits, metric);
    index.pq().seed(rnd.nextLong());
    index.train(randomVectors(rnd, Math.max(n, 2 << nbits), d));
    index.addWithIds(randomVectors(rnd, n, d), scatteredIds(rnd, n));
    return index;
  }

  static SqIndex randomSq(ScalarQuantizer.Type type, Metric metric, Random rnd, int n, int d) {
    SqIndex index = new SqIndex(d, type, metric);
    index.train(randomVectors(rnd, Math.max(n, 50), d));
    index.addWithIds(randomVectors(rnd, n, d), scatteredIds(rnd, n));
    return index;
  }

  /** A trained IVF-PQ index of n random vectors, nprobe 2 so that the stored value matters. */
  static IvfPqIndex randomIvfPq(Metric metric, Random rnd, int n, int d, int nlist, int m, int nbits) {
    IvfPqIndex index = new IvfPqIndex(d, nlist, m, nbits, metric);
    index.coarseQuantizer().setSeed(rnd.nextLong());
    index.train(randomVectors(rnd, Math.max(n, 2 << nbits), d));
    index.addWithIds(randomVectors(rnd, n, d), scatteredIds(rnd, n));
    index.setNprobe(2);
    return index;
  }

  static IvfSqIndex randomIvfSq(ScalarQuantizer.Type type, Metric metric, Random rnd, int n, int d, int nlist) {
    IvfSqIndex index = new IvfSqIndex(d, nlist, type, metric);
    index.coarseQuantizer().setSeed(rnd.nextLong());
    index.train(randomVectors(rnd, Math.max(n, 20 * nlist), d));
    index.addWithIds(randomVectors(rnd, n, d), scatteredIds(rnd, n));
    index.setNprobe(2);
    return index;
  }

  /** A refine index over {@code base} (trained, empty) holding n random vectors, kFactor 3. */
  static RefineIndex refined(VectorIndex base, Random rnd, int n) {
    RefineIndex r = new RefineIndex(base);
    r.add(randomVectors(rnd, n, base.d()));
    r.setKFactor(3f);
    return r;
  }

  // ---- comparisons ----

  /** Same type, parameters, training and stored content, recursively for wrappers. */
  static void assertSameIndex(VectorIndex expected, VectorIndex actual, String ctx) {
    assertEquals(expected.getClass(), actual.getClass(), ctx + ": class");
    assertEquals(expected.d(), actual.d(), ctx + ": d");
    assertEquals(expected.metric(), actual.metric(), ctx + ": metric");
    assertEquals(expected.ntotal(), actual.ntotal(), ctx + ": ntotal");
    assertEquals(expected.isTrained(), actual.isTrained(), ctx + ": isTrained");
    assertEquals(expected.factoryString(), actual.factoryString(), ctx + ": factory string");
    if (expected instanceof FlatIndex f) {
      IndexIOTest.assertSameFlat(f, actual, ctx);
    } else if (expected instanceof IvfIndex v) {
      IndexIOTest.assertSameIvf(v, actual, ctx);
    } else if (expected instanceof PqIndex p) {
      PqIndex got = (PqIndex) actual;
      assertSamePq(p.pq(), got.pq(), ctx);
      assertArrayEquals(p.ids(), got.ids(), ctx + ": ids");
      assertArrayEquals(p.codes(), got.codes(), ctx + ": codes");
    } else if (expected instanceof SqIndex s) {
      SqIndex got = (SqIndex) actual;
      assertSameSq(s.sq(), got.sq(), ctx);
      assertArrayEquals(s.ids(), got.ids(), ctx + ": ids");
      assertArrayEquals(s.codes(), got.codes(), ctx + ": codes");
    } else if (expected instanceof IvfCodesIndex v) {
      IvfCodesIndex got = (IvfCodesIndex) actual;
      assertEquals(v.nlist(), got.nlist(), ctx + ": nlist");
      assertEquals(v.nprobe(), got.nprobe(), ctx + ": nprobe");
      assertArrayEquals(v.centroids(), got.centroids(), ctx + ": centroids");
      if (v instanceof IvfPqIndex p) {
        assertSamePq(p.pq(), ((IvfPqIndex) got).pq(), ctx);
      } else {
        assertSameSq(((IvfSqIndex) v).sq(), ((IvfSqIndex) got).sq(), ctx);
      }
      for (int l = 0; l < v.nlist(); l++) {
        assertArrayEquals(v.listIds(l), got.listIds(l), ctx + ": ids of list " + l);
        assertArrayEquals(v.listCodes(l), got.listCodes(l), ctx + ": codes of list " + l);
      }
    } else if (expected instanceof RefineIndex r) {
      RefineIndex got = (RefineIndex) actual;
      assertEquals(r.kFactor(), got.kFactor(), ctx + ": kFactor");
      assertSameIndex(r.base(), got.base(), ctx + ", base");
      assertSameIndex(r.refine(), got.refine(), ctx + ", refine");
    } else if (expected instanceof L2NormIndex n) {
      assertSameIndex(n.inner(), ((L2NormIndex) actual).inner(), ctx + ", inner");
    } else {
      throw new AssertionError(ctx + ": no comparison for " + expected.getClass());
    }
  }

  static void assertSamePq(ProductQuantizer expected, ProductQuantizer actual, String ctx) {
    assertEquals(expected.m(), actual.m(), ctx + ": PQ m");
    assertEquals(expected.nbits(), actual.nbits(), ctx + ": PQ nbits");
    assertEquals(expected.isTrained(), actual.isTrained(), ctx + ": PQ trained");
    assertArrayEquals(expected.centroids(), actual.centroids(), ctx + ": PQ codebook");
  }

  static void assertSameSq(ScalarQuantizer expected, ScalarQuantizer actual, String ctx) {
    assertEquals(expected.type(), actual.type(), ctx + ": SQ type");
    assertEquals(expected.isTrained(), actual.isTrained(), ctx + ": SQ trained");
    assertArrayEquals(expected.vmin(), actual.vmin(), ctx + ": SQ vmin");
    assertArrayEquals(expected.vdiff(), actual.vdiff(), ctx + ": SQ vdiff");
  }

  /** Reloads through a stream and a path; both must equal {@code index} and search and reconstruct alike. */
  private void assertRoundTrips(VectorIndex index, long[] someIds, SearchParams[] params, Random rnd, String ctx)
      throws IOException {
    Path file = dir.resolve("index" + IndexFormat.FILE_EXTENSION);
    IndexIO.write(index, file);
    byte[] bytes = IndexFiles.bytesOf(index);
    assertArrayEquals(bytes, Files.readAllBytes(file), ctx + ": stream and path writes give the same bytes");
    assertEquals(bytes.length, IndexIO.fileBytes(index), ctx + ": the size the writer plans for nested files");
    float[] queries = randomVectors(rnd, 17, index.d());
    for (VectorIndex back : List.of(IndexFiles.readBytes(bytes, "round-trip.qvi"), IndexIO.read(file))) {
      assertSameIndex(index, back, ctx);
      if (index.isTrained()) {
        for (SearchParams p : params) {
          assertSameSearch(index, back, queries, 10, p, ctx + ", " + p);
        }
        for (long id : someIds) {
          assertArrayEquals(index.reconstruct(id), back.reconstruct(id), ctx + ": reconstruct(" + id + ")");
        }
      }
    }
  }

  private static long[] firstIds(VectorIndex index, long[] ids) {
    return Arrays.copyOf(ids, Math.min(ids.length, 5));
  }

  // ---- PQ ----

  @ParameterizedTest
  @EnumSource(Metric.class)
  void pqRoundTripsWithByteAndBitPackedCodes(Metric metric) throws IOException {
    for (int nbits : new int[] {8, 4, 7}) {
      String ctx = "PQ3x" + nbits + " " + metric + ", seed=" + SEED;
      Random rnd = new Random(SEED + 50 + nbits * 31L + metric.ordinal());
      PqIndex index = randomPq(metric, rnd, 300, 9, 3, nbits);
      assertRoundTrips(index, firstIds(index, index.ids()), new SearchParams[] {SearchParams.defaults()}, rnd, ctx);
    }
  }

  @Test
  void untrainedAndEmptyPqRoundTrip() throws IOException {
    PqIndex untrained = new PqIndex(6, 3, 5, Metric.COSINE);
    byte[] u = IndexFiles.bytesOf(untrained);
    assertEquals("PQPR IDS_ CODE", sectionNames(u), "an untrained PQ file has no codebook");
    assertEquals(u.length, IndexIO.fileBytes(untrained));
    VectorIndex back = IndexFiles.readBytes(u, "untrained-pq");
    assertSameIndex(untrained, back, "untrained PQ3x5");
    assertFalse(back.isTrained());
    Random rnd = new Random(SEED + 7);
    back.train(randomVectors(rnd, 100, 6));
    back.add(randomVectors(rnd, 10, 6));
    assertEquals(10, back.ntotal());

    PqIndex empty = new PqIndex(4, 2, 4, Metric.L2);
    empty.train(randomVectors(rnd, 64, 4));
    assertRoundTrips(empty, new long[0], new SearchParams[] {SearchParams.defaults()}, rnd, "empty PQ2x4");
  }

  // ---- SQ ----

  @ParameterizedTest
  @EnumSource(ScalarQuantizer.Type.class)
  void sqRoundTripsForEveryTypeAndMetric(ScalarQuantizer.Type type) throws IOException {
    for (Metric metric : Metric.values()) {
      String ctx = type + " " + metric + ", seed=" + SEED;
      Random rnd = new Random(SEED + type.ordinal() * 7L + metric.ordinal());
      SqIndex index = randomSq(type, metric, rnd, 300, 7); // odd d: SQ4's last byte holds one nibble
      assertRoundTrips(index, firstIds(index, index.ids()), new SearchParams[] {SearchParams.defaults()}, rnd, ctx);
    }
  }

  @Test
  void untrainedSqRoundTripsAndCanBeTrainedAfterwards() throws IOException {
    for (ScalarQuantizer.Type type : ScalarQuantizer.Type.values()) {
      String ctx = "untrained " + type + ", seed=" + SEED;
      SqIndex index = new SqIndex(5, type, Metric.INNER_PRODUCT);
      VectorIndex back = IndexFiles.readBytes(IndexFiles.bytesOf(index), "untrained-sq");
      assertSameIndex(index, back, ctx);
      assertEquals(type == ScalarQuantizer.Type.SQFP16, back.isTrained(), ctx);
      Random rnd = new Random(SEED);
      back.train(randomVectors(rnd, 50, 5));
      back.add(randomVectors(rnd, 10, 5));
      assertEquals(10, back.ntotal(), ctx);
    }
    byte[] u = IndexFiles.bytesOf(new SqIndex(5, ScalarQuantizer.Type.SQ8, Metric.L2));
    assertEquals("SQPR IDS_ CODE", sectionNames(u), "an untrained SQ8 file has no ranges");
    assertEquals(0, IndexFiles.getInt(u, IndexFiles.section(u, "SQPR").payloadStart() + 4), "untrained flags");
  }

  @Test
  void emptyTrainedSqRoundTrips() throws IOException {
    SqIndex index = new SqIndex(4, ScalarQuantizer.Type.SQ4, Metric.L2);
    index.train(randomVectors(new Random(SEED), 30, 4));
    assertRoundTrips(index, new long[0], new SearchParams[] {SearchParams.defaults()}, new Random(SEED), "empty SQ4");
  }

  // ---- IVF,PQ and IVF,SQ ----

  @ParameterizedTest
  @EnumSource(Metric.class)
  void ivfPqRoundTripsWithByteAndBitPackedCodes(Metric metric) throws IOException {
    for (int nbits : new int[] {8, 5}) {
      String ctx = "IVF6,PQ4x" + nbits + " " + metric + ", seed=" + SEED;
      Random rnd = new Random(SEED + nbits * 31L + metric.ordinal());
      IvfPqIndex index = randomIvfPq(metric, rnd, 400, 8, 6, 4, nbits);
      long[] some = index.listSize(0) > 0 ? index.listIds(0) : index.listIds(1);
      assertRoundTrips(index, firstIds(index, some),
          new SearchParams[] {SearchParams.defaults(), SearchParams.defaults().withNprobe(6)}, rnd, ctx);
    }
  }

  @Test
  void ivfPqWithoutPrecomputedTablesRoundTrips() throws IOException {
    Random rnd = new Random(SEED + 1);
    IvfPqIndex index = randomIvfPq(Metric.L2, rnd, 200, 6, 3, 3, 4);
    index.setUsePrecomputedTable(IvfPqIndex.PRECOMPUTED_OFF);
    VectorIndex back = IndexFiles.readBytes(IndexFiles.bytesOf(index), "no-table");
    assertSameIndex(index, back, "IVF3,PQ3x4 without tables");
    // results agree up to float rounding with the reloaded index, which precomputes its tables
    SearchParams all = SearchParams.defaults().withNprobe(3);
    float[] q = randomVectors(rnd, 5, 6);
    assertArrayEquals(index.search(q, 5, all).ids(), back.search(q, 5, all).ids(), "seed=" + SEED);
  }

  @ParameterizedTest
  @EnumSource(ScalarQuantizer.Type.class)
  void ivfSqRoundTripsForEveryTypeAndMetric(ScalarQuantizer.Type type) throws IOException {
    for (Metric metric : Metric.values()) {
      String ctx = "IVF5," + type + " " + metric + ", seed=" + SEED;
      Random rnd = new Random(SEED + 100 + type.ordinal() * 7L + metric.ordinal());
      IvfSqIndex index = randomIvfSq(type, metric, rnd, 300, 5, 5);
      long[] some = index.listSize(0) > 0 ? index.listIds(0) : index.listIds(1);
      assertRoundTrips(index, firstIds(index, some),
          new SearchParams[] {SearchParams.defaults(), SearchParams.defaults().withNprobe(5)}, rnd, ctx);
    }
  }

  @Test
  void untrainedIvfCodesIndexesRoundTripAndCanBeTrainedAfterwards() throws IOException {
    List<IvfCodesIndex> untrained = List.of(new IvfPqIndex(4, 3, 2, 6, Metric.COSINE),
        new IvfSqIndex(4, 3, ScalarQuantizer.Type.SQ8, Metric.L2),
        new IvfSqIndex(4, 3, ScalarQuantizer.Type.SQFP16, Metric.INNER_PRODUCT));
    for (IvfCodesIndex index : untrained) {
      index.setNprobe(3);
      String ctx = "untrained " + index.factoryString() + ", seed=" + SEED;
      byte[] bytes = IndexFiles.bytesOf(index);
      assertEquals(bytes.length, IndexIO.fileBytes(index), ctx);
      VectorIndex back = IndexFiles.readBytes(bytes, "untrained-ivf");
      assertSameIndex(index, back, ctx);
      assertFalse(back.isTrained(), ctx);
      assertNull(((IvfCodesIndex) back).centroids(), ctx);
      assertThrows(IllegalStateException.class, () -> back.search(new float[4], 1), ctx);
      Random rnd = new Random(SEED + 2);
      back.train(randomVectors(rnd, 300, 4));
      back.add(randomVectors(rnd, 10, 4));
      assertEquals(10, back.ntotal(), ctx);
    }
  }

  @Test
  void emptyTrainedIvfCodesIndexesRoundTrip() throws IOException {
    Random rnd = new Random(SEED + 3);
    IvfPqIndex pq = new IvfPqIndex(4, 8, 2, 4, Metric.L2);
    pq.train(randomVectors(rnd, 400, 4));
    assertRoundTrips(pq, new long[0], new SearchParams[] {SearchParams.defaults().withNprobe(8)}, rnd, "empty IVF,PQ");
    IvfSqIndex sq = new IvfSqIndex(4, 8, ScalarQuantizer.Type.SQ4, Metric.INNER_PRODUCT);
    sq.train(randomVectors(rnd, 400, 4));
    assertRoundTrips(sq, new long[0], new SearchParams[] {SearchParams.defaults()}, rnd, "empty IVF,SQ4");
  }

  // ---- wrappers ----

  @ParameterizedTest
  @EnumSource(Metric.class)
  void refineRoundTripsAroundEveryBaseType(Metric metric) throws IOException {
    Random rnd = new Random(SEED + 200 + metric.ordinal());
    int d = 6;
    IvfPqIndex ivfPq = new IvfPqIndex(d, 4, 3, 4, metric);
    ivfPq.train(randomVectors(rnd, 300, d));
    IvfSqIndex ivfSq = new IvfSqIndex(d, 4, ScalarQuantizer.Type.SQ8, metric);
    ivfSq.train(randomVectors(rnd, 300, d));
    SqIndex sq = new SqIndex(d, ScalarQuantizer.Type.SQ4, metric);
    sq.train(randomVectors(rnd, 300, d));
    IvfIndex ivf = new IvfIndex(d, 4, metric);
    ivf.train(randomVectors(rnd, 300, d));
    PqIndex pq = new PqIndex(d, 2, 6, metric);
    pq.train(randomVectors(rnd, 300, d));
    for (VectorIndex base : List.of(ivfPq, ivfSq, pq, sq, ivf, new FlatIndex(d, metric))) {
      String ctx = base.factoryString() + ",RFlat " + metric + ", seed=" + SEED;
      RefineIndex index = refined(base, rnd, 250);
      assertRoundTrips(index, new long[] {0, 17, 249},
          new SearchParams[] {SearchParams.defaults(), SearchParams.defaults().withKFactor(1.5f).withNprobe(4)}, rnd, ctx);
    }
  }

  @Test
  void l2NormRoundTripsAroundPlainAndWrappedIndexes() throws IOException {
    Random rnd = new Random(SEED + 300);
    int d = 8;
    L2NormIndex flat = new L2NormIndex(new FlatIndex(d, Metric.L2));
    flat.add(randomVectors(rnd, 100, d));
    L2NormIndex ivfSq = new L2NormIndex(new IvfSqIndex(d, 4, ScalarQuantizer.Type.SQFP16, Metric.INNER_PRODUCT));
    ivfSq.train(randomVectors(rnd, 200, d));
    ivfSq.add(randomVectors(rnd, 150, d));
    // L2norm,IVF4,PQ4x6,RFlat: two levels of nested files
    L2NormIndex refine = new L2NormIndex(new RefineIndex(new IvfPqIndex(d, 4, 4, 6, Metric.L2)));
    refine.train(randomVectors(rnd, 300, d));
    refine.add(randomVectors(rnd, 200, d));
    for (L2NormIndex index : List.of(flat, ivfSq, refine)) {
      String ctx = index.factoryString() + ", seed=" + SEED;
      assertRoundTrips(index, new long[] {0, 5, 99},
          new SearchParams[] {SearchParams.defaults(), SearchParams.defaults().withNprobe(4)}, rnd, ctx);
    }
  }

  @Test
  void untrainedWrappersRoundTrip() throws IOException {
    RefineIndex refine = new RefineIndex(new IvfPqIndex(4, 2, 2, 4, Metric.INNER_PRODUCT));
    refine.setKFactor(2.5f);
    L2NormIndex norm = new L2NormIndex(new IvfSqIndex(4, 2, ScalarQuantizer.Type.SQ4, Metric.L2));
    for (VectorIndex index : List.of(refine, norm)) {
      byte[] bytes = IndexFiles.bytesOf(index);
      assertEquals(bytes.length, IndexIO.fileBytes(index));
      VectorIndex back = IndexFiles.readBytes(bytes, "untrained-wrapper");
      assertSameIndex(index, back, "untrained " + index.factoryString());
      Random rnd = new Random(SEED + 4);
      back.train(randomVectors(rnd, 100, 4));
      back.add(randomVectors(rnd, 10, 4));
      assertEquals(10, back.ntotal());
    }
  }

  /** The deepest nesting the format allows is written and read; one more level is refused. */
  @Test
  void nestingDepthIsBounded() throws IOException {
    VectorIndex index = new FlatIndex(2, Metric.L2);
    for (int level = 0; level < IndexFormat.MAX_NESTING_DEPTH; level++) {
      index = new L2NormIndex(index);
    }
    assertSameIndex(index, IndexFiles.readBytes(IndexFiles.bytesOf(index), "deep"), "8 levels");
    VectorIndex tooDeep = new L2NormIndex(index);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> IndexFiles.bytesOf(tooDeep));
    assertTrue(e.getMessage().contains("more than " + IndexFormat.MAX_NESTING_DEPTH), e.getMessage());
  }

  // ---- layout ----

  static String sectionNames(byte[] file) {
    return IndexFiles.sections(file).stream()
        .map(s -> IndexFormat.fourccToString(s.fourcc()).replace("'", ""))
        .collect(Collectors.joining(" "));
  }

  private static String fileType(byte[] b) {
    return new String(b, IndexFormat.OFFSET_FILE_TYPE, 4, StandardCharsets.US_ASCII);
  }

  @Test
  void sectionsAndSizesMatchTheDocumentedLayout() {
    Random rnd = new Random(SEED + 5);
    int d = 6;
    int n = 40;
    SqIndex sq = randomSq(ScalarQuantizer.Type.SQ4, Metric.L2, rnd, n, d);
    byte[] s = IndexFiles.bytesOf(sq);
    assertEquals("SQ__", fileType(s));
    assertEquals("SQPR SQRG IDS_ CODE", sectionNames(s));
    int sqpr = IndexFiles.section(s, "SQPR").payloadStart();
    assertEquals(IndexFormat.SQ_TYPE_4BIT, IndexFiles.getInt(s, sqpr));
    assertEquals(IndexFormat.QUANTIZER_FLAG_TRAINED, IndexFiles.getInt(s, sqpr + 4));
    assertEquals(8L * d, IndexFiles.section(s, "SQRG").length());
    assertEquals((long) n * ((d + 1) / 2), IndexFiles.section(s, "CODE").length());
    assertEquals(IndexFormat.HEADER_BYTES + 4 * IndexFormat.SECTION_HEADER_BYTES + IndexFormat.SQ_PARAMS_BYTES + 8 * d
        + 8 * n + n * 3 + IndexFormat.FOOTER_BYTES, s.length, "SQ4 file size");

    byte[] fp16 = IndexFiles.bytesOf(randomSq(ScalarQuantizer.Type.SQFP16, Metric.L2, rnd, n, d));
    assertEquals("SQPR IDS_ CODE", sectionNames(fp16), "SQfp16 has no ranges");
    assertEquals(IndexFormat.SQ_TYPE_FP16, IndexFiles.getInt(fp16, IndexFiles.section(fp16, "SQPR").payloadStart()));
    assertEquals(2L * n * d, IndexFiles.section(fp16, "CODE").length());

    byte[] pq = IndexFiles.bytesOf(randomPq(Metric.INNER_PRODUCT, rnd, n, d, 2, 5));
    assertEquals("PQ__", fileType(pq));
    assertEquals("PQPR PQCB IDS_ CODE", sectionNames(pq));
    int pqParams = IndexFiles.section(pq, "PQPR").payloadStart();
    assertEquals(2, IndexFiles.getInt(pq, pqParams), "m");
    assertEquals(5, IndexFiles.getInt(pq, pqParams + 4), "nbits");
    assertEquals(4L * 32 * d, IndexFiles.section(pq, "PQCB").length());
    assertEquals(n * 2L, IndexFiles.section(pq, "CODE").length(), "2 x 5 bits = 2 bytes per code");
    assertEquals(IndexFormat.HEADER_BYTES + 4 * IndexFormat.SECTION_HEADER_BYTES + IndexFormat.PQ_PARAMS_BYTES
        + 4 * 32 * d + 8 * n + 2 * n + IndexFormat.FOOTER_BYTES, pq.length, "PQ file size");

    int nlist = 3;
    IvfPqIndex ivfPq = randomIvfPq(Metric.L2, rnd, n, d, nlist, 3, 6);
    byte[] p = IndexFiles.bytesOf(ivfPq);
    assertEquals("IVPQ", fileType(p));
    assertEquals("PRMS CENT PQPR PQCB LSIZ LIDS LCOD", sectionNames(p));
    int pqpr = IndexFiles.section(p, "PQPR").payloadStart();
    assertEquals(3, IndexFiles.getInt(p, pqpr), "m");
    assertEquals(6, IndexFiles.getInt(p, pqpr + 4), "nbits");
    assertEquals(IndexFormat.QUANTIZER_FLAG_TRAINED, IndexFiles.getInt(p, pqpr + 8));
    assertEquals(4L * 64 * d, IndexFiles.section(p, "PQCB").length());
    assertEquals(n * 3L, IndexFiles.section(p, "LCOD").length(), "3 x 6 bits = 3 bytes per code");
    assertEquals(IndexFormat.HEADER_BYTES + 7 * IndexFormat.SECTION_HEADER_BYTES + IndexFormat.IVF_PARAMS_BYTES
        + 4 * nlist * d + IndexFormat.PQ_PARAMS_BYTES + 4 * 64 * d + 8 * nlist + 8 * n + 3 * n + IndexFormat.FOOTER_BYTES,
        p.length, "IVF,PQ file size");

    byte[] q = IndexFiles.bytesOf(randomIvfSq(ScalarQuantizer.Type.SQ8, Metric.COSINE, rnd, n, d, nlist));
    assertEquals("IVSQ", fileType(q));
    assertEquals("PRMS CENT SQPR SQRG LSIZ LIDS LCOD", sectionNames(q));
    assertEquals((long) n * d, IndexFiles.section(q, "LCOD").length());

    byte[] u = IndexFiles.bytesOf(new IvfPqIndex(d, nlist, 2, 8, Metric.L2));
    assertEquals("PRMS PQPR LSIZ LIDS LCOD", sectionNames(u), "untrained: no centroids, no codebook");
    byte[] uf = IndexFiles.bytesOf(new IvfSqIndex(d, nlist, ScalarQuantizer.Type.SQFP16, Metric.L2));
    assertEquals("PRMS SQPR LSIZ LIDS LCOD", sectionNames(uf));
    assertEquals(IndexFormat.QUANTIZER_FLAG_TRAINED, IndexFiles.getInt(uf, IndexFiles.section(uf, "SQPR").payloadStart() + 4),
        "SQfp16 is always trained");
  }

  /** A wrapper's nested sections are whole index files: cut out, each reads on its own. */
  @Test
  void nestedSectionsAreWholeIndexFiles() throws IOException {
    Random rnd = new Random(SEED + 6);
    IvfSqIndex base = new IvfSqIndex(4, 2, ScalarQuantizer.Type.SQ8, Metric.L2);
    base.train(randomVectors(rnd, 100, 4));
    RefineIndex refine = refined(base, rnd, 30);
    byte[] r = IndexFiles.bytesOf(refine);
    assertEquals("RFLT", fileType(r));
    assertEquals("RPRM BASE REFN", sectionNames(r));
    assertEquals(3f, Float.intBitsToFloat(IndexFiles.getInt(r, IndexFiles.section(r, "RPRM").payloadStart())));
    byte[] baseFile = payload(r, "BASE");
    byte[] refineFile = payload(r, "REFN");
    assertArrayEquals(IndexFiles.bytesOf(refine.base()), baseFile, "'BASE' holds the base's own file");
    assertArrayEquals(IndexFiles.bytesOf(refine.refine()), refineFile, "'REFN' holds the Flat's own file");
    assertSameIndex(refine.base(), IndexFiles.readBytes(baseFile, "base"), "cut-out base");
    assertEquals("FLAT", fileType(refineFile));
    assertEquals(IndexFormat.HEADER_BYTES + 3 * IndexFormat.SECTION_HEADER_BYTES + IndexFormat.REFINE_PARAMS_BYTES
        + baseFile.length + refineFile.length + IndexFormat.FOOTER_BYTES, r.length, "RFlat file size");

    L2NormIndex norm = new L2NormIndex(refine);
    byte[] l = IndexFiles.bytesOf(norm);
    assertEquals("L2NM", fileType(l));
    assertEquals("INNR", sectionNames(l));
    assertArrayEquals(r, payload(l, "INNR"));
  }

  static byte[] payload(byte[] file, String section) {
    IndexFiles.Section s = IndexFiles.section(file, section);
    return Arrays.copyOfRange(file, s.payloadStart(), s.payloadStart() + (int) s.length());
  }

  /** Every scalar quantizer type has an 'SQPR' code (FAISS's QuantizerType number) that maps back to it. */
  @Test
  void everySqTypeHasAFormatCode() {
    for (ScalarQuantizer.Type type : ScalarQuantizer.Type.values()) {
      int code = IndexIO.sqTypeCode(type);
      assertTrue(code >= 0, type + " has no 'SQPR' code: add one to IndexFormat");
      assertEquals(type, IndexIO.sqType(code), type.toString());
      assertEquals(type.factoryName(), IndexFormat.sqTypeName(code));
    }
    assertEquals(0, IndexFormat.SQ_TYPE_8BIT);
    assertEquals(1, IndexFormat.SQ_TYPE_4BIT);
    assertEquals(4, IndexFormat.SQ_TYPE_FP16);
    assertNull(IndexIO.sqType(2));
  }

  // ---- writing what the format does not cover ----

  @Test
  void writingAnUnsupportedIndexInsideAWrapperFailsBeforeWritingAnything() {
    for (VectorIndex index : List.of(new L2NormIndex(IndexIOTest.unsupportedIndex()),
        new L2NormIndex(new L2NormIndex(IndexIOTest.unsupportedIndex())))) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> IndexIO.write(index, out));
      assertTrue(e.getMessage().contains("Stub,Index") && e.getMessage().contains("inside")
          && e.getMessage().contains("L2NormIndex"), e.getMessage());
      assertEquals(0, out.size(), "nothing may be written");
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> IndexIO.write(IndexIOTest.unsupportedIndex(), new ByteArrayOutputStream()));
    for (String type : new String[] {"Flat", "IVF<nlist>,PQ", "SQ", "RFlat", "L2norm"}) {
      assertTrue(e.getMessage().contains(type), "the message lists what index files hold: " + e.getMessage());
    }
    IllegalArgumentException nul = assertThrows(IllegalArgumentException.class,
        () -> IndexIO.write(new L2NormIndex(null), new ByteArrayOutputStream()));
    assertTrue(nul.getMessage().contains("null"), nul.getMessage());
  }

  @Test
  void failedPathWriteOfAWrapperLeavesNoFile() throws IOException {
    Path file = dir.resolve("never" + IndexFormat.FILE_EXTENSION);
    assertThrows(IllegalArgumentException.class,
        () -> IndexIO.write(new L2NormIndex(IndexIOTest.unsupportedIndex()), file));
    assertFalse(Files.exists(file));
    try (var s = Files.list(dir)) {
      assertEquals(0, s.count(), "no temporary file may remain");
    }
  }
}
