package io.quiver.index.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.FlatIndex;
import io.quiver.index.Metric;
import io.quiver.index.RefineIndex;
import io.quiver.index.SearchParams;
import io.quiver.index.SearchResult;
import io.quiver.index.TestData;
import io.quiver.index.util.Checks;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * k and kFactor bounds, and the two parts of an 'RFLT' file checked against each other when read:
 * files whose checksums are valid but whose kFactor, or raw-vector ids, no search can use.
 */
class RefineFileChecksTest {
  private static final long SEED = 41;

  /** The golden RFlat file: an IVF2,PQ2x4 base of ids 1..5 and their raw vectors. */
  private static byte[] golden() throws Exception {
    Path dir = GoldenFilesTest.versionDirs().get(0);
    return Files.readAllBytes(dir.resolve("refine_ivfpq_l2.qvi"));
  }

  /** A copy of an RFLT file with ids of its raw-vector part replaced, both checksums recomputed. */
  private static byte[] withRawIds(byte[] file, long... ids) {
    IndexFiles.Section refn = IndexFiles.section(file, "REFN");
    byte[] nested = java.util.Arrays.copyOfRange(file, refn.payloadStart(), refn.payloadStart() + (int) refn.length());
    IndexFiles.Section idSection = IndexFiles.section(nested, "IDS_");
    ByteBuffer b = ByteBuffer.wrap(nested).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < ids.length; i++) {
      b.putLong(idSection.payloadStart() + 8 * i, ids[i]);
    }
    IndexFiles.fixChecksum(nested);
    byte[] out = file.clone();
    System.arraycopy(nested, 0, out, refn.payloadStart(), nested.length);
    return IndexFiles.fixChecksum(out);
  }

  @Test
  void aKFactorBeyondTheBoundIsRefusedByTheReader() throws Exception {
    byte[] file = golden();
    int at = IndexFiles.section(file, "RPRM").payloadStart();
    for (float kf : new float[] {1e20f, 1e6f, Checks.MAX_K_FACTOR * 2}) {
      byte[] bad = IndexFiles.withInt(file, at, Float.floatToRawIntBits(kf));
      CorruptIndexException e = IndexFiles.assertStreamFails(CorruptIndexException.class, bad, "kf.qvi");
      assertTrue(e.getMessage().contains("kFactor = " + kf) && e.getMessage().contains("[1, 10000]"), e.getMessage());
    }
    RefineIndex ok = (RefineIndex) IndexFiles.readBytes(IndexFiles.withInt(file, at,
        Float.floatToRawIntBits(Checks.MAX_K_FACTOR)), "max.qvi");
    assertEquals(Checks.MAX_K_FACTOR, ok.kFactor());
  }

  @Test
  void rawVectorsThatRepeatAnIdAreRefused() throws Exception {
    byte[] bad = withRawIds(golden(), 1, 2, 3, 4, 4);
    CorruptIndexException e = IndexFiles.assertStreamFails(CorruptIndexException.class, bad, "repeat.qvi");
    assertTrue(e.getMessage().contains("the raw vectors hold id 4 more than once"), e.getMessage());
  }

  @Test
  void rawVectorIdsThatDifferFromTheBaseIdsAreRefused() throws Exception {
    byte[] bad = withRawIds(golden(), 1, 2, 3, 4, 1000);
    CorruptIndexException e = IndexFiles.assertStreamFails(CorruptIndexException.class, bad, "differ.qvi");
    assertTrue(e.getMessage().contains("the base index holds id 5, which the raw vectors do not"), e.getMessage());
    // the golden file itself reads, and its re-ranking finds its ids
    RefineIndex r = (RefineIndex) IndexFiles.readBytes(golden(), "golden.qvi");
    assertEquals(5, r.search(new float[4], 5, SearchParams.defaults()).ids().length);
  }

  @Test
  void kAndKFactorAreBoundedWithNamedErrors() {
    int d = 8;
    float[] x = TestData.gaussian(SEED, 50, d);
    float[] q = TestData.gaussian(SEED + 1, 3, d);
    RefineIndex r = new RefineIndex(new FlatIndex(d, Metric.L2));
    r.add(x);
    for (int k : new int[] {Integer.MAX_VALUE, 50_000_000, Checks.MAX_K + 1}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> r.search(q, k, SearchParams.defaults()), "seed " + SEED);
      assertTrue(e.getMessage().contains("k must be <= " + Checks.MAX_K) && e.getMessage().contains("was " + k), e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> r.base().search(q, k, SearchParams.defaults()));
    }
    for (float kf : new float[] {1e20f, 1e6f, Float.NaN, Float.POSITIVE_INFINITY, 0.5f}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> r.setKFactor(kf));
      assertTrue(e.getMessage().contains("kFactor must be a number in [1, 10000], was " + kf), e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> SearchParams.defaults().withKFactor(kf));
    }
    // the largest kFactor takes no more candidates than the base holds: the exact top 5
    SearchResult big = r.search(q, 5, SearchParams.defaults().withKFactor(Checks.MAX_K_FACTOR));
    SearchResult exact = r.refine().search(q, 5, SearchParams.defaults());
    assertArrayEquals(exact.ids(), big.ids(), "seed " + SEED);
    assertEquals(50, RefineIndex.candidates(5, Checks.MAX_K_FACTOR, 50));
    assertEquals(5, RefineIndex.candidates(5, 1f, 2));
    assertEquals(Checks.MAX_K, RefineIndex.candidates(1000, Checks.MAX_K_FACTOR, Long.MAX_VALUE));
  }
}
