package io.quiver.index.io;

import static io.quiver.index.io.IndexFiles.assertStreamFails;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.Metric;
import io.quiver.index.io.IndexFiles.Builder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Headers that claim far more data than a stream of unknown length delivers must fail with
 * {@link InvalidLengthException} or {@link TruncatedIndexException}, never with
 * {@link OutOfMemoryError}. The test JVM runs with {@code -Xmx4g}; every claim here would need
 * from 4 GiB to terabytes if the reader trusted it.
 */
class IndexBoundedAllocationTest {

  /** Seed of the random payload bytes; failure messages print it. */
  static final long SEED = 0xB0_0DEDL;

  private static final int L2 = Metric.L2.code();

  /** {@code n} seeded random bytes. */
  private static byte[] noise(int n) {
    byte[] b = new byte[n];
    new Random(SEED).nextBytes(b);
    return b;
  }

  @Test
  void flatNtotalOf2To40IsAnInvalidLength() {
    byte[] b = Builder.header(IndexFormat.TYPE_FLAT, 4, L2, 1L << 40).section("IDS_", 8L << 40).bytes(noise(60)).build();
    InvalidLengthException e = assertStreamFails(InvalidLengthException.class, b, "ntotal-2^40");
    assertTrue(e.getMessage().contains("ntotal = " + (1L << 40)), e.getMessage());
  }

  /** The largest ntotal a Flat index can hold at d=1: 16 GiB of ids if allocated up front. */
  @Test
  void flatLargestNtotalOnAShortStreamIsTruncated() {
    long ntotal = IndexFormat.MAX_ARRAY_LENGTH;
    byte[] b = Builder.header(IndexFormat.TYPE_FLAT, 1, L2, ntotal).section("IDS_", 8 * ntotal).bytes(noise(100)).build();
    TruncatedIndexException e = assertStreamFails(TruncatedIndexException.class, b, "huge-flat, seed=" + SEED);
    assertTrue(e.getMessage().contains("'IDS_'"), e.getMessage());
  }

  /** Same claim, with 5 MiB of data actually arriving: arrays grow with the data, then the stream ends. */
  @Test
  void flatLargestNtotalWithSomeRealDataIsTruncated() {
    long ntotal = IndexFormat.MAX_ARRAY_LENGTH / 2;
    byte[] b = Builder.header(IndexFormat.TYPE_FLAT, 2, L2, ntotal).section("IDS_", 8 * ntotal).bytes(noise(5 << 20))
        .build();
    assertStreamFails(TruncatedIndexException.class, b, "huge-flat-5MiB, seed=" + SEED);
  }

  /** nlist * d = 2^30 centroid floats (4 GiB) claimed by a 100-byte stream. */
  @Test
  void ivfHugeCentroidsOnAShortStreamAreTruncated() {
    int d = 64;
    int nlist = IndexFormat.MAX_NLIST;
    byte[] b = Builder.header(IndexFormat.TYPE_IVF_FLAT, d, L2, 0)
        .section("PRMS", 12).i32(nlist).i32(1).i32(IndexFormat.IVF_FLAG_TRAINED)
        .section("CENT", 4L * nlist * d).bytes(noise(100)).build();
    TruncatedIndexException e = assertStreamFails(TruncatedIndexException.class, b, "huge-cent, seed=" + SEED);
    assertTrue(e.getMessage().contains("'CENT'"), e.getMessage());
  }

  /** An untrained IVF with the largest nlist: the 128 MiB of list sizes are not allocated ahead of the data. */
  @Test
  void ivfHugeNlistWithoutCentroidsIsTruncated() {
    byte[] b = Builder.header(IndexFormat.TYPE_IVF_FLAT, 4, L2, 0)
        .section("PRMS", 12).i32(IndexFormat.MAX_NLIST).i32(1).i32(0)
        .section("LSIZ", 8L * IndexFormat.MAX_NLIST).bytes(new byte[64]).build();
    assertStreamFails(TruncatedIndexException.class, b, "huge-nlist");
  }

