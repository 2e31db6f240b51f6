package io.quiver.index.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * Little-endian sequential writer that keeps the CRC32C and the byte count of everything it
 * writes (except the checksum itself). Buffers internally; never closes the underlying stream.
 * A nested index file is written by a second {@code FormatOutput} over {@link #sectionStream()},
 * so that its bytes (its own checksum included) are part of this file's checksum. Not thread-safe.
 */
final class FormatOutput {
  private static final int BUFFER_BYTES = 1 << 16;

  private final OutputStream out;
  private final CRC32C crc = new CRC32C();
  private final ByteBuffer buf = ByteBuffer.allocate(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
  private long flushed;

  FormatOutput(OutputStream out) {
    this.out = out;
  }

  /** Bytes written so far. */
  long position() {
    return flushed + buf.position();
  }

  private void ensure(int bytes) throws IOException {
    if (buf.remaining() < bytes) {
      drain();
    }
  }

  /** Moves buffered bytes to the stream, adding them to the checksum. */
  private void drain() throws IOException {
    int n = buf.position();
    if (n > 0) {
      crc.update(buf.array(), 0, n);
      out.write(buf.array(), 0, n);
      flushed += n;
      buf.clear();
    }
  }

  void writeByte(int v) throws IOException {
    ensure(1);
    buf.put((byte) v);
  }

  void writeInt(int v) throws IOException {
    ensure(4);
    buf.putInt(v);
  }

  void writeLong(long v) throws IOException {
    ensure(8);
    buf.putLong(v);
  }

  void writeSectionHeader(int fourcc, long byteLength) throws IOException {
    writeInt(fourcc);
    writeLong(byteLength);
  }

  void writeLongs(long[] a, int off, int n) throws IOException {
    while (n > 0) {
      ensure(8);
      int m = Math.min(n, buf.remaining() / 8);
      buf.asLongBuffer().put(a, off, m);
      buf.position(buf.position() + m * 8);
      off += m;
      n -= m;
    }
  }

  void writeInts(int[] a, int off, int n) throws IOException {
    while (n > 0) {
      ensure(4);
      int m = Math.min(n, buf.remaining() / 4);
      buf.asIntBuffer().put(a, off, m);
      buf.position(buf.position() + m * 4);
      off += m;
      n -= m;
    }
  }

  void writeBytes(byte[] a, int off, int n) throws IOException {
    while (n > 0) {
      ensure(1);
      int m = Math.min(n, buf.remaining());
      buf.put(a, off, m);
      off += m;
      n -= m;
    }
  }

  /**
   * A stream that appends to this output (buffered and checksummed like any other bytes): where a
   * nested {@code FormatOutput} writes a wrapper section's index file. Flushing and closing it do
   * nothing.
   */
  OutputStream sectionStream() {
    return new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        writeBytes(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        writeBytes(b, off, len);
      }
    };
  }

  void writeFloats(float[] a, int off, int n) throws IOException {
    while (n > 0) {
      ensure(4);
      int m = Math.min(n, buf.remaining() / 4);
      buf.asFloatBuffer().put(a, off, m);
      buf.position(buf.position() + m * 4);
      off += m;
      n -= m;
    }
  }

  /** Moves every buffered byte to the stream and flushes it (for formats without Quiver's checksum). */
  void flush() throws IOException {
    drain();
    out.flush();
  }

  /** Writes the CRC32C of everything written so far (not itself checksummed) and flushes. */
  void writeChecksumAndFlush() throws IOException {
    drain();
    int value = (int) crc.getValue();
    buf.putInt(value);
    out.write(buf.array(), 0, 4);
    flushed += 4;
    buf.clear();
    out.flush();
  }
}
