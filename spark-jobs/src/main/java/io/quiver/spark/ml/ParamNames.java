package io.quiver.spark.ml;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Spark ML API's errors speak of Params, not of the command line's flags: the plans and jobs
 * under both name what to change as {@code --flag}s, and {@link #translate} rewrites such a
 * message for a caller of {@link IvfKnn} or {@link IvfKnnModel} ({@code --fetch-k} becomes
 * {@code fetchK}, {@code --on-invalid skip} becomes {@code onInvalid "skip"}, {@code --items}
 * becomes {@code setItems(items)}). The original exception stays the cause, so the command line,
 * which prints the innermost message of a failure, keeps its flags.
 */
final class ParamNames {
  private ParamNames() {}

  /** Flag (as a regex, whole words) to what the ML API calls it; the first match wins. */
  private static final Map<String, String> NAMES = new LinkedHashMap<>();

  static {
    NAMES.put("choose another --output, or pass --overwrite to replace it once the new index is committed",
        "choose another indexDir (fit never replaces an existing directory)");
    NAMES.put("choose another --output, or pass --overwrite to replace it", "choose another path");
    NAMES.put("pass --overwrite to replace it", "choose another path");
    NAMES.put("--on-invalid skip", "onInvalid \"skip\"");
    NAMES.put("--on-invalid", "onInvalid");
    NAMES.put("--fetch-k", "fetchK");
    NAMES.put("--mmr-lambda", "mmrLambda");
    NAMES.put("--kfactor", "kFactor");
    NAMES.put("--nprobe", "nprobe");
    NAMES.put("--k", "k");
    NAMES.put("--filter-factor", "filterFactor");
    NAMES.put("--filter", "filter");
    NAMES.put("--match-col", "matchCol");
    NAMES.put("--item-cols", "itemCols");
    NAMES.put("--query-cols", "the query columns");
    NAMES.put("--items-id-col", "idCol");
    NAMES.put("--id-col", "idCol");
    NAMES.put("--vector-col", "vectorCol");
    NAMES.put("give the item table with --items", "give the item rows with setItems(items)");
    NAMES.put("--items", "setItems(items)");
    NAMES.put("--strategy local", "a strategy of local");
    NAMES.put("--strategy", "strategy");
    NAMES.put("--train-size", "sampleSize");
    NAMES.put("--max-train-bytes", "the bound of the training sample");
    NAMES.put("--metric cosine", "metric \"cosine\"");
    NAMES.put("--metric", "metric");
    NAMES.put("--factory", "factory");
    NAMES.put("--shards", "numShards");
    NAMES.put("--threshold", "threshold");
    NAMES.put("--self", "selfJoin");
    NAMES.put("--pairs-once", "pairsOnce");
    NAMES.put("--output", "the output path");
    NAMES.put("--overwrite", "overwrite");
  }

  private static final Pattern FLAG;

  static {
    StringBuilder sb = new StringBuilder();
    for (String k : NAMES.keySet()) {
      sb.append(sb.length() == 0 ? "" : "|").append(Pattern.quote(k)).append(k.matches(".*[a-z]$") ? "(?![a-z-])" : "");
    }
    FLAG = Pattern.compile(sb.toString());
  }

  /** The message with the command line's flags named as the ML API names them. */
  static String rewrite(String message) {
    Matcher m = FLAG.matcher(message);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      m.appendReplacement(out, Matcher.quoteReplacement(NAMES.get(m.group())));
    }
    m.appendTail(out);
    return out.toString();
  }

  /**
   * {@code e} with its message rewritten ({@link #rewrite}) when it names flags: an exception of
   * the same kind (IllegalArgumentException or IllegalStateException) with {@code e} as its cause.
   */
  static RuntimeException translate(RuntimeException e) {
    String msg = e.getMessage();
    if (msg == null || !msg.contains("--")) {
      return e;
    }
    if (e instanceof IllegalArgumentException) {
      return new IllegalArgumentException(rewrite(msg), e);
    }
    if (e instanceof IllegalStateException) {
      return new IllegalStateException(rewrite(msg), e);
    }
    return e;
  }

  /** Runs {@code body}, translating the flags in what it throws. */
  static <T> T call(java.util.function.Supplier<T> body) {
    try {
      return body.get();
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw translate(e);
    }
  }
}
