package io.quiver.index.io;

import static io.quiver.index.io.IndexFiles.assertPathFails;
import static io.quiver.index.io.IndexFiles.assertStreamFails;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.quiver.index.FlatIndex;
import io.quiver.index.IvfIndex;
import io.quiver.index.Metric;
import io.quiver.index.VectorIndex;
import io.quiver.index.io.IndexFiles.Builder;
import io.quiver.index.io.IndexFiles.Section;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every kind of damaged or foreign file fails with its own exception type, naming the file, both
 * through a stream (length unknown) and through a path (length known).
 */
class IndexCorruptionTest {

  /** Seed of every random input in this class; failure messages print it. */
  static final long SEED = 0xC0_22_0F7L;

  static byte[] flatFile;
  static byte[] ivfFile;
  static byte[] untrainedIvfFile;

  @TempDir
  Path dir;

  @BeforeAll
  static void files() {
    Random rnd = new Random(SEED);
    flatFile = IndexFiles.bytesOf(IndexIOTest.randomFlat(Metric.L2, rnd, 20, 8));
    ivfFile = IndexFiles.bytesOf(IndexIOTest.randomIvf(Metric.INNER_PRODUCT, rnd, 30, 4, 3));
    untrainedIvfFile = IndexFiles.bytesOf(new IvfIndex(4, 3, Metric.L2));
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

  // ---- checksum ----

  @Test
  void aFlippedVectorByteIsAChecksumMismatch() {
    for (byte[] file : new byte[][] {flatFile, ivfFile}) {
      String section = file == flatFile ? "VECS" : "LVEC";
      byte[] bad = file.clone();
      bad[middleOf(file, section)] ^= 0x10;
      ChecksumMismatchException e = assertBothFail(ChecksumMismatchException.class, bad, "flipped-" + section);
      assertTrue(e.getMessage().contains("checksum"), e.getMessage());
      assertTrue(e.stored() != e.computed());
    }
  }

  @Test
  void aFlippedIdByteOrChecksumByteIsAChecksumMismatch() {
    byte[] bad = flatFile.clone();
    bad[middleOf(flatFile, "IDS_")] ^= 0x01;
    assertBothFail(ChecksumMismatchException.class, bad, "flipped-id");
    byte[] badCrc = flatFile.clone();
    badCrc[badCrc.length - 1] ^= (byte) 0x80;
    assertBothFail(ChecksumMismatchException.class, badCrc, "flipped-crc");
  }

  /** No single-bit error anywhere may go unnoticed, and none may escape as another exception type. */
  @Test
  void everySingleBitFlipIsDetected() throws IOException {
    Path file = dir.resolve("bitflip" + IndexFormat.FILE_EXTENSION);
    for (byte[] good : new byte[][] {flatFile, ivfFile, untrainedIvfFile}) {
      for (int off = 0; off < good.length; off++) {
        for (int bit = 0; bit < 8; bit++) {
          byte[] bad = good.clone();
          bad[off] ^= (byte) (1 << bit);
          String ctx = "bit " + bit + " of " + IndexFiles.describe(good, off) + ", seed=" + SEED;
          try {
            IndexFiles.readBytes(bad, "bitflip");
            fail("stream read accepted a flipped " + ctx);
          } catch (IndexFileException expected) {
            assertEquals("bitflip", expected.file(), ctx);
          } catch (IOException | RuntimeException | OutOfMemoryError other) {
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

  // ---- truncation ----

  @Test
  void truncationAtEveryOffsetIsTruncatedIndexException() {
    for (byte[] good : new byte[][] {flatFile, ivfFile, untrainedIvfFile}) {
      for (int len = 0; len < good.length; len++) {
        byte[] cut = Arrays.copyOf(good, len);
        TruncatedIndexException e = assertBothFail(TruncatedIndexException.class, cut, "cut-at-" + len);
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
      }
    }
  }

  @Test
  void truncatedInsideVectorsNamesTheSectionAndOffset() {
    int cut = middleOf(flatFile, "VECS");
    TruncatedIndexException e = assertStreamFails(TruncatedIndexException.class, Arrays.copyOf(flatFile, cut), "cut.qvi");
    assertTrue(e.getMessage().contains("'VECS'") && e.getMessage().contains("byte " + cut), e.getMessage());
    TruncatedIndexException p = assertPathFails(TruncatedIndexException.class, Arrays.copyOf(flatFile, cut), dir, "cut.qvi");
    assertTrue(p.getMessage().contains("has " + cut + " bytes"), p.getMessage());
  }

  // ---- magic and version ----

  @Test
  void wrongMagicIsNotAnIndexFile() {
    byte[] fvecs = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putInt(4).putFloat(1).putFloat(2)
        .putFloat(3).putFloat(4).array();
    assertBothFail(NotAnIndexFileException.class, fvecs, "vectors.fvecs");
    byte[] otherMagic = flatFile.clone();
    otherMagic[3] = '2'; // 'QVR2'
    NotAnIndexFileException e = assertBothFail(NotAnIndexFileException.class, otherMagic, "qvr2");
    assertTrue(e.getMessage().contains("'QVR2'") && e.getMessage().contains("'QVR1'"), e.getMessage());
    assertBothFail(NotAnIndexFileException.class, "hello, world\n".getBytes(StandardCharsets.US_ASCII), "text");
    assertBothFail(NotAnIndexFileException.class, new byte[100], "zeros");
    assertBothFail(NotAnIndexFileException.class, new byte[] {'X', 'Y'}, "two-bytes");
    // a prefix of the magic is a truncated index, not a foreign file
    assertBothFail(TruncatedIndexException.class, new byte[] {'Q', 'V'}, "magic-prefix");
    assertBothFail(TruncatedIndexException.class, new byte[0], "empty");
  }

  @Test
  void aNewerVersionIsTooNew() {
    for (int v : new int[] {IndexFormat.VERSION_CURRENT + 1, Integer.MAX_VALUE}) {
      byte[] bad = IndexFiles.withInt(flatFile, IndexFormat.OFFSET_VERSION, v);
      IndexFormatTooNewException e = assertBothFail(IndexFormatTooNewException.class, bad, "v" + v);
      assertEquals(v, e.version());
      assertTrue(e.getMessage().contains("version " + v) && e.getMessage().contains("newer"), e.getMessage());
    }
    // the version is checked before anything else after the magic: the rest may be garbage
    byte[] garbage = Arrays.copyOf(Arrays.copyOf(flatFile, 8), 50);
    ByteBuffer.wrap(garbage).order(ByteOrder.LITTLE_ENDIAN).putInt(IndexFormat.OFFSET_VERSION, IndexFormat.VERSION_CURRENT + 1);
    assertBothFail(IndexFormatTooNewException.class, garbage, "newer-layout");
  }

  @Test
  void anOlderVersionIsTooOld() {
    for (int v : new int[] {IndexFormat.VERSION_MIN_SUPPORTED - 1, -1, Integer.MIN_VALUE}) {
      byte[] bad = IndexFiles.withInt(ivfFile, IndexFormat.OFFSET_VERSION, v);
      IndexFormatTooOldException e = assertBothFail(IndexFormatTooOldException.class, bad, "v" + v);
      assertEquals(v, e.version());
      assertTrue(e.getMessage().contains("older"), e.getMessage());
    }
  }

  // ---- header fields ----

  @Test
  void anUnknownFileTypeIsUnsupported() {
    byte[] bad = IndexFiles.withInt(flatFile, IndexFormat.OFFSET_FILE_TYPE, IndexFormat.fourcc("HNSW"));
    UnsupportedIndexTypeException e = assertBothFail(UnsupportedIndexTypeException.class, bad, "hnsw");
    assertTrue(e.getMessage().contains("'HNSW'") && e.getMessage().contains("'FLAT'")
        && e.getMessage().contains("'IVPQ'"), e.getMessage());
  }

  @Test
  void anImpossibleDIsAnInvalidLength() {
    for (int d : new int[] {0, -1, IndexFormat.MAX_D + 1, Integer.MAX_VALUE}) {
      InvalidLengthException e = assertBothFail(InvalidLengthException.class,
          IndexFiles.withInt(flatFile, IndexFormat.OFFSET_D, d), "d" + d);
      assertTrue(e.getMessage().contains("d = " + d) && e.getMessage().contains("1.." + IndexFormat.MAX_D), e.getMessage());
    }
  }

  @Test
  void anUnknownMetricCodeIsCorrupt() {
    CorruptIndexException e = assertBothFail(CorruptIndexException.class,
        IndexFiles.withInt(flatFile, IndexFormat.OFFSET_METRIC, 7), "metric7");
    assertTrue(e.getMessage().contains("metric code 7"), e.getMessage());
  }

  @Test
  void aNegativeOrOversizedNtotalIsAnInvalidLength() {
    assertBothFail(InvalidLengthException.class, IndexFiles.withLong(flatFile, IndexFormat.OFFSET_NTOTAL, -1), "ntotal-neg");
    assertBothFail(InvalidLengthException.class, IndexFiles.withLong(flatFile, IndexFormat.OFFSET_NTOTAL, 1L << 40), "ntotal-2^40");
    assertBothFail(InvalidLengthException.class, IndexFiles.withLong(ivfFile, IndexFormat.OFFSET_NTOTAL, Long.MAX_VALUE), "ivf-ntotal-max");
  }

  /** ntotal one larger than the data: the path reader sees a short file, the stream a wrong section length. */
  @Test
  void anNtotalLargerThanTheDataIsCaught() {
    byte[] bad = IndexFiles.withLong(flatFile, IndexFormat.OFFSET_NTOTAL, 21);
    assertPathFails(TruncatedIndexException.class, bad, dir, "ntotal21.qvi");
    InvalidLengthException e = assertStreamFails(InvalidLengthException.class, bad, "ntotal21.qvi");
    assertTrue(e.getMessage().contains("'IDS_'") && e.getMessage().contains("must be " + 8 * 21), e.getMessage());
  }

  // ---- section lengths ----

  @Test
  void aSectionLengthOtherThanTheHeaderImpliesIsAnInvalidLength() {
    Section ids = IndexFiles.section(flatFile, "IDS_");
    for (long len : new long[] {ids.length() + 1, ids.length() - 8, -8, -1L << 62, 1L << 50}) {
      byte[] bad = IndexFiles.withLong(flatFile, ids.start() + 4, len);
      InvalidLengthException e = assertBothFail(InvalidLengthException.class, bad, "ids-len" + len);
      assertTrue(e.getMessage().contains("byteLength " + len), e.getMessage());
    }
    Section cent = IndexFiles.section(ivfFile, "CENT");
    assertBothFail(InvalidLengthException.class, IndexFiles.withLong(ivfFile, cent.start() + 4, cent.length() + 4), "cent-len");
  }

  @Test
  void anOptionalSectionLongerThanTheFileIsAnInvalidLengthWhenTheSizeIsKnown() {
    int at = IndexFiles.section(flatFile, "VECS").start();
    byte[] bad = IndexFiles.insertSection(flatFile, at, "note", 1L << 40, new byte[] {1, 2, 3});
    InvalidLengthException e = assertPathFails(InvalidLengthException.class, bad, dir, "long-note.qvi");
    assertTrue(e.getMessage().contains("'note'") && e.getMessage().contains("claims " + (1L << 40)), e.getMessage());
    // with no known size the skip runs into the end of the data
    assertStreamFails(TruncatedIndexException.class, bad, "long-note.qvi");
    byte[] negative = IndexFiles.insertSection(flatFile, at, "note", -3, new byte[0]);
    assertBothFail(InvalidLengthException.class, negative, "negative-note");
  }

  // ---- IVF parameters ----

  @Test
  void anAbsurdNlistIsAnInvalidLength() {
    int prms = IndexFiles.section(ivfFile, "PRMS").payloadStart();
    for (int nlist : new int[] {0, -5, IndexFormat.MAX_NLIST + 1, Integer.MAX_VALUE}) {
      InvalidLengthException e = assertBothFail(InvalidLengthException.class, IndexFiles.withInt(ivfFile, prms, nlist),
          "nlist" + nlist);
      assertTrue(e.getMessage().contains("nlist = " + nlist), e.getMessage());
    }
    // nlist within range but nlist * d beyond one array (padding satisfies the path reader's size check)
    byte[] wide = Builder.header(IndexFormat.TYPE_IVF_FLAT, 1 << 10, Metric.L2.code(), 0)
        .section("PRMS", 12).i32(IndexFormat.MAX_NLIST).i32(1).i32(IndexFormat.IVF_FLAG_TRAINED)
        .section("pad_", 64).bytes(new byte[64]).withFooter();
    InvalidLengthException w = assertBothFail(InvalidLengthException.class, wide, "nlist-times-d");
    assertTrue(w.getMessage().contains("must fit one Java array"), w.getMessage());
    // plausible nlist, other than the data: the sections no longer match it
    assertBothFail(InvalidLengthException.class, IndexFiles.withInt(ivfFile, prms, 2), "nlist2");
    // a larger nlist needs more bytes than the file has: seen up front when the size is known
    byte[] more = IndexFiles.withInt(ivfFile, prms, 4);
    assertPathFails(TruncatedIndexException.class, more, dir, "nlist4.qvi");
    assertStreamFails(InvalidLengthException.class, more, "nlist4.qvi");
  }

  @Test
  void listSizesMustSumToNtotal() {
    int lsiz = IndexFiles.section(ivfFile, "LSIZ").payloadStart();
    long s0 = IndexFiles.getLong(ivfFile, lsiz);
    InvalidLengthException e = assertBothFail(InvalidLengthException.class, IndexFiles.withLong(ivfFile, lsiz, s0 + 1), "sum");
    assertTrue(e.getMessage().contains("sum to " + 31) && e.getMessage().contains("ntotal = 30"), e.getMessage());
    InvalidLengthException neg = assertBothFail(InvalidLengthException.class, IndexFiles.withLong(ivfFile, lsiz + 8, -1),
        "negative-list");
    assertTrue(neg.getMessage().contains("list 1 has size -1"), neg.getMessage());
    assertBothFail(InvalidLengthException.class, IndexFiles.withLong(ivfFile, lsiz, 1L << 40), "huge-list");
  }

  @Test
  void invalidIvfParametersAreCorrupt() {
    int prms = IndexFiles.section(ivfFile, "PRMS").payloadStart();
    CorruptIndexException e = assertBothFail(CorruptIndexException.class, IndexFiles.withInt(ivfFile, prms + 4, 0), "nprobe0");
    assertTrue(e.getMessage().contains("nprobe = 0"), e.getMessage());
    e = assertBothFail(CorruptIndexException.class, IndexFiles.withInt(ivfFile, prms + 8, 0x3), "flags3");
    assertTrue(e.getMessage().contains("flags 0x3"), e.getMessage());
    // says untrained while holding vectors
    e = assertBothFail(CorruptIndexException.class, IndexFiles.withInt(ivfFile, prms + 8, 0), "untrained-with-data");
    assertTrue(e.getMessage().contains("untrained"), e.getMessage());
    // says trained but has no centroids: 'LSIZ' found where 'CENT' belongs
    byte[] u = untrainedIvfFile;
    int uprms = IndexFiles.section(u, "PRMS").payloadStart();
    byte[] claimsTrained = IndexFiles.withInt(u, uprms + 8, IndexFormat.IVF_FLAG_TRAINED);
    assertPathFails(TruncatedIndexException.class, claimsTrained, dir, "no-cent.qvi"); // CENT bytes missing
    e = assertStreamFails(CorruptIndexException.class, claimsTrained, "no-cent.qvi");
    assertTrue(e.getMessage().contains("'LSIZ'") && e.getMessage().contains("expected 'CENT'"), e.getMessage());
  }

  // ---- section structure ----

  @Test
  void anUnknownRequiredSectionIsRejected() {
    int at = IndexFiles.section(flatFile, "VECS").start();
    byte[] bad = IndexFiles.insertSection(flatFile, at, "XTRA", 4, new byte[] {1, 2, 3, 4});
    UnknownSectionException e = assertBothFail(UnknownSectionException.class, bad, "xtra");
    assertTrue(e.getMessage().contains("'XTRA'") && e.getMessage().contains("lowercase"), e.getMessage());
    // also where the footer belongs
    int footer = flatFile.length - IndexFormat.FOOTER_BYTES;
    assertBothFail(UnknownSectionException.class, IndexFiles.insertSection(flatFile, footer, "XTRA", 0, new byte[0]),
        "xtra-end");
  }

  @Test
  void unknownOptionalSectionsAreSkipped() throws IOException {
    FlatIndex expected = (FlatIndex) IndexFiles.readBytes(flatFile, "good");
    byte[] withNotes = IndexFiles.insertSection(flatFile, IndexFiles.section(flatFile, "VECS").start(), "note", 5,
        new byte[] {1, 2, 3, 4, 5});
    withNotes = IndexFiles.insertSection(withNotes, withNotes.length - IndexFormat.FOOTER_BYTES, "zzzz", 0, new byte[0]);
    withNotes = IndexFiles.insertSection(withNotes, IndexFormat.HEADER_BYTES, "stat", 16, new byte[16]);
    Path file = dir.resolve("notes.qvi");
    Files.write(file, withNotes);
    for (VectorIndex back : new VectorIndex[] {IndexFiles.readBytes(withNotes, "notes"), IndexIO.read(file)}) {
      IndexIOTest.assertSameFlat(expected, back, "file with optional sections");
    }
    // the skipped bytes are still checksummed
    byte[] damagedNote = withNotes.clone();
    damagedNote[IndexFormat.HEADER_BYTES + IndexFormat.SECTION_HEADER_BYTES + 3] ^= 1;
    assertBothFail(ChecksumMismatchException.class, damagedNote, "damaged-note");
  }

  @Test
  void missingOutOfOrderAndRepeatedSectionsAreCorrupt() {
    int l2 = Metric.L2.code();
    // 'VECS' missing (padding keeps the path reader's size check satisfied)
    byte[] missing = Builder.header(IndexFormat.TYPE_FLAT, 2, l2, 0).section("IDS_", 0).section("pad_", 12)
        .bytes(new byte[12]).withFooter();
    CorruptIndexException e = assertBothFail(CorruptIndexException.class, missing, "missing");
    assertTrue(e.getMessage().contains("'VECS' is missing"), e.getMessage());
    byte[] swapped = Builder.header(IndexFormat.TYPE_FLAT, 2, l2, 0).section("VECS", 0).section("IDS_", 0).withFooter();
    e = assertBothFail(CorruptIndexException.class, swapped, "swapped");
    assertTrue(e.getMessage().contains("out of place") && e.getMessage().contains("expected 'IDS_'"), e.getMessage());
    byte[] repeated = Builder.header(IndexFormat.TYPE_FLAT, 2, l2, 0).section("IDS_", 0).section("VECS", 0)
        .section("VECS", 0).withFooter();
    e = assertBothFail(CorruptIndexException.class, repeated, "repeated");
    assertTrue(e.getMessage().contains("appears again"), e.getMessage());
    // an IVF section in a Flat file is unknown there
    byte[] foreign = Builder.header(IndexFormat.TYPE_FLAT, 2, l2, 0).section("PRMS", 0).section("VECS", 0).withFooter();
    assertBothFail(UnknownSectionException.class, foreign, "foreign-section");
  }

  @Test
  void bytesAfterTheFooterAreCorruptWhenTheSizeIsKnown() throws IOException {
    byte[] trailing = Arrays.copyOf(flatFile, flatFile.length + 3);
    CorruptIndexException e = assertPathFails(CorruptIndexException.class, trailing, dir, "trailing.qvi");
    assertTrue(e.getMessage().contains("3 unexpected bytes"), e.getMessage());
    // a stream of unknown length may hold more data after the index
    IndexIOTest.assertSameFlat((FlatIndex) IndexFiles.readBytes(flatFile, "a"), IndexFiles.readBytes(trailing, "b"),
        "stream with trailing bytes");
  }

  @Test
  void aNonFiniteVectorWithAValidChecksumIsCorrupt() {
    byte[] bad = flatFile.clone();
    int at = IndexFiles.section(flatFile, "VECS").payloadStart() + 4 * 9;
    ByteBuffer.wrap(bad).order(ByteOrder.LITTLE_ENDIAN).putFloat(at, Float.NaN);
    CorruptIndexException e = assertBothFail(CorruptIndexException.class, IndexFiles.fixChecksum(bad), "nan");
    assertTrue(e.getMessage().contains("NaN") && e.getMessage().contains("byte " + at), e.getMessage());
  }

  @Test
  void aCraftedMinimalFileIsReadable() throws IOException {
    // documents the layout independently of the writer: d=2, ntotal=1, id 42, vector (0.5, -1)
    byte[] b = Builder.header(IndexFormat.TYPE_FLAT, 2, Metric.INNER_PRODUCT.code(), 1)
        .section("IDS_", 8).i64(42).section("VECS", 8).f32(0.5f, -1f).withFooter();
    FlatIndex f = (FlatIndex) IndexFiles.readBytes(b, "crafted");
    assertArrayEquals(new long[] {42}, f.ids());
    assertArrayEquals(new float[] {0.5f, -1f}, f.copyRows(0, 1));
    assertEquals(Metric.INNER_PRODUCT, f.metric());
    assertArrayEquals(b, IndexFiles.bytesOf(f), "the writer produces the same bytes");
  }
}
