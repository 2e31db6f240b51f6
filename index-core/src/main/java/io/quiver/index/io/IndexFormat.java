package io.quiver.index.io;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Every constant of the Quiver index file format ({@value #FILE_EXTENSION} files): magics,
 * fourccs, version numbers, sizes and limits. {@link IndexIO} reads and writes the format; this
 * class only describes it, and is the one place a format change is recorded.
 *
 * <h2>Conventions</h2>
 * All numbers are little endian. {@code int32}/{@code int64} are two's complement, {@code float32}
 * is IEEE 754, {@code uint8} codes are raw bytes. A <em>fourcc</em> is four ASCII bytes stored in
 * reading order ('F','L','A','T'); in Java it is the {@code int} whose little-endian bytes are
 * those characters (see {@link #fourcc(String)}). The file is written strictly sequentially, so
 * it can stream to any {@code OutputStream} (an HDFS or S3 output stream included) with no
 * seeking.
 *
 * <h2>Layout, version 1 ({@link #VERSION_INITIAL})</h2>
 * <pre>
 * offset  size  field
 * ------  ----  ---------------------------------------------------------------------------
 * header ({@link #HEADER_BYTES} bytes)
 *      0     4  magic             'QVR1'  ({@link #MAGIC})
 *      4     4  formatVersion     int32   {@link #VERSION_MIN_SUPPORTED} .. {@link #VERSION_CURRENT}
 *      8     4  fileType          fourcc  one of {@link #FILE_TYPES} (table below)
 *     12     4  d                 int32   1 .. {@link #MAX_D}
 *     16     4  metric            int32   {@code Metric.code()}: 0 L2, 1 inner product, 2 cosine
 *     20     8  ntotal            int64   number of stored vectors, >= 0
 * sections, back to back, starting at offset 28
 *     +0     4  section type      fourcc
 *     +4     8  byteLength        int64   payload bytes that follow (the 12-byte section header excluded)
 *    +12     n  payload
 * footer ({@link #FOOTER_BYTES} bytes)
 *     +0     4  footer magic      'QEND'  ({@link #FOOTER_MAGIC})
 *     +4     4  checksum          uint32  CRC32C (java.util.zip.CRC32C, Castagnoli) of every byte of
 *                                         the file before this field, footer magic included
 * </pre>
 *
 * <h2>File types</h2>
 * <pre>
 * fileType  index                                 factory string            sections
 * 'FLAT'    {@code FlatIndex}                             Flat                      IDS_ VECS
 * 'IVFF'    {@code IvfIndex}, flat lists                  IVF&lt;nlist&gt;,Flat           PRMS [CENT] LSIZ LIDS LVEC
 * 'PQ__'    {@code PqIndex}                               PQ&lt;m&gt;[x&lt;nbits&gt;]            PQPR [PQCB] IDS_ CODE
 * 'SQ__'    {@code SqIndex}                               SQ8 | SQ4 | SQfp16        SQPR [SQRG] IDS_ CODE
 * 'IVPQ'    {@code IvfPqIndex}                            IVF&lt;nlist&gt;,PQ&lt;m&gt;[x&lt;nbits&gt;]  PRMS [CENT] PQPR [PQCB] LSIZ LIDS LCOD
 * 'IVSQ'    {@code IvfSqIndex}                            IVF&lt;nlist&gt;,SQ8|SQ4|SQfp16  PRMS [CENT] SQPR [SQRG] LSIZ LIDS LCOD
 * 'RFLT'    {@code RefineIndex}                           &lt;base&gt;,RFlat              RPRM BASE REFN
 * 'L2NM'    {@code L2NormIndex}                           L2norm,&lt;inner&gt;            INNR
 * 'SHRD'    a shard: some lists of an IVF index        (any IVF index)           SHPR LSIZ LIDS LCOD
 * 'HNSF'    {@code HnswIndex}, float vectors                HNSW&lt;M&gt;                   HNPR HLVL HNBR IDS_ VECS
 * 'HNPQ'    {@code HnswIndex}, PQ codes                     HNSW&lt;M&gt;,PQ&lt;m&gt;[x&lt;nbits&gt;]   HNPR PQPR [PQCB] HLVL HNBR IDS_ CODE
 * 'HNSQ'    {@code HnswIndex}, SQ codes                     HNSW&lt;M&gt;,SQ8|SQ4|SQfp16     HNPR SQPR [SQRG] HLVL HNBR IDS_ CODE
 * 'IHFF'    {@code IvfIndex}, HNSW coarse quantizer         IVF&lt;nlist&gt;_HNSW&lt;M&gt;,Flat    PRMS [CENT] HNPR [HLVL] [HNBR] LSIZ LIDS LVEC
 * 'IHPQ'    {@code IvfPqIndex}, HNSW coarse quantizer       IVF&lt;nlist&gt;_HNSW&lt;M&gt;,PQ&lt;m&gt;   PRMS [CENT] HNPR [HLVL] [HNBR] PQPR [PQCB] LSIZ LIDS LCOD
 * 'IHSQ'    {@code IvfSqIndex}, HNSW coarse quantizer       IVF&lt;nlist&gt;_HNSW&lt;M&gt;,SQ8    PRMS [CENT] HNPR [HLVL] [HNBR] SQPR [SQRG] LSIZ LIDS LCOD
 * </pre>
 * [Bracketed] sections are present only when the index (or its quantizer) is trained, as said
 * below. The header's d, metric and ntotal are those of the whole index.
 *
 * <h3>'FLAT': {@code FlatIndex} (exact search)</h3>
 * <pre>
 * section  payload                         byteLength
 * 'IDS_'   ntotal x int64 ids, row order   8 * ntotal
 * 'VECS'   ntotal x d float32, row-major   4 * ntotal * d
 * </pre>
 *
 * <h3>'IVFF': {@code IvfIndex} with flat (uncompressed) inverted lists</h3>
 * <pre>
 * section  payload                                              byteLength
 * 'PRMS'   nlist int32 | nprobe int32 | flags int32             12 ({@link #IVF_PARAMS_BYTES})
 * 'CENT'   nlist x d float32 centroids, row-major               4 * nlist * d      (only when trained)
 * 'LSIZ'   nlist x int64 list sizes                             8 * nlist
 * 'LIDS'   the ids of list 0, then list 1, ... (int64)          8 * ntotal
 * 'LVEC'   the vectors of list 0, then list 1, ... (float32)    4 * ntotal * d
 * </pre>
 * {@code nlist} is 1 .. {@link #MAX_NLIST}; {@code nprobe} is the default number of lists a
 * search visits, >= 1 (values above nlist visit every list). {@code flags} bit 0
 * ({@link #IVF_FLAG_TRAINED}) says the index is trained; other bits must be 0.
 * <b>Untrained IVF indexes</b> are written with the flag clear, no 'CENT' section, ntotal 0 and
 * nlist zero list sizes; reading one gives back an untrained index with the same d, metric,
 * nlist and nprobe (k-means settings are not stored). The list sizes must sum to ntotal and each
 * list must fit one Java array ({@code size * d <= }{@link #MAX_ARRAY_LENGTH}).
 *
 * <h3>Quantizer sections (shared by 'PQ__'/'IVPQ' and 'SQ__'/'IVSQ')</h3>
 * <pre>
 * section  payload                                              byteLength
 * 'PQPR'   m int32 | nbits int32 | flags int32                  12 ({@link #PQ_PARAMS_BYTES})
 * 'PQCB'   the PQ codebook: m x 2^nbits x (d/m) float32;         4 * 2^nbits * d    (only when trained)
 *          centroid c of sub-quantizer j at float (j * 2^nbits + c) * (d/m)
 * 'SQPR'   type int32 | flags int32                             8 ({@link #SQ_PARAMS_BYTES})
 * 'SQRG'   vmin: d x float32, then vdiff: d x float32           8 * d              (only when trained, SQ8/SQ4)
 * </pre>
 * PQ: {@code m} divides d (1 .. d), {@code nbits} is {@link #PQ_MIN_NBITS} .. {@link #PQ_MAX_NBITS};
 * a code is {@code ceil(m * nbits / 8)} bytes, sub-code j at bits {@code [j*nbits, (j+1)*nbits)},
 * LSB first (FAISS's {@code PQEncoderGeneric}). SQ: {@code type} is FAISS's
 * {@code ScalarQuantizer::QuantizerType} number: {@link #SQ_TYPE_8BIT} (SQ8, code d bytes),
 * {@link #SQ_TYPE_4BIT} (SQ4, {@code (d+1)/2} bytes, even components in the low nibble),
 * {@link #SQ_TYPE_FP16} (SQfp16, {@code 2d} bytes of little-endian binary16); per dimension
 * {@code vdiff >= 0} and {@code vmin + vdiff} is finite. In both, {@code flags} bit 0
 * ({@link #QUANTIZER_FLAG_TRAINED}) says the quantizer is trained and its 'PQCB' or 'SQRG'
 * follows; other bits must be 0. SQfp16 needs no training: its flag is always set and it has no
 * 'SQRG'.
 *
 * <h3>'PQ__' and 'SQ__': {@code PqIndex}, {@code SqIndex} (exhaustive search over codes)</h3>
 * <pre>
 * section  payload                                              byteLength
 * 'PQPR' [+ 'PQCB']  or  'SQPR' [+ 'SQRG']                      (above)
 * 'IDS_'   ntotal x int64 ids, row order                        8 * ntotal
 * 'CODE'   ntotal codes of codeSize bytes, row order            ntotal * codeSize
 * </pre>
 * An untrained quantizer (flag clear) means ntotal 0. {@code ntotal * codeSize} must fit one Java
 * array.
 *
 * <h3>'IVPQ' and 'IVSQ': {@code IvfPqIndex}, {@code IvfSqIndex} (codes of residuals in inverted lists)</h3>
 * <pre>
 * section  payload                                              byteLength
 * 'PRMS'   nlist int32 | nprobe int32 | flags int32             12, as in 'IVFF'
 * 'CENT'   nlist x d float32 coarse centroids                   4 * nlist * d      (only when trained)
 * 'PQPR' [+ 'PQCB']  or  'SQPR' [+ 'SQRG']                      (above)
 * 'LSIZ'   nlist x int64 list sizes                             8 * nlist
 * 'LIDS'   the ids of list 0, then list 1, ... (int64)          8 * ntotal
 * 'LCOD'   the codes of list 0, then list 1, ... (uint8)        ntotal * codeSize
 * </pre>
 * The 'PRMS' trained flag is the whole index's ({@code isTrained()}: coarse quantizer and code
 * quantizer); the quantizer's own flag must agree with it (for SQfp16 it is always set). An
 * untrained index is written as in 'IVFF' (no 'CENT', ntotal 0, zero list sizes) with its
 * quantizer parameters but no codebook or ranges: a half-trained state (coarse centroids without a
 * trained code quantizer) is not stored, and reads back untrained. Each list must fit one Java
 * array ({@code size * codeSize <= }{@link #MAX_ARRAY_LENGTH}).
 *
 * <h3>'RFLT' and 'L2NM': wrappers, holding nested index files</h3>
 * <pre>
 * section  payload                                              byteLength
 * 'RPRM'   kFactor float32 (finite, >= 1)                       4 ({@link #REFINE_PARAMS_BYTES})
 * 'BASE'   a complete index file: the base index (any type)    its size
 * 'REFN'   a complete index file of type 'FLAT': the raw vectors its size
 *
 * 'INNR'   a complete index file: the wrapped index (any type) its size
 * </pre>
 * A nested file is a whole index file as {@code IndexIO} writes it on its own (header, sections,
 * footer with its own CRC32C), so the payload can be cut out and read as a file. It must end
 * exactly at the end of its section, its header's d and metric must equal the outer header's, and
 * its ntotal must equal the outer ntotal (for 'RFLT', base and refine hold the same vectors).
 * The outer checksum covers the nested bytes again. Nesting is at most {@link #MAX_NESTING_DEPTH}
 * levels deep. An 'L2NM' index normalizes vectors before they reach the inner index, which
 * therefore stores normalized vectors.
 *
 * <h3>'SHRD': a shard (a subset of the inverted lists of an IVF index)</h3>
 * A distributed index keeps its trained quantizer (a trained, empty 'IVFF', 'IVPQ' or 'IVSQ' file)
 * once and its lists in shards; a shard holds entries of some lists, and only means something
 * with the quantizer it was built with ({@code IndexIO.readShard}). Header d and metric are the
 * quantizer's, ntotal the shard's entry count.
 * <pre>
 * section  payload                                              byteLength
 * 'SHPR'   indexType fourcc | nlist int32 | codeSize int32 | flags int32   16 ({@link #SHARD_PARAMS_BYTES})
 * 'LSIZ'   nlist x int64: the shard's entries of each list      8 * nlist
 * 'LIDS'   the ids of list 0, then list 1, ... (int64)          8 * ntotal
 * 'LCOD'   the codes of list 0, then list 1, ... (uint8)        ntotal * codeSize
 * </pre>
 * {@code indexType} is the quantizer's file type ('IVFF', 'IVPQ' or 'IVSQ'), {@code nlist} and
 * {@code codeSize} are the quantizer's ('IVFF' codes are the d float32 of the vector, little
 * endian, so {@code codeSize = 4 d}), {@code flags} must be 0. Each list must fit one Java array.
 * Shard files take the extension {@value #SHARD_FILE_EXTENSION}.
 *
 * <h3>HNSW graphs ('HNSF', 'HNPQ', 'HNSQ', and the coarse graph of 'IHFF', 'IHPQ', 'IHSQ')</h3>
 * <pre>
 * section  payload                                              byteLength
 * 'HNPR'   M int32 | efConstruction int32 | efSearch int32 | entryPoint int32 | flags int32   20 ({@link #HNSW_PARAMS_BYTES})
 * 'HLVL'   nodes x int32: the number of levels of each node     4 * nodes
 * 'HNBR'   each node's neighbour slots, node 0 first (int32)    4 * slots
 * </pre>
 * {@code M} is 2 .. {@link #MAX_HNSW_M}, efConstruction and efSearch 1 .. {@link #MAX_HNSW_EF};
 * flags must be 0. A node has 1 .. {@code Hnsw.maxLevels(M)} levels (the levels FAISS draws with
 * probability at least 1e-9) and {@code 2M + (levels - 1) M} slots: level 0 first, -1 for an empty
 * slot, else a node number. entryPoint is -1 exactly when the graph is empty, else a node on the
 * top level. In 'HN..' files the nodes are the ntotal rows of 'IDS_' and 'VECS'/'CODE'; in 'IH..'
 * files they are the nlist centroids, and 'HLVL'/'HNBR' are present only when trained.
 *
 * <h3>Vectors</h3>
 * Vectors are stored as the index holds them: cosine indexes store L2-normalized vectors (and
 * codes of normalized vectors), and readers take them as they are (they are not normalized
 * again). Every stored float (vectors, centroids, codebooks, ranges) must be finite.
 *
 * <h2>Section rules</h2>
 * <ul>
 *   <li>The sections of a file type appear exactly once each (bracketed ones when their condition
 *       holds), in the order listed above.</li>
 *   <li>A section whose fourcc starts with a lowercase ASCII letter ('a'..'z') is
 *       <em>optional</em> (PNG's "ancillary chunk" rule): readers that do not know it skip its
 *       payload (still covered by the checksum). Optional sections may appear before any required
 *       section and before the footer. Version 1 defines none; writers may add some later without
 *       a version change, for data old readers can safely ignore (statistics, provenance).</li>
 *   <li>Any other unknown fourcc is a <em>required</em> section this reader does not understand:
 *       the file is rejected ({@link UnknownSectionException}). Adding a required section to a
 *       file type, or changing a payload, needs a new format version.</li>
 *   <li>Each known section's byteLength must be exactly the value in the tables above (for a
 *       nested index file: the size of that file).</li>
 * </ul>
 *
 * <h2>File types and the format version</h2>
 * The format version describes the container (header, section framing, footer) and the layout of
 * each file type; the set of file types grows without a version change. A new file type changes
 * nothing in the files of existing types, and a reader that does not know a type rejects the file
 * by its header with {@link UnsupportedIndexTypeException} ("an index type added by a later
 * release"), before it reads any section: the same clean failure a version bump would give, while
 * files of the old types written by new code stay readable by old readers. So 'PQ__', 'SQ__',
 * 'IVPQ', 'IVSQ', 'RFLT', 'L2NM' and 'SHRD' were added to version 1 ({@link #FILE_TYPES} lists every type,
 * oldest first), the version 1 golden files of 'FLAT' and 'IVFF' are unchanged, and the new types'
 * golden files sit beside them in {@code golden/v1/}. Wrappers hold nested files, each with its own
 * version field, so a later version of one inner type does not change the wrappers.
 *
 * <h2>File names</h2>
 * A whole index written by {@link IndexIO} takes the extension {@value #FILE_EXTENSION}
 * ("Quiver vector index"). The extension is a convention only; readers go by the magic.
 *
 * <h2>Format changes</h2>
 * Each change to the container or to an existing type's layout adds a named constant
 * ({@code VERSION_XYZ = 2}) with a line saying what changed, moves {@link #VERSION_CURRENT} to it,
 * and gates the new fields in the reader on the version read ({@code version >= VERSION_XYZ}).
 * Readers accept {@link #VERSION_MIN_SUPPORTED} .. {@link #VERSION_CURRENT}; golden files written
 * by every released version stay in the test resources ({@code src/test/resources/golden/v<version>/})
 * and must keep loading. A new file type is added to {@link #FILE_TYPES} with its table here.
 *
 * <p>Thread-safety: constants only; the static methods are pure.
 */
public final class IndexFormat {

  private IndexFormat() {}

  /** File name extension of a whole index: {@value}. */
  public static final String FILE_EXTENSION = ".qvi";

  /** File name extension of a shard ('SHRD'): {@value}. */
  public static final String SHARD_FILE_EXTENSION = ".qvs";

  // ---- versions: one named constant per format change --------------------------------------

  /**
   * Version 1: header, CRC32C footer; file types 'FLAT', 'IVFF', and (added without a version
   * change, see the class comment) 'PQ__', 'SQ__', 'IVPQ', 'IVSQ', 'RFLT', 'L2NM', 'SHRD'.
   */
  public static final int VERSION_INITIAL = 1;
  /** The version this code writes. */
  public static final int VERSION_CURRENT = VERSION_INITIAL;
  /** The oldest version this code reads. */
  public static final int VERSION_MIN_SUPPORTED = VERSION_INITIAL;

  // ---- magics and fourccs -------------------------------------------------------------------

  /** First four bytes of every index file: 'QVR1'. */
  public static final int MAGIC = fourcc("QVR1");
  /** Starts the footer: 'QEND'. */
  public static final int FOOTER_MAGIC = fourcc("QEND");

  /** File type of a {@code FlatIndex}: 'FLAT'. */
  public static final int TYPE_FLAT = fourcc("FLAT");
  /** File type of an {@code IvfIndex} with flat lists ({@code IVF<nlist>,Flat}): 'IVFF'. */
  public static final int TYPE_IVF_FLAT = fourcc("IVFF");
  /** File type of a {@code PqIndex} ({@code PQ<m>[x<nbits>]}): 'PQ__'. */
  public static final int TYPE_PQ = fourcc("PQ__");
  /** File type of an {@code SqIndex} ({@code SQ8}, {@code SQ4}, {@code SQfp16}): 'SQ__'. */
  public static final int TYPE_SQ = fourcc("SQ__");
  /** File type of an {@code IvfPqIndex} ({@code IVF<nlist>,PQ<m>[x<nbits>]}): 'IVPQ'. */
  public static final int TYPE_IVF_PQ = fourcc("IVPQ");
  /** File type of an {@code IvfSqIndex} ({@code IVF<nlist>,SQ8|SQ4|SQfp16}): 'IVSQ'. */
  public static final int TYPE_IVF_SQ = fourcc("IVSQ");
  /** File type of a {@code RefineIndex} ({@code <base>,RFlat}): 'RFLT'. */
  public static final int TYPE_REFINE_FLAT = fourcc("RFLT");
  /** File type of an {@code L2NormIndex} ({@code L2norm,<inner>}): 'L2NM'. */
  public static final int TYPE_L2_NORM = fourcc("L2NM");

  /** File type of a shard: some inverted lists of an IVF index, read with its quantizer: 'SHRD'. */
  public static final int TYPE_SHARD = fourcc("SHRD");

  /** File type of an {@code HnswIndex} over float vectors ({@code HNSW<M>}): 'HNSF'. */
  public static final int TYPE_HNSW_FLAT = fourcc("HNSF");
  /** File type of an {@code HnswIndex} over PQ codes ({@code HNSW<M>,PQ<m>[x<nbits>]}): 'HNPQ'. */
  public static final int TYPE_HNSW_PQ = fourcc("HNPQ");
  /** File type of an {@code HnswIndex} over SQ codes ({@code HNSW<M>,SQ8|SQ4|SQfp16}): 'HNSQ'. */
  public static final int TYPE_HNSW_SQ = fourcc("HNSQ");
  /** File type of an {@code IvfIndex} with an HNSW coarse quantizer ({@code IVF<nlist>_HNSW<M>,Flat}): 'IHFF'. */
  public static final int TYPE_IVF_HNSW_FLAT = fourcc("IHFF");
  /** File type of an {@code IvfPqIndex} with an HNSW coarse quantizer ({@code IVF<nlist>_HNSW<M>,PQ<m>}): 'IHPQ'. */
  public static final int TYPE_IVF_HNSW_PQ = fourcc("IHPQ");
  /** File type of an {@code IvfSqIndex} with an HNSW coarse quantizer ({@code IVF<nlist>_HNSW<M>,SQ8|SQ4|SQfp16}): 'IHSQ'. */
  public static final int TYPE_IVF_HNSW_SQ = fourcc("IHSQ");

  /** Flat, PQ, SQ: ntotal int64 ids, in row order. */
  public static final int SECTION_IDS = fourcc("IDS_");
  /** Flat: ntotal * d float32, row-major. */
  public static final int SECTION_VECTORS = fourcc("VECS");
  /** IVF: nlist int32, nprobe int32, flags int32. */
  public static final int SECTION_IVF_PARAMS = fourcc("PRMS");
  /** IVF: nlist * d float32 coarse centroids (present only when trained). */
  public static final int SECTION_CENTROIDS = fourcc("CENT");
  /** IVF: nlist int64 list sizes. */
  public static final int SECTION_LIST_SIZES = fourcc("LSIZ");
  /** IVF: the ids of every list, list 0 first (int64). */
  public static final int SECTION_LIST_IDS = fourcc("LIDS");
  /** IVF,Flat: the vectors of every list, list 0 first (float32, row-major). */
  public static final int SECTION_LIST_VECTORS = fourcc("LVEC");
  /** IVF,PQ and IVF,SQ: the codes of every list, list 0 first (codeSize bytes each). */
  public static final int SECTION_LIST_CODES = fourcc("LCOD");
  /** PQ, SQ: ntotal codes of codeSize bytes, in row order. */
  public static final int SECTION_CODES = fourcc("CODE");
  /** Product quantizer: m int32, nbits int32, flags int32. */
  public static final int SECTION_PQ_PARAMS = fourcc("PQPR");
  /** Product quantizer codebook: m * 2^nbits * (d/m) float32 (present only when trained). */
  public static final int SECTION_PQ_CODEBOOK = fourcc("PQCB");
  /** Scalar quantizer: type int32, flags int32. */
  public static final int SECTION_SQ_PARAMS = fourcc("SQPR");
  /** Scalar quantizer ranges: vmin d float32, vdiff d float32 (present only when trained, SQ8/SQ4). */
  public static final int SECTION_SQ_RANGES = fourcc("SQRG");
  /** Refine: kFactor float32. */
  public static final int SECTION_REFINE_PARAMS = fourcc("RPRM");
  /** Refine: the base index, a nested index file. */
  public static final int SECTION_BASE = fourcc("BASE");
  /** Refine: the raw vectors, a nested 'FLAT' index file. */
  public static final int SECTION_REFINE = fourcc("REFN");
  /** Shard: the quantizer's file type, nlist, codeSize, flags. */
  public static final int SECTION_SHARD_PARAMS = fourcc("SHPR");

  /** L2norm: the wrapped index, a nested index file. */
  public static final int SECTION_INNER = fourcc("INNR");

  /** HNSW graph: M int32, efConstruction int32, efSearch int32, entryPoint int32, flags int32. */
  public static final int SECTION_HNSW_PARAMS = fourcc("HNPR");
  /** HNSW graph: the number of levels of each node (int32, 1 .. maxLevels(M)). */
  public static final int SECTION_HNSW_LEVELS = fourcc("HLVL");
  /** HNSW graph: every node's neighbour slots, node 0 first (int32, -1 for an empty slot). */
  public static final int SECTION_HNSW_NEIGHBORS = fourcc("HNBR");

  /**
   * One section of a file type's layout: its fourcc, and when it is present only sometimes, the
   * condition ("when trained"); {@code nested} for a section that holds a whole index file.
   */
  public record Section(int fourcc, String when, String nested) {
    /** A section every file of its type has. */
    static Section always(int fourcc) {
      return new Section(fourcc, null, null);
    }

    /** A section present only {@code when}. */
    static Section only(int fourcc, String when) {
      return new Section(fourcc, when, null);
    }

    /** A section holding a nested index file ({@code what}: "a nested index file"). */
    static Section nested(int fourcc, String what) {
      return new Section(fourcc, null, what);
    }

    /** True when every file of the type has this section. */
    public boolean required() {
      return when == null;
    }
  }

  /**
   * A file type: the registry entry of one index family x codec (or wrapper), with its sections
   * in file order, declared once. Readers check files against it, writers follow it, and
   * {@code docs/format.md}'s table of file types is checked against it ({@code FormatDocTest}).
   *
   * @param name the type's name in messages: "Flat", "IVF,PQ", ...
   * @param article "a" or "an", as the fourcc is read aloud
   */
  public record FileType(int fourcc, String name, String article, List<Section> sections) {
    /** The sections in the docs' notation: {@code PRMS [CENT] LSIZ LIDS LVEC}. */
    public String compact() {
      StringBuilder sb = new StringBuilder();
      for (Section sec : sections) {
        String f = fourccToString(sec.fourcc).replace("'", "");
        sb.append(sb.length() == 0 ? "" : " ").append(sec.required() ? f : "[" + f + "]");
      }
      return sb.toString();
    }

    /** The layout sentence of error messages: "an 'IVFF' file holds sections 'PRMS', 'CENT' (when trained), ... in this order". */
    public String layout() {
      StringBuilder sb = new StringBuilder(article).append(' ').append(fourccToString(fourcc)).append(" file holds ");
      if (sections.size() == 1) {
        Section only = sections.get(0);
        return sb.append("one section, ").append(describe(only)).toString();
      }
      sb.append("sections ");
      for (int i = 0; i < sections.size(); i++) {
        sb.append(i == 0 ? "" : ", ").append(describe(sections.get(i)));
      }
      return sb.append(" in this order").toString();
    }

    private static String describe(Section sec) {
      String f = fourccToString(sec.fourcc);
      return sec.nested != null ? f + " (" + sec.nested + ")" : sec.when != null ? f + " (" + sec.when + ")" : f;
    }

    /** The fourccs of its sections, in order. */
    public int[] sectionFourccs() {
      return sections.stream().mapToInt(Section::fourcc).toArray();
    }
  }

  private static final String WHEN_TRAINED = "when trained";
  private static final String WHEN_SQ_TRAINED = "when trained, SQ8/SQ4";

  /**
   * Every file type this code reads and writes, in the order they were added (all in format
   * version 1: a new type is not a change to existing files, see the class comment). The flat
   * family is {@code [codec sections] IDS_ VECS|CODE}; the IVF family is
   * {@code PRMS [CENT] [codec sections] LSIZ LIDS LVEC|LCOD}; the codec sections are PQ's
   * {@code PQPR [PQCB]} and SQ's {@code SQPR [SQRG]} (none for float vectors).
   */
  public static final List<FileType> TYPES = List.of(
      new FileType(TYPE_FLAT, "Flat", "a", List.of(Section.always(SECTION_IDS), Section.always(SECTION_VECTORS))),
      new FileType(TYPE_IVF_FLAT, "IVF,Flat", "an", List.of(Section.always(SECTION_IVF_PARAMS),
          Section.only(SECTION_CENTROIDS, WHEN_TRAINED), Section.always(SECTION_LIST_SIZES), Section.always(SECTION_LIST_IDS),
          Section.always(SECTION_LIST_VECTORS))),
      new FileType(TYPE_PQ, "PQ", "a", List.of(Section.always(SECTION_PQ_PARAMS),
          Section.only(SECTION_PQ_CODEBOOK, WHEN_TRAINED), Section.always(SECTION_IDS), Section.always(SECTION_CODES))),
      new FileType(TYPE_SQ, "SQ", "an", List.of(Section.always(SECTION_SQ_PARAMS),
          Section.only(SECTION_SQ_RANGES, WHEN_SQ_TRAINED), Section.always(SECTION_IDS), Section.always(SECTION_CODES))),
      new FileType(TYPE_IVF_PQ, "IVF,PQ", "an", List.of(Section.always(SECTION_IVF_PARAMS),
          Section.only(SECTION_CENTROIDS, WHEN_TRAINED), Section.always(SECTION_PQ_PARAMS), Section.only(SECTION_PQ_CODEBOOK, WHEN_TRAINED),
          Section.always(SECTION_LIST_SIZES), Section.always(SECTION_LIST_IDS), Section.always(SECTION_LIST_CODES))),
      new FileType(TYPE_IVF_SQ, "IVF,SQ", "an", List.of(Section.always(SECTION_IVF_PARAMS),
          Section.only(SECTION_CENTROIDS, WHEN_TRAINED), Section.always(SECTION_SQ_PARAMS),
          Section.only(SECTION_SQ_RANGES, WHEN_SQ_TRAINED), Section.always(SECTION_LIST_SIZES), Section.always(SECTION_LIST_IDS),
          Section.always(SECTION_LIST_CODES))),
      new FileType(TYPE_REFINE_FLAT, "RFlat refine", "an", List.of(Section.always(SECTION_REFINE_PARAMS),
          Section.nested(SECTION_BASE, "a nested index file"), Section.nested(SECTION_REFINE, "a nested 'FLAT' file"))),
      new FileType(TYPE_L2_NORM, "L2norm", "an", List.of(Section.nested(SECTION_INNER, "a nested index file"))),
      new FileType(TYPE_SHARD, "IVF shard", "an", List.of(Section.always(SECTION_SHARD_PARAMS), Section.always(SECTION_LIST_SIZES),
          Section.always(SECTION_LIST_IDS), Section.always(SECTION_LIST_CODES))),
      new FileType(TYPE_HNSW_FLAT, "HNSW,Flat", "an", List.of(Section.always(SECTION_HNSW_PARAMS),
          Section.always(SECTION_HNSW_LEVELS), Section.always(SECTION_HNSW_NEIGHBORS), Section.always(SECTION_IDS),
          Section.always(SECTION_VECTORS))),
      new FileType(TYPE_HNSW_PQ, "HNSW,PQ", "an", List.of(Section.always(SECTION_HNSW_PARAMS), Section.always(SECTION_PQ_PARAMS),
          Section.only(SECTION_PQ_CODEBOOK, WHEN_TRAINED), Section.always(SECTION_HNSW_LEVELS),
          Section.always(SECTION_HNSW_NEIGHBORS), Section.always(SECTION_IDS), Section.always(SECTION_CODES))),
      new FileType(TYPE_HNSW_SQ, "HNSW,SQ", "an", List.of(Section.always(SECTION_HNSW_PARAMS), Section.always(SECTION_SQ_PARAMS),
          Section.only(SECTION_SQ_RANGES, WHEN_SQ_TRAINED), Section.always(SECTION_HNSW_LEVELS),
          Section.always(SECTION_HNSW_NEIGHBORS), Section.always(SECTION_IDS), Section.always(SECTION_CODES))),
      new FileType(TYPE_IVF_HNSW_FLAT, "IVF_HNSW,Flat", "an", List.of(Section.always(SECTION_IVF_PARAMS),
          Section.only(SECTION_CENTROIDS, WHEN_TRAINED), Section.always(SECTION_HNSW_PARAMS), Section.only(SECTION_HNSW_LEVELS,
          WHEN_TRAINED), Section.only(SECTION_HNSW_NEIGHBORS, WHEN_TRAINED), Section.always(SECTION_LIST_SIZES),
          Section.always(SECTION_LIST_IDS), Section.always(SECTION_LIST_VECTORS))),
      new FileType(TYPE_IVF_HNSW_PQ, "IVF_HNSW,PQ", "an", List.of(Section.always(SECTION_IVF_PARAMS),
          Section.only(SECTION_CENTROIDS, WHEN_TRAINED), Section.always(SECTION_HNSW_PARAMS), Section.only(SECTION_HNSW_LEVELS,
          WHEN_TRAINED), Section.only(SECTION_HNSW_NEIGHBORS, WHEN_TRAINED), Section.always(SECTION_PQ_PARAMS),
          Section.only(SECTION_PQ_CODEBOOK, WHEN_TRAINED), Section.always(SECTION_LIST_SIZES), Section.always(SECTION_LIST_IDS),
          Section.always(SECTION_LIST_CODES))),
      new FileType(TYPE_IVF_HNSW_SQ, "IVF_HNSW,SQ", "an", List.of(Section.always(SECTION_IVF_PARAMS),
          Section.only(SECTION_CENTROIDS, WHEN_TRAINED), Section.always(SECTION_HNSW_PARAMS), Section.only(SECTION_HNSW_LEVELS,
          WHEN_TRAINED), Section.only(SECTION_HNSW_NEIGHBORS, WHEN_TRAINED), Section.always(SECTION_SQ_PARAMS),
          Section.only(SECTION_SQ_RANGES, WHEN_SQ_TRAINED), Section.always(SECTION_LIST_SIZES), Section.always(SECTION_LIST_IDS),
          Section.always(SECTION_LIST_CODES))));

  /** The fourccs of {@link #TYPES}. */
  public static final List<Integer> FILE_TYPES = TYPES.stream().map(FileType::fourcc).toList();

  /** The registry entry of a file type, or null for a fourcc that is none. */
  public static FileType fileType(int fourcc) {
    for (FileType t : TYPES) {
      if (t.fourcc == fourcc) {
        return t;
      }
    }
    return null;
  }


  /** 'PRMS' flags bit 0: the IVF index is trained and 'CENT' follows. */
  public static final int IVF_FLAG_TRAINED = 1;
  /** Every 'PRMS' flag bit version 1 defines. */
  public static final int IVF_FLAGS_KNOWN = IVF_FLAG_TRAINED;
  /** 'PQPR'/'SQPR' flags bit 0: the quantizer is trained and its 'PQCB'/'SQRG' follows (SQfp16: always set, no 'SQRG'). */
  public static final int QUANTIZER_FLAG_TRAINED = 1;
  /** Every 'PQPR'/'SQPR' flag bit version 1 defines. */
  public static final int QUANTIZER_FLAGS_KNOWN = QUANTIZER_FLAG_TRAINED;

  /** 'SQPR' type of SQ8 (FAISS {@code QT_8bit}): one byte per component. */
  public static final int SQ_TYPE_8BIT = 0;
  /** 'SQPR' type of SQ4 (FAISS {@code QT_4bit}): two components per byte. */
  public static final int SQ_TYPE_4BIT = 1;
  /** 'SQPR' type of SQfp16 (FAISS {@code QT_fp16}): IEEE binary16 per component. */
  public static final int SQ_TYPE_FP16 = 4;

  /** Smallest PQ nbits accepted. */
  public static final int PQ_MIN_NBITS = 4;
  /** Largest PQ nbits accepted. */
  public static final int PQ_MAX_NBITS = 8;

  // ---- sizes and offsets -------------------------------------------------------------------

  /** Header offset of the magic. */
  public static final int OFFSET_MAGIC = 0;
  /** Header offset of formatVersion. */
  public static final int OFFSET_VERSION = 4;
  /** Header offset of the file type fourcc. */
  public static final int OFFSET_FILE_TYPE = 8;
  /** Header offset of d. */
  public static final int OFFSET_D = 12;
  /** Header offset of the metric code. */
  public static final int OFFSET_METRIC = 16;
  /** Header offset of ntotal. */
  public static final int OFFSET_NTOTAL = 20;
  /** Header size; the first section starts here. */
  public static final int HEADER_BYTES = 28;
  /** Section header: fourcc + int64 byteLength. */
  public static final int SECTION_HEADER_BYTES = 12;
  /** Footer: footer magic + CRC32C. */
  public static final int FOOTER_BYTES = 8;
  /** Payload of 'PRMS'. */
  public static final int IVF_PARAMS_BYTES = 12;
  /** Payload of 'PQPR'. */
  public static final int PQ_PARAMS_BYTES = 12;
  /** Payload of 'SQPR'. */
  public static final int SQ_PARAMS_BYTES = 8;
  /** Payload of 'SHPR'. */
  public static final int SHARD_PARAMS_BYTES = 16;

  /** Payload of 'HNPR'. */
  public static final int HNSW_PARAMS_BYTES = 20;

  /** Payload of 'RPRM'. */
  public static final int REFINE_PARAMS_BYTES = 4;
  /** The smallest index file: a header and a footer (no file type is that small, but none is smaller). */
  public static final int MIN_FILE_BYTES = HEADER_BYTES + FOOTER_BYTES;

  // ---- limits (anything outside is a damaged or foreign file) ------------------------------

  /** Largest d accepted. */
  public static final int MAX_D = 1 << 20;
  /** Largest nlist accepted (FAISS's largest common setting is 2^22). */
  public static final int MAX_NLIST = 1 << 24;
  /** Largest Java array the reader creates (the JVM's practical limit). */
  public static final int MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;
  /** Largest HNSW M accepted (the graph's own limit). */
  public static final int MAX_HNSW_M = io.quiver.index.hnsw.Hnsw.MAX_M;
  /** Largest efConstruction and efSearch accepted in 'HNPR'. */
  public static final int MAX_HNSW_EF = 1 << 20;
  /** Deepest nesting of index files in wrapper sections ('BASE', 'REFN', 'INNR') accepted. */
  public static final int MAX_NESTING_DEPTH = 8;

  /**
   * The fourcc of four ASCII characters: the int whose little-endian bytes are {@code s}'s
   * characters in order.
   *
   * @throws IllegalArgumentException unless {@code s} is 4 printable ASCII characters
   */
  public static int fourcc(String s) {
    if (s.length() != 4 || !s.chars().allMatch(c -> c >= 0x20 && c < 0x7F)) {
      throw new IllegalArgumentException("a fourcc is 4 printable ASCII characters, got '" + s + "'");
    }
    byte[] b = s.getBytes(StandardCharsets.US_ASCII);
    return (b[0] & 0xFF) | (b[1] & 0xFF) << 8 | (b[2] & 0xFF) << 16 | (b[3] & 0xFF) << 24;
  }

  /** A fourcc for messages: {@code 'FLAT'} when printable, else its bytes in hex. */
  public static String fourccToString(int fourcc) {
    StringBuilder sb = new StringBuilder("'");
    for (int i = 0; i < 4; i++) {
      int c = (fourcc >>> (8 * i)) & 0xFF;
      if (c < 0x20 || c >= 0x7F) {
        return String.format("0x%02x%02x%02x%02x (bytes in file order)", fourcc & 0xFF, (fourcc >>> 8) & 0xFF,
            (fourcc >>> 16) & 0xFF, fourcc >>> 24);
      }
      sb.append((char) c);
    }
    return sb.append('\'').toString();
  }

  /** True for optional sections (first character 'a'..'z'), which readers may skip. */
  public static boolean isOptionalSection(int fourcc) {
    int first = fourcc & 0xFF;
    return first >= 'a' && first <= 'z';
  }

  /** True for the file types of {@link #FILE_TYPES}. */
  public static boolean isKnownFileType(int fileType) {
    return FILE_TYPES.contains(fileType);
  }

  /** The name of a file type for messages: "Flat", "IVF,Flat", "IVF,PQ", ..., or the fourcc. */
  public static String fileTypeName(int fileType) {
    FileType t = fileType(fileType);
    return t != null ? t.name : fourccToString(fileType);
  }

  /** The known file types for messages: {@code 'FLAT' (Flat), 'IVFF' (IVF,Flat), ...}. */
  public static String fileTypeList() {
    StringBuilder sb = new StringBuilder();
    for (int t : FILE_TYPES) {
      sb.append(sb.length() == 0 ? "" : ", ").append(fourccToString(t)).append(" (").append(fileTypeName(t)).append(')');
    }
    return sb.toString();
  }

  /** The name of an 'SQPR' type code for messages ("SQ8", "SQ4", "SQfp16"), or null when invalid. */
  public static String sqTypeName(int code) {
    switch (code) {
      case SQ_TYPE_8BIT:
        return "SQ8";
      case SQ_TYPE_4BIT:
        return "SQ4";
      case SQ_TYPE_FP16:
        return "SQfp16";
      default:
        return null;
    }
  }
}
