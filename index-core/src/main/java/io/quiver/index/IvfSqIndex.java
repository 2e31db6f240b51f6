package io.quiver.index;

import io.quiver.index.codec.Codec;
import io.quiver.index.ivf.CoarseQuantizer;
import io.quiver.index.codec.SqCodec;
import io.quiver.index.quantize.ScalarQuantizer;

/**
 * An inverted file with scalar-quantized residuals: FAISS's {@code IndexIVFScalarQuantizer}
 * ({@code IVF<nlist>,SQ8|SQ4|SQfp16}), with {@code by_residual} on. The scalar quantizer's ranges
 * are trained on the residuals. For L2 a probed list is scanned with the query's residual to the
 * list's centroid; for inner product the value is {@code <q, c> + <q, r>}. Distances are computed
 * on the codes, without decoding them to vectors first.
 */
public final class IvfSqIndex extends IvfCodesIndex<byte[]> {

  public IvfSqIndex(int d, int nlist, ScalarQuantizer.Type type, Metric metric) {
    this(d, nlist, new SqCodec(new ScalarQuantizer(d, type)), metric, null);
  }

  /** An index over {@code coarse}, an untrained coarse quantizer of this d, nlist and metric ({@code IVF<nlist>_HNSW<M>,SQ8}). */
  public IvfSqIndex(int d, int nlist, ScalarQuantizer.Type type, Metric metric, CoarseQuantizer coarse) {
    this(d, nlist, new SqCodec(new ScalarQuantizer(d, type)), metric, coarse);
  }

  private IvfSqIndex(int d, int nlist, Codec<byte[]> codec, Metric metric, CoarseQuantizer coarse) {
    super(d, nlist, metric, codec, true, coarse);
  }

  /** Restores a trained index from storage (index files). */
  public static IvfSqIndex fromStorage(int d, Metric metric, int nlist, int nprobe, float[] centroids, ScalarQuantizer sq,
                                       long[][] listIds, byte[][] listCodes) {
    return fromStorage(d, metric, nlist, nprobe, centroids, sq, listIds, listCodes, null);
  }

  /** {@link #fromStorage} over {@code coarse}, an untrained coarse quantizer (null: the flat one) that the centroids train. */
  public static IvfSqIndex fromStorage(int d, Metric metric, int nlist, int nprobe, float[] centroids, ScalarQuantizer sq,
                                       long[][] listIds, byte[][] listCodes, CoarseQuantizer coarse) {
    IvfSqIndex index = new IvfSqIndex(d, nlist, new SqCodec(sq), metric, coarse);
    index.restore(centroids, nprobe, listIds, listCodes);
    return index;
  }

  /** The scalar quantizer of the residuals. */
  public ScalarQuantizer sq() {
    return ((SqCodec) codec()).sq();
  }

  @Override
  protected IvfSqIndex newSharing(Codec<byte[]> codec, CoarseQuantizer coarse) {
    return new IvfSqIndex(d, nlist, codec, metric, coarse);
  }
}
