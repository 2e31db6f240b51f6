package io.quiver.spark.cli;

import io.quiver.spark.job.FaissJobs;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code export} and {@code import}: index directories to and from FAISS index files. */
public final class FaissCommands {
  private FaissCommands() {}

  @Command(name = "export", mixinStandardHelpOptions = true,
      description = {"Write an index directory as one FAISS index file (faiss.read_index reads it): IVF-Flat, IVF-PQ or",
          "IVF-SQ, cosine as inner product on normalized vectors. The shards are streamed list by list through the",
          "Hadoop file system, so the driver never holds the whole index."})
  public static final class Export implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    SparkOptions spark;
    @Option(names = "--index", required = true, paramLabel = "DIR", description = "The index directory.")
    String index;
    @Option(names = "--format", defaultValue = "faiss", paramLabel = "FORMAT",
        description = "The file format: faiss (the only one; default: ${DEFAULT-VALUE}).")
    String format;
    @Option(names = "--output", required = true, paramLabel = "FILE", description = "The FAISS file to write.")
    String output;
    @Option(names = "--shard", defaultValue = "-1", paramLabel = "N",
        description = "Export only shard N (0-based): an IVF index of that shard's lists with the whole quantizer, one "
            + "file per shard for FAISS's IndexShards or merge_ondisk (default: all shards in one file).")
    int shard;
    @Option(names = "--overwrite", description = "Replace the output if it exists.")
    boolean overwrite;

    @Override
    public Integer call() throws Exception {
      if (!"faiss".equals(format)) {
        throw new ParameterException(spec.commandLine(), "--format " + format + " is not supported: the only format is "
            + "faiss");
      }
      if (shard < -1) {
        throw new ParameterException(spec.commandLine(), "--shard must be >= 0, was " + shard);
      }
      Json.print(spec.commandLine().getOut(),
          FaissJobs.export(spark.session("quiver export"), index, output, shard, overwrite));
      return 0;
    }
  }

  @Command(name = "import", mixinStandardHelpOptions = true,
      description = {"Read a FAISS IVF index file (IndexIVFFlat, IndexIVFPQ, IndexIVFScalarQuantizer, written by",
          "faiss.write_index) into an index directory, searchable with quiver search; its quantizer.qvq is a trained",
          "quantizer for quiver build --quantizer."})
  public static final class Import implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    SparkOptions spark;
    @Option(names = "--faiss", required = true, paramLabel = "FILE", description = "The FAISS index file.")
    String faiss;
    @Option(names = "--output", required = true, paramLabel = "DIR", description = "The index directory to write.")
    String output;
    @Option(names = "--shards", paramLabel = "N", defaultValue = "0",
        description = "Number of shards; 0: one per 256 MiB of codes and ids, at least one (default: ${DEFAULT-VALUE}).")
    int shards;
    @Option(names = "--overwrite", description = "Replace an existing output directory once the new index is committed.")
    boolean overwrite;

    @Override
    public Integer call() throws Exception {
      if (shards < 0) {
        throw new ParameterException(spec.commandLine(), "--shards must be >= 0, was " + shards);
      }
      Json.print(spec.commandLine().getOut(),
          FaissJobs.importFaiss(spark.session("quiver import"), faiss, output, shards, overwrite));
      return 0;
    }
  }
}
