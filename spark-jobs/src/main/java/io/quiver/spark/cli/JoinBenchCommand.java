package io.quiver.spark.cli;

import static org.apache.spark.sql.functions.col;

import io.quiver.index.FlatIndex;
import io.quiver.index.Metric;
import io.quiver.index.SearchParams;
import io.quiver.index.SearchResult;
import io.quiver.spark.io.SyntheticVectors;
import io.quiver.spark.ml.IvfKnn;
import io.quiver.spark.ml.IvfKnnModel;
import io.quiver.spark.shard.ShardStore;
import java.io.File;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.spark.ml.feature.BucketedRandomProjectionLSH;
import org.apache.spark.ml.feature.BucketedRandomProjectionLSHModel;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.functions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The self-join benchmark against Spark MLlib: k nearest neighbours of every row of a generated
 * table, by Quiver ({@code IvfKnn} fit, then {@code selfJoin}) and by
 * {@code BucketedRandomProjectionLSH.approxSimilarityJoin} (then the k nearest per row), each
 * written to Parquet; recall@k on a seeded sample of rows against exact neighbours.
 */
@Command(name = "bench-join", mixinStandardHelpOptions = true,
    description = {"Self-join benchmark: Quiver's selfJoin against MLlib's BucketedRandomProjectionLSH",
        "approxSimilarityJoin on generated vectors; prints one JSON line per run."})
