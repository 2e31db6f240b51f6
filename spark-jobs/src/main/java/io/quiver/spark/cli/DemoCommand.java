package io.quiver.spark.cli;

import io.quiver.index.Metric;
import io.quiver.spark.io.SyntheticVectors;
import io.quiver.spark.job.IndexJobs;
import io.quiver.spark.job.SearchJobs;
import io.quiver.spark.plan.SearchPlan;
import java.io.File;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code quiver demo}: the whole path on generated data in one run: generate base and query
 * vectors, index them, search the queries and measure recall against exact search on Spark.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Generate --rows seeded vectors and --queries queries from the same distribution, index them",
        "(--factory), search the queries and compare with exact search; prints timings and recall as one JSON object.",
        "Everything is written under --dir, which the demo replaces."})
public final class DemoCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;
  @Mixin
  SparkOptions spark;
  @Option(names = "--dir", paramLabel = "DIR", defaultValue = "target/quiver-demo",
      description = "Working directory (any Hadoop path), replaced by each run (default: ${DEFAULT-VALUE}).")
  String dir;
  @Option(names = "--rows", paramLabel = "N", defaultValue = "1000000", description = "Base vectors (default: ${DEFAULT-VALUE}).")
  long rows;
  @Option(names = "--queries", paramLabel = "N", defaultValue = "10000", description = "Queries (default: ${DEFAULT-VALUE}).")
  long queries;
  @Option(names = "--dim", paramLabel = "D", defaultValue = "128", description = "Dimension (default: ${DEFAULT-VALUE}).")
  int dim;
  @Option(names = "--clusters", paramLabel = "C", defaultValue = "1000",
      description = "Latent mixture components (default: ${DEFAULT-VALUE}).")
  int clusters;
  @Option(names = "--factory", paramLabel = "STRING", defaultValue = "IVF1024,PQ16",
      description = "Index factory string (default: ${DEFAULT-VALUE}).")
  String factory;
  @Option(names = "--k", paramLabel = "K", defaultValue = "10", description = "Neighbours (default: ${DEFAULT-VALUE}).")
  int k;
  @Option(names = "--nprobe", paramLabel = "N", defaultValue = "16", description = "Lists probed (default: ${DEFAULT-VALUE}).")
  int nprobe;
  @Option(names = "--seed", paramLabel = "S", defaultValue = "1234", description = "Seed (default: ${DEFAULT-VALUE}).")
  long seed;

  @Override
  public Integer call() throws Exception {
    if (rows < 1 || queries < 1) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--rows and --queries must be >= 1");
    }
    try {
      io.quiver.spark.plan.TrainPlan.checkFactory(factory);
    } catch (IllegalArgumentException e) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--factory: " + e.getMessage());
    }
    SearchPlan.Options options;
    try {
      options = new SearchPlan.Options(k, nprobe, 1f, SearchPlan.Strategy.AUTO, SearchPlan.DEFAULT_BROADCAST_BYTES, 0);
    } catch (IllegalArgumentException e) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    SparkSession session = spark.session("quiver demo");
    String root = new org.apache.hadoop.fs.Path(dir).toString();
    IndexJobs.prepareOutput(session, root, true);
    String base = root + "/base.parquet";
    String query = root + "/queries.parquet";
    String index = root + "/index";
    String results = root + "/results.parquet";
    int partitions = session.sparkContext().defaultParallelism();
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("rows", rows);
    json.put("queries", queries);
    json.put("dim", dim);
    json.put("factory", factory);

    long t0 = System.nanoTime();
    SyntheticVectors data = new SyntheticVectors(dim, clusters, seed);
    try (io.quiver.spark.plan.Phase p = io.quiver.spark.plan.Phase.start(session, "demo",
        "generate %,d base vectors and %,d queries of d = %d", rows, queries, dim)) {
      data.dataFrame(session, 0, rows, partitions).write().mode(SaveMode.ErrorIfExists).parquet(base);
      data.dataFrame(session, rows, queries, partitions).write().mode(SaveMode.ErrorIfExists).parquet(query);
      p.done(rows + queries, "vectors");
    }
    json.put("generate_s", Json.secondsSince(t0));

    long t1 = System.nanoTime();
    Map<String, Object> built = IndexJobs.index(session, new IndexJobs.Input(base, "parquet", "id", "vector"),
        new IndexJobs.TrainOptions(factory, Metric.L2, seed, 0, io.quiver.spark.plan.TrainPlan.DEFAULT_MAX_TRAIN_BYTES),
        index, 0, false);
    json.put("train_s", built.get("train_s"));
    json.put("index_s", Json.secondsSince(t1));
    json.put("shards", built.get("shards"));

    IndexJobs.Input q = new IndexJobs.Input(query, "parquet", "id", "vector");
    Map<String, Object> searched = SearchJobs.search(session, index, q, options, results, "parquet", false, false);
    json.put("search_s", searched.get("search_s"));
    json.put("search_qps", Math.round(queries / (double) searched.get("search_s")));

    Map<String, Object> eval = SearchJobs.evaluate(session, index, q, options, null, null, 0);
    json.put("k", k);
    json.put("nprobe", nprobe);
    json.put("recall_at_1", eval.get("recall_at_1"));
    json.put("recall_at_k", eval.get("recall_at_k"));
    json.put("exact_s", eval.get("exact_s"));
    json.put("total_s", Json.secondsSince(t0));
    json.put("dir", root);
    Json.print(spec.commandLine().getOut(), json);
    return 0;
  }
}
