package io.quiver.index.io;

import static io.quiver.index.io.IndexFiles.assertPathFails;
import static io.quiver.index.io.IndexFiles.assertStreamFails;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.quiver.index.FlatIndex;
import io.quiver.index.IvfPqIndex;
import io.quiver.index.IvfSqIndex;
import io.quiver.index.L2NormIndex;
import io.quiver.index.Metric;
import io.quiver.index.PqIndex;
import io.quiver.index.RefineIndex;
import io.quiver.index.SqIndex;
import io.quiver.index.io.IndexFiles.Builder;
import io.quiver.index.io.IndexFiles.Section;
import io.quiver.index.quantize.ScalarQuantizer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged files of the quantized and wrapper types fail with their own exception types, naming
 * the file and the field, through a stream (length unknown) and through a path (length known).
 * The files are tiny so that every offset and every bit can be tried.
 */
class QuantizedIndexCorruptionTest {

  /** Seed of every random input in this class; failure messages print it. */
  static final long SEED = 0xBAD_C0DEL;

  /** Tiny files of every new type, by name. */
  static final Map<String, byte[]> FILES = new LinkedHashMap<>();
  static byte[] pqFile;
  static byte[] sqFile;
  static byte[] ivfPqFile;
  static byte[] ivfSqFile;
  static byte[] refineFile;
  static byte[] l2normFile;

  @TempDir
  Path dir;

  @BeforeAll
  static void files() {
    Random rnd = new Random(SEED);
    pqFile = IndexFiles.bytesOf(QuantizedIndexIOTest.randomPq(Metric.COSINE, rnd, 5, 4, 2, 4));
    sqFile = IndexFiles.bytesOf(QuantizedIndexIOTest.randomSq(ScalarQuantizer.Type.SQ8, Metric.L2, rnd, 6, 3));
    ivfPqFile = IndexFiles.bytesOf(QuantizedIndexIOTest.randomIvfPq(Metric.INNER_PRODUCT, rnd, 6, 4, 2, 2, 4));
    ivfSqFile = IndexFiles.bytesOf(QuantizedIndexIOTest.randomIvfSq(ScalarQuantizer.Type.SQ4, Metric.L2, rnd, 5, 3, 2));
    SqIndex base = new SqIndex(3, ScalarQuantizer.Type.SQ4, Metric.L2);
    base.train(IndexIOTest.randomVectors(rnd, 20, 3));
    refineFile = IndexFiles.bytesOf(QuantizedIndexIOTest.refined(base, rnd, 4));
    L2NormIndex norm = new L2NormIndex(new IvfSqIndex(2, 2, ScalarQuantizer.Type.SQ8, Metric.L2));
    norm.train(IndexIOTest.randomVectors(rnd, 20, 2));
    norm.add(IndexIOTest.randomVectors(rnd, 3, 2));
    l2normFile = IndexFiles.bytesOf(norm);
    FILES.put("pq", pqFile);
    FILES.put("pq-untrained", IndexFiles.bytesOf(new PqIndex(4, 4, 5, Metric.INNER_PRODUCT)));
    FILES.put("sq", sqFile);
    FILES.put("ivfpq", ivfPqFile);
    FILES.put("ivfsq", ivfSqFile);
    FILES.put("refine", refineFile);
    FILES.put("l2norm", l2normFile);
    FILES.put("ivfpq-untrained", IndexFiles.bytesOf(new IvfPqIndex(4, 2, 2, 8, Metric.L2)));
    FILES.put("sq-untrained", IndexFiles.bytesOf(new SqIndex(3, ScalarQuantizer.Type.SQ4, Metric.COSINE)));
  }

  /** Both read paths fail with exactly {@code type}; returns the stream's exception. */
  private <T extends IndexFileException> T assertBothFail(Class<T> type, byte[] bytes, String name) {
    assertPathFails(type, bytes, dir, name + IndexFormat.FILE_EXTENSION);
    return assertStreamFails(type, bytes, name + IndexFormat.FILE_EXTENSION);
  }

