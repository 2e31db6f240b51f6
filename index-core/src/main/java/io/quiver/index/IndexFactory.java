package io.quiver.index;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Builds indexes from FAISS factory strings. Supported:
 *
 * <pre>
 *   Flat                 exact search
 *   IVF&lt;nlist&gt;,Flat      inverted file with raw vectors in the lists
 * </pre>
 *
 * Parsing is case-sensitive, as in FAISS, and ignores spaces around commas.
 */
public final class IndexFactory {

  /** The grammar shown in error messages. */
  public static final String GRAMMAR = "Flat | IVF<nlist>,Flat   (nlist >= 1, e.g. \"IVF1024,Flat\")";

  private static final Pattern IVF_FLAT = Pattern.compile("IVF([0-9]+),Flat");

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
    String s = description.replaceAll("\\s*,\\s*", ",").trim();
    if (s.equals("Flat")) {
      return new FlatIndex(d, metric);
    }
    Matcher m = IVF_FLAT.matcher(s);
    if (m.matches()) {
      long nlist;
      try {
        nlist = Long.parseLong(m.group(1));
      } catch (NumberFormatException e) {
        nlist = -1;
      }
      if (nlist < 1 || nlist > (1 << 24)) {
        throw new IllegalArgumentException("factory string '" + description + "': nlist must be in [1, 16777216]; supported: " + GRAMMAR);
      }
      return new IvfIndex(d, (int) nlist, metric);
    }
    throw new IllegalArgumentException("cannot parse factory string '" + description + "'; supported: " + GRAMMAR
        + (s.toLowerCase(Locale.ROOT).equals(s) && !s.isEmpty() ? " (names are case-sensitive)" : ""));
  }
}
