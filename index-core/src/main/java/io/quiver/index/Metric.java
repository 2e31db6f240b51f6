package io.quiver.index;

/**
 * How distances between vectors are measured.
 *
 * <p>Direction: for {@link #L2} a smaller distance is closer; for {@link #INNER_PRODUCT} and
 * {@link #COSINE} the reported "distance" is a similarity and a larger value is closer, as in
 * FAISS. Missing results are padded with id {@code -1} and {@link #worstValue()}.
 *
 * <p>{@link #COSINE} is inner product on L2-normalized vectors: indexes normalize vectors on
 * add and search, so the reported value is the cosine similarity.
 */
public enum Metric {
  /** Squared Euclidean distance; smaller is closer. */
  L2(0),
  /** Inner product; larger is closer. */
  INNER_PRODUCT(1),
  /** Cosine similarity (inner product of normalized vectors); larger is closer. */
  COSINE(2);

  private final int code;

  Metric(int code) {
    this.code = code;
  }

  /** The stable number that index files store for this metric. */
  public int code() {
    return code;
  }

  /** True when larger values are closer (inner product, cosine). */
  public boolean higherIsCloser() {
    return this != L2;
  }

  /** The value that pads missing results: +inf for L2, -inf for similarities. */
  public float worstValue() {
    return higherIsCloser() ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY;
  }

  /** True when vectors are L2-normalized before they are stored or searched. */
  public boolean normalizes() {
    return this == COSINE;
  }

  /** The metric with the given file code. */
  public static Metric fromCode(int code) {
    for (Metric m : values()) {
      if (m.code == code) {
        return m;
      }
    }
    throw new IllegalArgumentException("unknown metric code " + code + "; valid codes are 0 (L2), 1 (inner product), 2 (cosine)");
  }

  /** Parses {@code l2}, {@code ip} / {@code inner_product}, {@code cosine} (any case). */
  public static Metric parse(String name) {
    switch (name.trim().toLowerCase(java.util.Locale.ROOT)) {
      case "l2":
        return L2;
      case "ip":
      case "inner_product":
      case "innerproduct":
        return INNER_PRODUCT;
      case "cosine":
      case "cos":
      case "angular":
        return COSINE;
      default:
        throw new IllegalArgumentException("unknown metric '" + name + "'; valid: l2, ip, cosine");
    }
  }
}