  private static int middleOf(byte[] file, String section) {
    Section s = IndexFiles.section(file, section);
    return s.payloadStart() + (int) (s.length() / 2);
  }

  private static void assertMentions(Exception e, String... parts) {
    for (String p : parts) {
      assertTrue(e.getMessage().contains(p), "message should mention " + p + ": " + e.getMessage());
    }
  }

  // ---- every byte, every bit ----

  @Test
  void aFlippedByteInEveryNewSectionIsAChecksumMismatch() {
    String[][] cases = {{"pq", "PQCB"}, {"pq", "CODE"}, {"pq", "IDS_"}, {"sq", "SQRG"}, {"sq", "CODE"}, {"ivfpq", "PQCB"}, {"ivfpq", "LCOD"}, {"ivfsq", "SQRG"},
        {"ivfsq", "LCOD"}, {"ivfsq", "LIDS"}};
    for (String[] c : cases) {
      byte[] bad = FILES.get(c[0]).clone();
      bad[middleOf(bad, c[1])] ^= 0x04;
      ChecksumMismatchException e = assertBothFail(ChecksumMismatchException.class, bad, c[0] + "-" + c[1]);
      assertTrue(e.stored() != e.computed());
    }
  }

  /** A damaged nested file fails on its own checksum, and the message says where it lies. */
  @Test
  void aFlippedByteInANestedFileIsAChecksumMismatchOfThatFile() {
    for (String[] c : new String[][] {{"refine", "BASE"}, {"refine", "REFN"}, {"l2norm", "INNR"}}) {
      byte[] bad = FILES.get(c[0]).clone();
      Section s = IndexFiles.section(bad, c[1]);
      // the last payload byte of the nested file (its codes or vectors), just before its footer
      bad[s.payloadStart() + (int) s.length() - IndexFormat.FOOTER_BYTES - 1] ^= 0x20;
      ChecksumMismatchException e = assertBothFail(ChecksumMismatchException.class, bad, c[0] + "-" + c[1]);
      assertMentions(e, "nested in section '" + c[1] + "'", "checksum");
    }
  }

  @Test
  void everySingleBitFlipIsDetected() throws IOException {
    Path file = dir.resolve("bitflip" + IndexFormat.FILE_EXTENSION);
    for (Map.Entry<String, byte[]> f : FILES.entrySet()) {
      byte[] good = f.getValue();
      for (int off = 0; off < good.length; off++) {
        for (int bit = 0; bit < 8; bit++) {
          byte[] bad = good.clone();
          bad[off] ^= (byte) (1 << bit);
          String ctx = f.getKey() + ": bit " + bit + " of " + IndexFiles.describe(good, off) + ", seed=" + SEED;
          try {
            IndexFiles.readBytes(bad, "bitflip");
            fail("stream read accepted a flipped " + ctx);
          } catch (IndexFileException expected) {
            assertEquals("bitflip", expected.file(), ctx);
          } catch (IOException | RuntimeException | OutOfMemoryError | StackOverflowError other) {
            throw new AssertionError("stream read: " + ctx + " threw " + other, other);
          }
          if (bit == off % 8) { // a path read per byte is enough
            Files.write(file, bad);
            try {
              IndexIO.read(file);
              fail("path read accepted a flipped " + ctx);
            } catch (IndexFileException expected) {
              assertTrue(expected.getMessage().startsWith(file.toString()), ctx);
            } catch (IOException | RuntimeException other) {
              throw new AssertionError("path read: " + ctx + " threw " + other, other);
            }
          }
        }
      }
    }
  }

