package io.quiver.index;

import io.quiver.index.ivf.CoarseQuantizer;

/**
 * An inverted-file index ({@link IvfIndex}, {@link IvfPqIndex}, {@link IvfSqIndex}) seen as its
 * parts, the way a distributed build and search use it: FAISS's {@code encode_vectors},
 * {@code add_entries} on the inverted lists, and {@code search_preassigned}.
 *
 * <p>A trained index with no vectors is the <em>quantizer</em>: it assigns and encodes vectors
 * anywhere ({@link #assignAndEncode}), and {@link #emptyCopy} gives indexes that share its
 * trained state and hold any subset of the lists ({@link #addPreassigned}), for example one shard
 * of a large index. Searching such a subset with the probes of the whole index
 * ({@link #probe}, then {@link #searchPreassigned}) gives the part of the full result that lives
 * in those lists; merging the parts of every subset gives the full index's result.
 *
 * <p>Codes are the bytes a list stores per vector: {@link #codeSize()} bytes, the PQ or SQ code
 * of the residual for the compressed indexes, the vector's {@code d} float32 values (little
 * endian) for {@link IvfIndex}.
 */
public interface InvertedFileIndex extends VectorIndex {

  /** The number of inverted lists. */
  int nlist();

  /** The coarse quantizer. */
  CoarseQuantizer coarseQuantizer();

  /**
   * Training vectors a build should sample: FAISS's {@code max_points_per_centroid * nlist} (256
   * per list) for the coarse k-means, or more when the codec's own training uses more (PQ's
   * {@code 256 * ksub}).
   */
  long trainingSampleSize();

  /**
   * Training vectors the codec takes from a sample: 0 when it needs none (IVF-Flat, SQfp16),
   * {@link Long#MAX_VALUE} when it uses every one it is given (SQ's min-max ranges).
   */
  long codecTrainingSampleSize();

  /** Bytes of one stored vector's code. */
  int codeSize();

  /** The number of vectors in list {@code list}. */
  int listSize(int list);

  /** A copy of the ids of list {@code list}. */
  long[] listIds(int list);

  /** A copy of the codes of list {@code list}: {@code listSize * codeSize()} bytes. */
  byte[] listCodes(int list);

  /**
   * Assigns each of the {@code n} vectors ({@code n * d} floats; normalized first for cosine) to
   * its nearest list, writing the list number to {@code listsOut[i]}, and returns their
   * {@code n * codeSize()} bytes of codes for those lists (FAISS's {@code encode_vectors}).
   *
   * @throws IllegalStateException when the index is not trained
   */
  byte[] assignAndEncode(float[] vectors, int[] listsOut, int threads);

  /**
   * The {@code nprobe} nearest lists of each query (normalized first for cosine), nearest first:
   * {@code listsOut} and {@code coarseValuesOut} of {@code nq * nprobe} (squared L2 to the
   * centroid, or inner product with it). {@code nprobe} above nlist is an error here.
   */
  void probe(float[] queries, int nprobe, int threads, float[] coarseValuesOut, long[] listsOut);

  /**
   * Trains with coarse centroids computed elsewhere (for example by a k-means distributed over a
   * cluster): publishes {@code centroids} ({@code nlist * d}, normalized by the caller for inner
   * product and cosine when wanted) and trains the code quantizer on the residuals of
   * {@code vectors} to them (FAISS's IVF training with an already trained quantizer). For
   * {@link IvfIndex} {@code vectors} are not needed and may be empty.
   *
   * @throws IllegalStateException when the index holds vectors or shares its quantizers
   */
  void trainWithCentroids(float[] centroids, float[] vectors);

  /**
   * An empty index with the same parameters that shares this one's trained quantizers (not
   * copied, and never retrained: {@code train} on the copy fails).
   *
   * @throws IllegalStateException when this index is not trained
   */
  InvertedFileIndex emptyCopy();

  /**
   * Appends {@code n} entries to list {@code list}: ids from {@code ids[idsOff..]} and codes
   * ({@code codeSize()} bytes each) from {@code codes[codesOff..]}, as {@link #assignAndEncode}
   * made them for this list.
   */
  void addPreassigned(int list, long[] ids, int idsOff, byte[] codes, int codesOff, int n);

  /**
   * Searches the lists given for each query (FAISS's {@code search_preassigned}):
   * {@code lists}/{@code coarseValues} hold {@code nq * nprobe} entries as {@link #probe} returns
   * them; a list number of -1 is skipped, and lists this index holds no vectors of add nothing.
   * Each block of queries visits each of its lists once, for all the queries that probe it.
   * Results are as {@link #search} gives them. {@code params}' selectors apply (query {@code i}
   * is row {@code i} of {@code queries}); {@code params.nprobe()} is ignored, {@code nprobe} rules.
   *
   * @throws IllegalArgumentException when {@code lists} or {@code coarseValues} do not hold
   *     {@code nq * nprobe} entries, or a list number is outside {@code [-1, nlist)}
   */
  SearchResult searchPreassigned(float[] queries, int k, int nprobe, long[] lists, float[] coarseValues,
                                 SearchParams params);

  /**
   * Range search over the given lists (as {@link #searchPreassigned} takes them): every entry of
   * those lists within {@code radius} (squared L2 strictly below, or inner product strictly
   * above, as {@link #rangeSearch}), best first; honours {@code params}' selectors. A list number
   * of -1 is skipped. Given the lists and coarse values of {@link #probe}, the result equals
   * {@link #rangeSearch} with that nprobe; over parts of an index that hold disjoint lists, the
   * union of the parts' results is the whole index's.
   *
   * @throws IllegalArgumentException when {@code lists} or {@code coarseValues} do not hold
   *     {@code nq * nprobe} entries, or a list number is outside {@code [-1, nlist)}
   */
  RangeSearchResult rangeSearchPreassigned(float[] queries, float radius, int nprobe, long[] lists, float[] coarseValues,
                                           SearchParams params);
}
