package io.quiver.spark.cli;

import io.quiver.spark.io.VectorRows;
import io.quiver.spark.job.IndexJobs;
import io.quiver.spark.job.SearchJobs;
import io.quiver.spark.plan.SearchPlan;
import io.quiver.spark.shard.ShardStore;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code search}, {@code evaluate} and {@code info}. */
public final class SearchCommands {
  private SearchCommands() {}

  /** The query table options. */
  static final class QueryOptions {
    @Option(names = "--queries", required = true, paramLabel = "PATH", description = "Query table (any Hadoop path).")
    String path;
    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "parquet",
        description = "Query table format (default: ${DEFAULT-VALUE}).")
    String format;
    @Option(names = "--id-col", paramLabel = "NAME", defaultValue = VectorRows.ID,
        description = "Query id column: long, int or string (default: ${DEFAULT-VALUE}).")
    String idCol;
    @Option(names = "--vector-col", paramLabel = "NAME", defaultValue = VectorRows.VECTOR,
        description = "Query vector column: array<float>, array<double> or ML vector (default: ${DEFAULT-VALUE}).")
    String vectorCol;

    IndexJobs.Input input() {
      return new IndexJobs.Input(path, format, idCol, vectorCol);
    }
  }

  /** {@code --k --nprobe --strategy}. */
  static final class SearchOptions {
    @Option(names = "--k", paramLabel = "K", defaultValue = "10", description = "Neighbours per query (default: ${DEFAULT-VALUE}).")
    int k;
    @Option(names = "--nprobe", paramLabel = "N", defaultValue = "1",
        description = "Inverted lists visited per query (default: ${DEFAULT-VALUE}).")
    int nprobe;
    @Option(names = "--kfactor", paramLabel = "F", defaultValue = "1",
        description = "RFlat indexes: take ceil(F * k) candidates from the codes and re-rank them exactly "
            + "(FAISS's k_factor; default: ${DEFAULT-VALUE}).")
    float kFactor;
    @Option(names = "--strategy", paramLabel = "S", defaultValue = "auto",
        description = "route (shuffle queries to shard tasks), broadcast (send all queries to every shard task), auto "
            + "(broadcast up to --broadcast-bytes of query vectors) or local (the whole index in the driver, searched "
            + "by index-core) (default: ${DEFAULT-VALUE}).")
    String strategy;
    @Option(names = "--broadcast-bytes", paramLabel = "BYTES", defaultValue = "" + SearchPlan.DEFAULT_BROADCAST_BYTES,
        description = "Query vectors up to this size are broadcast by --strategy auto (default: ${DEFAULT-VALUE}).")
    long broadcastBytes;
    @Option(names = "--cache-bytes", paramLabel = "BYTES",
        description = "Bound of each executor's shard cache (default: a quarter of the executor heap).")
    Long cacheBytes;

    SearchPlan.Options options() {
      return new SearchPlan.Options(k, nprobe, kFactor, SearchPlan.Strategy.parse(strategy), broadcastBytes,
          cacheBytes != null ? cacheBytes : 0);
    }
  }

  @Command(name = "search", mixinStandardHelpOptions = true,
      description = {"Batch k-nearest-neighbour search: writes (id, neighbors array<long>, distances array<float>),",
          "or with --explode one row per (id, rank, neighbor, distance)."})
  public static final class Search implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    SparkOptions spark;
    @Option(names = "--index", required = true, paramLabel = "DIR", description = "The index directory.")
    String index;
    @Mixin
    QueryOptions queries;
    @Mixin
    SearchOptions search;
    @Option(names = "--output", required = true, paramLabel = "PATH", description = "Where to write the results.")
    String output;
    @Option(names = "--output-format", paramLabel = "FORMAT", defaultValue = "parquet",
        description = "Output format (default: ${DEFAULT-VALUE}).")
    String outputFormat;
    @Option(names = "--explode", description = "One row per (query, rank) instead of arrays.")
    boolean explode;
    @Option(names = "--overwrite", description = "Replace the output if it exists.")
    boolean overwrite;

    @Override
    public Integer call() throws Exception {
      Json.print(spec.commandLine().getOut(), SearchJobs.search(spark.session("quiver search"), index,
          queries.input(), search.options(), output, outputFormat, explode, overwrite));
      return 0;
    }
  }

  @Command(name = "evaluate", mixinStandardHelpOptions = true,
      description = {"Recall of an index against exact results: prints recall_at_1, recall_at_k, k, nprobe, nq,",
          "search_s. Without --ground-truth the exact neighbours are computed on Spark over the index's input."})
  public static final class Evaluate implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    SparkOptions spark;
    @Option(names = "--index", required = true, paramLabel = "DIR", description = "The index directory.")
    String index;
    @Mixin
    QueryOptions queries;
    @Mixin
    SearchOptions search;
    @Option(names = "--ground-truth", paramLabel = "FILE",
        description = ".ivecs file: row i holds the true neighbours of the query with id i.")
    String groundTruth;
    @Option(names = "--base", paramLabel = "PATH",
        description = "Base table for exact search (default: the input recorded in the index's manifest).")
    String base;
    @Option(names = "--sample", paramLabel = "N", defaultValue = "0",
        description = "Evaluate the first N queries only; 0: all (default: ${DEFAULT-VALUE}).")
    int sample;

    @Override
    public Integer call() throws Exception {
      IndexJobs.Input b = base == null ? null
          : new IndexJobs.Input(base, queries.format, VectorRows.ID, VectorRows.VECTOR);
      Json.print(spec.commandLine().getOut(), SearchJobs.evaluate(spark.session("quiver evaluate"), index,
          queries.input(), search.options(), groundTruth, b, sample));
      return 0;
    }
  }

  @Command(name = "info", mixinStandardHelpOptions = true,
      description = "What an index holds: parameters, counts, list-size distribution, shards.")
  public static final class Info implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    SparkOptions spark;
    @Parameters(index = "0", paramLabel = "DIR", description = "The index directory.")
    String index;

    @Override
    public Integer call() throws Exception {
      Json.print(spec.commandLine().getOut(), SearchJobs.info(spark.session("quiver info"), index));
      return 0;
    }
  }
}
