package io.quiver.index.io;

import static io.quiver.index.io.IndexFormat.FOOTER_BYTES;
import static io.quiver.index.io.IndexFormat.FOOTER_MAGIC;
import static io.quiver.index.io.IndexFormat.MAX_ARRAY_LENGTH;
import static io.quiver.index.io.IndexFormat.SECTION_HEADER_BYTES;
import static io.quiver.index.io.IndexFormat.fourccToString;

import io.quiver.index.FlatCodesIndex;
import io.quiver.index.FlatIndex;
import io.quiver.index.InvertedFileIndex;
import io.quiver.index.IvfCodesIndex;
import io.quiver.index.IvfIndex;
import io.quiver.index.IvfPqIndex;
import io.quiver.index.IvfSqIndex;
import io.quiver.index.L2NormIndex;
import io.quiver.index.Metric;
import io.quiver.index.PqIndex;
import io.quiver.index.RefineIndex;
import io.quiver.index.SqIndex;
import io.quiver.index.VectorIndex;
import io.quiver.index.codec.Codec;
import io.quiver.index.codec.FlatCodec;
import io.quiver.index.codec.PqCodec;
import io.quiver.index.codec.SqCodec;
import io.quiver.index.hnsw.Hnsw;
import io.quiver.index.hnsw.HnswCoarseQuantizer;
import io.quiver.index.hnsw.HnswIndex;
import io.quiver.index.ivf.CoarseQuantizer;
import io.quiver.index.ivf.FlatCoarseQuantizer;
import io.quiver.index.quantize.ProductQuantizer;
import io.quiver.index.quantize.ScalarQuantizer;
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
 * the byte layout is documented in {@link IndexFormat}. Supported, with any {@link Metric}:
 * {@link FlatIndex} ('FLAT'), {@link IvfIndex} ('IVFF'), {@link PqIndex} ('PQ__'),
 * {@link SqIndex} ('SQ__'), {@link IvfPqIndex} ('IVPQ'), {@link IvfSqIndex} ('IVSQ'), trained or
 * not, and the wrappers {@link RefineIndex} ('RFLT') and {@link L2NormIndex} ('L2NM') around any
 * of them, which hold their parts as nested index files. Other {@link VectorIndex}
 * implementations are refused with {@link IllegalArgumentException} before anything is written.
 *
 * <h2>Writing</h2>
 * {@link #write(VectorIndex, OutputStream)} streams the index sequentially (no seeking), so it
 * works on HDFS/S3 output streams; it flushes but does not close the stream. Memory: a copy of
 * the ids and codes (Flat, PQ, SQ; Flat vectors go in chunks) or of one list at a time (IVF), never
 * a second copy of all vectors. A wrapper's parts are sized first (from their counts) and then
 * streamed into their sections, with no buffering of the nested files.
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
 * the reader allocate much more than the bytes it was given. Nested index files are read by the
 * same reader, bounded by their section; errors inside one say where it lies in the file, and
 * offsets after that count from its start. The reader consumes exactly one index file from a
 * stream and stops after its footer, so several files may be concatenated. The checksum is
 * verified before the index is returned; nothing is returned from a damaged file.
 *
 * <h2>Threading</h2>
 * The static methods are thread-safe and may run concurrently on different streams. An index
 * may be written while other threads search it; it must not be modified (add, remove, train,
 * merge) while it is written: a change detected mid-write fails the write with
 * {@link IllegalStateException}, and an undetected one may write a mix of old and new rows.
 */
public final class IndexIO {

  /** Bytes of codes of a flat-codes index copied per chunk while writing, to bound the writer's memory. */
  private static final int WRITE_CHUNK_BYTES = 1 << 20;

  /** What index files hold, for the message that refuses other indexes. */
  private static final String SUPPORTED = "index files hold Flat, IVF<nlist>,Flat, PQ, SQ, IVF<nlist>,PQ, "
      + "IVF<nlist>,SQ (also as IVF<nlist>_HNSW<M>,...) and HNSW<M>[,PQ|SQ] indexes (FlatIndex, IvfIndex, PqIndex, "
      + "SqIndex, IvfPqIndex, IvfSqIndex, HnswIndex), and the RFlat (RefineIndex) and L2norm (L2NormIndex) wrappers "
      + "around them";

  private IndexIO() {}

  // ============================== writing ==============================

  /**
   * Writes {@code index} to {@code out} in the current format version. Flushes {@code out} but
   * does not close it.
   *
   * @throws IllegalArgumentException for index types the format does not cover (also inside a
   *     wrapper), before anything is written
   * @throws IllegalStateException when the index is modified while it is written
   */
  public static void write(VectorIndex index, OutputStream out) throws IOException {
    Objects.requireNonNull(index, "index");
    Objects.requireNonNull(out, "out");
    checkWritable(index, index, 0);
    writeIndex(index, new FormatOutput(out));
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

  /** Refuses (before any byte is written) indexes, or parts of wrappers, that the format does not cover. */
  private static void checkWritable(VectorIndex root, VectorIndex index, int depth) {
    String where = index == root ? "" : " inside " + describe(root);
    if (index == null) {
      throw new IllegalArgumentException("cannot write a null index" + where);
    }
    if (depth > IndexFormat.MAX_NESTING_DEPTH) {
      throw new IllegalArgumentException("cannot write " + describe(root) + ": its wrappers nest index files more than "
          + IndexFormat.MAX_NESTING_DEPTH + " levels deep, which readers refuse");
    }
    if (index instanceof RefineIndex refine) {
      checkWritable(root, refine.base(), depth + 1);
      checkWritable(root, refine.refine(), depth + 1);
    } else if (index instanceof L2NormIndex norm) {
      checkWritable(root, norm.inner(), depth + 1);
    } else if (index instanceof FlatCodesIndex<?> flat) { // HnswIndex included
      CodecSections.checkWritable(flat.codec(), describe(index) + where);
    } else if (index instanceof IvfCodesIndex<?> ivf) {
      CoarseQuantizer coarse = ivf.coarseQuantizer();
      if (!(coarse instanceof FlatCoarseQuantizer) && !(coarse instanceof HnswCoarseQuantizer)) {
        throw new IllegalArgumentException("cannot write " + describe(index) + where + ": its coarse quantizer, a "
            + coarse.getClass().getName() + ", has no file type; index files hold flat and HNSW coarse quantizers");
      }
      CodecSections.checkWritable(ivf.codec(), describe(index) + where);
    } else {
      throw new IllegalArgumentException("cannot write " + describe(index) + where + ": " + SUPPORTED);
    }
  }

  /** The file type of an IVF index: by its codec, and its coarse quantizer ('IVxx' flat, 'IHxx' HNSW). */
  private static int ivfFileType(IvfCodesIndex<?> index) {
    return index.coarseQuantizer() instanceof HnswCoarseQuantizer ? CodecSections.ivfHnswType(index.codec())
        : CodecSections.ivfType(index.codec());
  }

  /** "a CLASS (FACTORY)", for messages that name an index. */
  static String describe(VectorIndex index) {
    String factory;
    try {
      factory = index.factoryString();
    } catch (RuntimeException e) {
      factory = "?";
    }
    return "a " + index.getClass().getName() + " (" + factory + ")";
  }

  /** Writes one whole index file (header to checksum) and returns the ntotal of its header. */
  private static long writeIndex(VectorIndex index, FormatOutput o) throws IOException {
    long ntotal;
    if (index instanceof HnswIndex<?> hnsw) { // before FlatCodesIndex, which it extends
      ntotal = writeHnsw(hnsw, o);
    } else if (index instanceof FlatCodesIndex<?> flat) {
      ntotal = writeFlatCodes(flat, o);
    } else if (index instanceof IvfCodesIndex<?> ivf) {
      ntotal = writeIvf(ivf, o);
    } else if (index instanceof RefineIndex refine) {
      ntotal = writeRefine(refine, o);
    } else if (index instanceof L2NormIndex norm) {
      ntotal = writeL2Norm(norm, o);
    } else {
      throw new IllegalArgumentException("cannot write " + describe(index) + ": " + SUPPORTED);
    }
    o.writeInt(FOOTER_MAGIC);
    o.writeChecksumAndFlush();
    return ntotal;
  }

  private static void writeHeader(FormatOutput o, int fileType, VectorIndex index, long ntotal) throws IOException {
    o.writeInt(IndexFormat.MAGIC);
    o.writeInt(IndexFormat.VERSION_CURRENT);
    o.writeInt(fileType);
    o.writeInt(index.d());
    o.writeInt(index.metric().code());
    o.writeLong(ntotal);
  }

  /** The flat family ('FLAT', 'PQ__', 'SQ__'): [codec sections] 'IDS_', then 'VECS' or 'CODE' streamed in chunks. */
  private static long writeFlatCodes(FlatCodesIndex<?> index, FormatOutput o) throws IOException {
    Codec<?> codec = index.codec();
    long[] ids = index.ids(); // the snapshot that fixes ntotal for this file
    int n = ids.length;
    boolean trained = trainedUnlessEmpty(index, n);
    writeHeader(o, CodecSections.flatType(codec), index, n);
    CodecSections.write(o, codec, trained);
    o.writeSectionHeader(IndexFormat.SECTION_IDS, 8L * n);
    o.writeLongs(ids, 0, n);
    o.writeSectionHeader(CodecSections.flatCodesSection(codec), (long) n * codec.codeSize());
    writeCodes(index, n, o);
    return n;
  }

  /** Whether the codec is trained; an untrained one with {@code n > 0} rows was trained and filled mid-write. */
  private static boolean trainedUnlessEmpty(FlatCodesIndex<?> index, int n) {
    boolean trained = index.codec().isTrained();
    if (!trained && n > 0) {
      throw new IllegalStateException("the " + index.factoryString() + " index changed while it was being written ("
          + n + " ids, untrained); do not modify an index while writing it");
    }
    return trained;
  }

  /**
   * Streams the first {@code n} stored codes of {@code index} (floats for Flat, bytes otherwise)
   * in chunks of about {@value #WRITE_CHUNK_BYTES} bytes, so that writing never copies them all.
   */
  static void writeCodes(FlatCodesIndex<?> index, int n, FormatOutput o) throws IOException {
    int rowsPerChunk = Math.max(1, WRITE_CHUNK_BYTES / index.codec().codeSize());
    for (int from = 0; from < n; from += rowsPerChunk) {
      int count = Math.min(rowsPerChunk, n - from);
      Object rows;
      try {
        rows = index.copyCodes(from, count);
      } catch (IndexOutOfBoundsException e) {
        throw new IllegalStateException("the " + index.factoryString() + " index lost rows while it was being written "
            + "(ntotal was " + n + " when writing began); do not remove vectors while writing", e);
      }
      if (rows instanceof float[] f) {
        o.writeFloats(f, 0, f.length);
      } else {
        byte[] b = (byte[]) rows;
        o.writeBytes(b, 0, b.length);
      }
    }
  }

  /**
   * The IVF family ('IVFF', 'IVPQ', 'IVSQ'): 'PRMS', 'CENT' when trained, [codec sections],
   * 'LSIZ', 'LIDS', then 'LVEC' or 'LCOD', one list copy at a time, checked against the sizes
   * already written.
   */
  private static long writeIvf(IvfCodesIndex<?> index, FormatOutput o) throws IOException {
    int d = index.d();
    int nlist = index.nlist();
    Codec<?> codec = index.codec();
    boolean trained = index.isTrained();
    float[] centroids = trained ? index.centroids() : null;
    if (trained && centroids == null) {
      throw new IllegalStateException("the IVF index lost its training while it was being written");
    }
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
    HnswCoarseQuantizer hnsw = index.coarseQuantizer() instanceof HnswCoarseQuantizer h ? h : null;
    Hnsw.Stored graph = hnsw != null && trained ? hnsw.storedGraph() : null;
    if (hnsw != null && trained && graph == null) {
      throw new IllegalStateException("the IVF index lost its training while it was being written");
    }
    writeHeader(o, ivfFileType(index), index, ntotal);
    o.writeSectionHeader(IndexFormat.SECTION_IVF_PARAMS, IndexFormat.IVF_PARAMS_BYTES);
    o.writeInt(nlist);
    o.writeInt(index.nprobe());
    o.writeInt(trained ? IndexFormat.IVF_FLAG_TRAINED : 0);
    if (trained) {
      o.writeSectionHeader(IndexFormat.SECTION_CENTROIDS, 4L * nlist * d);
      o.writeFloats(centroids, 0, centroids.length);
    }
    if (hnsw != null) {
      writeHnswGraph(o, hnsw.m(), hnsw.efConstruction(), hnsw.efSearch(), graph, false);
    }
    CodecSections.write(o, codec, trained);
    int codeSize = index.codeSize();
    o.writeSectionHeader(IndexFormat.SECTION_LIST_SIZES, 8L * nlist);
    o.writeLongs(sizes, 0, nlist);
    o.writeSectionHeader(IndexFormat.SECTION_LIST_IDS, 8L * ntotal);
    for (int l = 0; l < nlist; l++) {
      long[] ids = index.listIds(l);
      checkUnchanged(ids.length, sizes[l], l);
      o.writeLongs(ids, 0, ids.length);
    }
    o.writeSectionHeader(CodecSections.ivfCodesSection(codec), ntotal * codeSize);
    for (int l = 0; l < nlist; l++) {
      byte[] codes = index.listCodes(l);
      checkUnchanged(codes.length / codeSize, sizes[l], l);
      o.writeBytes(codes, 0, codes.length);
    }
    return ntotal;
  }

  /**
   * 'HNPR', then (when {@code graph} is not null) 'HLVL' and 'HNBR', or only 'HNPR' now and the
   * graph sections later when {@code paramsOnly}.
   */
  private static void writeHnswGraph(FormatOutput o, int m, int efConstruction, int efSearch, Hnsw.Stored graph,
                                     boolean paramsOnly) throws IOException {
    o.writeSectionHeader(IndexFormat.SECTION_HNSW_PARAMS, IndexFormat.HNSW_PARAMS_BYTES);
    o.writeInt(m);
    o.writeInt(efConstruction);
    o.writeInt(efSearch);
    o.writeInt(graph == null ? -1 : graph.entryPoint());
    o.writeInt(0);
    if (graph != null && !paramsOnly) {
      writeHnswLinks(o, graph);
    }
  }

  private static void writeHnswLinks(FormatOutput o, Hnsw.Stored graph) throws IOException {
    o.writeSectionHeader(IndexFormat.SECTION_HNSW_LEVELS, 4L * graph.levels().length);
    o.writeInts(graph.levels(), 0, graph.levels().length);
    o.writeSectionHeader(IndexFormat.SECTION_HNSW_NEIGHBORS, 4L * graph.links().length);
    o.writeInts(graph.links(), 0, graph.links().length);
  }

  /**
   * The HNSW family ('HNSF', 'HNPQ', 'HNSQ'): 'HNPR', [codec sections], 'HLVL', 'HNBR', 'IDS_',
   * then 'VECS' or 'CODE' streamed in chunks, from one snapshot of the graph and ids.
   */
  private static long writeHnsw(HnswIndex<?> index, FormatOutput o) throws IOException {
    Codec<?> codec = index.codec();
    HnswIndex.GraphState g = index.graphState();
    long[] ids = g.ids();
    int n = ids.length;
    boolean trained = trainedUnlessEmpty(index, n);
    writeHeader(o, CodecSections.hnswType(codec), index, n);
    writeHnswGraph(o, index.m(), g.efConstruction(), g.efSearch(), g.graph(), true);
    CodecSections.write(o, codec, trained);
    writeHnswLinks(o, g.graph());
    o.writeSectionHeader(IndexFormat.SECTION_IDS, 8L * n);
    o.writeLongs(ids, 0, n);
    o.writeSectionHeader(CodecSections.flatCodesSection(codec), (long) n * codec.codeSize());
    writeCodes(index, n, o);
    return n;
  }

  // ---- quantizers ----

  /** The 'SQPR' type code of a scalar quantizer type (FAISS's QuantizerType number), or -1 when it has none. */
  static int sqTypeCode(ScalarQuantizer.Type type) {
    switch (type) {
      case SQ8:
        return IndexFormat.SQ_TYPE_8BIT;
      case SQ4:
        return IndexFormat.SQ_TYPE_4BIT;
      case SQFP16:
        return IndexFormat.SQ_TYPE_FP16;
      default:
        return -1;
    }
  }

  /** The scalar quantizer type of an 'SQPR' type code, or null when the code is not valid. */
  static ScalarQuantizer.Type sqType(int code) {
    switch (code) {
      case IndexFormat.SQ_TYPE_8BIT:
        return ScalarQuantizer.Type.SQ8;
      case IndexFormat.SQ_TYPE_4BIT:
        return ScalarQuantizer.Type.SQ4;
      case IndexFormat.SQ_TYPE_FP16:
        return ScalarQuantizer.Type.SQFP16;
      default:
        return null;
    }
  }

  /** True when an 'SQ__'/'IVSQ' file has an 'SQRG' section: trained SQ8 or SQ4. */
  private static void checkUnchanged(int size, long written, int list) {
    if (size != written) {
      throw new IllegalStateException("inverted list " + list + " changed size from " + written + " to " + size
          + " while the index was being written; do not modify an index while writing it");
    }
  }

  // ---- wrappers ----

  private static long writeRefine(RefineIndex index, FormatOutput o) throws IOException {
    long ntotal = index.base().ntotal();
    writeHeader(o, IndexFormat.TYPE_REFINE_FLAT, index, ntotal);
    o.writeSectionHeader(IndexFormat.SECTION_REFINE_PARAMS, IndexFormat.REFINE_PARAMS_BYTES);
    o.writeInt(Float.floatToRawIntBits(index.kFactor()));
    writeNested(o, IndexFormat.SECTION_BASE, index.base(), ntotal);
    writeNested(o, IndexFormat.SECTION_REFINE, index.refine(), ntotal);
    return ntotal;
  }

  private static long writeL2Norm(L2NormIndex index, FormatOutput o) throws IOException {
    long ntotal = index.inner().ntotal();
    writeHeader(o, IndexFormat.TYPE_L2_NORM, index, ntotal);
    writeNested(o, IndexFormat.SECTION_INNER, index.inner(), ntotal);
    return ntotal;
  }

  /**
   * Writes {@code index} as a whole index file into section {@code section}: its size is computed
   * from its counts first, then it is streamed, and both must agree (as must its ntotal and the
   * outer header's).
   */
  private static void writeNested(FormatOutput o, int section, VectorIndex index, long outerNtotal) throws IOException {
    long size = fileBytes(index);
    o.writeSectionHeader(section, size);
    FormatOutput nested = new FormatOutput(o.sectionStream());
    long ntotal = writeIndex(index, nested);
    if (nested.position() != size || ntotal != outerNtotal) {
      throw new IllegalStateException("the " + index.factoryString() + " index of section " + fourccToString(section)
          + " changed while it was being written (" + nested.position() + " bytes and " + ntotal + " vectors written, "
          + size + " bytes and " + outerNtotal + " vectors expected); do not modify an index while writing it");
    }
  }

  /** A section of {@code payload} bytes, its header included. */
  private static long section(long payload) {
    return SECTION_HEADER_BYTES + payload;
  }

  /**
   * The size of the file {@link #write} makes of {@code index} now, from its counts and training
   * state alone (the layout tables of {@link IndexFormat} as arithmetic).
   */
  static long fileBytes(VectorIndex index) {
    long d = index.d();
    long body;
    if (index instanceof HnswIndex<?> hnsw) { // before FlatCodesIndex, which it extends
      HnswIndex.GraphState g = hnsw.graphState();
      Codec<?> codec = hnsw.codec();
      long n = g.ids().length;
      body = section(IndexFormat.HNSW_PARAMS_BYTES) + CodecSections.bytes(codec, codec.isTrained()) + graphBytes(g.graph())
          + section(8 * n) + section(n * codec.codeSize());
    } else if (index instanceof FlatCodesIndex<?> flat) {
      Codec<?> codec = flat.codec();
      long n = flat.ntotal();
      body = CodecSections.bytes(codec, codec.isTrained()) + section(8 * n) + section(n * codec.codeSize());
    } else if (index instanceof IvfCodesIndex<?> ivf) {
      long nlist = ivf.nlist();
      long n = 0;
      for (int l = 0; l < nlist; l++) {
        n += ivf.listSize(l);
      }
      boolean trained = ivf.isTrained();
      body = section(IndexFormat.IVF_PARAMS_BYTES) + (trained ? section(4 * nlist * d) : 0)
          + CodecSections.bytes(ivf.codec(), trained) + section(8 * nlist) + section(8 * n) + section(n * ivf.codeSize());
      if (ivf.coarseQuantizer() instanceof HnswCoarseQuantizer hnsw) {
        Hnsw.Stored g = trained ? hnsw.storedGraph() : null;
        body += section(IndexFormat.HNSW_PARAMS_BYTES) + (g == null ? 0 : graphBytes(g));
      }
    } else if (index instanceof RefineIndex refine) {
      body = section(IndexFormat.REFINE_PARAMS_BYTES) + section(fileBytes(refine.base()))
          + section(fileBytes(refine.refine()));
    } else if (index instanceof L2NormIndex norm) {
      body = section(fileBytes(norm.inner()));
    } else {
      throw new IllegalArgumentException("cannot write " + describe(index) + ": " + SUPPORTED);
    }
    return IndexFormat.HEADER_BYTES + body + FOOTER_BYTES;
  }

  /** Bytes of 'HLVL' and 'HNBR', section headers included. */
  private static long graphBytes(Hnsw.Stored g) {
    return section(4L * g.levels().length) + section(4L * g.links().length);
  }

  // ============================== shards ==============================

  /** The file type of the quantizer a shard belongs to ('IVFF', 'IVPQ', 'IVSQ'). */
  private static int shardIndexType(InvertedFileIndex index) {
    if (index instanceof IvfCodesIndex<?> ivf) {
      return ivfFileType(ivf);
    }
    throw new IllegalArgumentException("cannot write a shard of " + describe(index) + ": shards hold lists of IvfIndex, "
        + "IvfPqIndex or IvfSqIndex");
  }

  /**
   * Writes the lists of {@code shard} (usually an {@link InvertedFileIndex#emptyCopy} of the
   * quantizer, filled with {@link InvertedFileIndex#addPreassigned}) as a shard file ('SHRD'):
   * ids and codes only, no quantizer. Flushes {@code out} but does not close it.
   *
   * @return the number of entries written
   */
  public static long writeShard(InvertedFileIndex shard, OutputStream out) throws IOException {
    Objects.requireNonNull(shard, "shard");
    Objects.requireNonNull(out, "out");
    int type = shardIndexType(shard);
    checkWritable(shard, shard, 0);
    if (!shard.isTrained()) {
      throw new IllegalArgumentException("cannot write a shard of an untrained index: shards hold codes of a trained "
          + "quantizer");
    }
    FormatOutput o = new FormatOutput(out);
    int nlist = shard.nlist();
    int codeSize = shard.codeSize();
    long[] sizes = new long[nlist];
    long ntotal = 0;
    for (int l = 0; l < nlist; l++) {
      sizes[l] = shard.listSize(l);
      ntotal += sizes[l];
    }
    writeHeader(o, IndexFormat.TYPE_SHARD, shard, ntotal);
    o.writeSectionHeader(IndexFormat.SECTION_SHARD_PARAMS, IndexFormat.SHARD_PARAMS_BYTES);
    o.writeInt(type);
    o.writeInt(nlist);
    o.writeInt(codeSize);
    o.writeInt(0);
    o.writeSectionHeader(IndexFormat.SECTION_LIST_SIZES, 8L * nlist);
    o.writeLongs(sizes, 0, nlist);
    o.writeSectionHeader(IndexFormat.SECTION_LIST_IDS, 8L * ntotal);
    for (int l = 0; l < nlist; l++) {
      if (sizes[l] > 0) {
        long[] ids = shard.listIds(l);
        checkUnchanged(ids.length, sizes[l], l);
        o.writeLongs(ids, 0, ids.length);
      }
    }
    o.writeSectionHeader(IndexFormat.SECTION_LIST_CODES, ntotal * codeSize);
    for (int l = 0; l < nlist; l++) {
      if (sizes[l] > 0) {
        byte[] codes = shard.listCodes(l);
        checkUnchanged(codes.length / codeSize, sizes[l], l);
        o.writeBytes(codes, 0, codes.length);
      }
    }
    o.writeInt(FOOTER_MAGIC);
    o.writeChecksumAndFlush();
    return ntotal;
  }

  /**
   * Reads a shard file written by {@link #writeShard} for {@code quantizer} (the trained index
   * the shard was built with): returns {@code quantizer.emptyCopy()} holding the shard's lists.
   * The shard's header and 'SHPR' must match the quantizer (type, d, metric, nlist, codeSize).
   *
   * @param length the stream's total length in bytes, or -1 when unknown
   */
  public static InvertedFileIndex readShard(InputStream in, String sourceName, long length, InvertedFileIndex quantizer)
      throws IOException {
    return shardReader(in, sourceName, length, quantizer).readShard(quantizer);
  }

  /** A reader of a shard of {@code quantizer}, after checking the arguments. */
  private static Reader shardReader(InputStream in, String sourceName, long length, InvertedFileIndex quantizer) {
    Objects.requireNonNull(in, "in");
    Objects.requireNonNull(quantizer, "quantizer");
    if (length < -1) {
      throw new IllegalArgumentException("length must be >= 0, or -1 when unknown; was " + length);
    }
    shardIndexType(quantizer);
    return new Reader(new FormatInput(in, sourceName == null ? "<stream>" : sourceName, length));
  }

  /**
   * Checks a shard file's header and 'SHPR' section against {@code quantizer}, as
   * {@link #readShard} does first, without reading its lists: what a driver can check of every
   * shard before any task reads one.
   *
   * @param length the file's length in bytes (the header's ntotal must fit it), or -1 when unknown
   * @return the header's ntotal: the number of entries the shard holds
   */
  public static long readShardHeader(InputStream in, String sourceName, long length, InvertedFileIndex quantizer)
      throws IOException {
    Reader r = shardReader(in, sourceName, length, quantizer);
    r.readShardParams(quantizer);
    return r.ntotal;
  }

  // ============================== reading ==============================

  /** Reads an index from {@code file}, checking every size against the file's length. */
  public static VectorIndex read(Path file) throws IOException {
    return FormatInput.readFile(file, in -> new Reader(in).read());
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
    return new Reader(FormatInput.open(in, sourceName, length)).read();
  }

  /** One read: the header fields and the section walk (of a whole file, or of a nested one). */
  private static final class Reader {
    private final FormatInput in;
    private final String src;
    /** Prefix of every message: "" for the whole file, else where this nested file lies. */
    private final String scope;
    /** 0 for the whole file, 1 for a file nested in it, ... */
    private final int depth;
    /** Where this file starts in the outermost file (0 unless nested). */
    private final long base;
    private int version;
    private int fileType;
    private int d;
    private Metric metric;
    private long ntotal;
    /** Start and byteLength of the section returned by the last {@link #nextSection}. */
    private long sectionStart;
    private long sectionLength;

    Reader(FormatInput in) {
      this(in, 0, 0);
    }

    private Reader(FormatInput in, int depth, long base) {
      this.in = in;
      this.src = in.source();
      this.scope = in.scope();
      this.depth = depth;
      this.base = base;
    }

    VectorIndex read() throws IOException {
      readHeader();
      return readBody();
    }

    /** The fields of a shard's header and 'SHPR' section, checked against its quantizer. */
    private record ShardParams(int nlist, int codeSize, String layout) {}

    /**
     * Reads and checks a shard's header and 'SHPR' against {@code quantizer}: the file type, d,
     * metric, index type, nlist, code size and flags, and that the file is long enough for its
     * ntotal. Reads nothing past 'SHPR'.
     */
    ShardParams readShardParams(InvertedFileIndex quantizer) throws IOException {
      readHeader();
      if (fileType != IndexFormat.TYPE_SHARD) {
        throw new UnsupportedIndexTypeException(src, "file type " + fourccToString(fileType) + " ("
            + IndexFormat.fileTypeName(fileType) + ") is not a shard ('SHRD'); read whole indexes with IndexIO.read");
      }
      if (d != quantizer.d() || metric != quantizer.metric()) {
        throw new CorruptIndexException(src, "the shard has d = " + d + " and metric " + metric + " but its quantizer ("
            + quantizer.factoryString() + ") has d = " + quantizer.d() + " and metric " + quantizer.metric()
            + "; a shard is read with the quantizer it was built with");
      }
      String layout = layout();
      in.requireRemaining(4L * SECTION_HEADER_BYTES + IndexFormat.SHARD_PARAMS_BYTES + 8L * ntotal + FOOTER_BYTES,
          "a shard with ntotal=" + ntotal);
      expectSection(IndexFormat.SECTION_SHARD_PARAMS, IndexFormat.SHARD_PARAMS_BYTES, "fixed", layout);
      long at = in.position();
      int type = in.readInt("section 'SHPR' (indexType)");
      int nlist = in.readInt("section 'SHPR' (nlist)");
      int cs = in.readInt("section 'SHPR' (codeSize)");
      int flags = in.readInt("section 'SHPR' (flags)");
      int wantType = shardIndexType(quantizer);
      if (type != wantType || nlist != quantizer.nlist() || cs != quantizer.codeSize()) {
        throw new CorruptIndexException(src, "section 'SHPR' (byte " + at + ") describes a shard of an "
            + fourccToString(type) + " index with nlist = " + nlist + " and codes of " + cs + " bytes, but its quantizer ("
            + quantizer.factoryString() + ") is " + fourccToString(wantType) + " with nlist = " + quantizer.nlist()
            + " and codes of " + quantizer.codeSize() + " bytes");
      }
      if (flags != 0) {
        throw new CorruptIndexException(src, String.format("flags 0x%x in section 'SHPR' (byte %d): format version %d "
            + "defines no shard flags; valid flags are 0", flags, at + 12, version));
      }
      return new ShardParams(nlist, cs, layout);
    }

    /** The shard's header, then its lists into {@code quantizer.emptyCopy()}. */
    InvertedFileIndex readShard(InvertedFileIndex quantizer) throws IOException {
      ShardParams sp = readShardParams(quantizer);
      int nlist = sp.nlist();
      int cs = sp.codeSize();
      String layout = sp.layout();
      long maxPerList = MAX_ARRAY_LENGTH / cs;
      in.requireRemaining(3L * SECTION_HEADER_BYTES + 8L * nlist + 8L * ntotal + ntotal * cs + FOOTER_BYTES,
          "a shard with nlist=" + nlist + ", ntotal=" + ntotal + " and codes of " + cs + " bytes");
      long[] sizes = readListSizes(nlist, true, maxPerList, "codes of " + cs + " bytes", layout);
      expectSection(IndexFormat.SECTION_LIST_IDS, 8L * ntotal, "8 * ntotal", layout);
      long[][] listIds = new long[nlist][];
      for (int l = 0; l < nlist; l++) {
        listIds[l] = sizes[l] == 0 ? null : in.readLongs((int) sizes[l], "section 'LIDS' (list " + l + ", " + sizes[l]
            + " ids)");
      }
      expectSection(IndexFormat.SECTION_LIST_CODES, ntotal * cs, "ntotal * codeSize with codeSize=" + cs, layout);
      InvertedFileIndex shard = quantizer.emptyCopy();
      for (int l = 0; l < nlist; l++) {
        if (sizes[l] > 0) {
          byte[] codes = in.readBytes((int) sizes[l] * cs, "section 'LCOD' (list " + l + ", " + sizes[l] + " codes of "
              + cs + " bytes)");
          shard.addPreassigned(l, listIds[l], 0, codes, 0, (int) sizes[l]);
          listIds[l] = null;
        }
      }
      readFooter(layout);
      return shard;
    }

    private VectorIndex readBody() throws IOException {
      // version gates for later formats go here: if (version >= IndexFormat.VERSION_XYZ) ...
      if (fileType == IndexFormat.TYPE_FLAT) {
        return readFlat();
      }
      if (fileType == IndexFormat.TYPE_IVF_FLAT || fileType == IndexFormat.TYPE_IVF_HNSW_FLAT) {
        return readIvf();
      }
      if (fileType == IndexFormat.TYPE_HNSW_FLAT || fileType == IndexFormat.TYPE_HNSW_PQ
          || fileType == IndexFormat.TYPE_HNSW_SQ) {
        return readHnsw();
      }
      if (fileType == IndexFormat.TYPE_PQ || fileType == IndexFormat.TYPE_SQ) {
        return readFlatCodes();
      }
      if (fileType == IndexFormat.TYPE_IVF_PQ || fileType == IndexFormat.TYPE_IVF_SQ
          || fileType == IndexFormat.TYPE_IVF_HNSW_PQ || fileType == IndexFormat.TYPE_IVF_HNSW_SQ) {
        return readIvfCodes();
      }
      if (fileType == IndexFormat.TYPE_REFINE_FLAT) {
        return readRefine();
      }
      if (fileType == IndexFormat.TYPE_L2_NORM) {
        return readL2Norm();
      }
      if (fileType == IndexFormat.TYPE_SHARD) {
        throw new UnsupportedIndexTypeException(src, scope + "this is a shard file ('SHRD'): it holds some inverted lists "
            + "of an IVF index and is read with IndexIO.readShard and the index's quantizer, not as an index");
      }
      throw unsupportedType(); // a type in FILE_TYPES without a reader
    }

    private UnsupportedIndexTypeException unsupportedType() {
      return new UnsupportedIndexTypeException(src, scope + "file type " + fourccToString(fileType) + " (header offset "
          + IndexFormat.OFFSET_FILE_TYPE + ") is not one this reader supports in format version " + version
          + ": valid types are " + IndexFormat.fileTypeList());
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
        if (prefix || depth > 0) { // a nested file is at least MIN_FILE_BYTES long: its data ended early
          throw new TruncatedIndexException(src, scope + "truncated: the data ends at byte " + got + ", inside the magic; "
              + "an index file starts with the " + IndexFormat.HEADER_BYTES + "-byte header, magic 'QVR1'");
        }
        throw new NotAnIndexFileException(src, "not a Quiver index file: it has only " + got
            + " bytes and does not start with the magic 'QVR1'");
      }
      if (magic != IndexFormat.MAGIC) {
        if (depth > 0) {
          throw new CorruptIndexException(src, scope + "the nested index file starts with " + fourccToString(magic)
              + " where an index file starts with the magic 'QVR1'");
        }
        throw new NotAnIndexFileException(src, "not a Quiver index file: it starts with " + fourccToString(magic)
            + " where an index file (" + IndexFormat.FILE_EXTENSION + ") starts with the magic 'QVR1'");
      }
      version = in.readInt("the header's formatVersion (offset " + IndexFormat.OFFSET_VERSION + ")");
      if (version > IndexFormat.VERSION_CURRENT) {
        throw new IndexFormatTooNewException(src, scope, version);
      }
      if (version < IndexFormat.VERSION_MIN_SUPPORTED) {
        throw new IndexFormatTooOldException(src, scope, version);
      }
      fileType = in.readInt("the header's fileType (offset " + IndexFormat.OFFSET_FILE_TYPE + ")");
      if (!IndexFormat.isKnownFileType(fileType)) {
        throw unsupportedType();
      }
      d = in.readInt("the header's d (offset " + IndexFormat.OFFSET_D + ")");
      if (d < 1 || d > IndexFormat.MAX_D) {
        throw new InvalidLengthException(src, scope + "d = " + d + " in the header (offset " + IndexFormat.OFFSET_D
            + "); valid d is 1.." + IndexFormat.MAX_D);
      }
      int metricCode = in.readInt("the header's metric (offset " + IndexFormat.OFFSET_METRIC + ")");
      try {
        metric = Metric.fromCode(metricCode);
      } catch (IllegalArgumentException e) {
        throw new CorruptIndexException(src, scope + "metric code " + metricCode + " in the header (offset "
            + IndexFormat.OFFSET_METRIC + ") is not valid: " + e.getMessage());
      }
      ntotal = in.readLong("the header's ntotal (offset " + IndexFormat.OFFSET_NTOTAL + ")");
      if (ntotal < 0) {
        throw new InvalidLengthException(src, scope + "ntotal = " + ntotal + " in the header (offset "
            + IndexFormat.OFFSET_NTOTAL + "); ntotal must be >= 0");
      }
    }

    // ---- Flat ----

    private VectorIndex readFlat() throws IOException {
      long maxRows = MAX_ARRAY_LENGTH / d;
      if (ntotal > maxRows) {
        throw new InvalidLengthException(src, scope + "ntotal = " + ntotal + " with d = " + d + " in the header: a Flat "
            + "index holds at most " + maxRows + " vectors of this d (ntotal * d must fit one Java array)");
      }
      int n = (int) ntotal;
      in.requireRemaining(2L * SECTION_HEADER_BYTES + 8L * n + 4L * n * d + FOOTER_BYTES,
          "a Flat index with ntotal=" + n + " and d=" + d);
      String layout = layout();
      expectSection(IndexFormat.SECTION_IDS, 8L * n, "8 * ntotal", layout);
      long[] ids = in.readLongs(n, "section 'IDS_' (" + n + " ids)");
      expectSection(IndexFormat.SECTION_VECTORS, 4L * n * d, "4 * ntotal * d", layout);
      float[] vectors = in.readFloats(n * d, "section 'VECS' (" + n + " vectors of d=" + d + ")");
      readFooter(layout);
      try {
        return FlatIndex.fromStorage(d, metric, vectors, ids);
      } catch (IllegalArgumentException e) {
        throw new CorruptIndexException(src, scope + "the stored Flat index is invalid: " + e.getMessage());
      }
    }

    // ---- IVF ----

    /** The 'PRMS' fields. */
    private record IvfParams(int nlist, int nprobe, boolean trained, long at) {}

    /** Reads and checks 'PRMS'. */
    private IvfParams readIvfParams(String layout) throws IOException {
      expectSection(IndexFormat.SECTION_IVF_PARAMS, IndexFormat.IVF_PARAMS_BYTES, "fixed", layout);
      long at = in.position();
      int nlist = in.readInt("section 'PRMS' (nlist)");
      if (nlist < 1 || nlist > IndexFormat.MAX_NLIST) {
        throw new InvalidLengthException(src, scope + "nlist = " + nlist + " in section 'PRMS' (byte " + at
            + "); valid nlist is 1.." + IndexFormat.MAX_NLIST);
      }
      if ((long) nlist * d > MAX_ARRAY_LENGTH) {
        throw new InvalidLengthException(src, scope + "nlist = " + nlist + " with d = " + d + " in section 'PRMS' (byte "
            + at + "): the nlist * d centroid floats must fit one Java array (at most " + MAX_ARRAY_LENGTH + ")");
      }
      int nprobe = in.readInt("section 'PRMS' (nprobe)");
      if (nprobe < 1) {
        throw new CorruptIndexException(src, scope + "nprobe = " + nprobe + " in section 'PRMS' (byte " + (at + 4)
            + "); nprobe must be >= 1");
      }
      int flags = in.readInt("section 'PRMS' (flags)");
      if ((flags & ~IndexFormat.IVF_FLAGS_KNOWN) != 0) {
        throw new CorruptIndexException(src, scope + String.format("flags 0x%x in section 'PRMS' (byte %d) set bits "
            + "that format version %d does not define; valid flags are 0 and 0x%x (trained)", flags, at + 8, version,
            IndexFormat.IVF_FLAG_TRAINED));
      }
      boolean trained = (flags & IndexFormat.IVF_FLAG_TRAINED) != 0;
      if (!trained && ntotal != 0) {
        throw new CorruptIndexException(src, scope + "section 'PRMS' (byte " + at + ") says the index is untrained but "
            + "the header says ntotal = " + ntotal + "; an untrained IVF index holds no vectors");
      }
      return new IvfParams(nlist, nprobe, trained, at);
    }

    /** Reads 'LSIZ' and checks each size (0 .. maxPerList) and their sum (ntotal). */
    private long[] readListSizes(int nlist, boolean trained, long maxPerList, String perWhat, String layout)
        throws IOException {
      expectSection(IndexFormat.SECTION_LIST_SIZES, 8L * nlist, "8 * nlist",
          trained ? layout : layout + "; an untrained index has no 'CENT'");
      long sizesStart = in.position();
      long[] sizes = in.readLongs(nlist, "section 'LSIZ' (" + nlist + " list sizes)");
      long sum = 0;
      for (int l = 0; l < nlist; l++) {
        if (sizes[l] < 0 || sizes[l] > maxPerList) {
          throw new InvalidLengthException(src, scope + "list " + l + " has size " + sizes[l] + " in section 'LSIZ' (byte "
              + (sizesStart + 8L * l) + "); valid sizes are 0.." + maxPerList + " for " + perWhat);
        }
        sum += sizes[l];
      }
      if (sum != ntotal) {
        throw new InvalidLengthException(src, scope + "the " + nlist + " list sizes in section 'LSIZ' (byte " + sizesStart
            + ") sum to " + sum + " but the header says ntotal = " + ntotal + "; they must be equal");
      }
      return sizes;
    }

    private VectorIndex readIvf() throws IOException {
      long maxPerList = MAX_ARRAY_LENGTH / d;
      if (ntotal > IndexFormat.MAX_NLIST * maxPerList) {
        throw new InvalidLengthException(src, scope + "ntotal = " + ntotal + " with d = " + d + " in the header: an IVF "
            + "index holds at most nlist (<= " + IndexFormat.MAX_NLIST + ") lists of " + maxPerList + " vectors of this d");
      }
      // PRMS, LSIZ, LIDS and LVEC section headers, the PRMS payload, ids, vectors, footer
      long fixedBytes = 4L * SECTION_HEADER_BYTES + IndexFormat.IVF_PARAMS_BYTES + 8L * ntotal + 4L * ntotal * d
          + FOOTER_BYTES;
      in.requireRemaining(fixedBytes, "an IVF index with ntotal=" + ntotal + " and d=" + d);
      String layout = layout();

      IvfParams p = readIvfParams(layout);
      int nlist = p.nlist();
      boolean trained = p.trained();
      if (ntotal > nlist * maxPerList) {
        throw new InvalidLengthException(src, scope + "ntotal = " + ntotal + " does not fit " + nlist + " lists of at most "
            + maxPerList + " vectors of d=" + d);
      }
      in.requireRemaining(fixedBytes - SECTION_HEADER_BYTES - IndexFormat.IVF_PARAMS_BYTES + 8L * nlist
          + (trained ? SECTION_HEADER_BYTES + 4L * nlist * d : 0),
          "an IVF index with nlist=" + nlist + ", ntotal=" + ntotal + " and d=" + d + (trained ? "" : ", untrained"));

      float[] centroids = trained ? readCentroids(nlist, layout) : null;
      HnswCoarseQuantizer coarse = readCoarseGraph(nlist, trained, layout);
      long[] sizes = readListSizes(nlist, trained, maxPerList, "d=" + d, layout);

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
          return IvfIndex.fromStorage(d, metric, nlist, p.nprobe(), centroids, listIds, listVectors, coarse);
        }
        IvfIndex index = new IvfIndex(d, nlist, metric, coarse);
        index.setNprobe(p.nprobe());
        return index;
      } catch (IllegalArgumentException e) {
        throw new CorruptIndexException(src, scope + "the stored IVF index is invalid: " + e.getMessage());
      }
    }

    private float[] readCentroids(int nlist, String layout) throws IOException {
      expectSection(IndexFormat.SECTION_CENTROIDS, 4L * nlist * d, "4 * nlist * d", layout);
      return in.readFloats(nlist * d, "section 'CENT' (" + nlist + " centroids of d=" + d + ")");
    }

    // ---- quantizers ----

    /** The stored parameters of a product or scalar quantizer, and its codebook or ranges once read. */
    private final class Codec {
      final boolean pq;
      final int m;
      final int nbits;
      final ScalarQuantizer.Type sqType;
      final boolean trained;
      final int codeSize;
      /** Where the params payload starts. */
      final long at;
      float[] codebook;
      float[] vmin;
      float[] vdiff;

      Codec(boolean pq, int m, int nbits, ScalarQuantizer.Type sqType, boolean trained, int codeSize, long at) {
        this.pq = pq;
        this.m = m;
        this.nbits = nbits;
        this.sqType = sqType;
        this.trained = trained;
        this.codeSize = codeSize;
        this.at = at;
      }

      String paramsSection() {
        return pq ? "'PQPR'" : "'SQPR'";
      }

      /** Bytes of the 'PQCB' or 'SQRG' section that follows (header included), 0 when there is none. */
      long bodyBytes() {
        if (pq) {
          return trained ? SECTION_HEADER_BYTES + 4L * (1 << nbits) * d : 0;
        }
        return CodecSections.hasRanges(sqType, trained) ? SECTION_HEADER_BYTES + 8L * d : 0;
      }

      void readBody(String layout) throws IOException {
        if (pq && trained) {
          int ksub = 1 << nbits;
          expectSection(IndexFormat.SECTION_PQ_CODEBOOK, 4L * ksub * d, "4 * 2^nbits * d with nbits=" + nbits, layout);
          codebook = in.readFloats(ksub * d, "section 'PQCB' (" + m + " x " + ksub + " centroids of " + (d / m)
              + " floats)");
        } else if (!pq && CodecSections.hasRanges(sqType, trained)) {
          expectSection(IndexFormat.SECTION_SQ_RANGES, 8L * d, "8 * d", layout);
          vmin = in.readFloats(d, "section 'SQRG' (vmin, " + d + " floats)");
          vdiff = in.readFloats(d, "section 'SQRG' (vdiff, " + d + " floats)");
        }
      }

      ProductQuantizer buildPq() throws CorruptIndexException {
        try {
          return trained ? ProductQuantizer.fromCentroids(d, m, nbits, codebook) : new ProductQuantizer(d, m, nbits);
        } catch (IllegalArgumentException e) {
          throw new CorruptIndexException(src, scope + "the product quantizer stored in sections 'PQPR' (byte " + at
              + ") and 'PQCB' is invalid: " + e.getMessage());
        }
      }

      ScalarQuantizer buildSq() throws CorruptIndexException {
        try {
          return CodecSections.hasRanges(sqType, trained) ? ScalarQuantizer.fromTrained(d, sqType, vmin, vdiff)
              : new ScalarQuantizer(d, sqType);
        } catch (IllegalArgumentException e) {
          throw new CorruptIndexException(src, scope + "the scalar quantizer stored in sections 'SQPR' (byte " + at
              + ") and 'SQRG' is invalid: " + e.getMessage());
        }
      }
    }

    /** Reads and checks 'PQPR': m divides d, nbits in range, known flags. */
    private Codec readPqParams(String layout) throws IOException {
      expectSection(IndexFormat.SECTION_PQ_PARAMS, IndexFormat.PQ_PARAMS_BYTES, "fixed", layout);
      long at = in.position();
      int m = in.readInt("section 'PQPR' (m)");
      if (m < 1 || m > d || d % m != 0) {
        throw new InvalidLengthException(src, scope + "m = " + m + " in section 'PQPR' (byte " + at + ") with d = " + d
            + ": the number of PQ sub-quantizers must divide d (valid m are the divisors of d, 1.." + d + ")");
      }
      int nbits = in.readInt("section 'PQPR' (nbits)");
      if (nbits < IndexFormat.PQ_MIN_NBITS || nbits > IndexFormat.PQ_MAX_NBITS) {
        throw new InvalidLengthException(src, scope + "nbits = " + nbits + " in section 'PQPR' (byte " + (at + 4)
            + "); valid PQ nbits are " + IndexFormat.PQ_MIN_NBITS + ".." + IndexFormat.PQ_MAX_NBITS);
      }
      boolean trained = readQuantizerFlags("'PQPR'", at + 8);
      return new Codec(true, m, nbits, null, trained, (m * nbits + 7) / 8, at);
    }

    /** Reads and checks 'SQPR': a valid type code, known flags, SQfp16 always trained. */
    private Codec readSqParams(String layout) throws IOException {
      expectSection(IndexFormat.SECTION_SQ_PARAMS, IndexFormat.SQ_PARAMS_BYTES, "fixed", layout);
      long at = in.position();
      int code = in.readInt("section 'SQPR' (type)");
      ScalarQuantizer.Type type = sqType(code);
      if (type == null) {
        throw new CorruptIndexException(src, scope + "scalar quantizer type code " + code + " in section 'SQPR' (byte "
            + at + ") is not valid: valid codes are " + IndexFormat.SQ_TYPE_8BIT + " (SQ8), " + IndexFormat.SQ_TYPE_4BIT
            + " (SQ4) and " + IndexFormat.SQ_TYPE_FP16 + " (SQfp16)");
      }
      boolean trained = readQuantizerFlags("'SQPR'", at + 4);
      if (type == ScalarQuantizer.Type.SQFP16 && !trained) {
        throw new CorruptIndexException(src, scope + "section 'SQPR' (byte " + at + ") says its SQfp16 quantizer is "
            + "untrained, but SQfp16 needs no training: its trained flag is always set");
      }
      int codeSize = type == ScalarQuantizer.Type.SQ8 ? d : type == ScalarQuantizer.Type.SQ4 ? (d + 1) / 2 : 2 * d;
      return new Codec(false, 0, 0, type, trained, codeSize, at);
    }

    private boolean readQuantizerFlags(String section, long at) throws IOException {
      int flags = in.readInt("section " + section + " (flags)");
      if ((flags & ~IndexFormat.QUANTIZER_FLAGS_KNOWN) != 0) {
        throw new CorruptIndexException(src, scope + String.format("flags 0x%x in section %s (byte %d) set bits that "
            + "format version %d does not define; valid flags are 0 and 0x%x (trained)", flags, section, at, version,
            IndexFormat.QUANTIZER_FLAG_TRAINED));
      }
      return (flags & IndexFormat.QUANTIZER_FLAG_TRAINED) != 0;
    }

    // ---- PQ and SQ (flat codes) ----

    private VectorIndex readFlatCodes() throws IOException {
      boolean pq = fileType == IndexFormat.TYPE_PQ;
      String kind = IndexFormat.fileTypeName(fileType);
      if (ntotal > MAX_ARRAY_LENGTH) {
        throw new InvalidLengthException(src, scope + "ntotal = " + ntotal + " in the header: a " + kind + " index holds "
            + "at most " + MAX_ARRAY_LENGTH + " vectors (its ids and its codes must each fit one Java array)");
      }
      int n = (int) ntotal;
      int paramsBytes = pq ? IndexFormat.PQ_PARAMS_BYTES : IndexFormat.SQ_PARAMS_BYTES;
      // params, IDS_ and CODE section headers, the params payload, ids, codes of at least 1 byte, footer
      in.requireRemaining(3L * SECTION_HEADER_BYTES + paramsBytes + 9L * n + FOOTER_BYTES,
          "a " + kind + " index with ntotal=" + n);
      String layout = layout();
      Codec codec = pq ? readPqParams(layout) : readSqParams(layout);
      if (!codec.trained && n > 0) {
        throw new CorruptIndexException(src, scope + "section " + codec.paramsSection() + " (byte " + codec.at + ") says "
            + "the quantizer is untrained but the header says ntotal = " + n + "; an untrained index holds no vectors");
      }
      int cs = codec.codeSize;
      long maxRows = MAX_ARRAY_LENGTH / cs;
      if (n > maxRows) {
        throw new InvalidLengthException(src, scope + "ntotal = " + n + " in the header with codes of " + cs + " bytes: a "
            + kind + " index holds at most " + maxRows + " such codes (ntotal * codeSize must fit one Java array)");
      }
      in.requireRemaining(codec.bodyBytes() + 2L * SECTION_HEADER_BYTES + 8L * n + (long) n * cs + FOOTER_BYTES,
          "a " + kind + " index with ntotal=" + n + " and codes of " + cs + " bytes");
      codec.readBody(layout);
      expectSection(IndexFormat.SECTION_IDS, 8L * n, "8 * ntotal", layout);
      long[] ids = in.readLongs(n, "section 'IDS_' (" + n + " ids)");
      expectSection(IndexFormat.SECTION_CODES, (long) n * cs, "ntotal * codeSize with codeSize=" + cs, layout);
      byte[] codes = in.readBytes(n * cs, "section 'CODE' (" + n + " codes of " + cs + " bytes)");
      readFooter(layout);
      try {
        if (pq) {
          ProductQuantizer q = codec.buildPq();
          return codec.trained ? PqIndex.fromStorage(d, metric, q, ids, codes) : new PqIndex(d, q.m(), q.nbits(), metric);
        }
        return SqIndex.fromStorage(d, metric, codec.buildSq(), ids, codes);
      } catch (IllegalArgumentException e) {
        throw new CorruptIndexException(src, scope + "the stored " + kind + " index is invalid: " + e.getMessage());
      }
    }

    // ---- IVF,PQ and IVF,SQ ----

    private VectorIndex readIvfCodes() throws IOException {
      boolean pq = fileType == IndexFormat.TYPE_IVF_PQ || fileType == IndexFormat.TYPE_IVF_HNSW_PQ;
      String kind = IndexFormat.fileTypeName(fileType);
      if (ntotal > (long) IndexFormat.MAX_NLIST * MAX_ARRAY_LENGTH) {
        throw new InvalidLengthException(src, scope + "ntotal = " + ntotal + " in the header: an " + kind + " index holds "
            + "at most nlist (<= " + IndexFormat.MAX_NLIST + ") lists of at most " + MAX_ARRAY_LENGTH + " vectors");
      }
      int paramsBytes = pq ? IndexFormat.PQ_PARAMS_BYTES : IndexFormat.SQ_PARAMS_BYTES;
      // PRMS, params, LSIZ, LIDS, LCOD section headers, both params payloads, ids, codes of >= 1 byte, footer
      long fixedBytes = 5L * SECTION_HEADER_BYTES + IndexFormat.IVF_PARAMS_BYTES + paramsBytes + 9L * ntotal
          + FOOTER_BYTES;
      in.requireRemaining(fixedBytes, "an " + kind + " index with ntotal=" + ntotal);
      String layout = layout();

      IvfParams p = readIvfParams(layout);
      int nlist = p.nlist();
      boolean trained = p.trained();
      in.requireRemaining(fixedBytes - SECTION_HEADER_BYTES - IndexFormat.IVF_PARAMS_BYTES + 8L * nlist
          + (trained ? SECTION_HEADER_BYTES + 4L * nlist * d : 0),
          "an " + kind + " index with nlist=" + nlist + ", ntotal=" + ntotal + " and d=" + d
          + (trained ? "" : ", untrained"));
      float[] centroids = trained ? readCentroids(nlist, layout) : null;
      HnswCoarseQuantizer coarse = readCoarseGraph(nlist, trained, layout);

      Codec codec = pq ? readPqParams(layout) : readSqParams(layout);
      boolean codecTrained = trained || codec.sqType == ScalarQuantizer.Type.SQFP16;
      if (codec.trained != codecTrained) {
        throw new CorruptIndexException(src, scope + "section 'PRMS' (byte " + p.at() + ") says the index is "
            + (trained ? "trained" : "untrained") + " but section " + codec.paramsSection() + " (byte " + codec.at
            + ") says its quantizer is " + (codec.trained ? "trained" : "untrained") + "; they must agree (an untrained "
            + "index is written without its quantizer's training)");
      }
      int cs = codec.codeSize;
      long maxPerList = MAX_ARRAY_LENGTH / cs;
      if (ntotal > nlist * maxPerList) {
        throw new InvalidLengthException(src, scope + "ntotal = " + ntotal + " does not fit " + nlist + " lists of at most "
            + maxPerList + " codes of " + cs + " bytes");
      }
      in.requireRemaining(codec.bodyBytes() + 3L * SECTION_HEADER_BYTES + 8L * nlist + 8L * ntotal + ntotal * cs
          + FOOTER_BYTES, "an " + kind + " index with nlist=" + nlist + ", ntotal=" + ntotal + " and codes of " + cs
          + " bytes");
      codec.readBody(layout);

      long[] sizes = readListSizes(nlist, trained, maxPerList, "codes of " + cs + " bytes", layout);
      expectSection(IndexFormat.SECTION_LIST_IDS, 8L * ntotal, "8 * ntotal", layout);
      long[][] listIds = new long[nlist][];
      for (int l = 0; l < nlist; l++) {
        listIds[l] = in.readLongs((int) sizes[l], "section 'LIDS' (list " + l + ", " + sizes[l] + " ids)");
      }
      expectSection(IndexFormat.SECTION_LIST_CODES, ntotal * cs, "ntotal * codeSize with codeSize=" + cs, layout);
      byte[][] listCodes = new byte[nlist][];
      for (int l = 0; l < nlist; l++) {
        listCodes[l] = in.readBytes((int) sizes[l] * cs,
            "section 'LCOD' (list " + l + ", " + sizes[l] + " codes of " + cs + " bytes)");
      }
      readFooter(layout);
      try {
        IvfCodesIndex index;
        if (pq) {
          ProductQuantizer q = codec.buildPq();
          index = trained ? IvfPqIndex.fromStorage(d, metric, nlist, p.nprobe(), centroids, q, listIds, listCodes, coarse)
              : new IvfPqIndex(d, nlist, q.m(), q.nbits(), metric, coarse);
        } else {
          ScalarQuantizer q = codec.buildSq();
          index = trained ? IvfSqIndex.fromStorage(d, metric, nlist, p.nprobe(), centroids, q, listIds, listCodes, coarse)
              : new IvfSqIndex(d, nlist, q.type(), metric, coarse);
        }
        index.setNprobe(p.nprobe());
        return index;
      } catch (IllegalArgumentException e) {
        throw new CorruptIndexException(src, scope + "the stored " + kind + " index is invalid: " + e.getMessage());
      }
    }

    // ---- HNSW ----

    /** The 'HNPR' fields. */
    private record HnswParams(int m, int efConstruction, int efSearch, int entryPoint) {}

    /**
     * Reads and checks 'HNPR' of a graph of {@code nodes} nodes: M in range, efConstruction and
     * efSearch in range, the entry point -1 exactly when the graph is empty, flags 0.
     */
    private HnswParams readHnswParams(int nodes, String layout) throws IOException {
      expectSection(IndexFormat.SECTION_HNSW_PARAMS, IndexFormat.HNSW_PARAMS_BYTES, "fixed", layout);
      long at = in.position();
      int m = in.readInt("section 'HNPR' (M)");
      if (m < 2 || m > IndexFormat.MAX_HNSW_M) {
        throw new InvalidLengthException(src, scope + "M = " + m + " in section 'HNPR' (byte " + at + "); valid HNSW M is "
            + "2.." + IndexFormat.MAX_HNSW_M);
      }
      int efConstruction = in.readInt("section 'HNPR' (efConstruction)");
      int efSearch = in.readInt("section 'HNPR' (efSearch)");
      for (int i = 0; i < 2; i++) {
        int ef = i == 0 ? efConstruction : efSearch;
        if (ef < 1 || ef > IndexFormat.MAX_HNSW_EF) {
          throw new CorruptIndexException(src, scope + (i == 0 ? "efConstruction" : "efSearch") + " = " + ef
              + " in section 'HNPR' (byte " + (at + 4 + 4 * i) + "); valid values are 1.." + IndexFormat.MAX_HNSW_EF);
        }
      }
      int entry = in.readInt("section 'HNPR' (entryPoint)");
      if (nodes == 0 ? entry != -1 : entry < 0 || entry >= nodes) {
        throw new CorruptIndexException(src, scope + "entryPoint = " + entry + " in section 'HNPR' (byte " + (at + 12)
            + ") for a graph of " + nodes + " nodes; valid: " + (nodes == 0 ? "-1 (empty graph)" : "0.." + (nodes - 1)));
      }
      int flags = in.readInt("section 'HNPR' (flags)");
      if (flags != 0) {
        throw new CorruptIndexException(src, scope + String.format("flags 0x%x in section 'HNPR' (byte %d): format "
            + "version %d defines no HNSW flags; valid flags are 0", flags, at + 16, version));
      }
      return new HnswParams(m, efConstruction, efSearch, entry);
    }

    /**
     * Reads 'HLVL' and 'HNBR' of a graph of {@code nodes} nodes: each node's level count in
     * 1..maxLevels(M), then exactly the link slots those levels take (checked against the file
     * before they are allocated). The links themselves are checked when the graph is restored.
     */
    private Hnsw.Stored readHnswGraph(int nodes, HnswParams hp, String layout) throws IOException {
      expectSection(IndexFormat.SECTION_HNSW_LEVELS, 4L * nodes, "4 * nodes with nodes=" + nodes, layout);
      long at = in.position();
      int[] levels = in.readInts(nodes, "section 'HLVL' (" + nodes + " level counts)");
      int top = Hnsw.maxLevels(hp.m());
      long slots = 0;
      for (int i = 0; i < nodes; i++) {
        if (levels[i] < 1 || levels[i] > top) {
          throw new InvalidLengthException(src, scope + "node " + i + " has " + levels[i] + " levels in section 'HLVL' (byte "
              + (at + 4L * i) + "); with M=" + hp.m() + " a node has 1.." + top + " levels");
        }
        slots += Hnsw.slots(hp.m(), levels[i]);
      }
      if (slots > MAX_ARRAY_LENGTH) {
        throw new InvalidLengthException(src, scope + "the levels in section 'HLVL' (byte " + at + ") need " + slots
            + " link slots, more than one Java array holds (" + MAX_ARRAY_LENGTH + ")");
      }
      expectSection(IndexFormat.SECTION_HNSW_NEIGHBORS, 4L * slots, "4 * the link slots of the levels in 'HLVL' ("
          + slots + ")", layout);
      int[] links = in.readInts((int) slots, "section 'HNBR' (" + slots + " link slots)");
      return new Hnsw.Stored(levels, links, hp.entryPoint());
    }

    /**
     * For 'IHxx' files, 'HNPR' and, when trained, the graph over the centroids: an HNSW coarse
     * quantizer holding it, which publishing the centroids takes; null for 'IVxx' files.
     */
    private HnswCoarseQuantizer readCoarseGraph(int nlist, boolean trained, String layout) throws IOException {
      if (fileType != IndexFormat.TYPE_IVF_HNSW_FLAT && fileType != IndexFormat.TYPE_IVF_HNSW_PQ
          && fileType != IndexFormat.TYPE_IVF_HNSW_SQ) {
        return null;
      }
      HnswParams hp = readHnswParams(trained ? nlist : 0, layout);
      HnswCoarseQuantizer q = new HnswCoarseQuantizer(d, nlist, metric.higherIsCloser(), hp.m());
      q.setEfConstruction(hp.efConstruction());
      q.setEfSearch(hp.efSearch());
      if (trained) {
        Hnsw.Stored g = readHnswGraph(nlist, hp, layout);
        try {
          q.restoreGraph(g);
        } catch (IllegalArgumentException e) {
          throw new CorruptIndexException(src, scope + "the HNSW graph over the centroids in sections 'HLVL' and 'HNBR' "
              + "is invalid: " + e.getMessage());
        }
      }
      return q;
    }

    /** 'HNSF', 'HNPQ', 'HNSQ': an HNSW index. */
    private VectorIndex readHnsw() throws IOException {
      boolean flat = fileType == IndexFormat.TYPE_HNSW_FLAT;
      boolean pq = fileType == IndexFormat.TYPE_HNSW_PQ;
      String kind = IndexFormat.fileTypeName(fileType);
      if (ntotal > MAX_ARRAY_LENGTH) {
        throw new InvalidLengthException(src, scope + "ntotal = " + ntotal + " in the header: an " + kind + " index holds "
            + "at most " + MAX_ARRAY_LENGTH + " vectors (its ids must fit one Java array)");
      }
      int n = (int) ntotal;
      // HNPR, HLVL, HNBR, IDS_ and codes section headers, HNPR payload, levels, ids, codes of >= 1 byte, footer
      in.requireRemaining(5L * SECTION_HEADER_BYTES + IndexFormat.HNSW_PARAMS_BYTES + 13L * n + FOOTER_BYTES,
          "an " + kind + " index with ntotal=" + n);
      String layout = layout();
      HnswParams hp = readHnswParams(n, layout);
      Codec codec = flat ? null : pq ? readPqParams(layout) : readSqParams(layout);
      if (codec != null && !codec.trained && n > 0) {
        throw new CorruptIndexException(src, scope + "section " + codec.paramsSection() + " (byte " + codec.at + ") says "
            + "the quantizer is untrained but the header says ntotal = " + n + "; an untrained index holds no vectors");
      }
      long units = flat ? d : codec.codeSize; // array elements per vector
      if (n > MAX_ARRAY_LENGTH / units) {
        throw new InvalidLengthException(src, scope + "ntotal = " + n + " in the header: an " + kind + " index of d=" + d
            + " holds at most " + MAX_ARRAY_LENGTH / units + " vectors (its codes must fit one Java array)");
      }
      long codeBytes = flat ? 4L * d : codec.codeSize;
      in.requireRemaining((codec == null ? 0 : codec.bodyBytes()) + 4L * SECTION_HEADER_BYTES + 4L * n
          + 8L * hp.m() * n + 8L * n + n * codeBytes + FOOTER_BYTES, "an " + kind + " index with ntotal=" + n + ", M="
          + hp.m() + " and codes of " + codeBytes + " bytes");
      if (codec != null) {
        codec.readBody(layout);
      }
      Hnsw.Stored graph = readHnswGraph(n, hp, layout);
      expectSection(IndexFormat.SECTION_IDS, 8L * n, "8 * ntotal", layout);
      long[] ids = in.readLongs(n, "section 'IDS_' (" + n + " ids)");
      float[] vectors = null;
      byte[] codes = null;
      if (flat) {
        expectSection(IndexFormat.SECTION_VECTORS, 4L * n * d, "4 * ntotal * d", layout);
        vectors = in.readFloats(n * d, "section 'VECS' (" + n + " vectors of d=" + d + ")");
      } else {
        expectSection(IndexFormat.SECTION_CODES, n * codeBytes, "ntotal * codeSize with codeSize=" + codeBytes, layout);
        codes = in.readBytes((int) (n * codeBytes), "section 'CODE' (" + n + " codes of " + codeBytes + " bytes)");
      }
      readFooter(layout);
      try {
        if (flat) {
          return HnswIndex.fromStorage(d, hp.m(), metric, new FlatCodec(d), hp.efConstruction(), hp.efSearch(), ids,
              vectors, graph);
        }
        if (pq) {
          return HnswIndex.fromStorage(d, hp.m(), metric, new PqCodec(codec.buildPq()), hp.efConstruction(),
              hp.efSearch(), ids, codes, graph);
        }
        return HnswIndex.fromStorage(d, hp.m(), metric, new SqCodec(codec.buildSq()), hp.efConstruction(), hp.efSearch(),
            ids, codes, graph);
      } catch (IllegalArgumentException e) {
        throw new CorruptIndexException(src, scope + "the stored " + kind + " index is invalid: " + e.getMessage());
      }
    }

    // ---- wrappers ----

    private VectorIndex readRefine() throws IOException {
      // RPRM, BASE, REFN section headers, the RPRM payload, two nested files, footer
      in.requireRemaining(3L * SECTION_HEADER_BYTES + IndexFormat.REFINE_PARAMS_BYTES + 2L * IndexFormat.MIN_FILE_BYTES
          + FOOTER_BYTES, "an RFlat refine index");
      String layout = layout();
      expectSection(IndexFormat.SECTION_REFINE_PARAMS, IndexFormat.REFINE_PARAMS_BYTES, "fixed", layout);
      long at = in.position();
      float kFactor = Float.intBitsToFloat(in.readInt("section 'RPRM' (kFactor)"));
      if (!(kFactor >= 1f && kFactor <= io.quiver.index.util.Checks.MAX_K_FACTOR)) {
        throw new CorruptIndexException(src, scope + "kFactor = " + kFactor + " in section 'RPRM' (byte " + at
            + "); kFactor must be a number in [1, " + (int) io.quiver.index.util.Checks.MAX_K_FACTOR + "]");
      }
      VectorIndex baseIndex = readNested(IndexFormat.SECTION_BASE, 0, layout);
      VectorIndex refine = readNested(IndexFormat.SECTION_REFINE, IndexFormat.TYPE_FLAT, layout);
      readFooter(layout);
      try {
        return RefineIndex.fromParts(baseIndex, (FlatIndex) refine, kFactor);
      } catch (IllegalArgumentException e) {
        throw new CorruptIndexException(src, scope + "the stored RFlat refine index is invalid: " + e.getMessage());
      }
    }

    private VectorIndex readL2Norm() throws IOException {
      // INNR section header, the nested file, footer
      in.requireRemaining(SECTION_HEADER_BYTES + IndexFormat.MIN_FILE_BYTES + FOOTER_BYTES, "an L2norm index");
      String layout = layout();
      VectorIndex inner = readNested(IndexFormat.SECTION_INNER, 0, layout);
      readFooter(layout);
      return new L2NormIndex(inner);
    }

    /**
     * Reads the next required section, {@code section}, whose payload is a whole index file of
     * the same d, metric and ntotal as this one (of type {@code requiredType} unless 0), filling
     * the section exactly.
     */
    private VectorIndex readNested(int section, int requiredType, String layout) throws IOException {
      String name = fourccToString(section);
      expectSectionHeader(section, layout);
      long start = sectionStart;
      long length = sectionLength;
      if (length < IndexFormat.MIN_FILE_BYTES) {
        throw new InvalidLengthException(src, scope + "section " + name + " at byte " + start + " has byteLength " + length
            + " but holds a nested index file, which is at least " + IndexFormat.MIN_FILE_BYTES + " bytes");
      }
      in.requireRemaining(length + FOOTER_BYTES, "section " + name + " at byte " + start + " (a nested index file of "
          + length + " bytes)");
      if (depth >= IndexFormat.MAX_NESTING_DEPTH) {
        throw new CorruptIndexException(src, scope + "section " + name + " at byte " + start + " nests an index file "
            + (depth + 1) + " levels deep; readers accept at most " + IndexFormat.MAX_NESTING_DEPTH);
      }
      long payload = in.position();
      String nestedScope = scope + "in the index file nested in section " + name + " (from byte " + (base + payload)
          + " of the file; offsets below count from there): ";
      Reader r = new Reader(in.nested(length, nestedScope), depth + 1, base + payload);
      r.readHeader();
      if (requiredType != 0 && r.fileType != requiredType) {
        throw new CorruptIndexException(src, scope + "section " + name + " at byte " + start + " holds a "
            + fourccToString(r.fileType) + " index file where a " + fourccToString(requiredType) + " file belongs; "
            + layout);
      }
      if (r.d != d || r.metric != metric) {
        throw new CorruptIndexException(src, scope + "section " + name + " at byte " + start + " holds an index of d="
            + r.d + ", metric " + r.metric + " but the header says d=" + d + ", metric " + metric + "; they must match");
      }
      if (r.ntotal != ntotal) {
        throw new InvalidLengthException(src, scope + "section " + name + " at byte " + start + " holds an index of ntotal="
            + r.ntotal + " but the header says ntotal = " + ntotal + "; they must be equal");
      }
      VectorIndex index = r.readBody();
      long used = in.position() - payload;
      if (used != length) {
        throw new CorruptIndexException(src, scope + "the index file nested in section " + name + " at byte " + start
            + " ends after " + used + " bytes but the section's byteLength is " + length + "; it must fill its section");
      }
      return index;
    }

    // ---- sections and footer ----

    /** Every section of this file type, required or not, in order (the registry's). */
    private int[] sectionsOfType() {
      return IndexFormat.fileType(fileType).sectionFourccs();
    }

    /** The layout sentence of this file type (the registry's). */
    private String layout() {
      return IndexFormat.fileType(fileType).layout();
    }

    /** True when {@code fourcc} is a required section of this file type. */
    private boolean isSectionOfType(int fourcc) {
      for (int s : sectionsOfType()) {
        if (s == fourcc) {
          return true;
        }
      }
      return false;
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
        throw new InvalidLengthException(src, scope + "section " + fourccToString(fourcc) + " at byte " + sectionStart
            + " has byteLength " + sectionLength + "; lengths must be >= 0");
      }
      long room = in.remaining() - FOOTER_BYTES;
      if (sectionLength > room) {
        throw new InvalidLengthException(src, scope + "section " + fourccToString(fourcc) + " at byte " + sectionStart
            + " claims " + sectionLength + " bytes but the file (" + in.length() + " bytes) has only "
            + Math.max(0, room) + " left before the footer");
      }
    }

    /** Reads the next required section header and checks it is {@code expected} (any length). */
    private void expectSectionHeader(int expected, String layout) throws IOException {
      String name = fourccToString(expected);
      int fourcc = nextSection("expecting section " + name);
      if (fourcc == FOOTER_MAGIC) {
        throw new CorruptIndexException(src, scope + "section " + name + " is missing: the footer starts at byte "
            + sectionStart + "; " + layout);
      }
      if (fourcc != expected) {
        if (isSectionOfType(fourcc)) {
          throw new CorruptIndexException(src, scope + "section " + fourccToString(fourcc) + " at byte " + sectionStart
              + " is out of place: expected " + name + " here; " + layout);
        }
        throw unknownSection(fourcc);
      }
    }

    /** Reads the next required section header and checks it is {@code expected}, of exactly {@code length} bytes. */
    private void expectSection(int expected, long length, String rule, String layout) throws IOException {
      expectSectionHeader(expected, layout);
      String name = fourccToString(expected);
      if (sectionLength != length) {
        throw new InvalidLengthException(src, scope + "section " + name + " at byte " + sectionStart + " has byteLength "
            + sectionLength + " but must be " + length + " (" + rule + " with d=" + d + ", ntotal=" + ntotal + ")");
      }
      in.requireRemaining(length + FOOTER_BYTES, "section " + name + " at byte " + sectionStart);
    }

    private UnknownSectionException unknownSection(int fourcc) {
      return new UnknownSectionException(src, scope + "section " + fourccToString(fourcc) + " at byte " + sectionStart
          + " is not defined by format version " + version + " for file type " + fourccToString(fileType)
          + "; optional sections (which readers skip) start with a lowercase letter, so this file needs a reader that "
          + "knows this section, or it is damaged");
    }

    private void readFooter(String layout) throws IOException {
      int fourcc = nextSection("expecting the footer");
      if (fourcc != FOOTER_MAGIC) {
        if (isSectionOfType(fourcc)) {
          throw new CorruptIndexException(src, scope + "section " + fourccToString(fourcc) + " at byte " + sectionStart
              + " appears again where the footer 'QEND' belongs; " + layout);
        }
        throw unknownSection(fourcc);
      }
      long checked = in.position();
      int computed = in.checksum();
      int stored = in.readIntUnchecksummed("the footer checksum at byte " + checked);
      if (stored != computed) {
        throw new ChecksumMismatchException(src, scope, stored, computed, checked);
      }
      if (in.lengthKnown() && in.position() != in.length()) {
        throw new CorruptIndexException(src, scope + "the index ends at byte " + in.position() + " but the file has "
            + in.length() + " bytes: " + (in.length() - in.position()) + " unexpected bytes follow the footer");
      }
      if (in.firstNonFinite() != null) {
        throw new CorruptIndexException(src, scope + "the checksum matches but " + in.firstNonFinite()
            + "; stored vectors, centroids, codebooks and ranges must be finite (the writer was faulty)");
      }
    }
  }
}