  @Test
  void truncationAtEveryOffsetIsTruncatedIndexException() {
    for (Map.Entry<String, byte[]> f : FILES.entrySet()) {
      byte[] good = f.getValue();
      for (int len = 0; len < good.length; len++) {
        TruncatedIndexException e = assertBothFail(TruncatedIndexException.class, Arrays.copyOf(good, len),
            f.getKey() + "-cut-at-" + len);
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
      }
    }
  }

  // ---- quantizer parameters ----

  @Test
  void aPqMThatDoesNotDivideDIsAnInvalidLength() {
    int pqpr = IndexFiles.section(ivfPqFile, "PQPR").payloadStart();
    for (int m : new int[] {3, 0, -2, 5, Integer.MAX_VALUE}) {
      InvalidLengthException e = assertBothFail(InvalidLengthException.class, IndexFiles.withInt(ivfPqFile, pqpr, m),
          "pq-m" + m);
      assertMentions(e, "m = " + m, "'PQPR'", "divide d", "byte " + pqpr);
    }
    // a valid divisor other than the stored one: the codes no longer match it (2 bytes each, not 1), which the path
    // reader sees up front as a short file and the stream reader at the 'LCOD' section
    byte[] m4 = IndexFiles.withInt(ivfPqFile, pqpr, 4);
    assertPathFails(TruncatedIndexException.class, m4, dir, "pq-m4.qvi");
    assertMentions(assertStreamFails(InvalidLengthException.class, m4, "pq-m4.qvi"), "'LCOD'", "codeSize=2");
  }

  @Test
  void aPqNbitsOutsideFourToEightIsAnInvalidLength() {
    int pqpr = IndexFiles.section(ivfPqFile, "PQPR").payloadStart();
    for (int nbits : new int[] {3, 9, 0, -1, 64}) {
      InvalidLengthException e = assertBothFail(InvalidLengthException.class,
          IndexFiles.withInt(ivfPqFile, pqpr + 4, nbits), "pq-nbits" + nbits);
      assertMentions(e, "nbits = " + nbits, "'PQPR'", "4..8");
    }
    // nbits 5 instead of 4: the codebook would be twice as long
    InvalidLengthException e = assertStreamFails(InvalidLengthException.class,
        IndexFiles.withInt(ivfPqFile, pqpr + 4, 5), "pq-nbits5.qvi");
    assertMentions(e, "'PQCB'", "byteLength");
  }

  @Test
  void pqParametersOfAFlatPqFileAreChecked() {
    int pqpr = IndexFiles.section(pqFile, "PQPR").payloadStart();
    InvalidLengthException e = assertBothFail(InvalidLengthException.class, IndexFiles.withInt(pqFile, pqpr, 3), "pq-m3");
    assertMentions(e, "m = 3", "'PQPR'", "d = 4");
    e = assertBothFail(InvalidLengthException.class, IndexFiles.withInt(pqFile, pqpr + 4, 2), "pq-nbits2");
    assertMentions(e, "nbits = 2");
    // says untrained while holding vectors
    CorruptIndexException c = assertBothFail(CorruptIndexException.class, IndexFiles.withInt(pqFile, pqpr + 8, 0),
        "pq-untrained-with-data");
    assertMentions(c, "'PQPR'", "untrained", "ntotal = 5");
    // an untrained file that claims to be trained has no codebook: 'IDS_' where 'PQCB' belongs
    byte[] u = FILES.get("pq-untrained");
    int upqpr = IndexFiles.section(u, "PQPR").payloadStart();
    byte[] claimsTrained = IndexFiles.withInt(u, upqpr + 8, IndexFormat.QUANTIZER_FLAG_TRAINED);
    assertPathFails(TruncatedIndexException.class, claimsTrained, dir, "no-pqcb.qvi"); // the codebook bytes are missing
    c = assertStreamFails(CorruptIndexException.class, claimsTrained, "no-pqcb.qvi");
    assertMentions(c, "'IDS_'", "expected 'PQCB'");
  }

