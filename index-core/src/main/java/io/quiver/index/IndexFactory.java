package io.quiver.index;

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
 *   BODY  = Flat | PQ&lt;m&gt;[x&lt;nbits&gt;] | SQ8 | SQ4 | SQfp16
 *         | IVF&lt;nlist&gt;,Flat | IVF&lt;nlist&gt;,PQ&lt;m&gt;[x&lt;nbits&gt;] | IVF&lt;nlist&gt;,SQ8|SQ4|SQfp16
 * </pre>
 *
 * {@code L2norm} normalizes vectors first ({@link L2NormIndex}); {@code RFlat} re-ranks with the
 * raw vectors ({@link RefineIndex}). Names are case-sensitive, as in FAISS; spaces around commas
 * are ignored. PQ takes {@code d % m == 0} and {@code nbits} 4 to 8 (default 8).
 */
public final class IndexFactory {

  /** The grammar shown in error messages. */
  public static final String GRAMMAR = "[L2norm,] (Flat | PQ<m>[x<nbits>] | SQ8 | SQ4 | SQfp16 | "
      + "IVF<nlist>,Flat | IVF<nlist>,PQ<m>[x<nbits>] | IVF<nlist>,SQ8|SQ4|SQfp16) [,RFlat]"
      + "   (e.g. \"IVF1024,PQ16\", \"PQ32x4\", \"IVF100,SQ8,RFlat\")";

  private static final Pattern IVF = Pattern.compile("IVF([0-9]{1,9})");
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
        if (codes.equals("Flat")) {
          return new IvfIndex(d, nlist, metric);
        }
        Matcher pq = PQ.matcher(codes);
        if (pq.matches()) {
          int[] mb = pqParams(pq, d, description);
          return new IvfPqIndex(d, nlist, mb[0], mb[1], metric);
        }
        ScalarQuantizer.Type sq = sqType(codes);
        if (sq != null) {
          return new IvfSqIndex(d, nlist, sq, metric);
        }
      }
    }
    throw fail(description, null);
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

  private static final Pattern KNOWN_WORDS = Pattern.compile("(?i).*\\b(flat|rflat|l2norm|ivf[0-9]*|pq[0-9]*(x[0-9]+)?|sq(8|4|fp16))\\b.*");

  private static IllegalArgumentException fail(String description, String why) {
    // a name FAISS knows in the wrong case is the commonest slip
    boolean caseSlip = why == null && KNOWN_WORDS.matcher(description).matches();
    return new IllegalArgumentException("cannot parse factory string '" + description + "'"
        + (why == null ? "" : ": " + why) + "; supported: " + GRAMMAR
        + (caseSlip ? " (names are case-sensitive)" : ""));
  }
}
