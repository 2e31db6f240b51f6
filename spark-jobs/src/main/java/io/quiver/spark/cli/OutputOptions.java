package io.quiver.spark.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Option;

/**
 * {@code --output PATH [--format F] [--overwrite]} of the commands that write a vector table
 * ({@code generate}, {@code convert}). An existing output is refused unless {@code --overwrite}
 * is given; then Spark replaces it. (A command that also reads a table with {@code InputOptions}
 * would need another name than {@code --format} for one of the two.)
 */
public final class OutputOptions {

  @Option(names = "--output", required = true, paramLabel = "PATH",
      description = "Output directory: any path Spark writes (file:/..., hdfs://..., s3a://...).")
  String output;

  @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "parquet",
      description = "Output data source format: parquet, orc, json, ... (default: ${DEFAULT-VALUE}).")
  String format;

  @Option(names = "--overwrite", description = "Replace the output if it exists.")
  boolean overwrite;

  public String output() {
    return output;
  }

  public String format() {
    return format;
  }

  public boolean overwrite() {
    return overwrite;
  }

  /**
   * Fails, before any work is done, when the output exists and {@code --overwrite} was not given;
   * returns the qualified output path.
   */
  public String checkWritable(SparkSession spark) {
    try {
      Path p = new Path(output);
      FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
      Path q = fs.makeQualified(p);
      if (!overwrite && fs.exists(q)) {
        // Spark leaves the directory of a failed write behind, without its _SUCCESS marker
        boolean unfinished = fs.getFileStatus(q).isDirectory() && !fs.exists(new Path(q, "_SUCCESS"));
        throw new IllegalArgumentException("the output " + q + " already exists"
            + (unfinished ? " (without _SUCCESS: probably left by a failed run)" : "")
            + "; pass --overwrite to replace it");
      }
      return q.toString();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot check the output " + output + ": " + e.getMessage(), e);
    }
  }

  /** Writes the table in the chosen format, replacing an existing output only with --overwrite. */
  public void write(Dataset<Row> df) {
    df.write().format(format).mode(overwrite ? SaveMode.Overwrite : SaveMode.ErrorIfExists).save(output);
  }
}
