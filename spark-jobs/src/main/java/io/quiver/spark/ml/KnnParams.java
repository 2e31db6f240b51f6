package io.quiver.spark.ml;

import io.quiver.spark.plan.MetricNames;
import io.quiver.spark.plan.SearchPlan;
import java.io.Serializable;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.FloatParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.param.Params;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.Identifiable;
import scala.Function1;

/**
 * Every Param of {@link IvfKnn} and {@link IvfKnnModel} in one place: name, documentation,
 * validator and default value, the way Spark's own estimators declare them in a shared params
 * trait. Both classes create their Params here and call {@link #setDefaults}.
 */
final class KnnParams {
  private KnnParams() {}

  /** Index building (the estimator; the model keeps them for reference). */
  static Param<String> factory(Identifiable p) {
    return new Param<>(p, "factory", "FAISS index factory string of an IVF index: "
        + io.quiver.spark.plan.TrainPlan.ACCEPTED + ". Empty: built from nlist, m and nbits", fn(s -> s != null));
  }

  static IntParam nlist(Identifiable p) {
    return new IntParam(p, "nlist", "inverted lists when factory is empty; 0: 4 * sqrt(rows), at most 65536",
        ParamValidators.gtEq(0));
  }

  static IntParam m(Identifiable p) {
    return new IntParam(p, "m", "PQ sub-quantizers when factory is empty (d % m == 0); 0: no compression (Flat)",
        ParamValidators.gtEq(0));
  }

  static IntParam nbits(Identifiable p) {
    return new IntParam(p, "nbits", "bits per PQ sub-quantizer code, 4 to 8, when factory is empty",
        ParamValidators.inRange(4, 8));
  }

  static Param<String> metric(Identifiable p) {
    return new Param<>(p, "metric", "distance: l2 (squared Euclidean), ip (inner product) or cosine",
        fn(s -> {
          try {
            MetricNames.parse(s);
            return true;
          } catch (IllegalArgumentException e) {
            return false;
          }
        }));
  }

  static Param<String> idCol(Identifiable p) {
    return new Param<>(p, "idCol", "id column of items and queries: long, int or string", fn(s -> s != null && !s.isEmpty()));
  }

  static Param<String> vectorCol(Identifiable p) {
    return new Param<>(p, "vectorCol", "vector column: array<float>, array<double> or ML Vector",
        fn(s -> s != null && !s.isEmpty()));
  }

  static LongParam sampleSize(Identifiable p) {
    return new LongParam(p, "sampleSize", "training sample rows; 0: FAISS's sizes (256 per list, 256 * 2^nbits for PQ)",
        ParamValidators.gtEq(0));
  }

  static IntParam numShards(Identifiable p) {
    return new IntParam(p, "numShards", "shard files; 0: one per 256 MiB of codes", ParamValidators.gtEq(0));
  }

  static LongParam seed(Identifiable p) {
    return new LongParam(p, "seed", "random seed of sampling and k-means");
  }

  static Param<String> indexDir(Identifiable p) {
    return new Param<>(p, "indexDir", "directory (any Hadoop path) fit writes the index to; empty: a new directory "
        + "under <file system home>/.quiver/indexes", fn(s -> s != null));
  }

  /** Search (the model). */
  static IntParam k(Identifiable p) {
    return new IntParam(p, "k", "neighbours per query, 1.." + io.quiver.spark.plan.SearchPlan.MAX_K
        + " and at most the index's vectors", ParamValidators.inRange(1, io.quiver.spark.plan.SearchPlan.MAX_K));
  }

  static IntParam nprobe(Identifiable p) {
    return new IntParam(p, "nprobe", "inverted lists visited per query", ParamValidators.gtEq(1));
  }

  static FloatParam kFactor(Identifiable p) {
    return new FloatParam(p, "kFactor", "RFlat indexes: ceil(kFactor * k) candidates re-ranked exactly, kFactor in [1, "
        + (int) io.quiver.index.util.Checks.MAX_K_FACTOR + "]",
        ParamValidators.inRange(1, io.quiver.index.util.Checks.MAX_K_FACTOR));
  }

  static Param<String> outputCol(Identifiable p) {
    return new Param<>(p, "outputCol", "neighbours column: array<struct<id, distance, itemCols...>>, best first",
        fn(s -> s != null && !s.isEmpty()));
  }

  static Param<String> distCol(Identifiable p) {
    return new Param<>(p, "distCol", "distance column of the join outputs", fn(s -> s != null && !s.isEmpty()));
  }

  static Param<String> strategy(Identifiable p) {
    return new Param<>(p, "strategy", "how queries reach the shards: route, broadcast or auto",
        ParamValidators.inArray(new String[] {"route", "broadcast", "auto"}));
  }

