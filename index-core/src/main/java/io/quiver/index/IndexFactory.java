package io.quiver.index;

import io.quiver.index.codec.PqCodec;
import io.quiver.index.codec.SqCodec;
import io.quiver.index.hnsw.Hnsw;
import io.quiver.index.hnsw.HnswCoarseQuantizer;
import io.quiver.index.hnsw.HnswIndex;
import io.quiver.index.ivf.CoarseQuantizer;
import io.quiver.index.quantize.ProductQuantizer;
import io.quiver.index.quantize.ScalarQuantizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Builds indexes from FAISS factory strings. The supported subset of FAISS's grammar:
 *
 * <pre>
 *   [L2norm,] BODY [,RFlat]
 *   BODY  = CODES | IVF&lt;nlist&gt;[_HNSW&lt;M&gt;],CODES | HNSW&lt;M&gt;[,CODES]
 *   CODES = Flat | PQ&lt;m&gt;[x&lt;nbits&gt;] | SQ8 | SQ4 | SQfp16
 * </pre>
 *
 * {@code L2norm} normalizes vectors first ({@link L2NormIndex}); {@code RFlat} re-ranks with the
 * raw vectors ({@link RefineIndex}). Names are case-sensitive, as in FAISS; spaces around commas
 * are ignored. PQ takes {@code d % m == 0} and {@code nbits} 4 to 8 (default 8). {@code HNSW<M>}
 * is a graph index ({@link HnswIndex}; {@code HNSW<M>} alone stores float vectors, as
 * {@code HNSW<M>,Flat}); {@code IVF<nlist>_HNSW<M>} finds the lists with an HNSW graph over the
 * centroids ({@link HnswCoarseQuantizer}) instead of comparing every centroid.
 */
public final class IndexFactory {

  /** The grammar shown in error messages. */
  public static final String GRAMMAR = "[L2norm,] (CODES | IVF<nlist>[_HNSW<M>],CODES | HNSW<M>[,CODES]) [,RFlat] "
      + "with CODES = Flat | PQ<m>[x<nbits>] | SQ8 | SQ4 | SQfp16"
      + "   (e.g. \"IVF1024,PQ16\", \"PQ32x4\", \"IVF100,SQ8,RFlat\", \"HNSW32\", \"IVF65536_HNSW32,PQ16\")";

  private static final Pattern IVF = Pattern.compile("IVF([0-9]{1,9})(?:_HNSW([0-9]{1,9}))?");
  private static final Pattern HNSW = Pattern.compile("HNSW([0-9]{1,9})");
  private static final Pattern PQ = Pattern.compile("PQ([0-9]{1,6})(?:x([0-9]{1,2}))?");

  private IndexFactory() {}

  /**
   * Creates an untrained index.
   *
   * @throws IllegalArgumentException for an unknown or malformed string, with the grammar
   */
  public static VectorIndex create(int d, String description, Metric metric) {
    if (description == null) {
      throw new IllegalArgumentException("factory string is null; supported: " + GRAMMAR);
    }
    List<String> tokens = new ArrayList<>(Arrays.asList(description.trim().split("\\s*,\\s*", -1)));
    boolean normalize = false;
    boolean refine = false;
    if (tokens.size() > 1 && tokens.get(0).equals("L2norm")) {
      normalize = true;
      tokens.remove(0);
    }
    if (tokens.size() > 1 && tokens.get(tokens.size() - 1).equals("RFlat")) {
      refine = true;
      tokens.remove(tokens.size() - 1);
    }
    VectorIndex index = body(d, tokens, description, metric);
    if (refine) {
      index = new RefineIndex(index);
    }
    return normalize ? new L2NormIndex(index) : index;
  }

