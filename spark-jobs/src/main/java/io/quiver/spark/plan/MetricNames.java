package io.quiver.spark.plan;

import io.quiver.index.Metric;

/** The metric names of the command line and the manifest: l2, ip, cosine. */
public final class MetricNames {
  private MetricNames() {}

  public static String name(Metric m) {
    switch (m) {
      case L2:
        return "l2";
      case INNER_PRODUCT:
        return "ip";
      default:
        return "cosine";
    }
  }

  public static Metric parse(String name) {
    if (name == null) {
      throw new IllegalArgumentException("metric is missing; valid: l2, ip, cosine");
    }
    switch (name.toLowerCase(java.util.Locale.ROOT)) {
      case "l2":
        return Metric.L2;
      case "ip":
      case "inner_product":
        return Metric.INNER_PRODUCT;
      case "cosine":
        return Metric.COSINE;
      default:
        throw new IllegalArgumentException("unknown metric '" + name + "'; valid: l2, ip, cosine");
    }
  }
}
