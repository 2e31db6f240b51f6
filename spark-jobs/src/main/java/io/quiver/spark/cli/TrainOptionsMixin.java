package io.quiver.spark.cli;

import io.quiver.spark.job.IndexJobs;
import io.quiver.spark.plan.MetricNames;
import io.quiver.spark.plan.TrainPlan;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code --factory --metric --seed --train-size --max-train-bytes} of {@code train} and {@code index}. */
public final class TrainOptionsMixin {

  @Option(names = "--factory", required = true, paramLabel = "STRING",
      description = "FAISS factory string of the index; accepted: " + TrainPlan.ACCEPTED + ".")
  String factory;

  @Option(names = "--metric", paramLabel = "METRIC", defaultValue = "l2",
      description = "l2, ip (inner product) or cosine (default: ${DEFAULT-VALUE}).")
  String metric;

  @Option(names = "--seed", paramLabel = "S", defaultValue = "42",
      description = "Seed of the training sample and of k-means (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--train-size", paramLabel = "N", defaultValue = "0",
      description = "Training vectors; 0: FAISS's sizes, 256 per coarse centroid and 256 per PQ centroid "
          + "(default: ${DEFAULT-VALUE}).")
  long trainSize;

  @Option(names = "--max-train-bytes", paramLabel = "BYTES", defaultValue = "" + TrainPlan.DEFAULT_MAX_TRAIN_BYTES,
      description = "Largest training sample collected to the driver (default: ${DEFAULT-VALUE}).")
  long maxTrainBytes;

  /**
   * The options, checked without data, so before Spark starts: a factory string the Spark jobs do
   * not build, an unknown metric or a negative size is a usage error (exit status 2).
   */
  IndexJobs.TrainOptions options(CommandSpec spec) {
    try {
      TrainPlan.checkFactory(factory);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--factory: " + e.getMessage());
    }
    io.quiver.index.Metric m;
    try {
      m = MetricNames.parse(metric);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--metric: " + e.getMessage());
    }
    if (trainSize < 0) {
      throw new ParameterException(spec.commandLine(), "--train-size must be >= 0, was " + trainSize);
    }
    if (maxTrainBytes < 1) {
      throw new ParameterException(spec.commandLine(), "--max-train-bytes must be >= 1, was " + maxTrainBytes);
    }
    return new IndexJobs.TrainOptions(factory, m, seed, trainSize, maxTrainBytes);
  }
}