  private static VectorIndex body(int d, List<String> t, String description, Metric metric) {
    Matcher hnsw = t.size() <= 2 ? HNSW.matcher(t.get(0)) : null;
    if (hnsw != null && hnsw.matches()) {
      int m = hnswM(hnsw.group(1), description);
      String codes = t.size() == 1 ? "Flat" : t.get(1);
      if (codes.equals("Flat")) {
        return HnswIndex.flat(d, m, metric);
      }
      Matcher pq = PQ.matcher(codes);
      if (pq.matches()) {
        int[] mb = pqParams(pq, d, description);
        return new HnswIndex<>(d, m, metric, new PqCodec(new ProductQuantizer(d, mb[0], mb[1])));
      }
      ScalarQuantizer.Type sq = sqType(codes);
      if (sq != null) {
        return new HnswIndex<>(d, m, metric, new SqCodec(new ScalarQuantizer(d, sq)));
      }
      throw fail(description, null);
    }
    if (t.size() == 1) {
      String s = t.get(0);
      if (s.equals("Flat")) {
        return new FlatIndex(d, metric);
      }
      Matcher pq = PQ.matcher(s);
      if (pq.matches()) {
        int[] mb = pqParams(pq, d, description);
        return new PqIndex(d, mb[0], mb[1], metric);
      }
      ScalarQuantizer.Type sq = sqType(s);
      if (sq != null) {
        return new SqIndex(d, sq, metric);
      }
    } else if (t.size() == 2) {
      Matcher ivf = IVF.matcher(t.get(0));
      if (ivf.matches()) {
        int nlist = Integer.parseInt(ivf.group(1));
        if (nlist < 1 || nlist > (1 << 24)) {
          throw fail(description, "nlist must be in [1, 16777216], was " + nlist);
        }
        String codes = t.get(1);
        CoarseQuantizer coarse = ivf.group(2) == null ? null
            : new HnswCoarseQuantizer(d, nlist, metric != null && metric.higherIsCloser(), hnswM(ivf.group(2), description));
        if (codes.equals("Flat")) {
          return new IvfIndex(d, nlist, metric, coarse);
        }
        Matcher pq = PQ.matcher(codes);
        if (pq.matches()) {
          int[] mb = pqParams(pq, d, description);
          return new IvfPqIndex(d, nlist, mb[0], mb[1], metric, coarse);
        }
        ScalarQuantizer.Type sq = sqType(codes);
        if (sq != null) {
          return new IvfSqIndex(d, nlist, sq, metric, coarse);
        }
      }
    }
    throw fail(description, null);
  }

  private static int hnswM(String digits, String description) {
    int m = Integer.parseInt(digits);
    if (m < 2 || m > Hnsw.MAX_M) {
      throw fail(description, "HNSW M must be in [2, " + Hnsw.MAX_M + "], got " + m);
    }
    return m;
  }

  private static int[] pqParams(Matcher pq, int d, String description) {
    int m = Integer.parseInt(pq.group(1));
    int nbits = pq.group(2) == null ? 8 : Integer.parseInt(pq.group(2));
    if (m < 1 || d % m != 0) {
      throw fail(description, "PQ needs m >= 1 dividing d=" + d + ", got m=" + m);
    }
    if (nbits < 4 || nbits > 8) {
      throw fail(description, "PQ nbits must be 4 to 8, got " + nbits);
    }
    return new int[] {m, nbits};
  }

  private static ScalarQuantizer.Type sqType(String s) {
    switch (s) {
      case "SQ8":
        return ScalarQuantizer.Type.SQ8;
      case "SQ4":
        return ScalarQuantizer.Type.SQ4;
      case "SQfp16":
        return ScalarQuantizer.Type.SQFP16;
      default:
        return null;
    }
  }

  private static final Pattern KNOWN_WORDS = Pattern.compile("(?i).*\\b(flat|rflat|l2norm|hnsw[0-9]*|ivf[0-9]*(_hnsw[0-9]*)?|pq[0-9]*(x[0-9]+)?|sq(8|4|fp16))\\b.*");

  private static IllegalArgumentException fail(String description, String why) {
    // a name FAISS knows in the wrong case is the commonest slip
    boolean caseSlip = why == null && KNOWN_WORDS.matcher(description).matches();
    return new IllegalArgumentException("cannot parse factory string '" + description + "'"
        + (why == null ? "" : ": " + why) + "; supported: " + GRAMMAR
        + (caseSlip ? " (names are case-sensitive)" : ""));
  }
}
