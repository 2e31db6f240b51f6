package io.quiver.spark.cli;

import io.quiver.spark.io.VecsFiles;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code quiver convert}: a {@code .fvecs} or {@code .bvecs} file on any Hadoop file system to a
 * table of {@code id long, vector array<float>}, ids being the 0-based record numbers; the file is
 * read in parallel, in ranges of whole records ({@link VecsFiles}).
 */
@Command(name = "convert", mixinStandardHelpOptions = true,
    description = {
        "Convert a .fvecs or .bvecs file to a table of (id long, vector array<float>).",
        "Ids are the 0-based record numbers; .bvecs bytes become floats 0..255. The file may be on any",
        "Hadoop file system; tasks read ranges of whole records in parallel and check every record's",
        "dimension."})
public final class ConvertCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Mixin
  SparkOptions spark;

  @Option(names = "--input", required = true, paramLabel = "FILE",
      description = "The .fvecs or .bvecs file (file:/..., hdfs://..., s3a://..., or a local path).")
  String input;

  @Mixin
  OutputOptions out;

  @Option(names = "--limit", paramLabel = "N", description = "Convert only the first N vectors.")
  Long limit;

  @Option(names = "--partitions", paramLabel = "P",
      description = "Read tasks (and output files). Default: the default parallelism, or more for ~128 MiB each.")
  Integer partitions;

  @Override
  public Integer call() throws Exception {
    if (limit != null && limit < 1) {
      throw new ParameterException(spec.commandLine(), "--limit must be at least 1, was " + limit);
    }
    if (partitions != null && partitions < 1) {
      throw new ParameterException(spec.commandLine(), "--partitions must be at least 1, was " + partitions);
    }
    SparkSession session = spark.session("quiver convert");
    String output = out.checkWritable(session);
    long start = System.nanoTime();
    VecsFiles.Header h = VecsFiles.header(session.sparkContext().hadoopConfiguration(), input);
    long asked = limit == null ? Long.MAX_VALUE : limit;
    long n = Math.min(asked, h.records());
    int p = partitions != null ? partitions : defaultPartitions(n * h.recordBytes(),
        session.sparkContext().defaultParallelism());
    p = (int) Math.min(p, n); // no empty tasks
    Dataset<Row> df = VecsFiles.read(session, h, asked, p);
    out.write(df);
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("command", "convert");
    result.put("input", h.path());
    result.put("type", h.type().name().toLowerCase(java.util.Locale.ROOT));
    result.put("rows", n);
    result.put("dim", h.d());
    result.put("partitions", p);
    result.put("format", out.format());
    result.put("output", output);
    result.put("seconds", Json.secondsSince(start));
    Json.print(spec.commandLine().getOut(), result);
    return 0;
  }

  static int defaultPartitions(long bytes, int parallelism) {
    long p = Math.max(parallelism, (bytes + GenerateCommand.TARGET_PARTITION_BYTES - 1)
        / GenerateCommand.TARGET_PARTITION_BYTES);
    return (int) Math.min(p, Integer.MAX_VALUE);
  }
}
