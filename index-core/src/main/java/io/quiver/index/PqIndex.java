package io.quiver.index;

import io.quiver.index.codec.Codec;
import io.quiver.index.codec.PqCodec;
import io.quiver.index.quantize.ProductQuantizer;

/**
 * Exhaustive search over product-quantized codes: FAISS's {@code IndexPQ} with an id map.
 * Factory string {@code PQ<m>} ({@code nbits = 8}) or {@code PQ<m>x<nbits>}.
 *
 * <p>Every vector is stored as one {@link ProductQuantizer} code of {@code codeSize} bytes (16
 * bytes for {@code PQ16} instead of 512 for 128 floats). A search computes, per query, the
 * table of distances between its sub-vectors and every centroid, then sums table entries over
 * all codes (asymmetric distance computation, FAISS's default {@code ST_PQ} search). The
 * reported distances are therefore approximations: the squared L2 distance ({@link Metric#L2})
 * or inner product ({@link Metric#INNER_PRODUCT}, {@link Metric#COSINE}) between the query and the
 * <em>decoded</em> vector. For cosine, vectors and queries are L2-normalized copies, so the value
 * is the cosine similarity with the decoded normalized vector.
 *
 * <p>Training: the product quantizer is trained by k-means in each sub-space on squared L2 for
 * every metric, as FAISS does; configure it first through {@link #pq()} (seed, iterations,
 * points per centroid). Training needs at least {@code ksub = 2^nbits} vectors.
 *
 * <p>Search runs queries in parallel on {@link SearchParams#threads()} threads (all cores by
 * default); a batch of fewer queries than threads also splits the codes across threads. Results
 * are best first, ties broken by the smaller id, padded with id -1 and {@link Metric#worstValue()}.
 * Range search returns ADC values strictly below the radius (L2) or strictly above it (inner
 * product, cosine). {@link #reconstruct} decodes the stored code (the original vector is not
 * kept), through a direct map (id to row) built on the first call for non-sequential ids.
 *
 * <p>Codes live in one contiguous array, so one index holds at most
 * {@code (2^31 - 9) / codeSize} vectors.
 *
 * <p>Thread-safe: see {@link VectorIndex}.
 */
public final class PqIndex extends FlatCodesIndex<byte[]> {

  /**
   * An untrained index.
   *
   * @param d vector dimension, a multiple of {@code m}
   * @param m sub-quantizers per vector (FAISS's {@code M})
   * @param nbits bits per sub-code, 4 to 8
   * @param metric L2, INNER_PRODUCT or COSINE
   * @throws IllegalArgumentException when d is not a multiple of m, nbits is outside [4, 8], or the metric is null
   */
  public PqIndex(int d, int m, int nbits, Metric metric) {
    this(d, metric, new PqCodec(new ProductQuantizer(d, m, nbits)));
  }

  private PqIndex(int d, Metric metric, Codec<byte[]> codec) {
    super(d, metric, codec);
  }

  /**
   * Restores an index from stored state (used by index files): a trained quantizer of dimension
   * {@code d}, and {@code ids.length} codes of {@code pq.codeSize()} bytes each, in the same
   * order (computed from normalized vectors for cosine). The arrays and the quantizer are taken,
   * not copied.
   */
  public static PqIndex fromStorage(int d, Metric metric, ProductQuantizer pq, long[] ids, byte[] codes) {
    if (pq == null) {
      throw new IllegalArgumentException("pq is null");
    }
    if (pq.d() != d) {
      throw new IllegalArgumentException("pq.d() " + pq.d() + " != d " + d);
    }
    if (!pq.isTrained()) {
      throw new IllegalArgumentException("pq is not trained; a stored PQ index needs its codebook");
    }
    PqIndex index = new PqIndex(d, metric, new PqCodec(pq));
    index.restore(ids, codes);
    return index;
  }

  /** Each query scans every code alone, with its lookup table in L1. */
  @Override
  protected int queryBatch() {
    return 1;
  }

  /** The product quantizer: configure it before {@link #train} (a training replaces it with a trained copy). */
  public ProductQuantizer pq() {
    return ((PqCodec) codec()).pq();
  }

  /** Sub-quantizers per vector. */
  public int m() {
    return pq().m();
  }

  /** Bits per sub-code. */
  public int nbits() {
    return pq().nbits();
  }

  /** A copy of the codes, in storage order: {@code ntotal * codeSize} bytes, code of row i at {@code i * codeSize}. */
  public byte[] codes() {
    return codesArray();
  }
}
