package io.quiver.index.io;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Readers and writers for the TEXMEX vector files of the ANN benchmarks: every record is an
 * int32 dimension {@code d} (little endian) followed by {@code d} values: float32 in
 * {@code .fvecs}, int32 in {@code .ivecs}, uint8 in {@code .bvecs}. All records of a file must
 * have the same {@code d}; errors name the file and the record.
 */
public final class VecsIO {

  /** The largest dimension accepted; larger values mean a file that is not in this format. */
  public static final int MAX_D = 1 << 20;

  private VecsIO() {}

  /** Float vectors, {@code n * d} values row-major. */
  public record FloatVectors(int n, int d, float[] data) {
    /** A copy of row {@code i}. */
    public float[] row(int i) {
      return Arrays.copyOfRange(data, i * d, i * d + d);
    }
  }

  /** Int vectors (such as ground-truth neighbour lists), {@code n * d} values row-major. */
  public record IntVectors(int n, int d, int[] data) {
    /** A copy of row {@code i}. */
    public int[] row(int i) {
      return Arrays.copyOfRange(data, i * d, i * d + d);
    }
  }

  /** Reads every record of an {@code .fvecs} file. */
  public static FloatVectors readFvecs(Path file) throws IOException {
    return readFvecs(file, Integer.MAX_VALUE);
  }

  /** Reads at most {@code maxRows} records of an {@code .fvecs} file. */
  public static FloatVectors readFvecs(Path file, int maxRows) throws IOException {
    Raw raw = read(file, 4, maxRows);
    float[] out = new float[raw.n * raw.d];
    ByteBuffer.wrap(raw.bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return new FloatVectors(raw.n, raw.d, out);
  }

  /** Reads every record of a {@code .bvecs} file, as floats 0..255. */
  public static FloatVectors readBvecs(Path file) throws IOException {
    return readBvecs(file, Integer.MAX_VALUE);
  }

  /** Reads at most {@code maxRows} records of a {@code .bvecs} file, as floats 0..255. */
  public static FloatVectors readBvecs(Path file, int maxRows) throws IOException {
    Raw raw = read(file, 1, maxRows);
    float[] out = new float[raw.n * raw.d];
    for (int i = 0; i < out.length; i++) {
      out[i] = raw.bytes[i] & 0xFF;
    }
    return new FloatVectors(raw.n, raw.d, out);
  }

  /** Reads every record of an {@code .ivecs} file. */
  public static IntVectors readIvecs(Path file) throws IOException {
    return readIvecs(file, Integer.MAX_VALUE);
  }

  /** Reads at most {@code maxRows} records of an {@code .ivecs} file. */
  public static IntVectors readIvecs(Path file, int maxRows) throws IOException {
    Raw raw = read(file, 4, maxRows);
    int[] out = new int[raw.n * raw.d];
    ByteBuffer.wrap(raw.bytes).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(out);
    return new IntVectors(raw.n, raw.d, out);
  }

  private record Raw(int n, int d, byte[] bytes) {}

  private static Raw read(Path file, int valueBytes, int maxRows) throws IOException {
    long size = Files.size(file);
    if (size == 0) {
      return new Raw(0, 0, new byte[0]);
    }
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
      byte[] header = new byte[4];
      readFully(in, header, file, 0);
      int d = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).getInt();
      if (d <= 0 || d > MAX_D) {
        throw new IOException(file + ": record 0 has dimension " + d + "; expected 1.." + MAX_D
            + " (is this a ." + (valueBytes == 1 ? "bvecs" : "fvecs/ivecs") + " file?)");
      }
      long recordBytes = 4L + (long) d * valueBytes;
      long whole = size / recordBytes;
      // A size that is not a multiple of the record size is reported after the whole records are
      // read, so that a record of another dimension is named as such rather than as truncation.
      boolean partialTail = size % recordBytes != 0 && maxRows > whole;
      long n = Math.min(whole, maxRows);
      if (n * d * valueBytes > Integer.MAX_VALUE - 8) {
        throw new IOException(file + ": " + n + " records of d=" + d + " do not fit in one array; read fewer rows");
      }
      byte[] bytes = new byte[(int) (n * d * valueBytes)];
      int rowBytes = d * valueBytes;
      for (int i = 0; i < n; i++) {
        if (i > 0) {
          readFully(in, header, file, i);
          int di = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).getInt();
          if (di != d) {
            throw new IOException(file + ": record " + i + " has dimension " + di + ", record 0 has " + d
                + "; all records must have the same dimension");
          }
        }
        int off = i * rowBytes;
        int got = in.readNBytes(bytes, off, rowBytes);
        if (got != rowBytes) {
          throw new EOFException(file + ": record " + i + " is truncated: it has " + got + " of its " + rowBytes
              + " value bytes (d=" + d + ")");
        }
      }
      if (partialTail) {
        long tail = size - whole * recordBytes;
        if (n > 0 && tail >= 4) { // record 0's dimension was read above
          readFully(in, header, file, (int) n);
          int dn = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).getInt();
          if (dn != d) {
            throw new IOException(file + ": record " + n + " has dimension " + dn + ", record 0 has " + d
                + "; all records must have the same dimension");
          }
        }
        throw new EOFException(file + ": record " + n + " is truncated: the file ends " + tail + " bytes into it, but a"
            + " record of d=" + d + " has " + recordBytes + " bytes (file size " + size + ", " + n + " whole records)");
      }
      return new Raw((int) n, d, bytes);
    }
  }

  private static void readFully(InputStream in, byte[] b, Path file, int record) throws IOException {
    if (in.readNBytes(b, 0, b.length) != b.length) {
      throw new EOFException(file + ": record " + record + " is truncated");
    }
  }

  /** Writes {@code n = data.length / d} float vectors as {@code .fvecs}. */
  public static void writeFvecs(Path file, float[] data, int d) throws IOException {
    write(file, data.length, d, 4, (row, i) -> row.putFloat(data[i]));
  }

  /** Writes {@code n = data.length / d} int vectors as {@code .ivecs}. */
  public static void writeIvecs(Path file, int[] data, int d) throws IOException {
    write(file, data.length, d, 4, (row, i) -> row.putInt(data[i]));
  }

  /** Writes {@code n = data.length / d} byte vectors as {@code .bvecs}; values must be 0..255. */
  public static void writeBvecs(Path file, int[] data, int d) throws IOException {
    checkShape(data.length, d);
    for (int i = 0; i < data.length; i++) {
      if (data[i] < 0 || data[i] > 255) {
        throw new IllegalArgumentException("row " + (i / d) + ", component " + (i % d) + " is "
            + data[i] + "; bvecs values must be 0..255");
      }
    }
    write(file, data.length, d, 1, (row, i) -> row.put((byte) data[i]));
  }

  /** Puts value {@code i} of the data into a record buffer. */
  private interface ValueWriter {
    void put(ByteBuffer row, int i);
  }

  private static void write(Path file, int length, int d, int valueBytes, ValueWriter values) throws IOException {
    checkShape(length, d);
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
      ByteBuffer row = ByteBuffer.allocate(4 + valueBytes * d).order(ByteOrder.LITTLE_ENDIAN);
      for (int r = 0; r < length / d; r++) {
        row.clear();
        row.putInt(d);
        for (int j = 0; j < d; j++) {
          values.put(row, r * d + j);
        }
        out.write(row.array(), 0, row.position());
      }
    }
  }

  private static void checkShape(int length, int d) {
    if (d <= 0 || length % d != 0) {
      throw new IllegalArgumentException("data.length " + length + " is not a multiple of d=" + d);
    }
  }
}
