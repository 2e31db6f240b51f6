package io.quiver.index.codec;

import io.quiver.index.quantize.ScalarQuantizer;
import io.quiver.index.spi.ComputeBackends;
import io.quiver.index.scan.Scans;
import io.quiver.index.spi.IvfLists;
import io.quiver.index.util.Checks;
import io.quiver.index.store.ArrayKind;
import java.util.Arrays;

/**
 * Scalar-quantized codes ({@code SQ8}, {@code SQ4}, {@code SQfp16}): one value per dimension on
 * per-dimension ranges trained by min-max (FAISS's {@code RS_minmax}); distances are computed on
 * the codes without decoding them first.
 */
public final class SqCodec implements Codec<byte[]> {
  private final ScalarQuantizer sq;

  public SqCodec(ScalarQuantizer sq) {
    if (sq == null) {
      throw new IllegalArgumentException("sq is null");
    }
    this.sq = sq;
  }

  /** The scalar quantizer. */
  public ScalarQuantizer sq() {
    return sq;
  }

  @Override
  public int d() {
    return sq.d();
  }

  @Override
  public ArrayKind<byte[]> kind() {
    return ArrayKind.BYTES;
  }

  @Override
  public int unitsPerCode() {
    return sq.codeSize();
  }

  @Override
  public boolean isTrained() {
    return sq.isTrained();
  }

  @Override
  public boolean needsTraining() {
    return sq.type() != ScalarQuantizer.Type.SQFP16;
  }

  /** Min-max ranges use every training vector given. */
  @Override
  public long trainingSampleSize() {
    return needsTraining() ? Long.MAX_VALUE : 0;
  }


  @Override
  public SqCodec untrainedCopy() {
    return needsTraining() ? new SqCodec(new ScalarQuantizer(sq.d(), sq.type())) : this;
  }

  @Override
  public void train(float[] x) {
    sq.train(x);
  }

  /** On the {@link ComputeBackends#current() compute backend} when it takes the batch, else in Java. */
  @Override
  public byte[] encode(float[] x) {
    if (!sq.isTrained()) {
      return sq.encode(x); // names the untrained quantizer
    }
    Checks.vectors("vectors", x, sq.d());
    byte[] codes = ComputeBackends.current().encode(describe(), sq.d(), x);
    return codes != null ? codes : sq.encode(x);
  }

  @Override
  public void decode(byte[] codes, int code, float[] out, int outOff) {
    sq.decode(codes, code * sq.codeSize(), out, outOff);
  }

  @Override
  public boolean sameAs(Codec<?> other) {
    if (!(other instanceof SqCodec o)) {
      return false;
    }
    ScalarQuantizer s = o.sq;
    return s.d() == sq.d() && s.type() == sq.type() && Arrays.equals(s.vmin(), sq.vmin())
        && Arrays.equals(s.vdiff(), sq.vdiff());
  }

  /** The ranges: {@code vmin} and {@code vdiff}, {@code d} floats each. */
  @Override
  public long memoryBytes() {
    return needsTraining() ? 8L * sq.d() : 0;
  }

  @Override
  public String factoryName() {
    return sq.type().factoryName();
  }

  @Override
  public IvfLists.Codec describe() {
    if (sq.type() != ScalarQuantizer.Type.SQ8 || !sq.isTrained()) {
      return new IvfLists.Other(sq.type().factoryName());
    }
    return new IvfLists.Sq8(sq.decodeScale(), sq.decodeOffset(), sq.vmin(), sq.vdiff());
  }

  @Override
  public Scorer<byte[]> scorer(boolean innerProduct) {
    int codeSize = sq.codeSize();
    return new DirectScorer<>() {
      @Override
      public void keys(byte[] codes, int from, int n, float[] out, int outOff) {
        if (innerProduct) {
          sq.dotProductOneToMany(q, qOff, codes, from * codeSize, n, out, outOff);
          Scans.negate(out, outOff, n);
        } else {
          sq.squareDistanceOneToMany(q, qOff, codes, from * codeSize, n, out, outOff);
        }
      }
    };
  }
}
