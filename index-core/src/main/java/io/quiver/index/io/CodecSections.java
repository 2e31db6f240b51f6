package io.quiver.index.io;

import io.quiver.index.codec.Codec;
import io.quiver.index.codec.FlatCodec;
import io.quiver.index.codec.PqCodec;
import io.quiver.index.codec.SqCodec;
import io.quiver.index.quantize.ProductQuantizer;
import io.quiver.index.quantize.ScalarQuantizer;
import java.io.IOException;

/**
 * The codec axis of the file-type registry ({@link IndexFormat#TYPES}): for each codec, the file
 * type of the flat family and of the IVF family over it, its own sections ({@code PQPR [PQCB]},
 * {@code SQPR [SQRG]}, none for float vectors), their size, and the section holding its codes.
 * A new codec is one more case here, not a new writer.
 */
final class CodecSections {
  private CodecSections() {}

  /** What index files hold, for the message that refuses other codecs. */
  static final String SUPPORTED_CODECS = "float vectors (Flat), PQ<m>[x<nbits>] and SQ8/SQ4/SQfp16";

  /** The file type of a flat-codes index over {@code codec} ('FLAT', 'PQ__', 'SQ__'). */
  static int flatType(Codec<?> codec) {
    return codec instanceof FlatCodec ? IndexFormat.TYPE_FLAT : codec instanceof PqCodec ? IndexFormat.TYPE_PQ
        : codec instanceof SqCodec ? IndexFormat.TYPE_SQ : unsupported(codec);
  }

  /** The file type of an IVF index over {@code codec} ('IVFF', 'IVPQ', 'IVSQ'). */
  static int ivfType(Codec<?> codec) {
    return codec instanceof FlatCodec ? IndexFormat.TYPE_IVF_FLAT : codec instanceof PqCodec ? IndexFormat.TYPE_IVF_PQ
        : codec instanceof SqCodec ? IndexFormat.TYPE_IVF_SQ : unsupported(codec);
  }

  /** The file type of an HNSW index over {@code codec} ('HNSF', 'HNPQ', 'HNSQ'). */
  static int hnswType(Codec<?> codec) {
    return codec instanceof FlatCodec ? IndexFormat.TYPE_HNSW_FLAT : codec instanceof PqCodec ? IndexFormat.TYPE_HNSW_PQ
        : codec instanceof SqCodec ? IndexFormat.TYPE_HNSW_SQ : unsupported(codec);
  }

  /** The file type of an IVF index with an HNSW coarse quantizer over {@code codec} ('IHFF', 'IHPQ', 'IHSQ'). */
  static int ivfHnswType(Codec<?> codec) {
    return codec instanceof FlatCodec ? IndexFormat.TYPE_IVF_HNSW_FLAT : codec instanceof PqCodec
        ? IndexFormat.TYPE_IVF_HNSW_PQ : codec instanceof SqCodec ? IndexFormat.TYPE_IVF_HNSW_SQ : unsupported(codec);
  }

  /** The section of a flat-codes file's codes: 'VECS' for float vectors, else 'CODE'. */
  static int flatCodesSection(Codec<?> codec) {
    return codec instanceof FlatCodec ? IndexFormat.SECTION_VECTORS : IndexFormat.SECTION_CODES;
  }

  /** The section of an IVF file's list codes: 'LVEC' for float vectors, else 'LCOD'. */
  static int ivfCodesSection(Codec<?> codec) {
    return codec instanceof FlatCodec ? IndexFormat.SECTION_LIST_VECTORS : IndexFormat.SECTION_LIST_CODES;
  }

  private static int unsupported(Codec<?> codec) {
    throw new IllegalArgumentException("format version " + IndexFormat.VERSION_CURRENT + " has no file type for codec "
        + codec.factoryName() + "; index files hold " + SUPPORTED_CODECS);
  }

