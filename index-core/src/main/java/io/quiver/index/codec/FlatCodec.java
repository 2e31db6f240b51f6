package io.quiver.index.codec;

import io.quiver.index.scan.Scans;
import io.quiver.index.spi.IvfLists;
import io.quiver.index.store.ArrayKind;
import io.quiver.index.util.Checks;
import io.quiver.index.vector.VectorUtil;

/**
 * The codec whose code is the vector itself ({@code d} float32 values): FAISS's
 * {@code IndexFlat} and {@code IndexIVFFlat} storage. Needs no training; exact distances.
 */
public final class FlatCodec implements Codec<float[]> {
  private final int d;

  public FlatCodec(int d) {
    this.d = Checks.atLeast("d", d, 1);
  }

  @Override
  public int d() {
    return d;
  }

  @Override
  public ArrayKind<float[]> kind() {
    return ArrayKind.FLOATS;
  }

  @Override
  public int unitsPerCode() {
    return d;
  }

  @Override
  public boolean isTrained() {
    return true;
  }

  @Override
  public boolean needsTraining() {
    return false;
  }

  @Override
  public long trainingSampleSize() {
    return 0;
  }


  @Override
  public FlatCodec untrainedCopy() {
    return this;
  }

  /** Nothing to learn: the vectors are only checked. */
  @Override
  public void train(float[] x) {
    Checks.vectors("training vectors", x, d);
  }

  /** The vectors themselves (not copied). */
  @Override
  public float[] encode(float[] x) {
    return x;
  }

  @Override
  public void decode(float[] codes, int code, float[] out, int outOff) {
    System.arraycopy(codes, code * d, out, outOff, d);
  }

  @Override
  public boolean sameAs(Codec<?> other) {
    return other instanceof FlatCodec f && f.d == d;
  }

  @Override
  public long memoryBytes() {
    return 0;
  }

  @Override
  public String factoryName() {
    return "Flat";
  }

  @Override
  public IvfLists.Codec describe() {
    return new IvfLists.Flat();
  }

  @Override
  public Scorer<float[]> scorer(boolean innerProduct) {
    return new DirectScorer<>() {
      @Override
      public void keys(float[] codes, int from, int n, float[] out, int outOff) {
        if (innerProduct) {
          VectorUtil.dotProductOneToMany(q, qOff, codes, from * d, n, d, out, outOff);
          Scans.negate(out, outOff, n);
        } else {
          VectorUtil.squareDistanceOneToMany(q, qOff, codes, from * d, n, d, out, outOff);
        }
      }
    };
  }
}