public final class JoinBenchCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;
  @Mixin
  SparkOptions spark;
  @Option(names = "--rows", defaultValue = "100000", description = "Rows (default: ${DEFAULT-VALUE}).")
  int rows;
  @Option(names = "--dim", defaultValue = "64", description = "Dimension (default: ${DEFAULT-VALUE}).")
  int dim;
  @Option(names = "--clusters", defaultValue = "100", description = "Generator clusters (default: ${DEFAULT-VALUE}).")
  int clusters;
  @Option(names = "--k", defaultValue = "10", description = "Neighbours per row (default: ${DEFAULT-VALUE}).")
  int k;
  @Option(names = "--factory", defaultValue = "IVF1024,Flat", description = "Quiver's index (default: ${DEFAULT-VALUE}).")
  String factory;
  @Option(names = "--nprobe", defaultValue = "16", description = "Quiver's nprobe (default: ${DEFAULT-VALUE}).")
  int nprobe;
  @Option(names = "--lsh", split = ";", defaultValue = "0.1,4;0.25,4;0.5,4;0.25,8;0.5,8;1.0,8",
      description = "MLlib runs as bucketLength/threshold ratio,numHashTables pairs separated by ';' "
          + "(the threshold is the 95th percentile of the exact k-th neighbour distance; 'none': Quiver only; default: "
          + "${DEFAULT-VALUE}).")
  List<String> lsh;
  @Option(names = "--budget-s", defaultValue = "0",
      description = "Each MLlib run is cancelled after this many seconds; 0: ten times Quiver's total time "
          + "(default: ${DEFAULT-VALUE}).")
  int budgetSeconds;
  @Option(names = "--sample", defaultValue = "1000", description = "Rows whose recall is measured (default: ${DEFAULT-VALUE}).")
  int sample;
  @Option(names = "--work", defaultValue = "target/bench-join", description = "Work directory (default: ${DEFAULT-VALUE}).")
  String work;
  @Option(names = "--base", paramLabel = "PATH",
      description = "Query mode: MLlib's LSH only, queries (--queries) against this (id, vector) table, one JSON line "
          + "per --lsh setting with its recall and QPS.")
  String base;
  @Option(names = "--queries", paramLabel = "PATH", description = "Query mode: the query table.")
  String queries;
  @Option(names = "--ground-truth", paramLabel = "FILE",
      description = "Query mode: .ivecs ground truth (row i: the neighbours of the query with id i); default: exact "
          + "search over the base in the driver.")
  String groundTruth;

  @Override
  public Integer call() throws Exception {
    SparkSession s = spark.session("quiver bench-join");
    if (base != null || queries != null) {
      if (base == null || queries == null) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "query mode needs --base and --queries");
      }
      return queryMode(s);
    }
    File w = new File(work).getAbsoluteFile();
    String items = new File(w, "items").getPath();
    SyntheticVectors gen = new SyntheticVectors(dim, clusters, 1234);
    gen.dataFrame(s, 0, rows, Math.max(2, s.sparkContext().defaultParallelism())).write().mode("overwrite")
        .parquet(items);
    Dataset<Row> table = s.read().parquet(items);

    // exact k nearest other rows of a seeded sample, by index-core's exact search over all rows
    float[] all = gen.rows(0, rows);
    Random r = new Random(7);
    long[] ids = r.longs(sample * 2L, 0, rows).distinct().limit(sample).toArray();
    float[] q = new float[ids.length * dim];
    for (int i = 0; i < ids.length; i++) {
      System.arraycopy(all, (int) ids[i] * dim, q, i * dim, dim);
    }
    FlatIndex flat = new FlatIndex(dim, Metric.L2);
    flat.add(all);
    SearchResult exact = flat.search(q, k + 1, SearchParams.defaults());
    Map<Long, Set<Long>> truth = new HashMap<>();
    double[] kth = new double[ids.length];
    for (int i = 0; i < ids.length; i++) {
      Set<Long> t = new HashSet<>();
      long[] e = exact.ids(i);
      for (int j = 0; j < e.length && t.size() < k; j++) {
        if (e[j] != ids[i]) {
          t.add(e[j]);
          kth[i] = Math.sqrt(exact.distances(i)[j]);
        }
      }
      truth.put(ids[i], t);
    }
    double[] sorted = kth.clone();
    Arrays.sort(sorted);
    double threshold = sorted[(int) (0.95 * (sorted.length - 1))];

    List<Map<String, Object>> results = new ArrayList<>();
    // Quiver: build the index, then the self-join
    ShardStore.clearCaches();
    long t0 = System.nanoTime();
    IvfKnnModel model = new IvfKnn().setFactory(factory).setSeed(42).setIndexDir(new File(w, "index-" + System.nanoTime())
        .getPath()).fit(table);
    double fitS = (System.nanoTime() - t0) / 1e9;
    model.setNprobe(nprobe);
    String qOut = new File(w, "quiver-pairs").getPath();
    model.selfJoin(k, Double.NaN, false).select(col("datasetA.id").as("a"), col("datasetB.id").as("b"),
        col("distCol").as("d")).write().mode("overwrite").parquet(qOut);
    double totalS = (System.nanoTime() - t0) / 1e9;
    Map<String, Object> qr = new LinkedHashMap<>();
    qr.put("system", "quiver");
    qr.put("params", factory + " nprobe " + nprobe);
    qr.put("fit_s", round(fitS));
    qr.put("total_s", round(totalS));
    qr.put("recall_at_k", recall(s, qOut, truth));
    results.add(qr);
    Json.print(spec.commandLine().getOut(), qr);

    // MLlib: BucketedRandomProjectionLSH, threshold join, then the k nearest other rows per row; a
    // run that has not finished in the budget (default: 10x Quiver's time) is cancelled
    int budget = budgetSeconds > 0 ? budgetSeconds : (int) Math.ceil(10 * totalS);
    Dataset<Row> vectors = table.select(col("id"), org.apache.spark.ml.functions.array_to_vector(col("vector"))
        .as("features"));
    results.addAll(runLsh(s, vectors, vectors, true, threshold, budget, new File(w, "mllib-pairs").getPath(),
        (m, out, seconds) -> m.put("recall_at_k", recall(s, out, truth))));
    Map<String, Object> summary = new LinkedHashMap<>();
    summary.put("rows", rows);
    summary.put("dim", dim);
    summary.put("k", k);
    summary.put("master", s.sparkContext().master());
    summary.put("sample", ids.length);
    summary.put("mllib_budget_s", budget);
    summary.put("runs", results);
    Json.print(spec.commandLine().getOut(), summary);
    return 0;
  }

  /**
   * MLlib's BucketedRandomProjectionLSH as a batch k-NN search: {@code approxSimilarityJoin} of the
   * queries with the base within the 95th percentile of the exact k-th neighbour distance, then the
   * k nearest per query; recall against the ground truth and queries per second (fit included).
   */
  private int queryMode(SparkSession s) throws java.io.IOException {
    Dataset<Row> b = s.read().parquet(base).select(col("id").cast("long").as("id"), col("vector"));
    Dataset<Row> q = s.read().parquet(queries).select(col("id").cast("long").as("id"), col("vector"));
    List<Row> qrows = q.orderBy("id").collectAsList();
    int nq = qrows.size();
    int d = qrows.get(0).<Float>getList(1).size();
    float[] qv = new float[nq * d];
    long[] qids = new long[nq];
    for (int i = 0; i < nq; i++) {
      qids[i] = qrows.get(i).getLong(0);
      List<Float> v = qrows.get(i).getList(1);
      for (int j = 0; j < d; j++) {
        qv[i * d + j] = v.get(j);
      }
    }
    // exact k nearest of each query (ids and the k-th distance), from the file or by exact search
    List<Row> brows = b.orderBy("id").collectAsList();
    float[] bv = new float[brows.size() * d];
    long[] bids = new long[brows.size()];
    for (int i = 0; i < brows.size(); i++) {
      bids[i] = brows.get(i).getLong(0);
      List<Float> v = brows.get(i).getList(1);
      for (int j = 0; j < d; j++) {
        bv[i * d + j] = v.get(j);
      }
    }
    Map<Long, Set<Long>> truth = new HashMap<>();
    Map<Long, Long> first = new HashMap<>();
    double[] kth = new double[nq];
    FlatIndex flat = new FlatIndex(d, Metric.L2);
    flat.addWithIds(bv, bids);
    SearchResult exact = flat.search(qv, k, SearchParams.defaults());
    int[][] gt = groundTruth == null ? null : io.quiver.spark.job.SearchJobs.readIvecs(s, groundTruth, qids);
    for (int i = 0; i < nq; i++) {
      Set<Long> t = new HashSet<>();
      for (int j = 0; j < k; j++) {
        t.add(gt != null ? (long) gt[i][j] : exact.ids(i)[j]);
      }
      truth.put(qids[i], t);
      first.put(qids[i], gt != null ? (long) gt[i][0] : exact.ids(i)[0]);
      kth[i] = Math.sqrt(exact.distances(i)[k - 1]);
    }
    double[] sorted = kth.clone();
    Arrays.sort(sorted);
    double threshold = sorted[(int) (0.95 * (sorted.length - 1))];
    Dataset<Row> bvec = b.select(col("id"), org.apache.spark.ml.functions.array_to_vector(col("vector")).as("features"));
    Dataset<Row> qvec = q.select(col("id"), org.apache.spark.ml.functions.array_to_vector(col("vector")).as("features"));
    int budget = budgetSeconds > 0 ? budgetSeconds : 600;
    runLsh(s, qvec, bvec, false, threshold, budget, new File(new File(work).getAbsoluteFile(), "mllib-knn").getPath(),
        (m, out, seconds) -> {
          m.put("qps", round(nq / seconds));
          m.put("recall_at_k", recall(s, out, truth));
          m.put("recall_at_1", recallAt1(s, out, first));
        });
    return 0;
  }

  /** Adds a finished MLlib run's measurements to its JSON. */
  @FunctionalInterface
  interface RunReport {
    void fill(Map<String, Object> json, String out, double seconds);
  }

  /**
   * Runs MLlib's BucketedRandomProjectionLSH for every --lsh setting: {@code approxSimilarityJoin}
   * of {@code left} with {@code right} within {@code threshold}, then the k nearest per left row
   * (without the row itself when {@code dropSelf}), written to {@code out} as (a, b, d). A run still
   * going after {@code budget} seconds is cancelled. Prints and returns each run's JSON.
   */
  private List<Map<String, Object>> runLsh(SparkSession s, Dataset<Row> left, Dataset<Row> right, boolean dropSelf,
                                           double threshold, int budget, String out, RunReport report) {
    List<Map<String, Object>> runs = new ArrayList<>();
    for (String cfg : lsh) {
      if (cfg.isBlank() || cfg.equals("none")) {
        continue;
      }
      String[] p = cfg.split(",");
      double bucket = Double.parseDouble(p[0].trim()) * threshold;
      int tables = Integer.parseInt(p[1].trim());
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("system", "mllib-brp-lsh");
      m.put("params", String.format("bucketLength %.3f numHashTables %d threshold %.3f", bucket, tables, threshold));
      String group = "quiver-bench-lsh-" + System.nanoTime();
      s.sparkContext().setJobGroup(group, "MLlib LSH run", true);
      java.util.Timer timer = new java.util.Timer(true);
      timer.schedule(new java.util.TimerTask() {
        @Override
        public void run() {
          s.sparkContext().cancelJobGroup(group);
        }
      }, budget * 1000L);
      long t0 = System.nanoTime();
      try {
        BucketedRandomProjectionLSHModel lm = new BucketedRandomProjectionLSH().setInputCol("features")
            .setOutputCol("hashes").setBucketLength(bucket).setNumHashTables(tables).setSeed(42).fit(right);
        Dataset<Row> pairs = lm.approxSimilarityJoin(left, right, threshold, "d")
            .select(col("datasetA.id").as("a"), col("datasetB.id").as("b"), col("d"));
        if (dropSelf) {
          pairs = pairs.where(col("a").notEqual(col("b")));
        }
        pairs.withColumn("rank", functions.row_number().over(Window.partitionBy("a").orderBy(col("d"), col("b"))))
            .where(col("rank").leq(k)).drop("rank").write().mode("overwrite").parquet(out);
        double seconds = (System.nanoTime() - t0) / 1e9;
        m.put("total_s", round(seconds));
        report.fill(m, out, seconds);
      } catch (Exception e) {
        double seconds = (System.nanoTime() - t0) / 1e9;
        m.put("total_s", round(seconds));
        m.put("result", seconds >= budget ? "cancelled after the " + budget + " s budget"
            : "failed: " + e.getClass().getSimpleName() + ": " + e.getMessage());
      } finally {
        timer.cancel();
        s.sparkContext().clearJobGroup();
      }
      runs.add(m);
      Json.print(spec.commandLine().getOut(), m);
    }
    return runs;
  }

  /** Share of queries whose first result is the true nearest neighbour. */
  private double recallAt1(SparkSession s, String path, Map<Long, Long> first) {
    Map<Long, Long> got = new HashMap<>();
    for (Row row : s.read().parquet(path).orderBy("a", "d").collectAsList()) {
      got.putIfAbsent(row.getLong(0), row.getLong(1));
    }
    double hit = 0;
    for (Map.Entry<Long, Long> e : first.entrySet()) {
      hit += e.getValue().equals(got.get(e.getKey())) ? 1 : 0;
    }
    return round(hit / first.size());
  }

  /** recall@k of the pairs (a, b, d) in {@code path} over the sample rows. */
  private double recall(SparkSession s, String path, Map<Long, Set<Long>> truth) {
    Dataset<Row> pairs = s.read().parquet(path).where(col("a").isin(truth.keySet().toArray()));
    Map<Long, List<Long>> got = new HashMap<>();
    for (Row row : pairs.orderBy("a", "d").collectAsList()) {
      got.computeIfAbsent(row.getLong(0), x -> new ArrayList<>()).add(row.getLong(1));
    }
    double hit = 0;
    for (Map.Entry<Long, Set<Long>> e : truth.entrySet()) {
      List<Long> g = got.getOrDefault(e.getKey(), List.of());
      for (int i = 0; i < Math.min(k, g.size()); i++) {
        hit += e.getValue().contains(g.get(i)) ? 1 : 0;
      }
    }
    return round(hit / (truth.size() * (double) k));
  }

  private static double round(double x) {
    return Math.round(x * 1000) / 1000.0;
  }
}
