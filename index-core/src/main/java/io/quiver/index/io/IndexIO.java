package io.quiver.index.io;

import static io.quiver.index.io.IndexFormat.FOOTER_BYTES;
import static io.quiver.index.io.IndexFormat.FOOTER_MAGIC;
import static io.quiver.index.io.IndexFormat.MAX_ARRAY_LENGTH;
import static io.quiver.index.io.IndexFormat.SECTION_HEADER_BYTES;
import static io.quiver.index.io.IndexFormat.fourccToString;

import io.quiver.index.FlatIndex;
import io.quiver.index.IvfIndex;
import io.quiver.index.Metric;
import io.quiver.index.VectorIndex;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Reads and writes whole indexes as Quiver index files ({@value IndexFormat#FILE_EXTENSION});
 * the byte layout is documented in {@link IndexFormat}. Supported: {@link FlatIndex} (file type
 * 'FLAT') and {@link IvfIndex} (file type 'IVFF'; trained or not), with any {@link Metric}.
 *
 * <h2>Writing</h2>
 * {@link #write(VectorIndex, OutputStream)} streams the index sequentially (no seeking), so it
 * works on HDFS/S3 output streams; it flushes but does not close the stream. Memory: a copy of
 * the ids (Flat) or of one list at a time (IVF), never a second copy of all vectors.
 * {@link #write(VectorIndex, Path)} is atomic: it writes a temporary file in the same directory,
 * forces it to disk and renames it over the target, so readers see the old file or the complete
 * new one, and a failed write leaves nothing behind.
 *
 * <h2>Reading</h2>
 * Every field is checked before it is used and every size before anything is allocated for it:
 * a wrong magic, a version out of range, an unknown file type, impossible sizes, a damaged or
 * missing section, a truncated file and a checksum mismatch each throw their own
 * {@link IndexFileException} subclass, whose message names the file and the byte offset and
 * says what would be valid. When the file's length is known ({@link #read(Path)},
 * {@link #read(InputStream, String, long)}) sizes are checked against it up front; when it is
 * not, arrays grow only as bytes actually arrive (see {@code FormatInput}), so no input makes
 * the reader allocate much more than the bytes it was given. The reader consumes exactly one
 * index file from a stream and stops after its footer, so several files may be concatenated.
 * The checksum is verified before the index is returned; nothing is returned from a damaged file.
 *
 * <h2>Threading</h2>
 * The static methods are thread-safe and may run concurrently on different streams. An index
 * may be written while other threads search it; it must not be modified (add, remove, train,
 * merge) while it is written: a change detected mid-write fails the write with
 * {@link IllegalStateException}, and an undetected one may write a mix of old and new rows.
 */
public final class IndexIO {

  /** Rows of a Flat index copied per chunk while writing, to bound the writer's memory. */
  private static final int WRITE_CHUNK_FLOATS = 1 << 18;

  private IndexIO() {}

  // ============================== writing ==============================

  /**
   * Writes {@code index} to {@code out} in the current format version. Flushes {@code out} but
   * does not close it.
   *
   * @throws IllegalArgumentException for index types the format does not cover
   * @throws IllegalStateException when the index is modified while it is written
   */
  public static void write(VectorIndex index, OutputStream out) throws IOException {
    Objects.requireNonNull(index, "index");
    Objects.requireNonNull(out, "out");
    FormatOutput o = new FormatOutput(out);
    if (index instanceof FlatIndex flat) {
      writeFlat(flat, o);
    } else if (index instanceof IvfIndex ivf) {
      writeIvf(ivf, o);
    } else {
      throw new IllegalArgumentException("cannot write a " + index.getClass().getName() + " ("
          + index.factoryString() + "): index files hold Flat and IVF<nlist>,Flat indexes");
    }
    o.writeInt(FOOTER_MAGIC);
    o.writeChecksumAndFlush();
  }

  /**
   * Writes {@code index} to {@code file} atomically, replacing any existing file: the bytes go
   * to a temporary file in the same directory (named {@code .<name>.<random>.tmp}), which is
   * forced to disk and then renamed to {@code file}. On any failure the temporary file is
   * deleted and an existing {@code file} is left as it was.
   */
  public static void write(VectorIndex index, Path file) throws IOException {
    Objects.requireNonNull(index, "index");
    Path target = file.toAbsolutePath();
    Path dir = target.getParent();
    Path tmp = createTempSibling(dir, target.getFileName().toString());
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        write(index, Channels.newOutputStream(ch));
        ch.force(true); // the data must be durable before the rename makes it visible
      }
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (Throwable t) {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException e) {
        t.addSuppressed(e);
      }
      throw t;
    }
    fsyncDirectory(dir);
  }

  private static Path createTempSibling(Path dir, String name) throws IOException {
    for (int attempt = 0; ; attempt++) {
      Path tmp = dir.resolve("." + name + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
      try {
        return Files.createFile(tmp);
      } catch (FileAlreadyExistsException e) {
        if (attempt >= 8) {
          throw e;
        }
      }
    }
  }

  /** Makes the rename durable where the platform allows it (Linux); elsewhere a no-op. */
  private static void fsyncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException | RuntimeException e) {
      // not supported on every OS or file system; the file itself is already durable
    }
  }

  private static void writeHeader(FormatOutput o, int fileType, VectorIndex index, long ntotal) throws IOException {
    o.writeInt(IndexFormat.MAGIC);
    o.writeInt(IndexFormat.VERSION_CURRENT);
    o.writeInt(fileType);
    o.writeInt(index.d());
    o.writeInt(index.metric().code());
    o.writeLong(ntotal);
  }

  private static void writeFlat(FlatIndex index, FormatOutput o) throws IOException {
    int d = index.d();
    long[] ids = index.ids(); // the snapshot that fixes ntotal for this file
    int n = ids.length;
    writeHeader(o, IndexFormat.TYPE_FLAT, index, n);
    o.writeSectionHeader(IndexFormat.SECTION_IDS, 8L * n);
    o.writeLongs(ids, 0, n);
    o.writeSectionHeader(IndexFormat.SECTION_VECTORS, 4L * n * d);
    int rowsPerChunk = Math.max(1, WRITE_CHUNK_FLOATS / d);
    for (int from = 0; from < n; from += rowsPerChunk) {
      int count = Math.min(rowsPerChunk, n - from);
      float[] rows;
      try {
        rows = index.copyRows(from, count);
      } catch (IndexOutOfBoundsException e) {
        throw new IllegalStateException("the Flat index lost rows while it was being written (ntotal was " + n
            + " when writing began); do not remove vectors while writing", e);
      }
      o.writeFloats(rows, 0, rows.length);
    }
  }

  private static void writeIvf(IvfIndex index, FormatOutput o) throws IOException {
    int d = index.d();
    int nlist = index.nlist();
    float[] centroids = index.centroids();
    boolean trained = centroids != null;
    long[] sizes = new long[nlist];
    long ntotal = 0;
    for (int l = 0; l < nlist; l++) {
      sizes[l] = index.listSize(l);
      ntotal += sizes[l];
    }
    if (!trained && ntotal > 0) {
      throw new IllegalStateException("the IVF index was trained and filled while it was being written; "
          + "do not modify an index while writing it");
    }
    writeHeader(o, IndexFormat.TYPE_IVF_FLAT, index, ntotal);
    o.writeSectionHeader(IndexFormat.SECTION_IVF_PARAMS, IndexFormat.IVF_PARAMS_BYTES);
    o.writeInt(nlist);
    o.writeInt(index.nprobe());
    o.writeInt(trained ? IndexFormat.IVF_FLAG_TRAINED : 0);
    if (trained) {
      o.writeSectionHeader(IndexFormat.SECTION_CENTROIDS, 4L * nlist * d);
      o.writeFloats(centroids, 0, centroids.length);
    }
    o.writeSectionHeader(IndexFormat.SECTION_LIST_SIZES, 8L * nlist);
    o.writeLongs(sizes, 0, nlist);
    // ids then vectors, one list copy at a time, checked against the sizes already written
    o.writeSectionHeader(IndexFormat.SECTION_LIST_IDS, 8L * ntotal);
    for (int l = 0; l < nlist; l++) {
      long[] ids = index.listIds(l);
      checkUnchanged(ids.length, sizes[l], l);
      o.writeLongs(ids, 0, ids.length);
    }
    o.writeSectionHeader(IndexFormat.SECTION_LIST_VECTORS, 4L * ntotal * d);
    for (int l = 0; l < nlist; l++) {
      float[] v = index.listVectors(l);
      checkUnchanged(v.length / d, sizes[l], l);
      o.writeFloats(v, 0, v.length);
    }
  }

  private static void checkUnchanged(int size, long written, int list) {
    if (size != written) {
      throw new IllegalStateException("inverted list " + list + " changed size from " + written + " to " + size
          + " while the index was being written; do not modify an index while writing it");
    }
  }

  // ============================== reading ==============================

  /** Reads an index from {@code file}, checking every size against the file's length. */
  public static VectorIndex read(Path file) throws IOException {
    long length = Files.size(file);
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
      return read(in, file.toString(), length);
    }
  }

  /**
   * Reads one index from {@code in}, whose length is unknown. Consumes exactly the index's bytes
   * and does not close the stream.
   *
   * @param sourceName the name errors give for the stream (a path or URI); null gives "&lt;stream&gt;"
   */
  public static VectorIndex read(InputStream in, String sourceName) throws IOException {
    return read(in, sourceName, -1);
  }

  /**
   * Reads one index from {@code in}, which holds exactly {@code length} bytes (a file's size,
   * as from a Hadoop {@code FileStatus}); every size is checked against it before reading, and
   * bytes after the footer are an error. Does not close the stream.
   *
   * @param length the stream's total length in bytes, or -1 when unknown
   */
  public static VectorIndex read(InputStream in, String sourceName, long length) throws IOException {
    Objects.requireNonNull(in, "in");
    if (length < -1) {
      throw new IllegalArgumentException("length must be >= 0, or -1 when unknown; was " + length);
    }
    return new Reader(new FormatInput(in, sourceName == null ? "<stream>" : sourceName, length)).read();
  }

  /** One read: the header fields and the section walk. */
  private static final class Reader {
    private final FormatInput in;
    private final String src;
    private int version;
    private int fileType;
    private int d;
    private Metric metric;
    private long ntotal;
    /** Start and byteLength of the section returned by the last {@link #nextSection}. */
    private long sectionStart;
    private long sectionLength;

    Reader(FormatInput in) {
      this.in = in;
      this.src = in.source();
    }

    VectorIndex read() throws IOException {
      readHeader();
      // version gates for later formats go here: if (version >= IndexFormat.VERSION_XYZ) ...
      VectorIndex index = fileType == IndexFormat.TYPE_FLAT ? readFlat() : readIvf();
      return index;
    }

    private void readHeader() throws IOException {
      byte[] magicBytes = new byte[4];
      int got = in.readUpTo(magicBytes, 4);
      int magic = (magicBytes[0] & 0xFF) | (magicBytes[1] & 0xFF) << 8 | (magicBytes[2] & 0xFF) << 16
          | (magicBytes[3] & 0xFF) << 24;
      if (got < 4) {
        boolean prefix = true;
        for (int i = 0; i < got; i++) {
          prefix &= (magicBytes[i] & 0xFF) == ((IndexFormat.MAGIC >>> (8 * i)) & 0xFF);
        }
        if (prefix) {
          throw new TruncatedIndexException(src, "truncated: the data ends at byte " + got + ", inside the magic; an index "
              + "file starts with the " + IndexFormat.HEADER_BYTES + "-byte header, magic 'QVR1'");
        }
        throw new NotAnIndexFileException(src, "not a Quiver index file: it has only " + got
            + " bytes and does not start with the magic 'QVR1'");
      }
      if (magic != IndexFormat.MAGIC) {
        throw new NotAnIndexFileException(src, "not a Quiver index file: it starts with " + fourccToString(magic)
            + " where an index file (" + IndexFormat.FILE_EXTENSION + ") starts with the magic 'QVR1'");
      }
      version = in.readInt("the header's formatVersion (offset " + IndexFormat.OFFSET_VERSION + ")");
      if (version > IndexFormat.VERSION_CURRENT) {
        throw new IndexFormatTooNewException(src, version);
      }
      if (version < IndexFormat.VERSION_MIN_SUPPORTED) {
        throw new IndexFormatTooOldException(src, version);
      }
      fileType = in.readInt("the header's fileType (offset " + IndexFormat.OFFSET_FILE_TYPE + ")");
      if (fileType != IndexFormat.TYPE_FLAT && fileType != IndexFormat.TYPE_IVF_FLAT) {
        throw new UnsupportedIndexTypeException(src, "file type " + fourccToString(fileType) + " (header offset "
            + IndexFormat.OFFSET_FILE_TYPE + ") is not one this reader supports in format version " + version
            + ": valid types are 'FLAT' (Flat) and 'IVFF' (IVF,Flat)");
      }
      d = in.readInt("the header's d (offset " + IndexFormat.OFFSET_D + ")");
      if (d < 1 || d > IndexFormat.MAX_D) {
        throw new InvalidLengthException(src, "d = " + d + " in the header (offset " + IndexFormat.OFFSET_D
            + "); valid d is 1.." + IndexFormat.MAX_D);
      }
      int metricCode = in.readInt("the header's metric (offset " + IndexFormat.OFFSET_METRIC + ")");
      try {
        metric = Metric.fromCode(metricCode);
      } catch (IllegalArgumentException e) {
        throw new CorruptIndexException(src, "metric code " + metricCode + " in the header (offset "
            + IndexFormat.OFFSET_METRIC + ") is not valid: " + e.getMessage());
      }
      ntotal = in.readLong("the header's ntotal (offset " + IndexFormat.OFFSET_NTOTAL + ")");
      if (ntotal < 0) {
        throw new InvalidLengthException(src, "ntotal = " + ntotal + " in the header (offset "
            + IndexFormat.OFFSET_NTOTAL + "); ntotal must be >= 0");
      }
    }

    // ---- Flat ----

    private VectorIndex readFlat() throws IOException {
      long maxRows = MAX_ARRAY_LENGTH / d;
      if (ntotal > maxRows) {
        throw new InvalidLengthException(src, "ntotal = " + ntotal + " with d = " + d + " in the header: a Flat index holds"
            + " at most " + maxRows + " vectors of this d (ntotal * d must fit one Java array)");
      }
      int n = (int) ntotal;
      in.requireRemaining(2L * SECTION_HEADER_BYTES + 8L * n + 4L * n * d + FOOTER_BYTES,
          "a Flat index with ntotal=" + n + " and d=" + d);
      String layout = "a 'FLAT' file holds sections 'IDS_', 'VECS' in this order";
      expectSection(IndexFormat.SECTION_IDS, 8L * n, "8 * ntotal", layout);
      long[] ids = in.readLongs(n, "section 'IDS_' (" + n + " ids)");
      expectSection(IndexFormat.SECTION_VECTORS, 4L * n * d, "4 * ntotal * d", layout);
      float[] vectors = in.readFloats(n * d, "section 'VECS' (" + n + " vectors of d=" + d + ")");
      readFooter(layout);
      try {
        return FlatIndex.fromStorage(d, metric, vectors, ids);
      } catch (IllegalArgumentException e) {
        throw new CorruptIndexException(src, "the stored Flat index is invalid: " + e.getMessage());
      }
    }

    // ---- IVF ----

    private VectorIndex readIvf() throws IOException {
      long maxPerList = MAX_ARRAY_LENGTH / d;
      if (ntotal > IndexFormat.MAX_NLIST * maxPerList) {
        throw new InvalidLengthException(src, "ntotal = " + ntotal + " with d = " + d + " in the header: an IVF index holds"
            + " at most nlist (<= " + IndexFormat.MAX_NLIST + ") lists of " + maxPerList + " vectors of this d");
      }
      // PRMS, LSIZ, LIDS and LVEC section headers, the PRMS payload, ids, vectors, footer
      long fixedBytes = 4L * SECTION_HEADER_BYTES + IndexFormat.IVF_PARAMS_BYTES + 8L * ntotal + 4L * ntotal * d
          + FOOTER_BYTES;
      in.requireRemaining(fixedBytes, "an IVF index with ntotal=" + ntotal + " and d=" + d);
      String layout = "an 'IVFF' file holds sections 'PRMS', 'CENT' (when trained), 'LSIZ', 'LIDS', 'LVEC' in this order";

      expectSection(IndexFormat.SECTION_IVF_PARAMS, IndexFormat.IVF_PARAMS_BYTES, "fixed", layout);
      long at = in.position();
      int nlist = in.readInt("section 'PRMS' (nlist)");
      if (nlist < 1 || nlist > IndexFormat.MAX_NLIST) {
        throw new InvalidLengthException(src, "nlist = " + nlist + " in section 'PRMS' (byte " + at
            + "); valid nlist is 1.." + IndexFormat.MAX_NLIST);
      }
      if ((long) nlist * d > MAX_ARRAY_LENGTH) {
        throw new InvalidLengthException(src, "nlist = " + nlist + " with d = " + d + " in section 'PRMS' (byte " + at
            + "): the nlist * d centroid floats must fit one Java array (at most " + MAX_ARRAY_LENGTH + ")");
      }
      int nprobe = in.readInt("section 'PRMS' (nprobe)");
      if (nprobe < 1) {
        throw new CorruptIndexException(src, "nprobe = " + nprobe + " in section 'PRMS' (byte " + (at + 4)
            + "); nprobe must be >= 1");
      }
      int flags = in.readInt("section 'PRMS' (flags)");
      if ((flags & ~IndexFormat.IVF_FLAGS_KNOWN) != 0) {
        throw new CorruptIndexException(src, String.format("flags 0x%x in section 'PRMS' (byte %d) set bits that format "
            + "version %d does not define; valid flags are 0 and 0x%x (trained)", flags, at + 8, version,
            IndexFormat.IVF_FLAG_TRAINED));
      }
      boolean trained = (flags & IndexFormat.IVF_FLAG_TRAINED) != 0;
      if (!trained && ntotal != 0) {
        throw new CorruptIndexException(src, "section 'PRMS' (byte " + at + ") says the index is untrained but the header"
            + " says ntotal = " + ntotal + "; an untrained IVF index holds no vectors");
      }
      if (ntotal > nlist * maxPerList) {
        throw new InvalidLengthException(src, "ntotal = " + ntotal + " does not fit " + nlist + " lists of at most "
            + maxPerList + " vectors of d=" + d);
      }
      in.requireRemaining(fixedBytes - SECTION_HEADER_BYTES - IndexFormat.IVF_PARAMS_BYTES + 8L * nlist
          + (trained ? SECTION_HEADER_BYTES + 4L * nlist * d : 0),
          "an IVF index with nlist=" + nlist + ", ntotal=" + ntotal + " and d=" + d + (trained ? "" : ", untrained"));

      float[] centroids = null;
      if (trained) {
        expectSection(IndexFormat.SECTION_CENTROIDS, 4L * nlist * d, "4 * nlist * d", layout);
        centroids = in.readFloats(nlist * d, "section 'CENT' (" + nlist + " centroids of d=" + d + ")");
      }
      expectSection(IndexFormat.SECTION_LIST_SIZES, 8L * nlist, "8 * nlist",
          trained ? layout : layout + "; an untrained index has no 'CENT'");
      long sizesStart = in.position();
      long[] sizes = in.readLongs(nlist, "section 'LSIZ' (" + nlist + " list sizes)");
      long sum = 0;
      for (int l = 0; l < nlist; l++) {
        if (sizes[l] < 0 || sizes[l] > maxPerList) {
          throw new InvalidLengthException(src, "list " + l + " has size " + sizes[l] + " in section 'LSIZ' (byte "
              + (sizesStart + 8L * l) + "); valid sizes are 0.." + maxPerList + " for d=" + d);
        }
        sum += sizes[l];
      }
      if (sum != ntotal) {
        throw new InvalidLengthException(src, "the " + nlist + " list sizes in section 'LSIZ' (byte " + sizesStart
            + ") sum to " + sum + " but the header says ntotal = " + ntotal + "; they must be equal");
      }

      expectSection(IndexFormat.SECTION_LIST_IDS, 8L * ntotal, "8 * ntotal", layout);
      long[][] listIds = new long[nlist][];
      for (int l = 0; l < nlist; l++) {
        listIds[l] = in.readLongs((int) sizes[l], "section 'LIDS' (list " + l + ", " + sizes[l] + " ids)");
      }
      expectSection(IndexFormat.SECTION_LIST_VECTORS, 4L * ntotal * d, "4 * ntotal * d", layout);
      float[][] listVectors = new float[nlist][];
      for (int l = 0; l < nlist; l++) {
        listVectors[l] = in.readFloats((int) sizes[l] * d,
            "section 'LVEC' (list " + l + ", " + sizes[l] + " vectors of d=" + d + ")");
      }
      readFooter(layout);
      try {
        if (trained) {
          return IvfIndex.fromStorage(d, metric, nlist, nprobe, centroids, listIds, listVectors);
        }
        IvfIndex index = new IvfIndex(d, nlist, metric);
        index.setNprobe(nprobe);
        return index;
      } catch (IllegalArgumentException e) {
        throw new CorruptIndexException(src, "the stored IVF index is invalid: " + e.getMessage());
      }
    }

    // ---- sections and footer ----

    /** True when {@code fourcc} is a required section of this file type. */
    private boolean isSectionOfType(int fourcc) {
      if (fileType == IndexFormat.TYPE_FLAT) {
        return fourcc == IndexFormat.SECTION_IDS || fourcc == IndexFormat.SECTION_VECTORS;
      }
      return fourcc == IndexFormat.SECTION_IVF_PARAMS || fourcc == IndexFormat.SECTION_CENTROIDS
          || fourcc == IndexFormat.SECTION_LIST_SIZES || fourcc == IndexFormat.SECTION_LIST_IDS
          || fourcc == IndexFormat.SECTION_LIST_VECTORS;
    }

    /**
     * Reads section headers, skipping optional sections, up to the next required section (its
     * start and length are left in {@link #sectionStart} and {@link #sectionLength}) or the
     * footer magic. Returns the fourcc read.
     */
    private int nextSection(String expecting) throws IOException {
      while (true) {
        sectionStart = in.position();
        int fourcc = in.readInt("the section header at byte " + sectionStart + " (" + expecting + ")");
        if (fourcc == FOOTER_MAGIC) {
          return fourcc;
        }
        sectionLength = in.readLong("the byteLength of section " + fourccToString(fourcc) + " at byte " + sectionStart);
        if (!IndexFormat.isOptionalSection(fourcc)) {
          return fourcc;
        }
        checkLengthFits(fourcc);
        in.skip(sectionLength, "optional section " + fourccToString(fourcc) + " at byte " + sectionStart + " ("
            + sectionLength + " bytes)");
      }
    }

    /** Negative lengths, and lengths beyond the known end of the file, are impossible. */
    private void checkLengthFits(int fourcc) throws InvalidLengthException {
      if (sectionLength < 0) {
        throw new InvalidLengthException(src, "section " + fourccToString(fourcc) + " at byte " + sectionStart
            + " has byteLength " + sectionLength + "; lengths must be >= 0");
      }
      long room = in.remaining() - FOOTER_BYTES;
      if (sectionLength > room) {
        throw new InvalidLengthException(src, "section " + fourccToString(fourcc) + " at byte " + sectionStart
            + " claims " + sectionLength + " bytes but the file (" + in.length() + " bytes) has only "
            + Math.max(0, room) + " left before the footer");
      }
    }

    /** Reads the next required section header and checks it is {@code expected}, of exactly {@code length} bytes. */
    private void expectSection(int expected, long length, String rule, String layout) throws IOException {
      String name = fourccToString(expected);
      int fourcc = nextSection("expecting section " + name);
      if (fourcc == FOOTER_MAGIC) {
        throw new CorruptIndexException(src, "section " + name + " is missing: the footer starts at byte " + sectionStart
            + "; " + layout);
      }
      if (fourcc != expected) {
        if (isSectionOfType(fourcc)) {
          throw new CorruptIndexException(src, "section " + fourccToString(fourcc) + " at byte " + sectionStart
              + " is out of place: expected " + name + " here; " + layout);
        }
        throw unknownSection(fourcc);
      }
      if (sectionLength != length) {
        throw new InvalidLengthException(src, "section " + name + " at byte " + sectionStart + " has byteLength "
            + sectionLength + " but must be " + length + " (" + rule + " with d=" + d + ", ntotal=" + ntotal + ")");
      }
      in.requireRemaining(length + FOOTER_BYTES, "section " + name + " at byte " + sectionStart);
    }

    private UnknownSectionException unknownSection(int fourcc) {
      return new UnknownSectionException(src, "section " + fourccToString(fourcc) + " at byte " + sectionStart
          + " is not defined by format version " + version + " for file type " + fourccToString(fileType)
          + "; optional sections (which readers skip) start with a lowercase letter, so this file needs a reader that "
          + "knows this section, or it is damaged");
    }

    private void readFooter(String layout) throws IOException {
      int fourcc = nextSection("expecting the footer");
      if (fourcc != FOOTER_MAGIC) {
        if (isSectionOfType(fourcc)) {
          throw new CorruptIndexException(src, "section " + fourccToString(fourcc) + " at byte " + sectionStart
              + " appears again where the footer 'QEND' belongs; " + layout);
        }
        throw unknownSection(fourcc);
      }
      long checked = in.position();
      int computed = in.checksum();
      int stored = in.readIntUnchecksummed("the footer checksum at byte " + checked);
      if (stored != computed) {
        throw new ChecksumMismatchException(src, stored, computed, checked);
      }
      if (in.lengthKnown() && in.position() != in.length()) {
        throw new CorruptIndexException(src, "the index ends at byte " + in.position() + " but the file has "
            + in.length() + " bytes: " + (in.length() - in.position()) + " unexpected bytes follow the footer");
      }
      if (in.firstNonFinite() != null) {
        throw new CorruptIndexException(src, "the checksum matches but " + in.firstNonFinite()
            + "; stored vectors and centroids must be finite (the writer was faulty)");
      }
    }
  }
}