  static Param<String> onInvalid(Identifiable p) {
    return new Param<>(p, "onInvalid", "query rows with a null vector, the wrong dimension or a null, NaN or infinite "
        + "component: fail (the search fails, naming them) or skip (they get no neighbours; counted)",
        ParamValidators.inArray(new String[] {"fail", "skip"}));
  }

  static StringArrayParam itemCols(Params p) {
    return new StringArrayParam(p, "itemCols", "item columns carried into each neighbour struct");
  }

  static Param<String> filter(Identifiable p) {
    return new Param<>(p, "filter", "Spark SQL predicate on item columns; only items satisfying it are returned "
        + "(evaluated during the scan); empty: none", fn(s -> s != null));
  }

  static Param<String> matchCol(Identifiable p) {
    return new Param<>(p, "matchCol", "column of items and queries: only items whose value equals the query's are "
        + "returned; empty: none", fn(s -> s != null));
  }

  static FloatParam filterFactor(Identifiable p) {
    return new FloatParam(p, "filterFactor", "filtered queries visit lists beyond nprobe until they hold filterFactor "
        + "times the allowed entries nprobe lists hold on average", ParamValidators.gtEq(0));
  }

  static DoubleParam mmrLambda(Identifiable p) {
    return new DoubleParam(p, "mmrLambda", "maximal marginal relevance re-ranking weight in [0, 1] (1: relevance "
        + "only); negative: no re-ranking", ParamValidators.ltEq(1));
  }

  static IntParam fetchK(Identifiable p) {
    return new IntParam(p, "fetchK", "candidates fetched per query for MMR re-ranking; 0: 4 * k",
        ParamValidators.gtEq(0));
  }

  /** The default of every Param {@code owner} has. */
  static void setDefaults(Params owner) {
    for (org.apache.spark.ml.param.Param<?> p : owner.params()) {
      Object v = switch (p.name()) {
        case "factory", "indexDir", "filter", "matchCol" -> "";
        case "nlist", "m", "numShards", "fetchK" -> 0;
        case "nbits" -> 8;
        case "metric" -> "l2";
        case "idCol" -> "id";
        case "vectorCol" -> "vector";
        case "sampleSize" -> 0L;
        case "seed" -> 42L;
        case "k" -> 10;
        case "nprobe" -> 1;
        case "kFactor" -> 1f;
        case "outputCol" -> "neighbors";
        case "distCol" -> "distCol";
        case "strategy" -> "auto";
        case "onInvalid" -> "fail";
        case "itemCols" -> new String[0];
        case "filterFactor" -> io.quiver.spark.plan.QueryFilter.DEFAULT_FACTOR;
        case "mmrLambda" -> -1.0;
        default -> throw new IllegalStateException("no default for Param " + p.name());
      };
      set(owner, p, v);
    }
  }

  /**
   * Spark's {@code explainParam} ({@code name: doc (default: x, current: y)}), with array values
   * shown as their elements: Spark concatenates the array object itself, which reads
   * {@code [Ljava.lang.String;@1b2c3d}.
   */
  static String explain(Params owner, Param<?> param) {
    scala.Option<?> def = owner.getDefault(param);
    scala.Option<?> cur = owner.get(param);
    String value;
    if (def.isEmpty() && cur.isEmpty()) {
      value = "undefined";
    } else {
      StringBuilder sb = new StringBuilder();
      if (def.isDefined()) {
        sb.append("default: ").append(show(def.get()));
      }
      if (cur.isDefined()) {
        sb.append(sb.length() > 0 ? ", " : "").append("current: ").append(show(cur.get()));
      }
      value = sb.toString();
    }
    return param.name() + ": " + param.doc() + " (" + value + ")";
  }

  private static String show(Object v) {
    if (v instanceof Object[] a) {
      return java.util.Arrays.toString(a);
    }
    if (v instanceof double[] a) {
      return java.util.Arrays.toString(a);
    }
    if (v instanceof int[] a) {
      return java.util.Arrays.toString(a);
    }
    return String.valueOf(v);
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static void set(Params owner, Param p, Object v) {
    owner.setDefault(p, v);
  }

  /** The search options the model's Params give. */
  static SearchPlan.Strategy strategy(String s) {
    return SearchPlan.Strategy.parse(s);
  }

  interface SerializablePredicate<T> extends Serializable {
    boolean test(T t);
  }

  /** A validator as Spark takes it (a serializable Scala function). */
  static <T> Function1<T, Object> fn(SerializablePredicate<T> f) {
    return (Function1<T, Object> & Serializable) t -> f.test(t);
  }
}
