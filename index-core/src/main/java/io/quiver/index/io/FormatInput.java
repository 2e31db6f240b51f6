package io.quiver.index.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * Little-endian sequential reader that checksums what it reads and never allocates for data that
 * has not arrived.
 *
 * <p>It reads exactly the bytes asked for (no read-ahead), so the stream is left just after the
 * last byte consumed. Arrays whose size comes from the file are allocated in full only when the
 * file's length is known and has been checked to hold them; otherwise they start at
 * {@link #GROW_CHUNK_BYTES} and at most double as bytes actually arrive, so a header that claims
 * terabytes on a short stream costs at most about three times the bytes really read, plus one
 * chunk, before {@link TruncatedIndexException} ends it.
 *
 * <p>A nested index file (the payload of a wrapper's section) is read through {@link #nested}: a
 * second {@code FormatInput} whose bytes come from this one (so they count in this one's position
 * and checksum as well as in its own) and that cannot read past the section's end. Its positions
 * count from the start of the nested file, and its messages start with a scope that says where
 * that file lies. Not thread-safe.
 */
final class FormatInput {
  /** How far ahead of the bytes received an array may be allocated (when the length is unknown). */
  static final int GROW_CHUNK_BYTES = 1 << 20;
  private static final int BUFFER_BYTES = 1 << 16;

  private final InputStream in;
  private final String source;
  /** Prefix of every message: "" for a whole file, else where the nested file lies. */
  private final String scope;
  private final long length;
  private final CRC32C crc = new CRC32C();
  private final byte[] buf = new byte[BUFFER_BYTES];
  private final ByteBuffer bb = ByteBuffer.wrap(buf).order(ByteOrder.LITTLE_ENDIAN);
  private long pos;
  /** The first non-finite float read, reported only once the checksum has passed. */
  private String firstNonFinite;

  /**
   * @param length the total number of bytes of the file, or -1 when unknown
   */
  FormatInput(InputStream in, String source, long length) {
    this(in, source, "", length);
  }

  private FormatInput(InputStream in, String source, String scope, long length) {
    this.in = in;
    this.source = source;
    this.scope = scope;
    this.length = length;
  }

  /**
   * An input over {@code in} of {@code length} bytes (-1 when unknown), after checking the
   * arguments of a reader's public {@code read}; a null {@code sourceName} gives "&lt;stream&gt;".
   */
  static FormatInput open(InputStream in, String sourceName, long length) {
    java.util.Objects.requireNonNull(in, "in");
    if (length < -1) {
      throw new IllegalArgumentException("length must be >= 0, or -1 when unknown; was " + length);
    }
    return new FormatInput(in, sourceName == null ? "<stream>" : sourceName, length);
  }

  /** What reads one index from an input. */
  @FunctionalInterface
  interface Body<T> {
    T read(FormatInput in) throws IOException;
  }

  /** Reads {@code file} with {@code body}, its length known (buffered, closed after). */
  static <T> T readFile(java.nio.file.Path file, Body<T> body) throws IOException {
    long length = java.nio.file.Files.size(file);
    try (InputStream in = new java.io.BufferedInputStream(java.nio.file.Files.newInputStream(file), BUFFER_BYTES)) {
      return body.read(open(in, file.toString(), length));
    }
  }

  /**
   * An input for the {@code byteLength} bytes that follow, which hold a nested index file. When
   * this input's length is known, the caller has checked that they fit in it, and the nested
   * input's length is {@code byteLength}; otherwise the nested length is unknown (so arrays grow
   * only with the data, whatever {@code byteLength} claims) but reads still stop at
   * {@code byteLength}, where the nested input sees the end of its data.
   *
   * @param scope the prefix of the nested input's messages
   */
  FormatInput nested(long byteLength, String scope) {
    InputStream section = new InputStream() {
      private long left = byteLength;

      @Override
      public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
          return 0;
        }
        if (left <= 0) {
          return -1;
        }
        int got = in.read(b, off, (int) Math.min(len, left));
        if (got > 0) {
          crc.update(b, off, got);
          pos += got;
          left -= got;
        }
        return got;
      }
    };
    return new FormatInput(section, source, scope, length >= 0 ? byteLength : -1);
  }

  /** The prefix of this input's messages ("" for a whole file). */
  String scope() {
    return scope;
  }

  String source() {
    return source;
  }

  long position() {
    return pos;
  }

  boolean lengthKnown() {
    return length >= 0;
  }

  /** The file's total length, or -1 when unknown. */
  long length() {
    return length;
  }

  /** Bytes left in the file, or {@link Long#MAX_VALUE} when the length is unknown. */
  long remaining() {
    return length >= 0 ? length - pos : Long.MAX_VALUE;
  }

  /** The CRC32C of every byte read so far. */
  int checksum() {
    return (int) crc.getValue();
  }

  /** A description of the first non-finite float read, or null. */
  String firstNonFinite() {
    return firstNonFinite;
  }

  /**
   * Fails with {@link TruncatedIndexException} when the length is known and fewer than
   * {@code bytes} remain.
   */
  void requireRemaining(long bytes, String what) throws TruncatedIndexException {
    if (length >= 0 && bytes > length - pos) {
      throw new TruncatedIndexException(source, scope + "the file has " + length + " bytes but " + what + " needs at least "
          + bytes + " bytes from byte " + pos + " (" + (bytes - (length - pos)) + " more than remain): the file is "
          + "truncated, or its header is damaged");
    }
  }

  /** Reads exactly {@code n <= buffer} bytes into the buffer; checksums them when {@code checksum}. */
  private void fill(int n, String what, boolean checksum) throws IOException {
    int got = in.readNBytes(buf, 0, n);
    if (got < n) {
      long at = pos + got;
      pos = at;
      throw new TruncatedIndexException(source, scope + "truncated: the data ends at byte " + at + ", " + (n - got)
          + " bytes short of the end of " + what);
    }
    if (checksum) {
      crc.update(buf, 0, n);
    }
    pos += n;
  }

  /**
   * Reads up to {@code n} bytes; returns how many arrived before end-of-stream. Checksums them.
   * Used only to probe the magic, where a short read may mean "not an index" rather than truncation.
   */
  int readUpTo(byte[] dst, int n) throws IOException {
    int got = in.readNBytes(dst, 0, n);
    crc.update(dst, 0, got);
    pos += got;
    return got;
  }

  /** Reads one unsigned byte (0..255). */
  int readByte(String what) throws IOException {
    fill(1, what, true);
    return buf[0] & 0xFF;
  }

  int readInt(String what) throws IOException {
    fill(4, what, true);
    return bb.getInt(0);
  }

  long readLong(String what) throws IOException {
    fill(8, what, true);
    return bb.getLong(0);
  }

  /** Reads an int that is not part of the checksum (the stored checksum itself). */
  int readIntUnchecksummed(String what) throws IOException {
    fill(4, what, false);
    return bb.getInt(0);
  }

  /** Reads and checksums {@code bytes} bytes, keeping none of them. */
  void skip(long bytes, String what) throws IOException {
    while (bytes > 0) {
      int m = (int) Math.min(bytes, BUFFER_BYTES);
      fill(m, what, true);
      bytes -= m;
    }
  }

  /** Allocation size for an array of {@code n} elements of {@code elementBytes} each. */
  private int initialCapacity(int n, int elementBytes, String what) throws InvalidLengthException {
    long bytes = (long) n * elementBytes;
    if (length >= 0) {
      if (bytes > length - pos) {
        // callers check lengths first; this guards against a missed check
        throw new InvalidLengthException(source, scope + what + " needs " + bytes + " bytes from byte " + pos
            + " but the file has only " + (length - pos) + " left");
      }
      return n;
    }
    return Math.min(n, GROW_CHUNK_BYTES / elementBytes);
  }

  private static int grow(int capacity, int n) {
    return (int) Math.min(n, Math.max(2L * capacity, (long) capacity + 1));
  }

  /** Reads {@code n} int64 values. */
  long[] readLongs(int n, String what) throws IOException {
    long[] out = new long[initialCapacity(n, 8, what)];
    int done = 0;
    while (done < n) {
      if (done == out.length) {
        out = Arrays.copyOf(out, grow(out.length, n));
      }
      int m = Math.min(Math.min(n, out.length) - done, BUFFER_BYTES / 8);
      fill(m * 8, what, true);
      bb.clear();
      bb.asLongBuffer().get(out, done, m);
      done += m;
    }
    return out;
  }

  /** Reads {@code n} int32 values. */
  int[] readInts(int n, String what) throws IOException {
    int[] out = new int[initialCapacity(n, 4, what)];
    int done = 0;
    while (done < n) {
      if (done == out.length) {
        out = Arrays.copyOf(out, grow(out.length, n));
      }
      int m = Math.min(Math.min(n, out.length) - done, BUFFER_BYTES / 4);
      fill(m * 4, what, true);
      bb.clear();
      bb.asIntBuffer().get(out, done, m);
      done += m;
    }
    return out;
  }

  /** Reads {@code n} raw bytes (codes). */
  byte[] readBytes(int n, String what) throws IOException {
    byte[] out = new byte[initialCapacity(n, 1, what)];
    int done = 0;
    while (done < n) {
      if (done == out.length) {
        out = Arrays.copyOf(out, grow(out.length, n));
      }
      int m = Math.min(Math.min(n, out.length) - done, BUFFER_BYTES);
      fill(m, what, true);
      System.arraycopy(buf, 0, out, done, m);
      done += m;
    }
    return out;
  }

  /** Reads {@code n} float32 values; records (but does not throw on) the first non-finite one. */
  float[] readFloats(int n, String what) throws IOException {
    float[] out = new float[initialCapacity(n, 4, what)];
    int done = 0;
    while (done < n) {
      if (done == out.length) {
        out = Arrays.copyOf(out, grow(out.length, n));
      }
      int m = Math.min(Math.min(n, out.length) - done, BUFFER_BYTES / 4);
      fill(m * 4, what, true);
      bb.clear();
      bb.asFloatBuffer().get(out, done, m);
      if (firstNonFinite == null) {
        for (int i = done; i < done + m; i++) {
          if (!Float.isFinite(out[i])) {
            firstNonFinite = what + ", value " + i + " (byte " + (pos - 4L * (done + m - i)) + ") is " + out[i];
            break;
          }
        }
      }
      done += m;
    }
    return out;
  }
}
