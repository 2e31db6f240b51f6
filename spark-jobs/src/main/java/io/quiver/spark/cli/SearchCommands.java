package io.quiver.spark.cli;

import io.quiver.spark.io.VectorRows;
import io.quiver.spark.job.IndexJobs;
import io.quiver.spark.job.JoinJobs;
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
      return input(io.quiver.spark.plan.InvalidRows.Policy.FAIL);
    }

    IndexJobs.Input input(io.quiver.spark.plan.InvalidRows.Policy onInvalid) {
      return new IndexJobs.Input(path, format, idCol, vectorCol, onInvalid);
    }

    IndexJobs.Input input(io.quiver.spark.plan.InvalidRows.Policy onInvalid, ReaderOptions reader) {
      return input(onInvalid).withOptions(reader.options());
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

    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    SearchPlan.Options options() {
      return options(null);
    }

    /**
     * With a distance threshold (null: none), which allows k = 0; checked before Spark starts, a
     * bad value being a usage error.
     */
    SearchPlan.Options options(Double threshold) {
      try {
        SearchPlan.Constraints c = threshold == null ? SearchPlan.Constraints.NONE
            : SearchPlan.Constraints.NONE.withRadius(threshold.floatValue());
        return new SearchPlan.Options(k, nprobe, kFactor, SearchPlan.Strategy.parse(strategy), broadcastBytes,
            cacheBytes != null ? cacheBytes : 0, c);
      } catch (IllegalArgumentException e) {
        throw new picocli.CommandLine.ParameterException(mixee.commandLine(), e.getMessage());
      }
    }
  }

  /** {@code --output --output-format --overwrite} of {@code search} and {@code join}. */
  static final class ResultOutput {
    @Option(names = "--output", required = true, paramLabel = "PATH", description = "Where to write the results.")
    String output;
    @Option(names = "--output-format", paramLabel = "FORMAT", defaultValue = "parquet",
        description = "Output format (default: ${DEFAULT-VALUE}).")
    String format;
    @Option(names = "--overwrite", description = "Replace the output if it exists.")
    boolean overwrite;
  }

  /** Item columns, filters and MMR ({@code search} and {@code join}). */
  static final class RefineOptions {
    @Option(names = "--items", paramLabel = "PATH",
        description = "Item table for --item-cols, --filter and --match-col (default: the input recorded in the "
            + "index's manifest).")
    String items;
    @Option(names = "--items-format", paramLabel = "FORMAT", defaultValue = "parquet",
        description = "Item table format (default: ${DEFAULT-VALUE}).")
    String itemsFormat;
    @Option(names = "--items-id-col", paramLabel = "NAME", defaultValue = VectorRows.ID,
        description = "Item id column, the ids the index was built with (default: ${DEFAULT-VALUE}).")
    String itemsIdCol;
    @Option(names = "--item-cols", paramLabel = "COLS", split = ",",
        description = "Item columns carried with each neighbour (text, JSON metadata, ...), joined by id after the "
            + "top-k merge, from --items or else the index's input.")
    java.util.List<String> itemCols = new java.util.ArrayList<>();
    @Option(names = "--filter", paramLabel = "EXPR",
        description = "Only items satisfying this Spark SQL predicate on item columns, evaluated during the scan "
            + "(e.g. \"category = 'shoes'\").")
    String filter;
    @Option(names = "--match-col", paramLabel = "COL",
        description = "Only items whose COL equals the query's COL (a column of both tables).")
    String matchCol;
    @Option(names = "--filter-factor", paramLabel = "F", defaultValue = "2",
        description = "Filtered queries visit lists beyond --nprobe until they hold F times the allowed items "
            + "--nprobe lists hold on average, and at least k (default: ${DEFAULT-VALUE}).")
    float filterFactor;
    @Option(names = "--mmr-lambda", paramLabel = "L",
        description = "Re-rank --fetch-k candidates by maximal marginal relevance (cosine), weight L in [0, 1].")
    Float mmrLambda;
    @Option(names = "--fetch-k", paramLabel = "N", defaultValue = "0",
        description = "Candidates fetched for --mmr-lambda (default: 4 * k).")
    int fetchK;

    /** Checks what needs no data, before Spark starts. */
    void check(CommandSpec spec) {
      if (mmrLambda != null && !(mmrLambda >= 0 && mmrLambda <= 1)) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--mmr-lambda must be in [0, 1], was "
            + mmrLambda);
      }
      if (fetchK < 0) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--fetch-k must be >= 0, was " + fetchK);
      }
      if (!(filterFactor >= 0) || Float.isInfinite(filterFactor)) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--filter-factor must be a finite "
            + "number >= 0, was " + filterFactor);
      }
    }

    JoinJobs.Refinements refinements(ReaderOptions reader) {
      IndexJobs.Input in = items == null ? null
          : new IndexJobs.Input(items, itemsFormat, itemsIdCol, VectorRows.VECTOR, null, reader.options());
      return new JoinJobs.Refinements(in, itemCols, filter, matchCol, filterFactor,
          mmrLambda == null ? Float.NaN : mmrLambda, fetchK);
    }
  }

  @Command(name = "join", mixinStandardHelpOptions = true,
      description = {"Similarity join: each query row with its k nearest items (--k), or every item within",
          "--threshold (with --k 0), or both; --self joins the index's items with themselves, never pairing a row",
          "with itself. Writes one row per pair: (id, neighbor, distance, item columns, query_<query columns>)."})
  public static final class Join implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    SparkOptions spark;
    @Option(names = "--index", required = true, paramLabel = "DIR", description = "The index directory.")
    String index;
    @Option(names = "--queries", paramLabel = "PATH", description = "Query table (any Hadoop path); or --self.")
    String queries;
    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "parquet",
        description = "Query table format (default: ${DEFAULT-VALUE}).")
    String format;
    @Option(names = "--id-col", paramLabel = "NAME", defaultValue = VectorRows.ID,
        description = "Query id column (default: ${DEFAULT-VALUE}).")
    String idCol;
    @Option(names = "--vector-col", paramLabel = "NAME", defaultValue = VectorRows.VECTOR,
        description = "Query vector column (default: ${DEFAULT-VALUE}).")
    String vectorCol;
    @Option(names = "--self", description = "Join the index's items with themselves (the item table: --items, or "
        + "the index's input).")
    boolean self;
    @Option(names = "--pairs-once", description = "With --self: each unordered pair once, smaller id first.")
    boolean pairsOnce;
    @Option(names = "--threshold", paramLabel = "T",
        description = "Keep pairs within T: squared L2 below T, inner product or cosine above T.")
    Double threshold;
    @Option(names = "--query-cols", paramLabel = "COLS", split = ",",
        description = "Query columns carried into each pair, written as query_<name> (with --self: item columns of "
            + "the query's own row).")
    java.util.List<String> queryCols = new java.util.ArrayList<>();
    @Mixin
    SearchOptions search;
    @Mixin
    RefineOptions refine;
    @Mixin
    ReaderOptions reader;
    @Mixin
    ResultOutput out;
    @Mixin
    OnInvalidOption invalid;

    @Override
    public Integer call() throws Exception {
      if (self == (queries != null)) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "give either --queries or --self");
      }
      if (pairsOnce && !self) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--pairs-once applies to self-joins "
            + "(--self)");
      }
      refine.check(spec);
      SearchPlan.Options o = search.options(threshold);
      IndexJobs.Input q = self ? null
          : new IndexJobs.Input(queries, format, idCol, vectorCol, invalid.policy(), reader.options());
      Json.print(spec.commandLine().getOut(), JoinJobs.join(spark.session("quiver join"), index, q, o,
          threshold == null ? Double.NaN : threshold, pairsOnce, refine.refinements(reader), queryCols, out.output,
          out.format, out.overwrite, invalid.policy()));
      return 0;
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
    @Mixin
    ResultOutput out;
    @Option(names = "--explode", description = "One row per (query, rank) instead of arrays.")
    boolean explode;
    @Mixin
    RefineOptions refine;
    @Mixin
    ReaderOptions reader;
    @Mixin
    OnInvalidOption invalid;

    @Override
    public Integer call() throws Exception {
      refine.check(spec);
      JoinJobs.Refinements r = refine.refinements(reader);
      IndexJobs.Input qin = queries.input(invalid.policy(), reader);
      SearchPlan.Options o = search.options();
      if (r.any()) {
        if (explode) {
          throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--explode is for plain searches; "
              + "with item columns, filters or MMR use 'quiver join', which writes one row per pair");
        }
        Json.print(spec.commandLine().getOut(), JoinJobs.search(spark.session("quiver search"), index,
            qin, o, r, out.output, out.format, out.overwrite));
        return 0;
      }
      Json.print(spec.commandLine().getOut(), SearchJobs.search(spark.session("quiver search"), index,
          qin, o, out.output, out.format, explode, out.overwrite));
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
    @Mixin
    ReaderOptions reader;

    @Override
    public Integer call() throws Exception {
      if (sample < 0) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--sample must be >= 0, was " + sample);
      }
      SearchPlan.Options o = search.options();
      IndexJobs.Input b = base == null ? null
          : new IndexJobs.Input(base, queries.format, VectorRows.ID, VectorRows.VECTOR, null, reader.options());
      Json.print(spec.commandLine().getOut(), SearchJobs.evaluate(spark.session("quiver evaluate"), index,
          queries.input(io.quiver.spark.plan.InvalidRows.Policy.FAIL, reader), o, groundTruth, b, sample));
      return 0;
    }
  }

  @Command(name = "info", mixinStandardHelpOptions = true,
      description = "What an index holds: parameters, counts, list-size distribution, shards, the input it was built "
          + "from.")
  public static final class Info implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    SparkOptions spark;
    @Parameters(index = "0", arity = "0..1", paramLabel = "DIR", description = "The index directory (or --index DIR).")
    String positional;
    @Option(names = "--index", paramLabel = "DIR", description = "The index directory (or give it as the argument).")
    String option;

    @Override
    public Integer call() throws Exception {
      if (positional != null && option != null && !positional.equals(option)) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "two index directories given: '"
            + positional + "' and --index '" + option + "'; give one");
      }
      String index = option != null ? option : positional;
      if (index == null) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
            "Missing the index directory: quiver info DIR, or quiver info --index DIR");
      }
      Json.print(spec.commandLine().getOut(), SearchJobs.info(spark.session("quiver info"), index));
      return 0;
    }
  }
}
