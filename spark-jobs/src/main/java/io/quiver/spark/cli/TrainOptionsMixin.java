package io.quiver.spark.cli;

import io.quiver.spark.job.IndexJobs;
import io.quiver.spark.plan.MetricNames;
import io.quiver.spark.plan.TrainPlan;
import picocli.CommandLine.Option;

/** {@code --factory --metric --seed --train-size --max-train-bytes} of {@code train} and {@code index}. */
public final class TrainOptionsMixin {

  @Option(names = "--factory", required = true, paramLabel = "STRING",
      description = "FAISS factory string of an IVF index: IVF<nlist>,Flat | IVF<nlist>,PQ<m>[x<nbits>] | "
          + "IVF<nlist>,SQ8|SQ4|SQfp16, e.g. IVF1024,PQ16.")
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

  IndexJobs.TrainOptions options() {
    return new IndexJobs.TrainOptions(factory, MetricNames.parse(metric), seed, trainSize, maxTrainBytes);
  }
}