  @Test
  void unknownQuantizerFlagsAreCorrupt() {
    int pqpr = IndexFiles.section(ivfPqFile, "PQPR").payloadStart();
    CorruptIndexException e = assertBothFail(CorruptIndexException.class, IndexFiles.withInt(ivfPqFile, pqpr + 8, 3),
        "pq-flags3");
    assertMentions(e, "flags 0x3", "'PQPR'");
    int sqpr = IndexFiles.section(sqFile, "SQPR").payloadStart();
    e = assertBothFail(CorruptIndexException.class, IndexFiles.withInt(sqFile, sqpr + 4, 0x10), "sq-flags");
    assertMentions(e, "flags 0x10", "'SQPR'");
  }

  @Test
  void anInvalidSqTypeCodeIsCorrupt() {
    int sqpr = IndexFiles.section(sqFile, "SQPR").payloadStart();
    for (int code : new int[] {2, 3, 5, -1, 255}) {
      CorruptIndexException e = assertBothFail(CorruptIndexException.class, IndexFiles.withInt(sqFile, sqpr, code),
          "sq-type" + code);
      assertEquals(CorruptIndexException.class, e.getClass());
      assertMentions(e, "type code " + code, "'SQPR'", "0 (SQ8)", "1 (SQ4)", "4 (SQfp16)");
    }
    // a valid type other than the stored one: the code size no longer matches the 'CODE' section
    assertBothFail(InvalidLengthException.class, IndexFiles.withInt(sqFile, sqpr, IndexFormat.SQ_TYPE_4BIT), "sq-as-sq4");
  }

  @Test
  void anUntrainedQuantizerHoldingVectorsIsCorrupt() {
    int sqpr = IndexFiles.section(sqFile, "SQPR").payloadStart();
    CorruptIndexException e = assertBothFail(CorruptIndexException.class, IndexFiles.withInt(sqFile, sqpr + 4, 0),
        "sq-untrained-with-data");
    assertMentions(e, "untrained", "ntotal = 6");
    // SQfp16 is always trained
    byte[] fp16 = IndexFiles.bytesOf(new SqIndex(3, ScalarQuantizer.Type.SQFP16, Metric.L2));
    int fpr = IndexFiles.section(fp16, "SQPR").payloadStart();
    e = assertBothFail(CorruptIndexException.class, IndexFiles.withInt(fp16, fpr + 4, 0), "fp16-untrained");
    assertMentions(e, "SQfp16", "always set");
  }

  @Test
  void ivfAndQuantizerTrainingFlagsMustAgree() {
    int pqpr = IndexFiles.section(ivfPqFile, "PQPR").payloadStart();
    CorruptIndexException e = assertBothFail(CorruptIndexException.class, IndexFiles.withInt(ivfPqFile, pqpr + 8, 0),
        "ivf-trained-pq-not");
    assertMentions(e, "'PRMS'", "'PQPR'", "must agree");
    byte[] untrained = FILES.get("ivfpq-untrained");
    int upqpr = IndexFiles.section(untrained, "PQPR").payloadStart();
    e = assertBothFail(CorruptIndexException.class,
        IndexFiles.withInt(untrained, upqpr + 8, IndexFormat.QUANTIZER_FLAG_TRAINED), "pq-trained-ivf-not");
    assertMentions(e, "untrained", "must agree");
  }

  @Test
  void codeSectionLengthsOtherThanTheHeaderImpliesAreInvalidLengths() {
    for (String[] c : new String[][] {{"pq", "CODE"}, {"pq", "PQCB"}, {"sq", "CODE"}, {"ivfpq", "LCOD"}, {"ivfsq", "LCOD"}, {"ivfsq", "SQRG"},
        {"ivfpq", "PQCB"}}) {
      byte[] file = FILES.get(c[0]);
      Section s = IndexFiles.section(file, c[1]);
      for (long len : new long[] {s.length() + 1, s.length() - 1, -1, 1L << 62}) {
        InvalidLengthException e = assertBothFail(InvalidLengthException.class,
            IndexFiles.withLong(file, s.start() + 4, len), c[0] + "-" + c[1] + "-len" + len);
        assertMentions(e, "'" + c[1] + "'", "byteLength " + len);
      }
    }
  }

