package io.quiver.index.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.VectorIndex;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/** Test helpers: write to bytes, walk sections, patch fields, craft files, assert read failures. */
final class IndexFiles {
  private IndexFiles() {}

  /** One section of a file: fourcc, offset of its 12-byte header, payload length. */
  record Section(int fourcc, int start, long length) {
    int payloadStart() {
      return start + IndexFormat.SECTION_HEADER_BYTES;
    }
  }

  static byte[] bytesOf(VectorIndex index) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      IndexIO.write(index, out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  static VectorIndex readBytes(byte[] bytes, String name) throws IOException {
    return IndexIO.read(new ByteArrayInputStream(bytes), name);
  }

  /** The sections of a well-formed file, in order (the footer excluded). */
  static List<Section> sections(byte[] file) {
    List<Section> out = new ArrayList<>();
    int p = IndexFormat.HEADER_BYTES;
    while (true) {
      int fourcc = getInt(file, p);
      if (fourcc == IndexFormat.FOOTER_MAGIC) {
        return out;
      }
      long len = getLong(file, p + 4);
      out.add(new Section(fourcc, p, len));
      p += IndexFormat.SECTION_HEADER_BYTES + (int) len;
    }
  }

  static Section section(byte[] file, String fourcc) {
    int f = IndexFormat.fourcc(fourcc);
    return sections(file).stream().filter(s -> s.fourcc() == f).findFirst()
        .orElseThrow(() -> new AssertionError("no section " + fourcc));
  }

  static int getInt(byte[] b, int off) {
    return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt(off);
  }

  static long getLong(byte[] b, int off) {
    return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(off);
  }

  /** A copy with an int32 replaced and the checksum recomputed. */
  static byte[] withInt(byte[] file, int off, int v) {
    byte[] c = file.clone();
    ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN).putInt(off, v);
    return fixChecksum(c);
  }

  /** A copy with an int64 replaced and the checksum recomputed. */
  static byte[] withLong(byte[] file, int off, long v) {
    byte[] c = file.clone();
    ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN).putLong(off, v);
    return fixChecksum(c);
  }

  /** Recomputes the footer checksum in place (the last 4 bytes) and returns the array. */
  static byte[] fixChecksum(byte[] file) {
    CRC32C crc = new CRC32C();
    crc.update(file, 0, file.length - 4);
    ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).putInt(file.length - 4, (int) crc.getValue());
    return file;
  }

  /** A copy with a section (header + payload) inserted at {@code offset}, checksum recomputed. */
  static byte[] insertSection(byte[] file, int offset, String fourcc, long byteLength, byte[] payload) {
    ByteBuffer s = ByteBuffer.allocate(IndexFormat.SECTION_HEADER_BYTES + payload.length).order(ByteOrder.LITTLE_ENDIAN);
    s.putInt(IndexFormat.fourcc(fourcc)).putLong(byteLength).put(payload);
    return fixChecksum(splice(file, offset, 0, s.array()));
  }

  /** A copy where {@code removeLen} bytes at {@code offset} are replaced by {@code insert} (no checksum fix). */
  static byte[] splice(byte[] file, int offset, int removeLen, byte[] insert) {
    byte[] out = new byte[file.length - removeLen + insert.length];
    System.arraycopy(file, 0, out, 0, offset);
    System.arraycopy(insert, 0, out, offset, insert.length);
    System.arraycopy(file, offset + removeLen, out, offset + insert.length, file.length - offset - removeLen);
    return out;
  }

  /** Builds files field by field, for inputs the writer never produces. */
  static final class Builder {
    private final ByteArrayOutputStream buf = new ByteArrayOutputStream();

    static Builder header(int version, int fileType, int d, int metricCode, long ntotal) {
      return new Builder().i32(IndexFormat.MAGIC).i32(version).i32(fileType).i32(d).i32(metricCode).i64(ntotal);
    }

    static Builder header(int fileType, int d, int metricCode, long ntotal) {
      return header(IndexFormat.VERSION_CURRENT, fileType, d, metricCode, ntotal);
    }

    Builder i32(int v) {
      byte[] b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
      buf.writeBytes(b);
      return this;
    }

    Builder i64(long v) {
      byte[] b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
      buf.writeBytes(b);
      return this;
    }

    Builder f32(float... vs) {
      for (float v : vs) {
        i32(Float.floatToRawIntBits(v));
      }
      return this;
    }

    Builder bytes(byte[] b) {
      buf.writeBytes(b);
      return this;
    }

    /** A section header only; the payload follows with other calls (or not, to lie). */
    Builder section(String fourcc, long byteLength) {
      return i32(IndexFormat.fourcc(fourcc)).i64(byteLength);
    }

    /** The bytes so far, without a footer. */
    byte[] build() {
      return buf.toByteArray();
    }

    /** The bytes so far plus a valid footer. */
    byte[] withFooter() {
      i32(IndexFormat.FOOTER_MAGIC).i32(0);
      return fixChecksum(buf.toByteArray());
    }
  }

  /**
   * Reads {@code bytes} as a stream named {@code name}; asserts it fails with exactly
   * {@code type}, naming the file.
   */
  static <T extends IndexFileException> T assertStreamFails(Class<T> type, byte[] bytes, String name) {
    T e = assertThrows(type, () -> readBytes(bytes, name), () -> "reading " + name + " as a stream");
    return checkNamed(type, e, name);
  }

  /** Writes {@code bytes} to {@code dir/name}, reads it by path, asserts exactly {@code type}. */
  static <T extends IndexFileException> T assertPathFails(Class<T> type, byte[] bytes, Path dir, String name) {
    Path file = dir.resolve(name);
    try {
      Files.write(file, bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    T e = assertThrows(type, () -> IndexIO.read(file), () -> "reading " + file);
    return checkNamed(type, e, file.toString());
  }

  private static <T extends IndexFileException> T checkNamed(Class<T> type, T e, String name) {
    assertEquals(type, e.getClass(), () -> "exception type for " + name + ": " + e.getMessage());
    assertEquals(name, e.file(), "IndexFileException.file()");
    assertTrue(e.getMessage().startsWith(name + ": "), () -> "message should name the file first: " + e.getMessage());
    return e;
  }

  static String describe(byte[] b, int off) {
    return "byte " + off + " of " + b.length + " (" + Arrays.toString(Arrays.copyOfRange(b, Math.max(0, off - 2),
        Math.min(b.length, off + 3))) + ")";
  }
}