  /** Four lists of the largest size at d=1: 64 GiB of ids and 32 GiB of vectors claimed. */
  @Test
  void ivfHugeListsOnAShortStreamAreTruncated() {
    long perList = IndexFormat.MAX_ARRAY_LENGTH;
    long ntotal = 4 * perList;
    Builder b = Builder.header(IndexFormat.TYPE_IVF_FLAT, 1, L2, ntotal)
        .section("PRMS", 12).i32(4).i32(1).i32(IndexFormat.IVF_FLAG_TRAINED)
        .section("CENT", 16).f32(0, 1, 2, 3)
        .section("LSIZ", 32).i64(perList).i64(perList).i64(perList).i64(perList)
        .section("LIDS", 8 * ntotal).bytes(noise(3 << 20));
    TruncatedIndexException e = assertStreamFails(TruncatedIndexException.class, b.build(), "huge-lists, seed=" + SEED);
    assertTrue(e.getMessage().contains("'LIDS' (list 0"), e.getMessage());
  }

  @Test
  void ivfNtotalBeyondAnyNlistIsAnInvalidLength() {
    byte[] b = Builder.header(IndexFormat.TYPE_IVF_FLAT, 4, L2, Long.MAX_VALUE / 2).bytes(noise(40)).build();
    assertStreamFails(InvalidLengthException.class, b, "ivf-ntotal");
  }

  // ---- quantized types and wrappers ----

  /** The largest SQ8 index at d=1: 16 GiB of ids and 2 GiB of codes claimed by a short stream. */
  @Test
  void sqLargestNtotalOnAShortStreamIsTruncated() {
    long ntotal = IndexFormat.MAX_ARRAY_LENGTH;
    byte[] b = Builder.header(IndexFormat.TYPE_SQ, 1, L2, ntotal)
        .section("SQPR", 8).i32(IndexFormat.SQ_TYPE_8BIT).i32(IndexFormat.QUANTIZER_FLAG_TRAINED)
        .section("SQRG", 8).f32(0f, 1f)
        .section("IDS_", 8 * ntotal).bytes(noise(3 << 20)).build();
    TruncatedIndexException e = assertStreamFails(TruncatedIndexException.class, b, "huge-sq, seed=" + SEED);
    assertTrue(e.getMessage().contains("'IDS_'"), e.getMessage());
  }

  /** A PQ index of 2^31 - 9 vectors with the largest codebook (m = d = 2^20, nbits 8) on a short stream. */
  @Test
  void pqHugeCodebookAndNtotalOnAShortStreamIsTruncated() {
    int d = IndexFormat.MAX_D;
    byte[] b = Builder.header(IndexFormat.TYPE_PQ, d, L2, 1000)
        .section("PQPR", 12).i32(d).i32(8).i32(IndexFormat.QUANTIZER_FLAG_TRAINED)
        .section("PQCB", 4L * 256 * d).bytes(noise(1 << 20)).build();
    TruncatedIndexException e = assertStreamFails(TruncatedIndexException.class, b, "huge-pq, seed=" + SEED);
    assertTrue(e.getMessage().contains("'PQCB'"), e.getMessage());
    // m = d = 2^20 sub-codes of 8 bits: 1 MiB codes, so at most 2047 of them fit one array
    byte[] c = Builder.header(IndexFormat.TYPE_PQ, d, L2, 4096)
        .section("PQPR", 12).i32(d).i32(8).i32(IndexFormat.QUANTIZER_FLAG_TRAINED).bytes(noise(64)).build();
    InvalidLengthException i = assertStreamFails(InvalidLengthException.class, c, "pq-codes");
    assertTrue(i.getMessage().contains("codes of " + d + " bytes"), i.getMessage());
  }