  @Test
  void negativeSqRangesWithAValidChecksumAreCorrupt() {
    byte[] bad = sqFile.clone();
    int vdiff = IndexFiles.section(sqFile, "SQRG").payloadStart() + 4 * 3; // vdiff[0], d = 3
    ByteBuffer.wrap(bad).order(ByteOrder.LITTLE_ENDIAN).putFloat(vdiff, -1f);
    CorruptIndexException e = assertBothFail(CorruptIndexException.class, IndexFiles.fixChecksum(bad), "negative-vdiff");
    assertMentions(e, "'SQRG'", "vdiff");
    byte[] nan = sqFile.clone();
    ByteBuffer.wrap(nan).order(ByteOrder.LITTLE_ENDIAN).putFloat(vdiff, Float.NaN);
    e = assertBothFail(CorruptIndexException.class, IndexFiles.fixChecksum(nan), "nan-vdiff");
    assertMentions(e, "NaN", "'SQRG'");
  }

  @Test
  void aNonFinitePqCodebookWithAValidChecksumIsCorrupt() {
    byte[] bad = ivfPqFile.clone();
    int at = middleOf(ivfPqFile, "PQCB") & ~3;
    ByteBuffer.wrap(bad).order(ByteOrder.LITTLE_ENDIAN).putFloat(at, Float.POSITIVE_INFINITY);
    CorruptIndexException e = assertBothFail(CorruptIndexException.class, IndexFiles.fixChecksum(bad), "inf-codebook");
    assertMentions(e, "Infinity", "'PQCB'", "byte " + at);
  }

  @Test
  void sectionsOfOtherTypesAreUnknownOrOutOfPlace() {
    int l2 = Metric.L2.code();
    // an IVF,Flat section in an SQ file
    byte[] foreign = Builder.header(IndexFormat.TYPE_SQ, 2, l2, 0).section("LVEC", 0)
        .section("pad_", 40).bytes(new byte[40]).withFooter(); // padding satisfies the path reader's size check
    assertBothFail(UnknownSectionException.class, foreign, "lvec-in-sq");
    // 'IDS_' before 'SQPR'
    byte[] swapped = Builder.header(IndexFormat.TYPE_SQ, 2, l2, 0).section("IDS_", 0)
        .section("SQPR", 8).i32(0).i32(0).section("CODE", 0).withFooter();
    CorruptIndexException e = assertBothFail(CorruptIndexException.class, swapped, "ids-first");
    assertMentions(e, "out of place", "expected 'SQPR'");
    // 'LCOD' repeated
    Section lcod = IndexFiles.section(ivfSqFile, "LCOD");
    byte[] repeated = IndexFiles.insertSection(ivfSqFile, ivfSqFile.length - IndexFormat.FOOTER_BYTES, "LCOD", 0,
        new byte[0]);
    e = assertBothFail(CorruptIndexException.class, repeated, "lcod-again");
    assertMentions(e, "appears again");
    assertTrue(lcod.length() > 0);
  }

