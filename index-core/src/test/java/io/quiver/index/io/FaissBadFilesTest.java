package io.quiver.index.io;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.quiver.index.IndexFactory;
import io.quiver.index.Metric;
import io.quiver.index.TestData;
import io.quiver.index.VectorIndex;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Damaged and hostile FAISS files: every one fails with a named {@link IndexFileException}
 * subclass whose message starts with the source and names the field, and none makes the reader
 * allocate much more than the bytes it was given (the test JVM has 4 GiB; the claims here would
 * need from 4 GiB to terabytes if trusted).
 */
class FaissBadFilesTest {

  static final long SEED = 0xBADFA155L;
  static final String SRC = "bad.faiss";
  static final int D = 8;

  /** Small files of every type, written by {@link FaissIO}. */
  static Map<String, byte[]> files() throws IOException {
    Map<String, byte[]> out = new LinkedHashMap<>();
    float[] x = TestData.clustered(SEED, 200, D, 4, 2.0);
    long[] ids = new long[200];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = 10L * i + 3;
    }
    for (String f : new String[] {"Flat", "PQ4x4", "SQ8", "SQfp16", "IVF4,Flat", "IVF4,PQ2x4", "IVF4,SQ4"}) {
      for (boolean withIds : new boolean[] {false, true}) {
        VectorIndex index = IndexFactory.create(D, f, Metric.L2);
        index.train(x);
        if (withIds) {
          index.addWithIds(x, ids);
        } else {
          index.add(x);
        }
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        FaissIO.write(index, b);
        out.put(f + (withIds ? " with ids" : ""), b.toByteArray());
      }
    }
    return out;
  }

  static VectorIndex read(byte[] b, boolean lengthKnown) throws IOException {
    return FaissIO.read(new ByteArrayInputStream(b), SRC, lengthKnown ? b.length : -1);
  }

  static <T extends IndexFileException> T fails(Class<T> type, byte[] b, boolean lengthKnown, String ctx) {
    T e = assertThrows(type, () -> read(b, lengthKnown), ctx + " (length " + (lengthKnown ? "known" : "unknown") + ")");
    assertTrue(e.getMessage().startsWith(SRC + ": "), e.getMessage());
    return e;
  }

  static <T extends IndexFileException> T failsBoth(Class<T> type, byte[] b, String ctx) {
    fails(type, b, true, ctx);
    return fails(type, b, false, ctx);
  }

  @Test
  void everyTruncationIsNamed() throws IOException {
    for (Map.Entry<String, byte[]> f : files().entrySet()) {
      byte[] b = f.getValue();
      read(b, true); // the whole file is fine
      for (int len = 0; len < b.length; len += len < 200 ? 1 : 97) {
        byte[] prefix = Arrays.copyOf(b, len);
        String ctx = f.getKey() + " cut to " + len + " of " + b.length + " bytes";
        if (len < 4) {
          failsBoth(NotAnIndexFileException.class, prefix, ctx);
        } else {
          TruncatedIndexException e = failsBoth(TruncatedIndexException.class, prefix, ctx);
          assertTrue(e.getMessage().contains("byte"), ctx + ": " + e.getMessage());
        }
      }
    }
  }

  @Test
  void bytesAfterTheIndexAreAnErrorWhenTheLengthIsKnown() throws IOException {
    byte[] b = files().get("IVF4,PQ2x4");
    byte[] longer = Arrays.copyOf(b, b.length + 3);
    CorruptIndexException e = fails(CorruptIndexException.class, longer, true, "3 extra bytes");
    assertTrue(e.getMessage().contains("3 unexpected bytes"), e.getMessage());
    read(longer, false); // a stream of unknown length may go on
  }

  @Test
  void otherFilesAreNotFaissIndexes() throws IOException {
    failsBoth(NotAnIndexFileException.class, new byte[0], "empty");
    VectorIndex flat = IndexFactory.create(D, "Flat", Metric.L2);
    flat.add(new float[D]);
    ByteArrayOutputStream quiver = new ByteArrayOutputStream();
    IndexIO.write(flat, quiver);
    NotAnIndexFileException e = failsBoth(NotAnIndexFileException.class, quiver.toByteArray(), "a Quiver index file");
    assertTrue(e.getMessage().contains("'QVR1'") && e.getMessage().contains("IwPQ"), e.getMessage());
    byte[] hnsw = new Bytes().fourcc("IHNf").header(D, 0, true, 1).build();
    e = failsBoth(NotAnIndexFileException.class, hnsw, "IndexHNSWFlat");
    assertTrue(e.getMessage().contains("'IHNf'"), e.getMessage());
  }

  @Test
  void headerFieldsOutOfRangeAreNamed() {
    String m = failsBoth(InvalidLengthException.class, new Bytes().fourcc("IxF2").header(0, 0, true, 1).i64(0).build(),
        "d = 0").getMessage();
    assertTrue(m.contains("d = 0") && m.contains("byte 4"), m);
    m = failsBoth(InvalidLengthException.class, new Bytes().fourcc("IxF2").header(D, -5, true, 1).i64(0).build(),
        "ntotal < 0").getMessage();
    assertTrue(m.contains("ntotal = -5"), m);
    m = failsBoth(CorruptIndexException.class, new Bytes().fourcc("IxF2").header(D, 0, true, 1).patchU8(32, 7).i64(0)
        .build(), "is_trained = 7").getMessage();
    assertTrue(m.contains("is_trained = 7") && m.contains("byte 32"), m);
    m = failsBoth(UnsupportedIndexTypeException.class, new Bytes().fourcc("IxFl").header(D, 0, true, 2).i32(0).i64(0)
        .build(), "METRIC_L1").getMessage();
    assertTrue(m.contains("metric_type = 2"), m);
  }

  @Test
  void sizesThatDisagreeAreNamed() {
    String m = failsBoth(InvalidLengthException.class, new Bytes().fourcc("IxF2").header(D, 2, true, 1).i64(3 * D)
        .build(), "vector count").getMessage();
    assertTrue(m.contains("has " + 3 * D + " elements") && m.contains("must have " + 2 * D), m);
    // a PQ whose M does not divide d, then one with 12 bits
    m = failsBoth(InvalidLengthException.class, new Bytes().fourcc("IxPq").header(D, 0, true, 1).i64(D).i64(3).i64(8)
        .build(), "M = 3").getMessage();
    assertTrue(m.contains("M = 3") && m.contains("must divide d"), m);
    m = failsBoth(UnsupportedIndexTypeException.class, new Bytes().fourcc("IxPq").header(D, 0, true, 1).i64(D).i64(2)
        .i64(12).build(), "nbits = 12").getMessage();
    assertTrue(m.contains("nbits = 12"), m);
    m = failsBoth(UnsupportedIndexTypeException.class, new Bytes().fourcc("IxSQ").header(D, 0, true, 1).i32(2).i32(0)
        .i32(0).i64(D).i64(D).i64(0).i64(0).build(), "QT_8bit_uniform").getMessage();
    assertTrue(m.contains("qtype = 2"), m);
    m = failsBoth(InvalidLengthException.class, new Bytes().fourcc("IxSQ").header(D, 0, true, 1).i32(0).i32(0)
        .i32(0).i64(D).i64(D + 1).i64(0).i64(0).build(), "SQ8 code_size").getMessage();
    assertTrue(m.contains("code_size = " + (D + 1)), m);
  }

  /** An IVF-Flat of nlist lists over a 2-d quantizer, up to (not including) the inverted lists. */
  static Bytes ivfPrefix(int nlist, long ntotal, boolean trained) {
    Bytes b = new Bytes().fourcc("IwFl").header(2, ntotal, trained, 1).i64(nlist).i64(1);
    b.fourcc("IxF2").header(2, trained ? nlist : 0, true, 1).i64(trained ? 2L * nlist : 0);
    for (int i = 0; trained && i < 2 * nlist; i++) {
      b.i32(Float.floatToIntBits(i));
    }
    return b.u8(0).i64(0);
  }

  @Test
  void invertedListsThatDisagreeAreNamed() {
    String m = failsBoth(UnsupportedIndexTypeException.class, ivfPrefix(4, 0, true).fourcc("ilod").build(),
        "on-disk lists").getMessage();
    assertTrue(m.contains("'ilod'") && m.contains("'ilar'"), m);
    m = failsBoth(CorruptIndexException.class, ivfPrefix(4, 0, true).fourcc("ilar").i64(5).i64(8).build(),
        "nlist 5 in the lists").getMessage();
    assertTrue(m.contains("nlist = 5"), m);
    m = failsBoth(InvalidLengthException.class, ivfPrefix(4, 3, true).fourcc("ilar").i64(4).i64(8).fourcc("full")
        .i64(4).i64(1).i64(1).i64(0).i64(0).build(), "sizes sum to 2, ntotal 3").getMessage();
    assertTrue(m.contains("sum to 2") && m.contains("ntotal = 3"), m);
    m = failsBoth(CorruptIndexException.class, ivfPrefix(4, 2, true).fourcc("ilar").i64(4).i64(8).fourcc("sprs")
        .i64(4).i64(2).i64(1).i64(1).i64(1).build(), "sparse lists out of order").getMessage();
    assertTrue(m.contains("name list 1 after list 2"), m);
    m = failsBoth(CorruptIndexException.class, ivfPrefix(4, 0, true).fourcc("ilar").i64(4).i64(8).fourcc("what")
        .build(), "unknown layout").getMessage();
    assertTrue(m.contains("'what'") && m.contains("'full' or 'sprs'"), m);
  }

  // ---- hostile sizes ----

  @Test
  void aFlatOfATrillionVectorsIsAnInvalidLength() {
    String m = failsBoth(InvalidLengthException.class, new Bytes().fourcc("IxF2").header(D, 1L << 40, true, 1)
        .i64(D << 40).build(), "ntotal 2^40").getMessage();
    assertTrue(m.contains("ntotal = " + (1L << 40)), m);
  }

  /** The largest flat index Quiver holds (8 GiB of floats) claimed by 1 MiB of data. */
  @Test
  void theLargestFlatOnAShortStreamIsTruncated() {
    long n = IndexFormat.MAX_ARRAY_LENGTH / 2;
    byte[] b = new Bytes().fourcc("IxF2").header(2, n, true, 1).i64(2 * n).noise(1 << 20).build();
    failsBoth(TruncatedIndexException.class, b, "2^30 vectors of d = 2");
  }

  /** 2^24 lists of d = 64 (4 GiB of centroids) claimed by a 200-byte stream. */
  @Test
  void hugeCentroidsOnAShortStreamAreTruncated() {
    int nlist = IndexFormat.MAX_NLIST;
    byte[] b = new Bytes().fourcc("IwFl").header(64, 0, true, 1).i64(nlist).i64(1).fourcc("IxF2")
        .header(64, nlist, true, 1).i64(64L * nlist).noise(200).build();
    String m = failsBoth(TruncatedIndexException.class, b, "huge centroids").getMessage();
    assertTrue(m.contains("centroids"), m);
  }

  @Test
  void anUntrainedIvfOfTooManyListsIsAnInvalidLength() {
    byte[] b = ivfPrefix(FaissIO.MAX_UNTRAINED_NLIST + 1, 0, false).fourcc("ilar").build();
    String m = failsBoth(InvalidLengthException.class, b, "untrained nlist").getMessage();
    assertTrue(m.contains("untrained"), m);
  }

  /** Lists whose sizes sum to ntotal but claim 2^31 entries each, then the data stops. */
  @Test
  void hugeListsOnAShortStreamAreTruncated() {
    long per = IndexFormat.MAX_ARRAY_LENGTH / 8;
    byte[] b = ivfPrefix(4, 4 * per, true).fourcc("ilar").i64(4).i64(8).fourcc("full").i64(4).i64(per).i64(per).i64(per)
        .i64(per).noise(1 << 16).build();
    failsBoth(TruncatedIndexException.class, b, "huge lists");
    long over = per + 1;
    b = ivfPrefix(4, 4 * over, true).fourcc("ilar").i64(4).i64(8).fourcc("full").i64(4).i64(over).i64(over).i64(over)
        .i64(over).build();
    String m = failsBoth(InvalidLengthException.class, b, "a list beyond one array").getMessage();
    assertTrue(m.contains("list 0 has size " + over), m);
  }

  @Test
  void hugeDirectMapsAndIdMapsOnAShortStreamAreTruncated() {
    byte[] b = new Bytes().fourcc("IwFl").header(2, 0, true, 1).i64(1).i64(1).fourcc("IxF2").header(2, 1, true, 1)
        .i64(2).i32(0).i32(0).u8(1).i64(IndexFormat.MAX_ARRAY_LENGTH).noise(100).build();
    failsBoth(TruncatedIndexException.class, b, "huge direct map");
    b = new Bytes().fourcc("IxM2").header(2, IndexFormat.MAX_ARRAY_LENGTH / 4, true, 1).fourcc("IxF2")
        .header(2, IndexFormat.MAX_ARRAY_LENGTH / 4, true, 1).i64(IndexFormat.MAX_ARRAY_LENGTH / 4 * 2).noise(100).build();
    failsBoth(TruncatedIndexException.class, b, "huge id map");
  }

  /** Seeded single-byte changes of every file: each reads, or fails with a named format error. */
  @Test
  void mutatedFilesReadOrFailNamed() throws IOException {
    Random rnd = new Random(SEED);
    int reads = 0;
    int fails = 0;
    for (Map.Entry<String, byte[]> f : files().entrySet()) {
      byte[] b = f.getValue();
      for (int t = 0; t < 300; t++) {
        byte[] m = b.clone();
        int at = rnd.nextInt(Math.min(b.length, 400)); // headers and sizes live in the first bytes
        m[at] = (byte) (rnd.nextBoolean() ? rnd.nextInt(256) : m[at] ^ (1 << rnd.nextInt(8)));
        for (boolean known : new boolean[] {true, false}) {
          try {
            read(m, known);
            reads++;
          } catch (IndexFileException e) {
            assertTrue(e.getMessage().startsWith(SRC + ": "), e.getMessage());
            fails++;
          } catch (RuntimeException | IOException e) {
            fail(f.getKey() + " with byte " + at + " changed to " + (m[at] & 0xFF) + " (length " + (known ? "known" : "unknown")
                + ", seed=" + SEED + ") threw " + e, e);
          }
        }
      }
    }
    assertTrue(fails > 0 && reads > 0, "reads " + reads + ", fails " + fails);
  }

  /** Little-endian bytes of a hand-made FAISS file. */
  static final class Bytes {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Bytes fourcc(String s) {
      return i32(IndexFormat.fourcc(s));
    }

    Bytes u8(int v) {
      out.write(v);
      return this;
    }

    Bytes i32(int v) {
      out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
      return this;
    }

    Bytes i64(long v) {
      out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
      return this;
    }

    /** FAISS's index header: d, ntotal, two unused int64, is_trained, metric_type. */
    Bytes header(int d, long ntotal, boolean trained, int metricType) {
      return i32(d).i64(ntotal).i64(1 << 20).i64(1 << 20).u8(trained ? 1 : 0).i32(metricType);
    }

    /** Overwrites the byte at {@code at} (already written) with {@code v}. */
    Bytes patchU8(int at, int v) {
      byte[] b = out.toByteArray();
      b[at] = (byte) v;
      out.reset();
      out.writeBytes(b);
      return this;
    }

    Bytes noise(int n) {
      byte[] b = new byte[n];
      new Random(SEED).nextBytes(b);
      out.writeBytes(b);
      return this;
    }

    byte[] build() {
      return out.toByteArray();
    }
  }
}
