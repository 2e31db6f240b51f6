package io.quiver.index.spi;

/**
 * Read access to the inverted lists of an IVF index, for a backend that copies them to its device.
 * Arrays are the index's live storage (read them, never write them); a list's arrays may be longer
 * than {@link #listSize}. Readers hold the index's read lock while they scan, so the lists do not
 * change during one {@link ComputeBackend#ivfSearch}; {@link #version()} changes with every
 * change of the contents, so a device copy can be kept between searches and refreshed when stale.
 */
public interface IvfLists {

  /** How the entries are stored. */
  sealed interface Codec permits Flat, Pq, Sq8, Other {}

  /** Raw float vectors, {@code d} per entry ({@code IVF<n>,Flat}). */
  record Flat() implements Codec {}

  /**
   * PQ codes of the residual to the list's centroid, {@code m} sub-codes of {@code nbits} bits
   * ({@code IVF<n>,PQ<m>[x<nbits>]}); {@code codebooks} is {@code m * ksub * dsub} floats, sub-space
   * major. For L2 an entry's distance is {@code sum_j |(q - c)_j - C_j[code_j]|^2}; for inner
   * product it is {@code <q, c> + sum_j <q_j, C_j[code_j]>}.
   */
  record Pq(int m, int nbits, float[] codebooks) implements Codec {}

  /**
   * SQ8 codes of the residual to the list's centroid: component {@code j} decodes to
   * {@code fma(code_j, scale[j], offset[j])} ({@code IVF<n>,SQ8}). For L2 an entry's distance is
   * {@code |(q - c) - decode|^2}; for inner product {@code <q, c> + <q, decode>}. {@code vmin} and
   * {@code vdiff} are the trained ranges encoding uses ({@link ComputeBackend#encode}).
   */
  record Sq8(float[] scale, float[] offset, float[] vmin, float[] vdiff) implements Codec {}

  /** A storage no accelerator handles (SQ4, SQfp16, ...): the reference scans it. */
  record Other(String name) implements Codec {}

  int d();

  int nlist();

  /** True when values are inner products (larger is closer). */
  boolean innerProduct();

  Codec codec();

  /** Bytes per entry: {@code 4 * d} for Flat, the code size otherwise. */
  int codeSize();

  /** Changes whenever any list's contents change. */
  long version();

  /** The coarse centroids, {@code nlist * d} floats (live; do not modify). */
  float[] centroids();

  int listSize(int list);

  /** The ids of list {@code list}; the first {@link #listSize} entries are valid. */
  long[] listIds(int list);

  /** The vectors of list {@code list} (Flat only), {@code d} floats per entry. */
  float[] listVectors(int list);

  /** The codes of list {@code list} (PQ, SQ), {@link #codeSize} bytes per entry. */
  byte[] listCodes(int list);
}
