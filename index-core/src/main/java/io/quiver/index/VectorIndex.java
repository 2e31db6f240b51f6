package io.quiver.index;

/**
 * A vector index, with FAISS's operations and vocabulary.
 *
 * <p>Vectors are passed as flat row-major {@code float[]} arrays of {@code n * d} floats; every
 * component must be finite. The caller's arrays are never modified (for {@link Metric#COSINE}
 * indexes normalize a copy). Ids are {@code long}s; {@link #add} numbers vectors
 * {@code ntotal, ntotal+1, ...} as FAISS does, {@link #addWithIds} takes the caller's ids.
 *
 * <p>Results: {@link #search} returns {@code nq x k} ids and distances, row-major, best first,
 * ties broken by the smaller id; missing results are padded with id -1 and +inf (L2) or -inf
 * (inner product, cosine). Distances are squared L2, inner products, or cosine similarities.
 *
 * <p>Errors: invalid arguments (a length that is not a multiple of {@code d}, a NaN or infinite
 * component, {@code k <= 0}, {@code nprobe <= 0}) throw {@link IllegalArgumentException} naming
 * the argument and the row; using an untrained index throws {@link IllegalStateException}. A call
 * that throws leaves the index unchanged.
 *
 * <p>Threading: every implementation is safe for any number of concurrent searches,
 * reconstructs and range searches. Mutations ({@code train}, {@code add}, {@code removeIds},
 * merges) take an exclusive lock, so they wait for running searches and searches wait for them.
 */
public interface VectorIndex {

  /** The dimension of the vectors. */
  int d();

  /** The metric. */
  Metric metric();

  /** The number of vectors stored. */
  long ntotal();

  /** True when the index can take vectors ({@link #train} has run, or no training is needed). */
  boolean isTrained();

  /** Trains on {@code vectors} (n*d floats). A no-op for indexes that need no training. */
  void train(float[] vectors);

  /** Adds vectors with ids {@code ntotal .. ntotal + n - 1}. */
  void add(float[] vectors);

  /** Adds vectors with the given ids, one per vector. */
  void addWithIds(float[] vectors, long[] ids);

  /** The k nearest neighbours of each query with the index's default parameters. */
  default SearchResult search(float[] queries, int k) {
    return search(queries, k, SearchParams.defaults());
  }

  /** The k nearest neighbours of each query (nq*d floats). */
  SearchResult search(float[] queries, int k, SearchParams params);

  /**
   * All vectors within {@code radius} of each query: squared L2 distance strictly below the
   * radius, or inner product / cosine strictly above it (FAISS's convention).
   */
  RangeSearchResult rangeSearch(float[] queries, float radius, SearchParams params);

  /**
   * The stored vector with this id (normalized for cosine indexes).
   *
   * @throws IllegalArgumentException when no vector has this id
   */
  float[] reconstruct(long id);

  /** Removes the vectors whose ids the selector chooses; returns how many were removed. */
  long removeIds(IdSelector selector);

  /**
   * Moves every vector of {@code other} into this index, as FAISS's {@code merge_from}, leaving
   * {@code other} empty. Both must be of the same kind, d and metric, and trained alike (the same
   * centroids and code quantizers: train once, then add to copies).
   *
   * @throws IllegalArgumentException when the indexes cannot be merged; neither is changed
   */
  void mergeFrom(VectorIndex other);

  /** The factory string that describes this index, such as {@code IVF100,Flat}. */
  String factoryString();

  /**
   * Bytes of heap the index's storage holds: vectors or codes, ids, centroids, codebooks and
   * precomputed tables, counting array capacity; -1 when an implementation cannot tell.
   */
  default long memoryBytes() {
    return -1;
  }
}
