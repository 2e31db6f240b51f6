package io.quiver.index;

import io.quiver.index.codec.Codec;
import io.quiver.index.codec.SqCodec;
import io.quiver.index.quantize.ScalarQuantizer;

/**
 * Exhaustive search over scalar-quantized codes: FAISS's {@code IndexScalarQuantizer} with an
 * id map. Factory strings {@code SQ8}, {@code SQ4}, {@code SQfp16}; see {@link ScalarQuantizer}
 * for the codes, the training ({@code RS_minmax}: per-dimension min and max of the training set)
 * and the decode error.
 *
 * <p>Each vector is stored as one code of {@link ScalarQuantizer#codeSize()} bytes (d, d/2 or 2d)
 * with its id. A search compares each query with every code through the quantizer's one-to-many
 * kernels, which decode in registers; the reported distance is the squared L2 distance, inner
 * product or cosine similarity between the query and the <em>decoded</em> vector, so it differs
 * from the exact one by the quantization error. For {@link Metric#COSINE} vectors are normalized
 * before training, encoding and search, and the reported value is the inner product of the
 * normalized query with the decoded normalized vector.
 *
 * <p>Training: SQ8 and SQ4 must be trained before {@link #add} and {@link #search} (else
 * {@link IllegalStateException}), and cannot be retrained once they hold vectors. SQfp16 needs
 * no training; its {@link #train} only checks the input.
 *
 * <p>Searches run queries in parallel on {@link SearchParams#threads()} threads (all cores by
 * default), in batches of up to 16 queries that share each block of 1024 codes while it is in
 * cache. Results are best first, ties broken by the smaller id, padded with id -1 and
 * {@link Metric#worstValue()}. {@link #reconstruct} decodes the stored code; it finds ids through
 * a direct map built on the first call after a change (unless the ids are 0..ntotal-1). Codes live
 * in one contiguous array, so one index holds at most {@code (2^31 - 9) / codeSize} vectors.
 *
 * <p>Thread-safe: see {@link VectorIndex}.
 */
public final class SqIndex extends FlatCodesIndex<byte[]> {

  /**
   * An untrained index (trained already for SQfp16).
   *
   * @throws IllegalArgumentException for d < 1, a null type or metric
   */
  public SqIndex(int d, ScalarQuantizer.Type type, Metric metric) {
    this(d, metric, new SqCodec(new ScalarQuantizer(d, type)));
  }

  private SqIndex(int d, Metric metric, Codec<byte[]> codec) {
    super(d, metric, codec);
  }

  /**
   * Restores an index from storage (index files): a quantizer of dimension {@code d} (trained,
   * unless the index is empty) and {@code ids.length * sq.codeSize()} bytes, code {@code i}
   * belonging to {@code ids[i]}, encoded from normalized vectors for cosine. The arrays are taken.
   */
  public static SqIndex fromStorage(int d, Metric metric, ScalarQuantizer sq, long[] ids, byte[] codes) {
    if (sq == null) {
      throw new IllegalArgumentException("sq is null");
    }
    if (sq.d() != d) {
      throw new IllegalArgumentException("the scalar quantizer has d=" + sq.d() + ", the index d=" + d);
    }
    SqIndex index = new SqIndex(d, metric, new SqCodec(copyOf(sq)));
    index.restore(ids, codes);
    return index;
  }

  private static ScalarQuantizer copyOf(ScalarQuantizer q) {
    return q.isTrained() ? ScalarQuantizer.fromTrained(q.d(), q.type(), q.vmin(), q.vdiff()) : new ScalarQuantizer(q.d(), q.type());
  }

  /** SQ8, SQ4 or SQfp16. */
  public ScalarQuantizer.Type type() {
    return ((SqCodec) codec()).sq().type();
  }

  /**
   * A copy of the quantizer (trained or not), for index files; changing it does not change the
   * index.
   */
  public ScalarQuantizer sq() {
    return copyOf(((SqCodec) codec()).sq());
  }

  /** A copy of the codes, in storage order ({@code ntotal * codeSize} bytes). */
  public byte[] codes() {
    return codesArray();
  }
}
