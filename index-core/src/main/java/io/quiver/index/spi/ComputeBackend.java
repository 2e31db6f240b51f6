package io.quiver.index.spi;

import io.quiver.index.IdSelector;
import io.quiver.index.RangeSearchResult;
import io.quiver.index.SearchResult;

/**
 * The hot loops of index-core, as one interface a compute device implements. {@link CpuBackend}
 * is the reference: every other backend must give the same results (ids equal except between
 * equal distances, distances within float rounding of a different summation order), and may
 * hand any call it does not take (too small to pay for a transfer, a case it does not cover, a
 * per-query {@link IdSelector}) to the reference.
 *
 * <p>Shapes follow index-core's kernels: flat row-major arrays, {@code d} floats per vector, keys
 * "smaller is better" inside (squared L2, or the negated inner product), results best first and
 * padded with id -1 and +inf (L2) or -inf (inner product).
 *
 * <p>Implementations are thread-safe: index-core calls them from its worker threads and from
 * several Spark tasks of one executor at once.
 */
public interface ComputeBackend {

  /** A short name for logs and reports: {@code cpu}, or the device, e.g. {@code gpu 0 (NVIDIA H100)}. */
  String name();

  /** True for an accelerator (a GPU), false for the CPU reference. */
  boolean isAccelerator();

  /**
   * Exact k nearest base rows of each query: FAISS's {@code knn_L2sqr} / {@code knn_inner_product}.
   * Behind Flat search, k-means assignment and IVF coarse probing.
   *
   * @param queries {@code nq * d} floats, row-major, from index 0
   * @param base {@code nb * d} floats, row-major, from index 0
   * @param baseNorms squared norms of the base rows (L2 only; null to compute them)
   * @param labels the id of each base row, or null to report row numbers
   * @param innerProduct true to rank by largest inner product, false by smallest squared L2
   * @param threads CPU threads the reference may use; 0 means all cores
   * @param selectors one {@link IdSelector} per query (an entry may be null), or null for none
   * @param outDistances size {@code nq * k}: squared L2 distances or inner products, best first
   * @param outIds size {@code nq * k}: labels (or row numbers), -1 for padding
   */
  void knn(float[] queries, int nq, float[] base, int nb, float[] baseNorms, long[] labels, int d, boolean innerProduct,
           int k, int threads, IdSelector[] selectors, float[] outDistances, long[] outIds);

  /**
   * The codes of {@code n = x.length / d} vectors ({@code n * d} checked floats) under the codec
   * {@code codec} describes, or null when this backend leaves that codec (or this batch) to the
   * codec's own Java encoder, as the reference does for every codec. {@link IvfLists.Pq}: the
   * nearest sub-centroid of every sub-vector, one byte per sub-code ({@code n * m} bytes, not
   * packed; the codec packs codes of fewer than 8 bits); {@link IvfLists.Sq8}: {@code n * d}
   * bytes, {@code floor(clamp((x - vmin) / vdiff, 0, 1) * 255 + 0.5)} computed as the codec's
   * Java encoder does. A backend must give the reference's codes (ties between equally near
   * sub-centroids aside).
   */
  byte[] encode(IvfLists.Codec codec, int d, float[] x);

  /**
   * Scans the probed inverted lists of every query and keeps each query's k best entries:
   * {@code job.probes()} and {@code job.coarseValues()} come from the coarse quantizer (or from
   * a preassigned search). The reference is {@link IvfSearchJob#reference()}: the index's own scan.
   */
  SearchResult ivfSearch(IvfSearchJob job);

  /**
   * Scans the probed inverted lists of every query for the entries within {@code job.radius()}
   * (IVF {@code rangeSearch} and {@code rangeSearchPreassigned}). The reference is
   * {@link IvfRangeJob#reference()}, which this default runs: no accelerator has a range kernel
   * yet.
   */
  default RangeSearchResult ivfRangeSearch(IvfRangeJob job) {
    return job.reference().get();
  }
}