  @Test
  void aCraftedMinimalSqFileIsReadable() throws IOException {
    // documents the layout independently of the writer: SQ8, d=2, one vector, id 42
    byte[] b = Builder.header(IndexFormat.TYPE_SQ, 2, Metric.L2.code(), 1)
        .section("SQPR", 8).i32(IndexFormat.SQ_TYPE_8BIT).i32(IndexFormat.QUANTIZER_FLAG_TRAINED)
        .section("SQRG", 16).f32(-0.5f, -0.5f).f32(255f, 255f)
        .section("IDS_", 8).i64(42)
        .section("CODE", 2).bytes(new byte[] {3, (byte) 200}).withFooter();
    SqIndex s = (SqIndex) IndexFiles.readBytes(b, "crafted");
    assertEquals(1, s.ntotal());
    org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {3, 200}, s.reconstruct(42));
    org.junit.jupiter.api.Assertions.assertArrayEquals(b, IndexFiles.bytesOf(s), "the writer produces the same bytes");
  }

  // ---- wrappers ----

  @Test
  void aBadKFactorIsCorrupt() {
    int rprm = IndexFiles.section(refineFile, "RPRM").payloadStart();
    for (float k : new float[] {0.5f, 0f, -1f, Float.NaN, Float.POSITIVE_INFINITY}) {
      CorruptIndexException e = assertBothFail(CorruptIndexException.class,
          IndexFiles.withInt(refineFile, rprm, Float.floatToRawIntBits(k)), "kfactor" + k);
      assertMentions(e, "kFactor = " + k, "'RPRM'");
    }
  }

  /** A refine file made of the given nested files. */
  private static byte[] refineOf(int d, int metric, long ntotal, byte[] baseFile, byte[] refinePart) {
    return Builder.header(IndexFormat.TYPE_REFINE_FLAT, d, metric, ntotal)
        .section("RPRM", 4).f32(2f)
        .section("BASE", baseFile.length).bytes(baseFile)
        .section("REFN", refinePart.length).bytes(refinePart).withFooter();
  }

  @Test
  void craftedRefineFilesAreCheckedPartByPart() throws IOException {
    int l2 = Metric.L2.code();
    byte[] flat3 = IndexFiles.bytesOf(FlatIndex.fromStorage(3, Metric.L2, new float[] {1, 2, 3}, new long[] {7}));
    byte[] sq3 = IndexFiles.bytesOf(QuantizedIndexIOTest.randomSq(ScalarQuantizer.Type.SQ8, Metric.L2, new Random(SEED), 1, 3));
    // well formed: reads
    RefineIndex ok = (RefineIndex) IndexFiles.readBytes(refineOf(3, l2, 1, flat3, flat3), "ok");
    assertEquals(2f, ok.kFactor());
    // 'REFN' must hold a Flat file
    CorruptIndexException e = assertBothFail(CorruptIndexException.class, refineOf(3, l2, 1, flat3, sq3), "refn-sq");
    assertMentions(e, "'REFN'", "'SQ__'", "'FLAT'");
    // d, metric and ntotal of the parts must be the outer header's
    byte[] flat2 = IndexFiles.bytesOf(FlatIndex.fromStorage(2, Metric.L2, new float[] {1, 2}, new long[] {7}));
    e = assertBothFail(CorruptIndexException.class, refineOf(3, l2, 1, flat2, flat3), "base-d2");
    assertMentions(e, "'BASE'", "d=2", "d=3");
    e = assertBothFail(CorruptIndexException.class, refineOf(3, Metric.INNER_PRODUCT.code(), 1, flat3, flat3), "metric");
    assertMentions(e, "metric");
    InvalidLengthException n = assertBothFail(InvalidLengthException.class, refineOf(3, l2, 2, flat3, flat3), "ntotal2");
    assertMentions(n, "ntotal=1", "ntotal = 2");
  }

  @Test
  void aNestedSectionMustHoldExactlyOneIndexFile() {
    Section b = IndexFiles.section(refineFile, "BASE");
    // too short to hold a file
    InvalidLengthException e = assertBothFail(InvalidLengthException.class,
        IndexFiles.withLong(refineFile, b.start() + 4, 20), "base-20");
    assertMentions(e, "'BASE'", "at least " + IndexFormat.MIN_FILE_BYTES);
    assertBothFail(InvalidLengthException.class, IndexFiles.withLong(refineFile, b.start() + 4, -1), "base-negative");
    // longer than the file it holds: padding after the nested footer
    int l2 = Metric.L2.code();
    byte[] flat3 = IndexFiles.bytesOf(FlatIndex.fromStorage(3, Metric.L2, new float[] {1, 2, 3}, new long[] {7}));
    byte[] padded = Arrays.copyOf(flat3, flat3.length + 4);
    CorruptIndexException c = assertBothFail(CorruptIndexException.class, refineOf(3, l2, 1, padded, flat3), "padded");
    assertMentions(c, "'BASE'");
    // a length beyond the data: the path reader sees a short file, the stream one a nested file that ends early
    byte[] huge = IndexFiles.withLong(refineFile, b.start() + 4, 1L << 62);
    assertPathFails(TruncatedIndexException.class, huge, dir, "base-huge.qvi");
    c = assertStreamFails(CorruptIndexException.class, huge, "base-huge.qvi");
    assertMentions(c, "must fill its section");
    // shorter than the file it holds
    assertBothFail(TruncatedIndexException.class, IndexFiles.withLong(refineFile, b.start() + 4, b.length() - 1),
        "base-short");
  }

  @Test
  void aNestedFileWithoutTheMagicIsCorruptNotForeign() {
    byte[] bad = refineFile.clone();
    bad[IndexFiles.section(refineFile, "BASE").payloadStart()] = 'X';
    CorruptIndexException e = assertBothFail(CorruptIndexException.class, IndexFiles.fixChecksum(bad), "nested-magic");
    assertEquals(CorruptIndexException.class, e.getClass());
    assertMentions(e, "nested in section 'BASE'", "'QVR1'");
  }

  @Test
  void nestedVersionTypeAndSectionErrorsKeepTheirTypesAndSayWhere() {
    int inner = IndexFiles.section(l2normFile, "INNR").payloadStart();
    IndexFormatTooNewException v = assertBothFail(IndexFormatTooNewException.class,
        IndexFiles.withInt(l2normFile, inner + IndexFormat.OFFSET_VERSION, IndexFormat.VERSION_CURRENT + 1), "nested-v2");
    assertMentions(v, "nested in section 'INNR' (from byte " + inner, "newer");
    UnsupportedIndexTypeException t = assertBothFail(UnsupportedIndexTypeException.class,
        IndexFiles.withInt(l2normFile, inner + IndexFormat.OFFSET_FILE_TYPE, IndexFormat.fourcc("HNSW")), "nested-hnsw");
    assertMentions(t, "'HNSW'", "'INNR'");
    // an unknown required section inside the nested file
    byte[] flat3 = IndexFiles.bytesOf(FlatIndex.fromStorage(3, Metric.L2, new float[] {1, 2, 3}, new long[] {7}));
    byte[] withXtra = IndexFiles.insertSection(flat3, IndexFiles.section(flat3, "VECS").start(), "XTRA", 0, new byte[0]);
    byte[] file = Builder.header(IndexFormat.TYPE_L2_NORM, 3, Metric.L2.code(), 1)
        .section("INNR", withXtra.length).bytes(withXtra).withFooter();
    UnknownSectionException u = assertBothFail(UnknownSectionException.class, file, "nested-xtra");
    assertMentions(u, "'XTRA'", "nested in section 'INNR'");
  }

  @Test
  void nestingDeeperThanTheLimitIsCorrupt() {
    byte[] file = IndexFiles.bytesOf(FlatIndex.fromStorage(2, Metric.L2, new float[0], new long[0]));
    for (int level = 0; level <= IndexFormat.MAX_NESTING_DEPTH; level++) {
      file = Builder.header(IndexFormat.TYPE_L2_NORM, 2, Metric.L2.code(), 0).section("INNR", file.length).bytes(file)
          .withFooter();
    }
    CorruptIndexException e = assertBothFail(CorruptIndexException.class, file, "too-deep");
    assertMentions(e, "levels deep");
  }
}
