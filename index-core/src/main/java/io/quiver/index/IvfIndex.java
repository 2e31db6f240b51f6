package io.quiver.index;

import io.quiver.index.codec.Codec;
import io.quiver.index.codec.FlatCodec;
import io.quiver.index.ivf.CoarseQuantizer;
import io.quiver.index.vector.QueryBlockScan;

/**
 * An inverted-file index with flat (uncompressed) lists: FAISS's {@code IndexIVFFlat}.
 *
 * <p>A coarse quantizer of {@code nlist} centroids, trained by k-means, splits the space into
 * cells; each vector is stored in the list of its nearest centroid. A search visits the
 * {@code nprobe} lists whose centroids are nearest to the query and scans them exactly.
 *
 * <p>Training mirrors FAISS's IVF: k-means with 10 iterations ({@code Level1Quantizer}'s
 * setting), at most 256 points per centroid, seed 1234; for inner product and cosine the
 * centroids are normalized (spherical k-means) and assignment ranks by inner product.
 *
 * <p>Searches run queries in parallel on {@link SearchParams#threads()} threads (all cores by
 * default). {@link #reconstruct} uses a direct map (id to list and offset) built on the first
 * call, as FAISS's {@code make_direct_map}, and dropped by any change to the lists.
 *
 * <p>Thread-safe: see {@link VectorIndex}.
 */
public final class IvfIndex extends IvfCodesIndex<float[]> {

  /** k-means iterations used to train the coarse quantizer (FAISS's Level1Quantizer uses 10). */
  public static final int DEFAULT_TRAIN_NITER = CoarseQuantizer.DEFAULT_NITER;

  public IvfIndex(int d, int nlist, Metric metric) {
    this(d, nlist, metric, new FlatCodec(d), null);
  }

  /** An index over {@code coarse}, an untrained coarse quantizer of this d, nlist and metric ({@code IVF<nlist>_HNSW<M>,Flat}). */
  public IvfIndex(int d, int nlist, Metric metric, CoarseQuantizer coarse) {
    this(d, nlist, metric, new FlatCodec(d), coarse);
  }

  private IvfIndex(int d, int nlist, Metric metric, Codec<float[]> codec, CoarseQuantizer coarse) {
    super(d, nlist, metric, codec, false, coarse);
  }

  /**
   * Restores a trained index from stored state (used by index files). Centroids are
   * {@code nlist * d} floats; list {@code l} holds {@code listIds[l].length} entries. Arrays are
   * taken, not copied.
   */
  public static IvfIndex fromStorage(int d, Metric metric, int nlist, int nprobe, float[] centroids,
                                     long[][] listIds, float[][] listVectors) {
    return fromStorage(d, metric, nlist, nprobe, centroids, listIds, listVectors, null);
  }

  /** {@link #fromStorage} over {@code coarse}, an untrained coarse quantizer (null: the flat one) that the centroids train. */
  public static IvfIndex fromStorage(int d, Metric metric, int nlist, int nprobe, float[] centroids,
                                     long[][] listIds, float[][] listVectors, CoarseQuantizer coarse) {
    IvfIndex index = new IvfIndex(d, nlist, metric, coarse);
    if (centroids == null || centroids.length != (long) nlist * d) {
      throw new IllegalArgumentException("centroids.length " + (centroids == null ? "null" : centroids.length)
          + " != nlist " + nlist + " * d " + d);
    }
    index.restore(centroids, nprobe, listIds, listVectors);
    return index;
  }

  /**
   * List-major: each probed list scanned once for the queries of a block that probe it, with the
   * query-block kernel ({@link QueryBlockScan}); the coarse values are not needed by float codes.
   */
  @Override
  protected SearchResult referenceScan(float[] q, int nq, int k, int np, long[] probes, float[] coarseValues,
                                       IdSelector[] selectors, int threads) {
    long[] outIds = new long[nq * k];
    float[] outDist = new float[nq * k];
    QueryBlockScan.search(q, nq, d, k, np, probes, lists::codes, lists::ids, lists::size, metric.higherIsCloser(),
        selectors, threads, outDist, outIds);
    return new SearchResult(nq, k, outIds, outDist);
  }

  @Override
  protected IvfIndex newSharing(Codec<float[]> codec, CoarseQuantizer coarse) {
    return new IvfIndex(d, nlist, metric, codec, coarse);
  }

  /** k-means iterations for {@link #train} (default {@value #DEFAULT_TRAIN_NITER}). */
  public void setTrainNiter(int niter) {
    coarse.setNiter(niter);
  }

  /** Seed of the k-means that trains the quantizer (default 1234). */
  public void setTrainSeed(long seed) {
    coarse.setSeed(seed);
  }

  /** At most this many training points per centroid are used (default 256). */
  public void setMaxPointsPerCentroid(int max) {
    coarse.setMaxPointsPerCentroid(max);
  }

  /** A copy of the vectors of list {@code list} ({@code listSize * d} floats). */
  public float[] listVectors(int list) {
    return listCodesArray(list);
  }
}
