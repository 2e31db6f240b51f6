package io.quiver.index.codec;

import io.quiver.index.spi.IvfLists;
import io.quiver.index.store.ArrayKind;

/**
 * What a vector becomes inside an index: FAISS's codec layer ({@code IndexFlatCodes}'
 * {@code sa_encode}/{@code sa_decode}, and the code of an IVF list entry). A flat index stores
 * the codes of the vectors; an IVF index with {@code by_residual} stores the codes of the
 * residuals to their list's centroid. {@link FlatCodec} (the vector itself), {@link PqCodec} and
 * {@link SqCodec} are the codecs.
 *
 * <p>Codes are {@link #unitsPerCode()} elements of an {@link ArrayKind} each, contiguous: code
 * {@code i} of an array starts at element {@code i * unitsPerCode()}.
 *
 * <p>Training happens on a fresh copy ({@link #untrainedCopy}, then {@link #train}), which the
 * owning index publishes when training succeeds, so searches never wait on training and never
 * see half-trained state. A trained codec is read-only and may be shared by any number of
 * indexes and threads.
 *
 * @param <A> the code array type
 */
public interface Codec<A> {

  /** The vector dimension. */
  int d();

  /** The array type of the codes. */
  ArrayKind<A> kind();

  /** Array elements per code. */
  int unitsPerCode();

  /** Bytes per code ({@code unitsPerCode * elementBytes}), as lists and files store it. */
  default int codeSize() {
    return unitsPerCode() * kind().elementBytes();
  }

  /** True when the codec can encode ({@link FlatCodec} always can). */
  boolean isTrained();

  /** True when {@link #train} does anything; false for codecs that need no training. */
  boolean needsTraining();

  /**
   * Training vectors this codec uses at most (it subsamples more), FAISS's
   * {@code max_points_per_centroid * k} for k-means codecs; 0 when it needs none, and
   * {@link Long#MAX_VALUE} when it uses all it is given.
   */
  long trainingSampleSize();


  /** A codec of the same shape and training settings that is not trained (or this one, if it needs no training). */
  Codec<A> untrainedCopy();

  /**
   * Trains on {@code x} ({@code n * d} floats); call on an {@link #untrainedCopy}.
   *
   * @throws IllegalArgumentException for bad training vectors or too few of them
   */
  void train(float[] x);

  /**
   * The codes of {@code n} vectors ({@code n * d} floats): {@code n * unitsPerCode} elements. May
   * return {@code x} itself when the codes are the vectors.
   *
   * @throws IllegalStateException before training
   */
  A encode(float[] x);

  /** Decodes code number {@code code} of {@code codes} into {@code out[outOff .. outOff + d)}. */
  void decode(A codes, int code, float[] out, int outOff);

  /** True when {@code other} encodes every vector as this codec does (merging needs it). */
  boolean sameAs(Codec<?> other);

  /** Bytes of heap the trained state holds (codebooks, ranges, tables). */
  long memoryBytes();

  /** The codec's part of a factory string: {@code Flat}, {@code PQ16}, {@code PQ8x4}, {@code SQ8}. */
  String factoryName();

  /** How codes read, for a compute backend ({@link IvfLists#codec()}). */
  IvfLists.Codec describe();

  /**
   * A per-query scorer of codes; {@code innerProduct} chooses the key: the squared L2 distance,
   * or the negated inner product (keys are always "smaller is better").
   */
  Scorer<A> scorer(boolean innerProduct);

  /**
   * Keys of one query against runs of codes. Made once per query (or per thread, and reused),
   * never shared between threads.
   */
  interface Scorer<A> {
    /** Sets the query to {@code q[qOff .. qOff + d)} (a residual, for IVF lists by residual). */
    void setQuery(float[] q, int qOff);

    /**
     * {@code out[outOff + j]} = the key of code {@code from + j} of {@code codes}, {@code j < n}:
     * the squared L2 distance or the negated inner product between the query and the decoded code.
     */
    void keys(A codes, int from, int n, float[] out, int outOff);
  }

  /** A scorer that keeps the query as given ({@link #q}, {@link #qOff}) and computes on codes directly. */
  abstract class DirectScorer<A> implements Scorer<A> {
    protected float[] q;
    protected int qOff;

    @Override
    public final void setQuery(float[] q, int qOff) {
      this.q = q;
      this.qOff = qOff;
    }
  }
}
