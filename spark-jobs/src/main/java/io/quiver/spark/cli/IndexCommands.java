package io.quiver.spark.cli;

import io.quiver.spark.io.InputOptions;
import io.quiver.spark.job.IndexJobs;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code train}, {@code build} and {@code index}. */
public final class IndexCommands {
  private IndexCommands() {}

  /** {@code --output --shards --overwrite} of {@code build} and {@code index}. */
  static final class IndexOutput {
    @Option(names = "--output", required = true, paramLabel = "DIR", description = "The index directory to write.")
    String output;
    @Option(names = "--shards", paramLabel = "N", defaultValue = "0",
        description = "Number of shards; 0: one per 256 MiB of codes and ids, at least one (default: ${DEFAULT-VALUE}).")
    int shards;
    @Option(names = "--overwrite", description = "Replace an existing output directory: the new index is built and "
        + "committed in <output>.building-<unique> and then renamed into place; the old index stays readable until then.")
    boolean overwrite;
    @Mixin
    OnInvalidOption invalid;
  }

  static IndexJobs.Input input(InputOptions in, ReaderOptions reader) {
    return new IndexJobs.Input(in.input(), in.format(), in.idCol(), in.vectorCol(), null, reader.options());
  }

  static IndexJobs.Input input(InputOptions in, ReaderOptions reader, IndexOutput out) {
    return new IndexJobs.Input(in.input(), in.format(), in.idCol(), in.vectorCol(), out.invalid.policy(),
        reader.options());
  }

  @Command(name = "train", mixinStandardHelpOptions = true,
      description = {"Train the quantizer of an IVF index (coarse centroids, PQ codebooks or SQ ranges) on a sample of",
          "the input, on the driver, and write it as one file (any Hadoop path)."})
  public static final class Train implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    SparkOptions spark;
    @Mixin
    InputOptions in;
    @Mixin
    ReaderOptions reader;
    @Mixin
    TrainOptionsMixin train;
    @Option(names = "--output", required = true, paramLabel = "FILE", description = "The quantizer file to write.")
    String output;
    @Option(names = "--overwrite", description = "Replace the output if it exists.")
    boolean overwrite;

    @Override
    public Integer call() throws Exception {
      IndexJobs.TrainOptions o = train.options(spec); // checked before Spark starts
      Json.print(spec.commandLine().getOut(),
          IndexJobs.train(spark.session("quiver train"), input(in, reader), o, output, overwrite));
      return 0;
    }
  }

  @Command(name = "build", mixinStandardHelpOptions = true,
      description = {"Build an index directory from a trained quantizer: assign and encode on the executors, write",
          "balanced shards, then the manifest and _SUCCESS."})
  public static final class Build implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    SparkOptions spark;
    @Mixin
    InputOptions in;
    @Mixin
    ReaderOptions reader;
    @Option(names = "--quantizer", required = true, paramLabel = "FILE", description = "The file quiver train wrote.")
    String quantizer;
    @Mixin
    IndexOutput out;
    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "Recorded in the manifest.")
    long seed;

    @Override
    public Integer call() throws Exception {
      Json.print(spec.commandLine().getOut(),
          IndexJobs.build(spark.session("quiver build"), input(in, reader, out), quantizer, out.output, out.shards, seed,
              out.overwrite));
      return 0;
    }
  }

  @Command(name = "index", mixinStandardHelpOptions = true,
      description = {"Train then build: the quantizer is written into the index directory as quantizer.qvq."})
  public static final class Index implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    SparkOptions spark;
    @Mixin
    InputOptions in;
    @Mixin
    ReaderOptions reader;
    @Mixin
    TrainOptionsMixin train;
    @Mixin
    IndexOutput out;

    @Override
    public Integer call() throws Exception {
      IndexJobs.TrainOptions o = train.options(spec); // checked before Spark starts
      Json.print(spec.commandLine().getOut(),
          IndexJobs.index(spark.session("quiver index"), input(in, reader, out), o, out.output, out.shards,
              out.overwrite));
      return 0;
    }
  }
}
