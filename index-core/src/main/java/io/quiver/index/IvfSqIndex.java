package io.quiver.index;

import io.quiver.index.codec.Codec;
import io.quiver.index.codec.SqCodec;
import io.quiver.index.ivf.CoarseQuantizer;
import io.quiver.index.quantize.ScalarQuantizer;
import io.quiver.index.vector.QueryBlockScan;

/**
 * An inverted file with scalar-quantized residuals: FAISS's {@code IndexIVFScalarQuantizer}
 * ({@code IVF<nlist>,SQ8|SQ4|SQfp16}), with {@code by_residual} on. The scalar quantizer's ranges
 * are trained on the residuals. For L2 a probed list is scanned with the query's residual to the
 * list's centroid; for inner product the value is {@code <q, c> + <q, r>}.
 *
 * <p>Searches run list-major ({@link QueryBlockScan}): each probed list is decoded a tile at a
 * time, once for all the queries of a block that probe it, and scanned with the float
 * query-block kernel. Range searches and the compute backends score the codes directly.
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
  protected SearchResult referenceScan(float[] q, int nq, int k, int np, long[] probes, float[] coarseValues,
                                       IdSelector[] selectors, int threads) {
    ScalarQuantizer sq = sq();
    int codeSize = sq.codeSize();
    QueryBlockScan.Lists decoded = new QueryBlockScan.Lists() {
      @Override
      public int size(int list) {
        return lists.size(list);
      }

      @Override
      public long[] ids(int list) {
        return lists.ids(list);
      }

      @Override
      public float[] rows(int list, int from, int n, float[] scratch) {
        sq.decode(lists.codes(list), from * codeSize, n, scratch, 0);
        return scratch;
      }
    };
    long[] outIds = new long[nq * k];
    float[] outDist = new float[nq * k];
    QueryBlockScan.search(q, nq, d, k, np, probes, coarseValues, decoded, coarse.centroids(), metric.higherIsCloser(),
        selectors, threads, outDist, outIds);
    return new SearchResult(nq, k, outIds, outDist);
  }

  @Override
  protected IvfSqIndex newSharing(Codec<byte[]> codec, CoarseQuantizer coarse) {
    return new IvfSqIndex(d, nlist, codec, metric, coarse);
  }
}
