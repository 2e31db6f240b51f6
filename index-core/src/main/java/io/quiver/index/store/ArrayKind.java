package io.quiver.index.store;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The Java array type that holds a codec's codes: {@code byte[]} for compressed codes (PQ, SQ),
 * {@code float[]} for the vectors themselves. FAISS keeps every code as bytes; a float scan over
 * a {@code byte[]} would need a view per load in Java, so float codes stay {@code float[]} in
 * memory and become little-endian float32 bytes only where bytes are asked for
 * ({@link #toBytes}, index files, shards).
 *
 * @param <A> {@code byte[]} or {@code float[]}
 */
public abstract sealed class ArrayKind<A> permits ArrayKind.Bytes, ArrayKind.Floats {

  /** Codes as bytes. */
  public static final ArrayKind<byte[]> BYTES = new Bytes();
  /** Codes as float32 values. */
  public static final ArrayKind<float[]> FLOATS = new Floats();

  private ArrayKind() {}

  /** An array of {@code length} elements. */
  public abstract A newArray(int length);

  /** The number of elements of {@code a}. */
  public abstract int length(A a);

  /** Bytes per element: 1 or 4. */
  public abstract int elementBytes();

  /** A copy of {@code a} with {@code length} elements (truncated or zero-padded). */
  public abstract A copyOf(A a, int length);

  /**
   * Elements {@code [from, from + n)} of {@code a} as bytes: the same bytes, or little-endian
   * float32 values.
   */
  public abstract byte[] toBytes(A a, int from, int n);

  /** {@code n} elements read from {@code b[off ..]}, the inverse of {@link #toBytes}. */
  public abstract A fromBytes(byte[] b, int off, int n);

  static final class Bytes extends ArrayKind<byte[]> {
    @Override
    public byte[] newArray(int length) {
      return new byte[length];
    }

    @Override
    public int length(byte[] a) {
      return a.length;
    }

    @Override
    public int elementBytes() {
      return 1;
    }

    @Override
    public byte[] copyOf(byte[] a, int length) {
      return Arrays.copyOf(a, length);
    }

    @Override
    public byte[] toBytes(byte[] a, int from, int n) {
      return Arrays.copyOfRange(a, from, from + n);
    }

    @Override
    public byte[] fromBytes(byte[] b, int off, int n) {
      return Arrays.copyOfRange(b, off, off + n);
    }
  }

  static final class Floats extends ArrayKind<float[]> {
    @Override
    public float[] newArray(int length) {
      return new float[length];
    }

    @Override
    public int length(float[] a) {
      return a.length;
    }

    @Override
    public int elementBytes() {
      return Float.BYTES;
    }

    @Override
    public float[] copyOf(float[] a, int length) {
      return Arrays.copyOf(a, length);
    }

    @Override
    public byte[] toBytes(float[] a, int from, int n) {
      byte[] b = new byte[Float.BYTES * n];
      ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(a, from, n);
      return b;
    }

    @Override
    public float[] fromBytes(byte[] b, int off, int n) {
      float[] a = new float[n];
      ByteBuffer.wrap(b, off, Float.BYTES * n).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(a);
      return a;
    }
  }
}