  @Test
  void sqNtotalBeyondOneArrayOfCodesIsAnInvalidLength() {
    // SQfp16 at d=4: 8-byte codes, so at most (2^31 - 9) / 8 vectors
    long ntotal = IndexFormat.MAX_ARRAY_LENGTH / 8 + 1;
    byte[] b = Builder.header(IndexFormat.TYPE_SQ, 4, L2, ntotal)
        .section("SQPR", 8).i32(IndexFormat.SQ_TYPE_FP16).i32(IndexFormat.QUANTIZER_FLAG_TRAINED).bytes(noise(64)).build();
    InvalidLengthException e = assertStreamFails(InvalidLengthException.class, b, "sq-codes");
    assertTrue(e.getMessage().contains("codes of 8 bytes"), e.getMessage());
    byte[] c = Builder.header(IndexFormat.TYPE_SQ, 4, L2, 1L << 40).bytes(noise(64)).build();
    assertStreamFails(InvalidLengthException.class, c, "sq-ntotal-2^40");
  }

  /** The largest PQ codebook (d = 2^20, nbits 8: 1 GiB of floats) claimed by a short stream. */
  @Test
  void ivfPqHugeCodebookOnAShortStreamIsTruncated() {
    int d = IndexFormat.MAX_D;
    byte[] b = Builder.header(IndexFormat.TYPE_IVF_PQ, d, L2, 0)
        .section("PRMS", 12).i32(1).i32(1).i32(IndexFormat.IVF_FLAG_TRAINED)
        .section("CENT", 4L * d).bytes(new byte[4 * d])
        .section("PQPR", 12).i32(d).i32(8).i32(IndexFormat.QUANTIZER_FLAG_TRAINED)
        .section("PQCB", 4L * 256 * d).bytes(noise(1 << 20)).build();
    TruncatedIndexException e = assertStreamFails(TruncatedIndexException.class, b, "huge-codebook, seed=" + SEED);
    assertTrue(e.getMessage().contains("'PQCB'"), e.getMessage());
  }

  /** Four IVF,SQ8 lists of the largest size at d=1: 64 GiB of ids and 8 GiB of codes claimed. */
  @Test
  void ivfSqHugeListsOnAShortStreamAreTruncated() {
    long perList = IndexFormat.MAX_ARRAY_LENGTH;
    long ntotal = 4 * perList;
    byte[] b = Builder.header(IndexFormat.TYPE_IVF_SQ, 1, L2, ntotal)
        .section("PRMS", 12).i32(4).i32(1).i32(IndexFormat.IVF_FLAG_TRAINED)
        .section("CENT", 16).f32(0, 1, 2, 3)
        .section("SQPR", 8).i32(IndexFormat.SQ_TYPE_8BIT).i32(IndexFormat.QUANTIZER_FLAG_TRAINED)
        .section("SQRG", 8).f32(0f, 1f)
        .section("LSIZ", 32).i64(perList).i64(perList).i64(perList).i64(perList)
        .section("LIDS", 8 * ntotal).bytes(noise(3 << 20)).build();
    TruncatedIndexException e = assertStreamFails(TruncatedIndexException.class, b, "huge-ivfsq, seed=" + SEED);
    assertTrue(e.getMessage().contains("'LIDS' (list 0"), e.getMessage());
  }

  @Test
  void ivfCodesNtotalBeyondAnyNlistIsAnInvalidLength() {
    for (int type : new int[] {IndexFormat.TYPE_IVF_PQ, IndexFormat.TYPE_IVF_SQ}) {
      byte[] b = Builder.header(type, 4, L2, Long.MAX_VALUE / 2).bytes(noise(40)).build();
      assertStreamFails(InvalidLengthException.class, b, "ivf-codes-ntotal");
    }
  }

