package io.quiver.index.io;

import static io.quiver.index.io.IndexFormat.MAX_ARRAY_LENGTH;
import static io.quiver.index.io.IndexFormat.fourcc;
import static io.quiver.index.io.IndexFormat.fourccToString;

import io.quiver.index.FlatCodesIndex;
import io.quiver.index.FlatIndex;
import io.quiver.index.InvertedFileIndex;
import io.quiver.index.IvfCodesIndex;
import io.quiver.index.IvfIndex;
import io.quiver.index.IvfPqIndex;
import io.quiver.index.IvfSqIndex;
import io.quiver.index.Metric;
import io.quiver.index.PqIndex;
import io.quiver.index.SqIndex;
import io.quiver.index.VectorIndex;
import io.quiver.index.codec.Codec;
import io.quiver.index.codec.FlatCodec;
import io.quiver.index.codec.PqCodec;
import io.quiver.index.codec.SqCodec;
import io.quiver.index.quantize.ProductQuantizer;
import io.quiver.index.quantize.ScalarQuantizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * Reads and writes FAISS's own index files ({@code faiss.write_index} / {@code faiss.read_index}),
 * the format of {@code faiss/impl/index_write.cpp} and {@code index_read.cpp}; files written here
 * are read by FAISS 1.7.3 and 1.15, and files FAISS writes of these types are read here.
 *
 * <table>
 *   <caption>Quiver indexes and the FAISS file types they map to</caption>
 *   <tr><th>Quiver</th><th>FAISS class</th><th>fourcc</th></tr>
 *   <tr><td>{@link FlatIndex} (L2 / inner product)</td><td>{@code IndexFlatL2} / {@code IndexFlatIP}</td><td>{@code IxF2} / {@code IxFI} (read: also {@code IxFl})</td></tr>
 *   <tr><td>{@link PqIndex}</td><td>{@code IndexPQ}</td><td>{@code IxPq} (read: also {@code IxPQ}, {@code IxPo})</td></tr>
 *   <tr><td>{@link SqIndex} SQ8, SQ4, SQfp16</td><td>{@code IndexScalarQuantizer} ({@code QT_8bit}, {@code QT_4bit}, {@code QT_fp16})</td><td>{@code IxSQ}</td></tr>
 *   <tr><td>a flat index whose ids are not {@code 0 .. ntotal-1}</td><td>{@code IndexIDMap2} over the above</td><td>{@code IxM2} (read: also {@code IxMp}, over flat or IVF indexes)</td></tr>
 *   <tr><td>{@link IvfIndex}</td><td>{@code IndexIVFFlat}</td><td>{@code IwFl}</td></tr>
 *   <tr><td>{@link IvfPqIndex}</td><td>{@code IndexIVFPQ}, {@code by_residual}, no polysemous training</td><td>{@code IwPQ}</td></tr>
 *   <tr><td>{@link IvfSqIndex}</td><td>{@code IndexIVFScalarQuantizer}, {@code by_residual}</td><td>{@code IwSq} (read: also {@code IwSQ})</td></tr>
 * </table>
 *
 * <p>Layout (little endian; {@code size_t} and {@code idx_t} are 8 bytes; a <em>vector</em> is
 * a {@code size_t} element count followed by the elements): every index starts with its fourcc
 * and the header {@code d:int32, ntotal:int64, 2 x int64 (unused, 2^20), is_trained:uint8,
 * metric_type:int32} (0 inner product, 1 L2; types above 1 carry a float {@code metric_arg},
 * which this reader refuses). {@code IxF2}: a vector of {@code ntotal * d} floats.
 * {@code IxPq}: the product quantizer ({@code d, M, nbits: size_t}, a vector of
 * {@code M * 2^nbits * d/M} centroid floats, sub-quantizer-major as {@link ProductQuantizer}'s),
 * a vector of {@code ntotal * code_size} code bytes, {@code search_type:int32, encode_signs:uint8,
 * polysemous_ht:int32}. {@code IxSQ}: the scalar quantizer ({@code qtype:int32, rangestat:int32,
 * rangestat_arg:float, d:size_t, code_size:size_t}, a vector of floats: {@code vmin[d]} then
 * {@code vdiff[d]} for the 8- and 4-bit types, empty for fp16), then a vector of codes.
 * {@code IxM2}: the header, the wrapped index, a vector of {@code ntotal} int64 ids. {@code Iw..}:
 * the header, {@code nlist, nprobe: size_t}, the coarse quantizer as a whole {@code IxF2} /
 * {@code IxFI} index ({@code nlist} centroids), the direct map ({@code type:uint8} and a vector of
 * int64, plus a vector of int64 pairs for a hash table; written empty), then {@code IwPQ}:
 * {@code by_residual:uint8, code_size:size_t}, the product quantizer; {@code IwSq}: the scalar
 * quantizer, {@code code_size:size_t, by_residual:uint8}; then the array inverted lists:
 * {@code 'ilar', nlist:size_t, code_size:size_t}, {@code 'full'} and a vector of {@code nlist}
 * list sizes, or {@code 'sprs'} and a vector of {@code (list, size)} pairs of the non-empty
 * lists (FAISS writes {@code 'full'} when more than half the lists are non-empty, as here), then
 * for each non-empty list in order its {@code size * code_size} code bytes and its {@code size}
 * int64 ids. IVF-Flat codes are the float vectors ({@code code_size = 4 * d}).
 *
 * <p>Metrics: {@link Metric#COSINE} indexes are written as FAISS users build cosine indexes,
 * inner product over the L2-normalized vectors they store; FAISS's searches on such a file must
 * be given normalized queries ({@code faiss.normalize_L2}). Inner-product files read back as
 * {@link Metric#INNER_PRODUCT} indexes. FAISS's IVF searches compute the same values as
 * Quiver's up to float rounding (its summation order differs), so results agree but for ties
 * and near-ties.
 *
 * <p>Writing streams sequentially ({@link #write(VectorIndex, OutputStream)}); it copies one
 * inverted list, or one chunk of flat codes, at a time (as {@link IndexIO}). {@link #ivfWriter} writes an IVF index
 * whose lists come from elsewhere (the shards of a distributed build) one list at a time.
 * Other index types ({@code RefineIndex}, {@code L2NormIndex}, other implementations) are
 * refused with {@link IllegalArgumentException} before any byte is written.
 *
 * <p>Reading checks every field before it is used and every size against the bytes that
 * remain (when the length is known) or lets arrays grow only as bytes arrive (when it is not),
 * as {@link IndexIO} does: a wrong or unknown fourcc, impossible sizes, a field that disagrees
 * with another, a truncated file, bytes after the index (when the length is known) and
 * non-finite floats each throw an {@link IndexFileException} subclass whose message names the
 * file, the field and its byte offset, and says what would be valid. FAISS files carry no
 * checksum, so damage that keeps every field valid (a flipped code byte) cannot be detected.
 *
 * <p>Threading: the static methods may run concurrently on different streams; an index must
 * not be modified while it is written (a change detected mid-write fails the write with
 * {@link IllegalStateException}).
 */
public final class FaissIO {

  static final int IXF2 = fourcc("IxF2");
  static final int IXFI = fourcc("IxFI");
  static final int IXFL = fourcc("IxFl");
  static final int IXPQ = fourcc("IxPq");
  static final int IXPQ_LEGACY = fourcc("IxPQ");
  static final int IXPO_LEGACY = fourcc("IxPo");
  static final int IXSQ = fourcc("IxSQ");
  static final int IXM2 = fourcc("IxM2");
  static final int IXMP = fourcc("IxMp");
  static final int IWFL = fourcc("IwFl");
  static final int IWPQ = fourcc("IwPQ");
  static final int IWSQ = fourcc("IwSq");
  /** IVF-SQ before {@code by_residual} was stored (always by residual). */
  static final int IWSQ_LEGACY = fourcc("IwSQ");
  static final int ILAR = fourcc("ilar");
  static final int IL00 = fourcc("il00");
  static final int FULL = fourcc("full");
  static final int SPRS = fourcc("sprs");

  /** FAISS's {@code MetricType} numbers. */
  static final int METRIC_INNER_PRODUCT = 0;
  static final int METRIC_L2 = 1;
  /** FAISS's {@code ScalarQuantizer::QuantizerType} numbers that Quiver has. */
  static final int QT_8BIT = 0;
  static final int QT_4BIT = 1;
  static final int QT_FP16 = 4;
  /** {@code RS_minmax}, the range statistic of Quiver's SQ training; 0..3 are FAISS's. */
  static final int RS_MINMAX = 0;
  private static final int RS_MAX = 3;
  /** The value FAISS writes in the header's two unused int64 fields. */
  private static final long HEADER_DUMMY = 1L << 20;
  /** Bytes of the common header after the fourcc. */
  static final int HEADER_BYTES = 4 + 8 + 8 + 8 + 1 + 4;
  /** The largest nlist of an untrained IVF file, which holds no centroids to back a larger one. */
  static final int MAX_UNTRAINED_NLIST = 1 << 20;

  private static final String SUPPORTED = "FAISS files are written of FlatIndex, PqIndex, SqIndex (SQ8, SQ4, SQfp16), "
      + "IvfIndex, IvfPqIndex and IvfSqIndex, with any metric (cosine as inner product on the normalized vectors)";

  private FaissIO() {}

  // ============================== writing ==============================

  /**
   * Writes {@code index} as a FAISS index file. Flushes {@code out} but does not close it.
   *
   * @throws IllegalArgumentException for index types FAISS files do not hold here, before any byte is written
   * @throws IllegalStateException when the index is modified while it is written
   */
  public static void write(VectorIndex index, OutputStream out) throws IOException {
    Objects.requireNonNull(index, "index");
    Objects.requireNonNull(out, "out");
    FormatOutput o = new FormatOutput(out);
    if (index instanceof FlatCodesIndex<?> flat) {
      writeFlatCodes(flat, o);
    } else if (index instanceof IvfCodesIndex<?> ivf) {
      writeIvf(ivf, o);
    } else {
      throw new IllegalArgumentException("cannot write " + IndexIO.describe(index) + " as a FAISS file: " + SUPPORTED);
    }
    o.flush();
  }

  /** Writes {@code index} to {@code file} (replacing it) as a FAISS index file. */
  public static void write(VectorIndex index, Path file) throws IOException {
    Objects.requireNonNull(index, "index");
    checkWritable(index);
    try (OutputStream out = Files.newOutputStream(file)) {
      write(index, out);
    }
  }

  /** Refuses index types this writer has no FAISS type for. */
  private static void checkWritable(VectorIndex index) {
    if (!(index instanceof FlatCodesIndex<?>) && !(index instanceof IvfCodesIndex<?>)) {
      throw new IllegalArgumentException("cannot write " + IndexIO.describe(index) + " as a FAISS file: " + SUPPORTED);
    }
  }

  private static int faissMetric(Metric metric) {
    return metric == Metric.L2 ? METRIC_L2 : METRIC_INNER_PRODUCT;
  }

  private static void writeHeader(FormatOutput o, int d, long ntotal, boolean trained, Metric metric) throws IOException {
    o.writeInt(d);
    o.writeLong(ntotal);
    o.writeLong(HEADER_DUMMY);
    o.writeLong(HEADER_DUMMY);
    o.writeByte(trained ? 1 : 0);
    o.writeInt(faissMetric(metric));
  }

  /** Flat, PQ and SQ: the index itself, or an {@code IxM2} around it when the ids are not 0 .. n-1. */
  private static void writeFlatCodes(FlatCodesIndex<?> index, FormatOutput o) throws IOException {
    Codec<?> codec = index.codec();
    long[] ids = index.ids(); // the snapshot that fixes ntotal for this file
    int n = ids.length;
    boolean trained = codec.isTrained();
    if (!trained && n > 0) {
      throw new IllegalStateException("the " + index.factoryString() + " index changed while it was being written");
    }
    boolean sequential = true;
    for (int i = 0; i < n && sequential; i++) {
      sequential = ids[i] == i;
    }
    if (!sequential) {
      o.writeInt(IXM2);
      writeHeader(o, index.d(), n, trained, index.metric());
    }
    int codeSize = codec.codeSize();
    if (codec instanceof FlatCodec) {
      o.writeInt(index.metric() == Metric.L2 ? IXF2 : IXFI);
      writeHeader(o, index.d(), n, true, index.metric());
      o.writeLong((long) n * index.d()); // a vector of floats
    } else if (codec instanceof PqCodec pq) {
      o.writeInt(IXPQ);
      writeHeader(o, index.d(), n, trained, index.metric());
      writePq(o, pq.pq());
      o.writeLong((long) n * codeSize);
    } else if (codec instanceof SqCodec sq) {
      o.writeInt(IXSQ);
      writeHeader(o, index.d(), n, trained, index.metric());
      writeSq(o, sq.sq());
      o.writeLong((long) n * codeSize);
    } else {
      throw new IllegalArgumentException("cannot write " + IndexIO.describe(index) + " as a FAISS file: " + SUPPORTED);
    }
    IndexIO.writeCodes(index, n, o);
    if (codec instanceof PqCodec pq) {
      o.writeInt(0); // search_type ST_PQ
      o.writeByte(0); // encode_signs
      o.writeInt(pq.pq().m() * pq.pq().nbits() + 1); // polysemous_ht: IndexPQ's default, no polysemous filtering
    }
    if (!sequential) {
      o.writeLong(n);
      o.writeLongs(ids, 0, n);
    }
  }

  /** {@code d, M, nbits} and the centroids (zeros before training, as FAISS allocates them). */
  private static void writePq(FormatOutput o, ProductQuantizer pq) throws IOException {
    o.writeLong(pq.d());
    o.writeLong(pq.m());
    o.writeLong(pq.nbits());
    float[] centroids = pq.centroids();
    if (centroids == null) {
      centroids = new float[pq.ksub() * pq.d()];
    }
    o.writeLong(centroids.length);
    o.writeFloats(centroids, 0, centroids.length);
  }

  private static void writeSq(FormatOutput o, ScalarQuantizer sq) throws IOException {
    o.writeInt(qtype(sq.type()));
    o.writeInt(RS_MINMAX);
    o.writeInt(Float.floatToRawIntBits(0f)); // rangestat_arg
    o.writeLong(sq.d());
    o.writeLong(sq.codeSize());
    float[] vmin = sq.type() == ScalarQuantizer.Type.SQFP16 ? null : sq.vmin();
    float[] vdiff = sq.type() == ScalarQuantizer.Type.SQFP16 ? null : sq.vdiff();
    if (vmin == null || vdiff == null) {
      o.writeLong(0);
    } else {
      o.writeLong(2L * sq.d());
      o.writeFloats(vmin, 0, vmin.length);
      o.writeFloats(vdiff, 0, vdiff.length);
    }
  }

  private static int qtype(ScalarQuantizer.Type type) {
    switch (type) {
      case SQ8:
        return QT_8BIT;
      case SQ4:
        return QT_4BIT;
      case SQFP16:
        return QT_FP16;
      default:
        throw new IllegalArgumentException("scalar quantizer type " + type + " has no FAISS QuantizerType here");
    }
  }

  private static void writeIvf(IvfCodesIndex<?> index, FormatOutput o) throws IOException {
    int nlist = index.nlist();
    long[] sizes = new long[nlist];
    for (int l = 0; l < nlist; l++) {
      sizes[l] = index.listSize(l);
    }
    IvfWriter w = new IvfWriter(index, sizes, o);
    for (int l = 0; l < nlist; l++) {
      if (sizes[l] > 0) {
        w.writeList(l, index.listIds(l), index.listCodes(l));
      }
    }
    w.finish();
  }

  /**
   * A writer of one FAISS IVF file whose lists come from elsewhere: {@code quantizer} (a trained
   * {@link IvfIndex}, {@link IvfPqIndex} or {@link IvfSqIndex}; its own lists are not written)
   * gives the coarse centroids, the codec and nprobe, and {@code listSizes} the size of every
   * list; the header, quantizer and list sizes are written here, then each non-empty list with
   * {@link IvfWriter#writeList} in increasing list order, then {@link IvfWriter#finish}. Holds
   * nothing but the sizes, so an index larger than memory streams through it list by list.
   *
   * @throws IllegalArgumentException for another index type, an untrained quantizer, or sizes
   *     that are not {@code nlist} values >= 0
   */
  public static IvfWriter ivfWriter(InvertedFileIndex quantizer, long[] listSizes, OutputStream out) throws IOException {
    Objects.requireNonNull(quantizer, "quantizer");
    Objects.requireNonNull(listSizes, "listSizes");
    Objects.requireNonNull(out, "out");
    if (!(quantizer instanceof IvfCodesIndex<?> ivf)) {
      throw new IllegalArgumentException("cannot write " + IndexIO.describe(quantizer) + " as a FAISS IVF file: the quantizer "
          + "must be an IvfIndex, IvfPqIndex or IvfSqIndex");
    }
    if (!ivf.isTrained()) {
      throw new IllegalArgumentException("cannot write the lists of an untrained " + ivf.factoryString()
          + " quantizer as a FAISS IVF file; train it first");
    }
    return new IvfWriter(ivf, listSizes.clone(), new FormatOutput(out));
  }

  /** See {@link #ivfWriter}. Not thread-safe. */
  public static final class IvfWriter {
    private final FormatOutput o;
    private final long[] sizes;
    private final int codeSize;
    private int next;
    private boolean finished;

    IvfWriter(IvfCodesIndex<?> index, long[] sizes, FormatOutput o) throws IOException {
      this.o = o;
      this.sizes = sizes;
      int d = index.d();
      int nlist = index.nlist();
      if (sizes.length != nlist) {
        throw new IllegalArgumentException("listSizes has " + sizes.length + " values but the quantizer has nlist = "
            + nlist);
      }
      long ntotal = 0;
      int nonEmpty = 0;
      for (int l = 0; l < nlist; l++) {
        if (sizes[l] < 0) {
          throw new IllegalArgumentException("listSizes[" + l + "] = " + sizes[l] + "; sizes must be >= 0");
        }
        ntotal += sizes[l];
        nonEmpty += sizes[l] > 0 ? 1 : 0;
      }
      Codec<?> codec = index.codec();
      boolean trained = index.isTrained();
      if (!trained && ntotal > 0) {
        throw new IllegalStateException("the IVF index was trained and filled while it was being written");
      }
      float[] centroids = trained ? index.centroids() : null;
      if (trained && centroids == null) {
        throw new IllegalStateException("the IVF index lost its training while it was being written");
      }
      this.codeSize = index.codeSize();
      int fourcc = codec instanceof FlatCodec ? IWFL : codec instanceof PqCodec ? IWPQ : codec instanceof SqCodec ? IWSQ
          : 0;
      if (fourcc == 0) {
        throw new IllegalArgumentException("cannot write " + IndexIO.describe(index) + " as a FAISS file: " + SUPPORTED);
      }
      Metric metric = index.metric();
      o.writeInt(fourcc);
      writeHeader(o, d, ntotal, trained, metric);
      o.writeLong(nlist);
      o.writeLong(index.nprobe());
      // the coarse quantizer: a whole IndexFlat of the nlist centroids
      o.writeInt(metric == Metric.L2 ? IXF2 : IXFI);
      writeHeader(o, d, trained ? nlist : 0, true, metric);
      o.writeLong(trained ? (long) nlist * d : 0);
      if (trained) {
        o.writeFloats(centroids, 0, centroids.length);
      }
      o.writeByte(0); // direct map: none
      o.writeLong(0);
      if (codec instanceof PqCodec pq) {
        o.writeByte(1); // by_residual
        o.writeLong(codeSize);
        writePq(o, pq.pq());
      } else if (codec instanceof SqCodec sq) {
        writeSq(o, sq.sq());
        o.writeLong(codeSize);
        o.writeByte(1); // by_residual
      }
      o.writeInt(ILAR);
      o.writeLong(nlist);
      o.writeLong(codeSize);
      if (nonEmpty > nlist / 2) {
        o.writeInt(FULL);
        o.writeLong(nlist);
        o.writeLongs(sizes, 0, nlist);
      } else {
        o.writeInt(SPRS);
        o.writeLong(2L * nonEmpty);
        for (int l = 0; l < nlist; l++) {
          if (sizes[l] > 0) {
            o.writeLong(l);
            o.writeLong(sizes[l]);
          }
        }
      }
    }

    /**
     * Writes list {@code list}: {@code ids.length} ids (its size, as given) and their codes
     * ({@code ids.length * codeSize} bytes, as {@link InvertedFileIndex#listCodes}). Lists come in
     * increasing order; empty lists may be skipped.
     *
     * @throws IllegalArgumentException for a list out of order or of another size than given
     */
    public void writeList(int list, long[] ids, byte[] codes) throws IOException {
      if (finished) {
        throw new IllegalStateException("the FAISS IVF file is finished");
      }
      if (list < next || list >= sizes.length) {
        throw new IllegalArgumentException("list " + list + " comes out of order: lists are written in increasing "
            + "order, each once, and the next may be " + next + ".." + (sizes.length - 1));
      }
      for (int l = next; l < list; l++) {
        if (sizes[l] != 0) {
          throw new IllegalArgumentException("list " + l + " (size " + sizes[l] + ") was skipped before list " + list);
        }
      }
      if (ids.length != sizes[list] || (long) codes.length != sizes[list] * codeSize) {
        throw new IllegalArgumentException("list " + list + " was announced with " + sizes[list] + " entries ("
            + sizes[list] * codeSize + " code bytes) but is given " + ids.length + " ids and " + codes.length
            + " code bytes; do not modify an index while writing it");
      }
      o.writeBytes(codes, 0, codes.length);
      o.writeLongs(ids, 0, ids.length);
      next = list + 1;
    }

    /** Checks that every non-empty list was written and flushes (the stream stays open). */
    public void finish() throws IOException {
      for (int l = next; l < sizes.length; l++) {
        if (sizes[l] != 0) {
          throw new IllegalStateException("list " + l + " (size " + sizes[l] + ") was not written");
        }
      }
      next = sizes.length;
      finished = true;
      o.flush();
    }
  }

  // ============================== reading ==============================

  /** Reads a FAISS index file, checking every size against the file's length. */
  public static VectorIndex read(Path file) throws IOException {
    return FormatInput.readFile(file, in -> new Reader(in).read());
  }

  /** Reads one FAISS index from {@code in}, whose length is unknown; does not close it. */
  public static VectorIndex read(InputStream in) throws IOException {
    return read(in, null, -1);
  }

  /**
   * Reads one FAISS index from {@code in}, which holds exactly {@code length} bytes (or -1 when
   * unknown: then arrays grow only as bytes arrive, and trailing bytes are not looked at).
   * Does not close the stream.
   *
   * @param sourceName the name errors give for the stream; null gives "&lt;stream&gt;"
   */
  public static VectorIndex read(InputStream in, String sourceName, long length) throws IOException {
    return new Reader(FormatInput.open(in, sourceName, length)).read();
  }

  /** What an index body holds, before the ids of an enclosing {@code IxMp}/{@code IxM2} are known. */
  private interface Parts {
    /** The index, with {@code idMap[i]} as the id of entry {@code i} (null: the entries' own ids). */
    VectorIndex build(long[] idMap) throws CorruptIndexException;
  }

  /** One read of a FAISS file. */
  private static final class Reader {
    private final FormatInput in;
    private final String src;

    Reader(FormatInput in) {
      this.in = in;
      this.src = in.source();
    }

    /** The fields of the common header. */
    private record Header(int fourcc, long at, int d, long ntotal, boolean trained, Metric metric) {
      String name() {
        return fourccToString(fourcc);
      }
    }

    VectorIndex read() throws IOException {
      byte[] b = new byte[4];
      int got = in.readUpTo(b, 4);
      int h = (b[0] & 0xFF) | (b[1] & 0xFF) << 8 | (b[2] & 0xFF) << 16 | (b[3] & 0xFF) << 24;
      if (got < 4) {
        throw new NotAnIndexFileException(src, "not a FAISS index file: it has only " + got + " bytes, less than the "
            + "4-byte fourcc every FAISS index starts with");
      }
      if (!isIndexFourcc(h)) {
        throw new NotAnIndexFileException(src, "not a FAISS index file of a type Quiver reads: it starts with "
            + fourccToString(h) + "; " + READABLE);
      }
      Parts parts = readIndex(h, 0, 0);
      VectorIndex index = parts.build(null);
      if (in.lengthKnown() && in.position() != in.length()) {
        throw new CorruptIndexException(src, "the FAISS index ends at byte " + in.position() + " but the file has "
            + in.length() + " bytes: " + (in.length() - in.position()) + " unexpected bytes follow it");
      }
      if (in.firstNonFinite() != null) {
        throw new CorruptIndexException(src, in.firstNonFinite() + "; stored vectors, centroids, codebooks and "
            + "ranges must be finite");
      }
      return index;
    }

    private static final String READABLE = "Quiver reads IxF2, IxFI, IxFl (IndexFlat), IxPq, IxPQ, IxPo (IndexPQ), "
        + "IxSQ (IndexScalarQuantizer), IwFl (IndexIVFFlat), IwPQ (IndexIVFPQ), IwSq, IwSQ (IndexIVFScalarQuantizer) "
        + "and IxMp, IxM2 (IndexIDMap, IndexIDMap2) around them";

    private static boolean isIndexFourcc(int h) {
      return isFlatFourcc(h) || h == IXPQ || h == IXPQ_LEGACY || h == IXPO_LEGACY || h == IXSQ || h == IWFL || h == IWPQ
          || h == IWSQ || h == IWSQ_LEGACY || h == IXM2 || h == IXMP;
    }

    private static boolean isFlatFourcc(int h) {
      return h == IXF2 || h == IXFI || h == IXFL;
    }

    /** An index whose fourcc {@code h} (at {@code at}) was just read; {@code depth} 0 is the file's own. */
    private Parts readIndex(int h, long at, int depth) throws IOException {
      if (isFlatFourcc(h)) {
        return readFlat(readHeader(h, at));
      }
      if (h == IXPQ || h == IXPQ_LEGACY || h == IXPO_LEGACY) {
        return readPq(readHeader(h, at));
      }
      if (h == IXSQ) {
        return readSq(readHeader(h, at));
      }
      if (h == IWFL || h == IWPQ || h == IWSQ || h == IWSQ_LEGACY) {
        return readIvf(readHeader(h, at));
      }
      if ((h == IXM2 || h == IXMP) && depth == 0) {
        return readIdMap(readHeader(h, at));
      }
      throw new UnsupportedIndexTypeException(src, "the index at byte " + at + " has fourcc " + fourccToString(h)
          + (depth > 0 ? " inside another index" : "") + ", which Quiver does not read"
          + (h == IXM2 || h == IXMP ? " nested (an IndexIDMap wraps a flat or IVF index, once)" : "") + "; " + READABLE);
    }

    private Header readHeader(int h, long at) throws IOException {
      String name = fourccToString(h);
      in.requireRemaining(HEADER_BYTES, "the header of the " + name + " index at byte " + at);
      long dAt = in.position();
      int d = in.readInt(name + " header: d (byte " + dAt + ")");
      if (d < 1 || d > IndexFormat.MAX_D) {
        throw new InvalidLengthException(src, "d = " + d + " in the header of the " + name + " index (byte " + dAt
            + "); valid d is 1.." + IndexFormat.MAX_D);
      }
      long ntotal = in.readLong(name + " header: ntotal (byte " + (dAt + 4) + ")");
      if (ntotal < 0) {
        throw new InvalidLengthException(src, "ntotal = " + ntotal + " in the header of the " + name + " index (byte "
            + (dAt + 4) + "); ntotal must be >= 0");
      }
      in.readLong(name + " header: unused field (byte " + (dAt + 12) + ")");
      in.readLong(name + " header: unused field (byte " + (dAt + 20) + ")");
      int trained = in.readByte(name + " header: is_trained (byte " + (dAt + 28) + ")");
      if (trained > 1) {
        throw new CorruptIndexException(src, "is_trained = " + trained + " in the header of the " + name + " index (byte "
            + (dAt + 28) + "); a bool is 0 or 1");
      }
      int metricType = in.readInt(name + " header: metric_type (byte " + (dAt + 29) + ")");
      Metric metric;
      if (metricType == METRIC_L2) {
        metric = Metric.L2;
      } else if (metricType == METRIC_INNER_PRODUCT) {
        metric = Metric.INNER_PRODUCT;
      } else {
        throw new UnsupportedIndexTypeException(src, "metric_type = " + metricType + " in the header of the " + name
            + " index (byte " + (dAt + 29) + "); Quiver reads 0 (METRIC_INNER_PRODUCT) and 1 (METRIC_L2)");
      }
      if (h == IXPQ_LEGACY || h == IXPO_LEGACY) {
        metric = Metric.L2; // FAISS's reader does the same: these old files stored a wrong metric
      }
      return new Header(h, at, d, ntotal, trained == 1, metric);
    }

    /**
     * Reads a vector's {@code size_t} element count and checks it: equal to {@code expected}
     * (unless -1), within one Java array, and (when the length is known) within the bytes left.
     */
    private int readSize(String what, int elementBytes, long expected, String rule) throws IOException {
      long at = in.position();
      long size = in.readLong(what + ": element count (byte " + at + ")");
      if (expected >= 0 && size != expected) {
        throw new InvalidLengthException(src, what + " has " + size + " elements (count at byte " + at + ") but must have "
            + expected + " (" + rule + ")");
      }
      if (size < 0 || size > MAX_ARRAY_LENGTH) {
        throw new InvalidLengthException(src, what + " has " + size + " elements (count at byte " + at + "); valid "
            + "counts are 0.." + MAX_ARRAY_LENGTH + " (one Java array)");
      }
      in.requireRemaining(size * elementBytes, what + " (" + size + " elements of " + elementBytes + " bytes)");
      return (int) size;
    }

    /** {@code n * perRow} as an array length, or an error that names the index. */
    private int arrayLength(Header hd, long n, long perRow, String what) throws InvalidLengthException {
      if (n * perRow > MAX_ARRAY_LENGTH || (perRow != 0 && n > MAX_ARRAY_LENGTH / perRow)) {
        throw new InvalidLengthException(src, "ntotal = " + n + " in the header of the " + hd.name() + " index (byte "
            + hd.at() + ") needs " + what + " of " + n + " x " + perRow + " elements; Quiver holds at most "
            + MAX_ARRAY_LENGTH + " in one array");
      }
      return (int) (n * perRow);
    }

    private CorruptIndexException invalid(Header hd, IllegalArgumentException e) {
      return new CorruptIndexException(src, "the " + hd.name() + " index at byte " + hd.at() + " is not valid: "
          + e.getMessage());
    }

    private static long[] sequence(int n) {
      long[] ids = new long[n];
      for (int i = 0; i < n; i++) {
        ids[i] = i;
      }
      return ids;
    }

    // ---- flat ----

    private Parts readFlat(Header hd) throws IOException {
      int len = arrayLength(hd, hd.ntotal(), hd.d(), "ntotal * d floats");
      readSize(hd.name() + " vectors", 4, len, "ntotal * d with ntotal = " + hd.ntotal() + ", d = " + hd.d());
      float[] x = in.readFloats(len, hd.name() + " vectors (" + hd.ntotal() + " x " + hd.d() + " floats)");
      int n = (int) hd.ntotal();
      return idMap -> {
        try {
          return FlatIndex.fromStorage(hd.d(), hd.metric(), x, idMap != null ? idMap : sequence(n));
        } catch (IllegalArgumentException e) {
          throw invalid(hd, e);
        }
      };
    }

    /** The centroids of an IVF's coarse quantizer, a nested IndexFlat. */
    private float[] readCoarse(Header ivf, int nlist) throws IOException {
      long at = in.position();
      int h = in.readInt("the coarse quantizer's fourcc (byte " + at + ")");
      if (!isFlatFourcc(h)) {
        throw new UnsupportedIndexTypeException(src, "the coarse quantizer of the " + ivf.name() + " index at byte " + at
            + " has fourcc " + fourccToString(h) + "; Quiver reads IVF indexes over an IndexFlat quantizer (IxF2, IxFI, "
            + "IxFl)");
      }
      Header q = readHeader(h, at);
      if (q.d() != ivf.d() || q.metric() != ivf.metric()) {
        throw new CorruptIndexException(src, "the coarse quantizer at byte " + at + " has d = " + q.d() + " and metric "
            + q.metric() + " but its " + ivf.name() + " index has d = " + ivf.d() + " and metric " + ivf.metric()
            + "; Quiver reads IVF indexes whose quantizer has the index's d and metric");
      }
      if (ivf.trained() ? q.ntotal() != nlist : q.ntotal() != 0 && q.ntotal() != nlist) {
        throw new InvalidLengthException(src, "the coarse quantizer at byte " + at + " holds " + q.ntotal()
            + " centroids but its " + ivf.name() + " index has nlist = " + nlist + " and is "
            + (ivf.trained() ? "trained" : "untrained") + "; a trained IVF index has nlist centroids");
      }
      int len = arrayLength(q, q.ntotal(), q.d(), "ntotal * d floats");
      readSize("the coarse quantizer's centroids", 4, len, "nlist * d");
      return in.readFloats(len, "the coarse quantizer's centroids (" + q.ntotal() + " x " + q.d() + " floats)");
    }

    // ---- PQ ----

    /** The stored product quantizer: its shape, and its centroids when trained. */
    private ProductQuantizer readProductQuantizer(Header hd, boolean trained) throws IOException {
      long at = in.position();
      long pd = in.readLong("the product quantizer's d (byte " + at + ")");
      long m = in.readLong("the product quantizer's M (byte " + (at + 8) + ")");
      long nbits = in.readLong("the product quantizer's nbits (byte " + (at + 16) + ")");
      if (pd != hd.d()) {
        throw new CorruptIndexException(src, "the product quantizer at byte " + at + " has d = " + pd + " but its "
            + hd.name() + " index has d = " + hd.d() + "; they must be equal");
      }
      if (m < 1 || m > hd.d() || hd.d() % m != 0) {
        throw new InvalidLengthException(src, "M = " + m + " in the product quantizer at byte " + (at + 8) + " with d = "
            + hd.d() + ": M must divide d");
      }
      if (nbits < ProductQuantizer.MIN_NBITS || nbits > ProductQuantizer.MAX_NBITS) {
        throw new UnsupportedIndexTypeException(src, "nbits = " + nbits + " in the product quantizer at byte " + (at + 16)
            + "; Quiver's product quantizers have nbits " + ProductQuantizer.MIN_NBITS + ".." + ProductQuantizer.MAX_NBITS);
      }
      long expected = (1L << nbits) * hd.d();
      int size = readSize("the product quantizer's centroids", 4, trained ? expected : -1,
          "M * 2^nbits * d/M = " + expected);
      float[] centroids = in.readFloats(size, "the product quantizer's centroids (" + size + " floats)");
      try {
        return trained ? ProductQuantizer.fromCentroids(hd.d(), (int) m, (int) nbits, centroids)
            : new ProductQuantizer(hd.d(), (int) m, (int) nbits);
      } catch (IllegalArgumentException e) {
        throw new CorruptIndexException(src, "the product quantizer at byte " + at + " is not valid: " + e.getMessage());
      }
    }

    private Parts readPq(Header hd) throws IOException {
      ProductQuantizer pq = readProductQuantizer(hd, hd.trained());
      requireEmptyUntrained(hd);
      byte[] codes = readCodes(hd, pq.codeSize());
      if (hd.fourcc() != IXPQ_LEGACY) {
        in.readInt(hd.name() + ": search_type");
        int signs = in.readByte(hd.name() + ": encode_signs");
        if (signs > 1) {
          throw new CorruptIndexException(src, "encode_signs = " + signs + " at byte " + (in.position() - 1) + "; a bool "
              + "is 0 or 1");
        }
        in.readInt(hd.name() + ": polysemous_ht");
      }
      int n = (int) hd.ntotal();
      return idMap -> {
        try {
          return hd.trained() ? PqIndex.fromStorage(hd.d(), hd.metric(), pq, idMap != null ? idMap : sequence(n), codes)
              : new PqIndex(hd.d(), pq.m(), pq.nbits(), hd.metric());
        } catch (IllegalArgumentException e) {
          throw invalid(hd, e);
        }
      };
    }

    /** The vector of {@code ntotal} codes of a flat-codes index. */
    private byte[] readCodes(Header hd, int codeSize) throws IOException {
      int len = arrayLength(hd, hd.ntotal(), codeSize, "ntotal * code_size code bytes");
      readSize(hd.name() + " codes", 1, len, "ntotal * code_size with code_size = " + codeSize);
      return in.readBytes(len, hd.name() + " codes (" + hd.ntotal() + " x " + codeSize + " bytes)");
    }

    private void requireEmptyUntrained(Header hd) throws CorruptIndexException {
      if (!hd.trained() && hd.ntotal() != 0) {
        throw new CorruptIndexException(src, "the " + hd.name() + " index at byte " + hd.at() + " is untrained but has "
            + "ntotal = " + hd.ntotal() + "; an untrained index holds no vectors");
      }
    }

    // ---- SQ ----

    private ScalarQuantizer readScalarQuantizer(Header hd, boolean trained) throws IOException {
      long at = in.position();
      int qtype = in.readInt("the scalar quantizer's qtype (byte " + at + ")");
      ScalarQuantizer.Type type = qtype == QT_8BIT ? ScalarQuantizer.Type.SQ8 : qtype == QT_4BIT
          ? ScalarQuantizer.Type.SQ4 : qtype == QT_FP16 ? ScalarQuantizer.Type.SQFP16 : null;
      if (type == null) {
        throw new UnsupportedIndexTypeException(src, "qtype = " + qtype + " in the scalar quantizer at byte " + at
            + "; Quiver reads QT_8bit (0, SQ8), QT_4bit (1, SQ4) and QT_fp16 (4, SQfp16)");
      }
      int rangestat = in.readInt("the scalar quantizer's rangestat (byte " + (at + 4) + ")");
      if (rangestat < 0 || rangestat > RS_MAX) {
        throw new CorruptIndexException(src, "rangestat = " + rangestat + " in the scalar quantizer at byte " + (at + 4)
            + "; FAISS's RangeStat values are 0.." + RS_MAX);
      }
      in.readInt("the scalar quantizer's rangestat_arg (byte " + (at + 8) + ")");
      long sd = in.readLong("the scalar quantizer's d (byte " + (at + 12) + ")");
      if (sd != hd.d()) {
        throw new CorruptIndexException(src, "the scalar quantizer at byte " + at + " has d = " + sd + " but its "
            + hd.name() + " index has d = " + hd.d() + "; they must be equal");
      }
      ScalarQuantizer untrained = new ScalarQuantizer(hd.d(), type);
      long cs = in.readLong("the scalar quantizer's code_size (byte " + (at + 20) + ")");
      if (cs != untrained.codeSize()) {
        throw new InvalidLengthException(src, "code_size = " + cs + " in the scalar quantizer at byte " + (at + 20)
            + "; " + type.factoryName() + " codes of d = " + hd.d() + " are " + untrained.codeSize() + " bytes");
      }
      boolean ranges = type != ScalarQuantizer.Type.SQFP16 && trained;
      int size = readSize("the scalar quantizer's trained ranges", 4, ranges ? 2L * hd.d() : -1,
          "vmin and vdiff, d floats each");
      float[] t = in.readFloats(size, "the scalar quantizer's trained ranges (" + size + " floats)");
      if (!ranges) {
        return untrained;
      }
      float[] vmin = Arrays.copyOfRange(t, 0, hd.d());
      float[] vdiff = Arrays.copyOfRange(t, hd.d(), 2 * hd.d());
      try {
        return ScalarQuantizer.fromTrained(hd.d(), type, vmin, vdiff);
      } catch (IllegalArgumentException e) {
        throw new CorruptIndexException(src, "the scalar quantizer at byte " + at + " is not valid: " + e.getMessage());
      }
    }

    private Parts readSq(Header hd) throws IOException {
      ScalarQuantizer sq = readScalarQuantizer(hd, hd.trained());
      requireEmptyUntrained(hd);
      byte[] codes = readCodes(hd, sq.codeSize());
      int n = (int) hd.ntotal();
      return idMap -> {
        try {
          return hd.trained() || sq.isTrained()
              ? SqIndex.fromStorage(hd.d(), hd.metric(), sq, idMap != null ? idMap : sequence(n), codes)
              : new SqIndex(hd.d(), sq.type(), hd.metric());
        } catch (IllegalArgumentException e) {
          throw invalid(hd, e);
        }
      };
    }

    // ---- IDMap ----

    private Parts readIdMap(Header hd) throws IOException {
      long at = in.position();
      int h = in.readInt("the fourcc of the index inside " + hd.name() + " (byte " + at + ")");
      Parts inner = readIndexChecked(h, at, hd);
      int n = readSize(hd.name() + " id_map", 8, hd.ntotal(), "ntotal ids");
      long[] idMap = in.readLongs(n, hd.name() + " id_map (" + n + " ids)");
      return ignored -> inner.build(idMap);
    }

    /** The index inside an IDMap, whose header must agree with the IDMap's. */
    private Parts readIndexChecked(int h, long at, Header outer) throws IOException {
      if (!isIndexFourcc(h) || h == IXM2 || h == IXMP) {
        return readIndex(h, at, 1); // names the fourcc
      }
      Header inner = readHeader(h, at);
      if (inner.d() != outer.d() || inner.metric() != outer.metric() || inner.ntotal() != outer.ntotal()) {
        throw new CorruptIndexException(src, "the " + inner.name() + " index at byte " + at + " inside the " + outer.name()
            + " has d = " + inner.d() + ", metric " + inner.metric() + ", ntotal = " + inner.ntotal() + " but the "
            + outer.name() + " header says d = " + outer.d() + ", metric " + outer.metric() + ", ntotal = "
            + outer.ntotal() + "; they must agree");
      }
      return body(inner);
    }

    private Parts body(Header hd) throws IOException {
      int h = hd.fourcc();
      if (isFlatFourcc(h)) {
        return readFlat(hd);
      }
      if (h == IXPQ || h == IXPQ_LEGACY || h == IXPO_LEGACY) {
        return readPq(hd);
      }
      if (h == IXSQ) {
        return readSq(hd);
      }
      return readIvf(hd);
    }

    // ---- IVF ----

    private Parts readIvf(Header hd) throws IOException {
      long at = in.position();
      long nlistL = in.readLong(hd.name() + ": nlist (byte " + at + ")");
      if (nlistL < 1 || nlistL > IndexFormat.MAX_NLIST) {
        throw new InvalidLengthException(src, "nlist = " + nlistL + " in the " + hd.name() + " index (byte " + at
            + "); valid nlist is 1.." + IndexFormat.MAX_NLIST);
      }
      int nlist = (int) nlistL;
      long nprobeL = in.readLong(hd.name() + ": nprobe (byte " + (at + 8) + ")");
      if (nprobeL < 1) {
        throw new CorruptIndexException(src, "nprobe = " + nprobeL + " in the " + hd.name() + " index (byte " + (at + 8)
            + "); nprobe must be >= 1");
      }
      int nprobe = (int) Math.min(nprobeL, nlist);
      requireEmptyUntrained(hd);
      if (!hd.trained() && nlist > MAX_UNTRAINED_NLIST) {
        // a trained file backs its nlist with nlist * d centroid floats; an untrained one carries none
        throw new InvalidLengthException(src, "nlist = " + nlist + " in the untrained " + hd.name() + " index (byte " + at
            + "); Quiver reads untrained IVF files of nlist 1.." + MAX_UNTRAINED_NLIST + " (trained ones up to "
            + IndexFormat.MAX_NLIST + ")");
      }
      float[] centroids = readCoarse(hd, nlist);
      if (!hd.trained()) {
        centroids = null;
      }
      readDirectMap(hd);

      ProductQuantizer pq = null;
      ScalarQuantizer sq = null;
      int codeSize;
      if (hd.fourcc() == IWPQ) {
        boolean byResidual = readBool(hd.name() + ": by_residual");
        long csAt = in.position();
        long cs = in.readLong(hd.name() + ": code_size (byte " + csAt + ")");
        pq = readProductQuantizer(hd, hd.trained());
        if (!byResidual) {
          throw new UnsupportedIndexTypeException(src, "the " + hd.name() + " index at byte " + hd.at() + " has "
              + "by_residual = false; Quiver's IVF-PQ encodes residuals (by_residual = true, FAISS's default)");
        }
        if (cs != pq.codeSize()) {
          throw new InvalidLengthException(src, "code_size = " + cs + " at byte " + csAt + " but the product quantizer "
              + "(M = " + pq.m() + ", nbits = " + pq.nbits() + ") makes codes of " + pq.codeSize() + " bytes");
        }
        codeSize = pq.codeSize();
      } else if (hd.fourcc() == IWSQ || hd.fourcc() == IWSQ_LEGACY) {
        sq = readScalarQuantizer(hd, hd.trained());
        long csAt = in.position();
        long cs = in.readLong(hd.name() + ": code_size (byte " + csAt + ")");
        if (cs != sq.codeSize()) {
          throw new InvalidLengthException(src, "code_size = " + cs + " at byte " + csAt + " but " + sq.type().factoryName()
              + " codes of d = " + hd.d() + " are " + sq.codeSize() + " bytes");
        }
        boolean byResidual = hd.fourcc() == IWSQ_LEGACY || readBool(hd.name() + ": by_residual");
        if (!byResidual) {
          throw new UnsupportedIndexTypeException(src, "the " + hd.name() + " index at byte " + hd.at() + " has "
              + "by_residual = false; Quiver's IVF-SQ encodes residuals (by_residual = true, FAISS's default)");
        }
        codeSize = sq.codeSize();
      } else {
        codeSize = 4 * hd.d();
      }
      Lists lists = readInvertedLists(hd, nlist, codeSize, hd.fourcc() == IWFL);
      ProductQuantizer fpq = pq;
      ScalarQuantizer fsq = sq;
      float[] fc = centroids;
      return idMap -> {
        long[][] ids = lists.ids;
        if (idMap != null) {
          ids = remap(hd, ids, idMap);
        }
        try {
          if (hd.fourcc() == IWFL) {
            if (!hd.trained()) {
              IvfIndex index = new IvfIndex(hd.d(), nlist, hd.metric());
              index.setNprobe(nprobe);
              return index;
            }
            return IvfIndex.fromStorage(hd.d(), hd.metric(), nlist, nprobe, fc, ids, lists.vectors);
          }
          IvfCodesIndex<?> index;
          if (fpq != null) {
            index = hd.trained() ? IvfPqIndex.fromStorage(hd.d(), hd.metric(), nlist, nprobe, fc, fpq, ids, lists.codes)
                : new IvfPqIndex(hd.d(), nlist, fpq.m(), fpq.nbits(), hd.metric());
          } else {
            index = hd.trained() ? IvfSqIndex.fromStorage(hd.d(), hd.metric(), nlist, nprobe, fc, fsq, ids, lists.codes)
                : new IvfSqIndex(hd.d(), nlist, fsq.type(), hd.metric());
          }
          index.setNprobe(nprobe);
          return index;
        } catch (IllegalArgumentException e) {
          throw invalid(hd, e);
        }
      };
    }

    /** The ids of an IVF inside an IDMap are positions 0 .. ntotal-1 into the id map. */
    private long[][] remap(Header hd, long[][] ids, long[] idMap) throws CorruptIndexException {
      long[][] out = new long[ids.length][];
      for (int l = 0; l < ids.length; l++) {
        long[] a = ids[l];
        long[] b = new long[a.length];
        for (int i = 0; i < a.length; i++) {
          if (a[i] < 0 || a[i] >= idMap.length) {
            throw new CorruptIndexException(src, "list " + l + " of the " + hd.name() + " index inside an IndexIDMap holds "
                + "id " + a[i] + ", which is not a position into its id_map of " + idMap.length + " ids (0.."
                + (idMap.length - 1) + ")");
          }
          b[i] = idMap[(int) a[i]];
        }
        out[l] = b;
      }
      return out;
    }

    private boolean readBool(String what) throws IOException {
      long at = in.position();
      int v = in.readByte(what + " (byte " + at + ")");
      if (v > 1) {
        throw new CorruptIndexException(src, what + " = " + v + " at byte " + at + "; a bool is 0 or 1");
      }
      return v == 1;
    }

    /** Skips the direct map (Quiver builds its own on demand: makeDirectMap). */
    private void readDirectMap(Header hd) throws IOException {
      long at = in.position();
      int type = in.readByte(hd.name() + ": direct map type (byte " + at + ")");
      if (type > 2) {
        throw new CorruptIndexException(src, "direct map type " + type + " at byte " + at + "; FAISS's DirectMap types "
            + "are 0 (none), 1 (array) and 2 (hash table)");
      }
      int n = readSize("the direct map array", 8, -1, "");
      in.skip(8L * n, "the direct map array (" + n + " int64)");
      if (type == 2) {
        int m = readSize("the direct map hash table", 16, -1, "");
        in.skip(16L * m, "the direct map hash table (" + m + " int64 pairs)");
      }
    }

    /** The lists of an IVF, as read: ids, and codes (or float vectors for IVF-Flat). */
    private static final class Lists {
      long[][] ids;
      byte[][] codes;
      float[][] vectors;
    }

    private Lists readInvertedLists(Header hd, int nlist, int codeSize, boolean floats) throws IOException {
      long at = in.position();
      int h = in.readInt("the inverted lists' fourcc (byte " + at + ")");
      if (h != ILAR) {
        throw new UnsupportedIndexTypeException(src, "the inverted lists of the " + hd.name() + " index at byte " + at
            + " have fourcc " + fourccToString(h) + (h == IL00 ? " (no lists)" : "") + "; Quiver reads the array inverted "
            + "lists 'ilar' (ArrayInvertedLists, what faiss.write_index writes for in-memory IVF indexes)");
      }
      long ln = in.readLong("the inverted lists' nlist (byte " + (at + 4) + ")");
      long lcs = in.readLong("the inverted lists' code_size (byte " + (at + 12) + ")");
      if (ln != nlist || lcs != codeSize) {
        throw new CorruptIndexException(src, "the inverted lists at byte " + at + " have nlist = " + ln + " and code_size = "
            + lcs + " but the " + hd.name() + " index has nlist = " + nlist + " and codes of " + codeSize + " bytes");
      }
      long typeAt = in.position();
      int listType = in.readInt("the inverted lists' size layout (byte " + typeAt + ")");
      long[] sizes = new long[nlist];
      long maxPerList = MAX_ARRAY_LENGTH / codeSize;
      if (listType == FULL) {
        int n = readSize("the inverted lists' sizes", 8, nlist, "nlist");
        long[] s = in.readLongs(n, "the inverted lists' sizes (" + n + " size_t)");
        System.arraycopy(s, 0, sizes, 0, nlist);
      } else if (listType == SPRS) {
        int n = readSize("the inverted lists' sparse sizes", 8, -1, "");
        if (n % 2 != 0 || n > 2L * nlist) {
          throw new InvalidLengthException(src, "the sparse list sizes at byte " + (typeAt + 4) + " have " + n
              + " values; they are (list, size) pairs of at most nlist = " + nlist + " lists");
        }
        long[] s = in.readLongs(n, "the inverted lists' sparse sizes (" + n + " size_t)");
        long prev = -1;
        for (int i = 0; i < n; i += 2) {
          if (s[i] <= prev || s[i] >= nlist) {
            throw new CorruptIndexException(src, "the sparse list sizes at byte " + (typeAt + 4) + " name list " + s[i]
                + " after list " + prev + "; lists are named once each, in increasing order, 0.." + (nlist - 1));
          }
          prev = s[i];
          sizes[(int) s[i]] = s[i + 1];
        }
      } else {
        throw new CorruptIndexException(src, "the inverted lists' size layout at byte " + typeAt + " is "
            + fourccToString(listType) + "; FAISS writes 'full' or 'sprs'");
      }
      long sum = 0;
      for (int l = 0; l < nlist; l++) {
        if (sizes[l] < 0 || sizes[l] > maxPerList) {
          throw new InvalidLengthException(src, "list " + l + " has size " + sizes[l] + " (sizes at byte " + (typeAt + 4)
              + "); valid sizes are 0.." + maxPerList + " for codes of " + codeSize + " bytes");
        }
        sum += sizes[l];
      }
      if (sum != hd.ntotal()) {
        throw new InvalidLengthException(src, "the " + nlist + " list sizes at byte " + (typeAt + 4) + " sum to " + sum
            + " but the " + hd.name() + " header (byte " + hd.at() + ") says ntotal = " + hd.ntotal()
            + "; they must be equal");
      }
      in.requireRemaining(sum * (codeSize + 8L), "the " + sum + " list entries (codes of " + codeSize + " bytes and "
          + "8-byte ids)");
      Lists out = new Lists();
      out.ids = new long[nlist][];
      if (floats) {
        out.vectors = new float[nlist][];
      } else {
        out.codes = new byte[nlist][];
      }
      int d = hd.d();
      for (int l = 0; l < nlist; l++) {
        int n = (int) sizes[l];
        String what = "list " + l + " (" + n + " entries)";
        if (floats) {
          out.vectors[l] = n == 0 ? new float[0] : in.readFloats(n * d, what + ": vectors");
        } else {
          out.codes[l] = n == 0 ? new byte[0] : in.readBytes(n * codeSize, what + ": codes");
        }
        out.ids[l] = n == 0 ? new long[0] : in.readLongs(n, what + ": ids");
      }
      return out;
    }
  }
}
