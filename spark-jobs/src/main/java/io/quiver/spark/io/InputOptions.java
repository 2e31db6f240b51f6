package io.quiver.spark.io;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Option;

/**
 * The input options of the commands that read a vector table ({@code @Mixin InputOptions input;}):
 * {@code --input}, {@code --format}, {@code --id-col}, {@code --vector-col}.
 */
public final class InputOptions {

  @Option(names = "--input", required = true, paramLabel = "PATH",
      description = "Input table: any path Spark reads (file:/..., hdfs://..., s3a://...; a directory or a glob).")
  String input;

  @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "parquet",
      description = "Input data source format: parquet, orc, json, ... (default: ${DEFAULT-VALUE}).")
  String format;

  @Option(names = "--id-col", paramLabel = "NAME", defaultValue = VectorRows.ID,
      description = "Id column: long, int or string (default: ${DEFAULT-VALUE}).")
  String idCol;

  @Option(names = "--vector-col", paramLabel = "NAME", defaultValue = VectorRows.VECTOR,
      description = "Vector column: array<float>, array<double> or a Spark ML vector (default: ${DEFAULT-VALUE}).")
  String vectorCol;

  public String input() {
    return input;
  }

  public String format() {
    return format;
  }

  public String idCol() {
    return idCol;
  }

  public String vectorCol() {
    return vectorCol;
  }

  /** {@code spark.read().format(format).load(input)}. */
  public Dataset<Row> read(SparkSession spark) {
    return spark.read().format(format).load(input);
  }

  /** Checks the id and vector columns of a DataFrame read with these options. */
  public VectorColumns columns(Dataset<Row> df) {
    return VectorColumns.of(df, idCol, vectorCol);
  }
}