  /** A wrapper whose nested section claims 2^62 bytes, holding a Flat header that claims 2^31 ids. */
  @Test
  void aHugeNestedFileOnAShortStreamIsTruncated() {
    long ntotal = IndexFormat.MAX_ARRAY_LENGTH;
    byte[] nested = Builder.header(IndexFormat.TYPE_FLAT, 1, L2, ntotal).section("IDS_", 8 * ntotal).bytes(noise(1 << 20))
        .build();
    byte[] b = Builder.header(IndexFormat.TYPE_L2_NORM, 1, L2, ntotal).section("INNR", 1L << 62).bytes(nested).build();
    TruncatedIndexException e = assertStreamFails(TruncatedIndexException.class, b, "huge-nested, seed=" + SEED);
    assertTrue(e.getMessage().contains("'INNR'") && e.getMessage().contains("'IDS_'"), e.getMessage());
    byte[] r = Builder.header(IndexFormat.TYPE_REFINE_FLAT, 1, L2, ntotal).section("RPRM", 4).f32(1f)
        .section("BASE", 1L << 62).bytes(nested).build();
    assertStreamFails(TruncatedIndexException.class, r, "huge-base, seed=" + SEED);
  }

  /** A nested section may not read past its own end, whatever the nested header claims. */
  @Test
  void aNestedFileCannotReadPastItsSection() {
    long ntotal = 1000;
    byte[] nested = Builder.header(IndexFormat.TYPE_FLAT, 1, L2, ntotal).section("IDS_", 8 * ntotal).bytes(noise(8000))
        .build();
    // the section claims 100 bytes; the data after it (8000 bytes of the nested ids) belongs to the outer file
    byte[] b = Builder.header(IndexFormat.TYPE_L2_NORM, 1, L2, ntotal).section("INNR", 100).bytes(nested).build();
    TruncatedIndexException e = assertStreamFails(TruncatedIndexException.class, b, "short-section");
    assertTrue(e.getMessage().contains("'INNR'") && e.getMessage().contains("truncated"), e.getMessage());
  }

  @Test
  void anOptionalSectionClaiming2To62BytesIsSkippedOnlyAsFarAsTheDataGoes() {
    byte[] b = Builder.header(IndexFormat.TYPE_FLAT, 4, L2, 0).section("blob", 1L << 62).bytes(noise(1 << 17)).build();
    assertStreamFails(TruncatedIndexException.class, b, "huge-optional, seed=" + SEED);
  }

  /**
   * A stream that would keep producing bytes for a 16 GiB claim is cut short by the reader's
   * caller; until then the reader's memory follows the bytes received. Here: 16 MiB of zeros
   * then end of stream, for a claim of 2^31 - 9 ids.
   */
  @Test
  void memoryFollowsTheBytesReceived() throws IOException {
    long ntotal = IndexFormat.MAX_ARRAY_LENGTH;
    byte[] head = Builder.header(IndexFormat.TYPE_FLAT, 1, L2, ntotal).section("IDS_", 8 * ntotal).build();
    long budget = 16L << 20;
    InputStream zeros = new InputStream() {
      long left = budget;

      @Override
      public int read() {
        return left-- > 0 ? 0 : -1;
      }

      @Override
      public int read(byte[] dst, int off, int len) {
        if (left <= 0) {
          return -1;
        }
        int n = (int) Math.min(len, left);
        java.util.Arrays.fill(dst, off, off + n, (byte) 0);
        left -= n;
        return n;
      }
    };
    Runtime rt = Runtime.getRuntime();
    try (InputStream in = new SequenceInputStream(new ByteArrayInputStream(head), zeros)) {
      long before = rt.totalMemory() - rt.freeMemory();
      TruncatedIndexException e = org.junit.jupiter.api.Assertions.assertThrows(TruncatedIndexException.class,
          () -> IndexIO.read(in, "zeros"));
      assertTrue(e.getMessage().contains("'IDS_'"), e.getMessage());
      long after = rt.totalMemory() - rt.freeMemory();
      // a loose bound (GC may run or not): far below the 16 GiB the header claims
      assertTrue(after - before < 1L << 30, "heap grew by " + (after - before) + " bytes for 16 MiB of input");
    }
  }
}
