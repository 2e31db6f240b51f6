package io.quiver.index.io;

import java.nio.charset.StandardCharsets;

/**
 * Every constant of the Quiver index file format ({@value #FILE_EXTENSION} files): magics,
 * fourccs, version numbers, sizes and limits. {@link IndexIO} reads and writes the format; this
 * class only describes it, and is the one place a format change is recorded.
 *
 * <h2>Conventions</h2>
 * All numbers are little endian. {@code int32}/{@code int64} are two's complement, {@code float32}
 * is IEEE 754. A <em>fourcc</em> is four ASCII bytes stored in reading order ('F','L','A','T');
 * in Java it is the {@code int} whose little-endian bytes are those characters (see
 * {@link #fourcc(String)}). The file is written strictly sequentially, so it can stream to any
 * {@code OutputStream} (an HDFS or S3 output stream included) with no seeking.
 *
 * <h2>Layout, version 1 ({@link #VERSION_INITIAL})</h2>
 * <pre>
 * offset  size  field
 * ------  ----  ---------------------------------------------------------------------------
 * header ({@link #HEADER_BYTES} bytes)
 *      0     4  magic             'QVR1'  ({@link #MAGIC})
 *      4     4  formatVersion     int32   {@link #VERSION_MIN_SUPPORTED} .. {@link #VERSION_CURRENT}
 *      8     4  fileType          fourcc  'FLAT' ({@link #TYPE_FLAT}) or 'IVFF' ({@link #TYPE_IVF_FLAT})
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
 * ({@link #IVF_FLAG_TRAINED}) says the coarse quantizer is trained; other bits must be 0.
 * <b>Untrained IVF indexes</b> are written with the flag clear, no 'CENT' section, ntotal 0 and
 * nlist zero list sizes; reading one gives back an untrained {@code IvfIndex} with the same d,
 * metric, nlist and nprobe (k-means settings are not stored). The list sizes must sum to ntotal
 * and each list must fit one Java array ({@code size * d <= }{@link #MAX_ARRAY_LENGTH}).
 *
 * <h3>Vectors</h3>
 * Vectors are stored as the index holds them: cosine indexes store L2-normalized vectors, and
 * readers take them as they are (they are not normalized again). Every component must be finite.
 *
 * <h2>Section rules</h2>
 * <ul>
 *   <li>The sections of a file type appear exactly once each, in the order listed above.</li>
 *   <li>A section whose fourcc starts with a lowercase ASCII letter ('a'..'z') is
 *       <em>optional</em> (PNG's "ancillary chunk" rule): readers that do not know it skip its
 *       payload (still covered by the checksum). Optional sections may appear before any required
 *       section and before the footer. Version 1 defines none; writers may add some later without
 *       a version change, for data old readers can safely ignore (statistics, provenance).</li>
 *   <li>Any other unknown fourcc is a <em>required</em> section this reader does not understand:
 *       the file is rejected ({@link UnknownSectionException}). Adding a required section, or
 *       changing a payload, needs a new format version.</li>
 *   <li>Each known section's byteLength must be exactly the value in the tables above.</li>
 * </ul>
 *
 * <h2>File names</h2>
 * A whole index written by {@link IndexIO} takes the extension {@value #FILE_EXTENSION}
 * ("Quiver vector index"). The extension is a convention only; readers go by the magic.
 *
 * <h2>Format changes</h2>
 * Each change adds a named constant ({@code VERSION_XYZ = 2}) with a line saying what changed,
 * moves {@link #VERSION_CURRENT} to it, and gates the new fields in the reader on the version
 * read ({@code version >= VERSION_XYZ}). Readers accept {@link #VERSION_MIN_SUPPORTED} ..
 * {@link #VERSION_CURRENT}; golden files written by every released version stay in the test
 * resources ({@code src/test/resources/golden/v<version>/}) and must keep loading.
 *
 * <p>Thread-safety: constants only; the static methods are pure.
 */
public final class IndexFormat {

  private IndexFormat() {}

  /** File name extension of a whole index: {@value}. */
  public static final String FILE_EXTENSION = ".qvi";

  // ---- versions: one named constant per format change --------------------------------------

  /** Version 1: header, 'FLAT' and 'IVFF' file types, CRC32C footer. */
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

  /** Flat: ntotal int64 ids, in row order. */
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
  /** IVF: the vectors of every list, list 0 first (float32, row-major). */
  public static final int SECTION_LIST_VECTORS = fourcc("LVEC");

  /** 'PRMS' flags bit 0: the coarse quantizer is trained and 'CENT' follows. */
  public static final int IVF_FLAG_TRAINED = 1;
  /** Every flag bit version 1 defines. */
  public static final int IVF_FLAGS_KNOWN = IVF_FLAG_TRAINED;

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

  // ---- limits (anything outside is a damaged or foreign file) ------------------------------

  /** Largest d accepted. */
  public static final int MAX_D = 1 << 20;
  /** Largest nlist accepted (FAISS's largest common setting is 2^22). */
  public static final int MAX_NLIST = 1 << 24;
  /** Largest Java array the reader creates (the JVM's practical limit). */
  public static final int MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;

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

  /** The name of a file type for messages: "Flat", "IVF,Flat", or the fourcc. */
  public static String fileTypeName(int fileType) {
    if (fileType == TYPE_FLAT) {
      return "Flat";
    }
    if (fileType == TYPE_IVF_FLAT) {
      return "IVF,Flat";
    }
    return fourccToString(fileType);
  }
}