  /** Refuses codec settings the format has no code for, before anything is written; {@code where} names the index. */
  static void checkWritable(Codec<?> codec, String where) {
    if (codec instanceof SqCodec sq && IndexIO.sqTypeCode(sq.sq().type()) < 0) {
      throw new IllegalArgumentException("cannot write " + where + ": format version " + IndexFormat.VERSION_CURRENT
          + " has no 'SQPR' type code for scalar quantizer type " + sq.sq().type() + " (it stores SQ8, SQ4 and SQfp16)");
    }
    if (codec instanceof PqCodec pq
        && (pq.pq().nbits() < IndexFormat.PQ_MIN_NBITS || pq.pq().nbits() > IndexFormat.PQ_MAX_NBITS)) {
      throw new IllegalArgumentException("cannot write " + where + ": format version " + IndexFormat.VERSION_CURRENT
          + " stores PQ nbits " + IndexFormat.PQ_MIN_NBITS + ".." + IndexFormat.PQ_MAX_NBITS + ", not "
          + pq.pq().nbits());
    }
    flatType(codec);
  }

  /**
   * Writes the codec's sections: 'PQPR' then 'PQCB' when trained; 'SQPR' then 'SQRG' for a
   * trained SQ8/SQ4 ({@code trained}: the index's state; SQfp16 always is); nothing for floats.
   */
  static void write(FormatOutput o, Codec<?> codec, boolean trained) throws IOException {
    if (codec instanceof PqCodec pqCodec) {
      ProductQuantizer pq = pqCodec.pq();
      float[] codebook = trained ? pq.centroids() : null; // a copy
      if (trained && codebook == null) {
        throw new IllegalStateException("the product quantizer lost its training while it was being written");
      }
      o.writeSectionHeader(IndexFormat.SECTION_PQ_PARAMS, IndexFormat.PQ_PARAMS_BYTES);
      o.writeInt(pq.m());
      o.writeInt(pq.nbits());
      o.writeInt(codebook != null ? IndexFormat.QUANTIZER_FLAG_TRAINED : 0);
      if (codebook != null) {
        o.writeSectionHeader(IndexFormat.SECTION_PQ_CODEBOOK, 4L * codebook.length);
        o.writeFloats(codebook, 0, codebook.length);
      }
    } else if (codec instanceof SqCodec sqCodec) {
      ScalarQuantizer sq = sqCodec.sq();
      ScalarQuantizer.Type type = sq.type();
      o.writeSectionHeader(IndexFormat.SECTION_SQ_PARAMS, IndexFormat.SQ_PARAMS_BYTES);
      o.writeInt(IndexIO.sqTypeCode(type));
      o.writeInt(trained || type == ScalarQuantizer.Type.SQFP16 ? IndexFormat.QUANTIZER_FLAG_TRAINED : 0);
      if (hasRanges(type, trained)) {
        float[] vmin = sq.vmin();
        float[] vdiff = sq.vdiff();
        if (vmin == null || vdiff == null) {
          throw new IllegalStateException("the scalar quantizer lost its training while it was being written");
        }
        o.writeSectionHeader(IndexFormat.SECTION_SQ_RANGES, 8L * sq.d());
        o.writeFloats(vmin, 0, vmin.length);
        o.writeFloats(vdiff, 0, vdiff.length);
      }
    }
  }

  /** Bytes {@link #write} writes, section headers included. */
  static long bytes(Codec<?> codec, boolean trained) {
    if (codec instanceof PqCodec pqCodec) {
      ProductQuantizer q = pqCodec.pq();
      return section(IndexFormat.PQ_PARAMS_BYTES) + (trained ? section(4L * q.ksub() * q.d()) : 0);
    }
    if (codec instanceof SqCodec sqCodec) {
      ScalarQuantizer q = sqCodec.sq();
      return section(IndexFormat.SQ_PARAMS_BYTES) + (hasRanges(q.type(), trained) ? section(8L * q.d()) : 0);
    }
    return 0;
  }

  static boolean hasRanges(ScalarQuantizer.Type type, boolean trained) {
    return trained && type != ScalarQuantizer.Type.SQFP16;
  }

  /** A section of {@code payload} bytes, its header included. */
  static long section(long payload) {
    return IndexFormat.SECTION_HEADER_BYTES + payload;
  }
}
