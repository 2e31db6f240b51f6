package io.quiver.spark.plan;

import io.quiver.index.IndexFactory;
import io.quiver.index.InvertedFileIndex;
import io.quiver.index.IvfIndex;
import io.quiver.index.Metric;
import io.quiver.index.RefineIndex;
import io.quiver.index.VectorIndex;
import io.quiver.index.util.Parallel;
import io.quiver.index.vector.VectorUtil;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.sql.catalyst.InternalRow;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Training: sample the input, collect the sample to the driver (bounded in bytes), and train the
 * quantizer with index-core on all driver cores.
 */
public final class TrainPlan {
  private static final Logger LOG = LoggerFactory.getLogger(TrainPlan.class);

  /** Default bound on the sample collected to the driver: 2 GiB. */
  public static final long DEFAULT_MAX_TRAIN_BYTES = 2L << 30;

  private TrainPlan() {}

  /** What a training run did. */
  public record Result(InvertedFileIndex quantizer, long inputRows, int sampleRows, double sampleSeconds,
                       double trainSeconds) {}

  /** The index a factory string describes, refused unless the Spark jobs can shard it. */
  public static InvertedFileIndex create(int d, String factory, Metric metric) {
    VectorIndex index = IndexFactory.create(d, factory, metric);
    if (index instanceof RefineIndex r) {
      index = r.base();
    }
    if (!(index instanceof InvertedFileIndex ivf)) {
      throw new IllegalArgumentException("factory '" + factory + "': the Spark jobs build inverted-file indexes, "
          + "IVF<nlist>,Flat | IVF<nlist>,PQ<m>[x<nbits>] | IVF<nlist>,SQ8|SQ4|SQfp16, optionally with ,RFlat (use "
          + "--metric cosine instead of an L2norm prefix)");
    }
    return ivf;
  }

  /** True when the factory string ends with the {@code RFlat} re-ranking suffix. */
  public static boolean refines(String factory) {
    return factory.trim().endsWith(",RFlat");
  }

  /**
   * The training-set size FAISS would use: {@code 256 * nlist} points for the coarse k-means, and
   * {@code 256 * 2^nbits} for the PQ codebooks (SQ ranges need no more).
   */
  public static long defaultSampleSize(InvertedFileIndex index) {
    return index.trainingSampleSize();
  }

  /**
   * The coarse k-means on the executors (the sample stays distributed), then the code quantizer
   * on the driver from a part of the sample that fits the bound.
   */
  static Result trainDistributed(VectorInput input, InvertedFileIndex index, long rows, long want, double fraction,
                                 int d, long seed, long maxTrainBytes, long t0) {
    boolean normalize = index.metric().normalizes();
    boolean ip = index.metric().higherIsCloser();
    JavaRDD<float[]> sample = input.projected().sample(false, fraction, seed).queryExecution().toRdd().toJavaRDD()
        .map(r -> valid(input, r, d))
        .filter(v -> v != null)
        .map(v -> {
          if (normalize) {
            VectorUtil.normalizeL2(v, d);
          }
          return v;
        })
        .persist(StorageLevel.MEMORY_AND_DISK_SER());
    try {
      long n = sample.count();
      double sampleSeconds = (System.nanoTime() - t0) / 1e9;
      LOG.info("training sample of {} vectors ({} bytes) exceeds --max-train-bytes {}: k-means runs on the executors",
          n, n * d * 4L, maxTrainBytes);
      long t1 = System.nanoTime();
      JavaSparkContext jsc = JavaSparkContext.fromSparkContext(input.projected().sparkSession().sparkContext());
      float[] centroids = DistributedKMeans.train(jsc, sample, index.nlist(), d, IvfIndex.DEFAULT_TRAIN_NITER, seed, ip,
          ip);
      long codecRows = Math.min(Math.min(index.codecTrainingSampleSize(), n), maxTrainBytes / (4L * d));
      List<float[]> codecSample = codecRows == 0 ? List.of() : sample.takeSample(false, (int) codecRows, seed + 1);
      float[] x = new float[codecSample.size() * d];
      for (int i = 0; i < codecSample.size(); i++) {
        System.arraycopy(codecSample.get(i), 0, x, i * d, d);
      }
      index.trainWithCentroids(centroids, x);
      double trainSeconds = (System.nanoTime() - t1) / 1e9;
      LOG.info("trained {} (distributed k-means on {} vectors, codes on {}) in {} s", index.factoryString(), n,
          codecSample.size(), String.format("%.2f", trainSeconds));
      return new Result(index, rows, (int) Math.min(Integer.MAX_VALUE, n), sampleSeconds, trainSeconds);
    } finally {
      sample.unpersist(false);
    }
  }

  /** Rows read to find the input's dimension. */
  static final int DIMENSION_ROWS = 1000;

  /**
   * The input's dimension: the most common vector length among its first
   * {@value #DIMENSION_ROWS} rows with a non-null, non-empty vector (the first such length on a
   * tie), so that one short or long row at the start does not make every other row invalid.
   */
  public static int dimension(VectorInput input) {
    List<Integer> lengths = input.projected().queryExecution().toRdd().toJavaRDD()
        .map(r -> r.isNullAt(1) ? 0 : r.getArray(1).numElements()).take(DIMENSION_ROWS);
    java.util.Map<Integer, Integer> votes = new java.util.LinkedHashMap<>();
    for (int n : lengths) {
      if (n > 0) {
        votes.merge(n, 1, Integer::sum);
      }
    }
    if (lengths.isEmpty()) {
      throw new IllegalArgumentException("the input has no rows: there is nothing to train on");
    }
    if (votes.isEmpty()) {
      throw new IllegalArgumentException("the first " + lengths.size() + " rows of the input have no vector (null or "
          + "empty in '" + input.vectorCol() + "'): a vector needs at least one component");
    }
    int best = 0;
    int bestVotes = 0;
    for (java.util.Map.Entry<Integer, Integer> e : votes.entrySet()) {
      if (e.getValue() > bestVotes) {
        best = e.getKey();
        bestVotes = e.getValue();
      }
    }
    return best;
  }

  /** A training vector, or null for an invalid row (the build counts and reports those). */
  private static float[] valid(VectorInput input, InternalRow r, int d) {
    return input.check(r, d, 0, p -> { });
  }

  /**
   * Samples and trains. Invalid rows (see {@link InvalidRows}) are left out of the sample; the
   * build that follows reports them or fails on them. A sample larger than {@code maxTrainBytes} is not collected: k-means
   * runs distributed ({@link DistributedKMeans}) and only the code quantizer's share of the sample
   * comes to the driver.
   *
   * @param sampleSize rows to train on, or 0 for {@link #defaultSampleSize}
   */
  public static Result train(VectorInput input, String factory, Metric metric, long seed, long sampleSize,
                             long maxTrainBytes) {
    int d = dimension(input);
    InvertedFileIndex index = create(d, factory, metric);
    index.coarseQuantizer().setSeed(seed);
    long t0 = System.nanoTime();
    long rows = input.projected().count();
    long want = Math.min(rows, sampleSize > 0 ? sampleSize : defaultSampleSize(index));
    if (want < index.nlist()) {
      throw new IllegalArgumentException("the input has " + rows + " rows" + (sampleSize > 0 ? " (or --train-size "
          + sampleSize + ")" : "") + ": training " + factory + " needs at least nlist = " + index.nlist() + " vectors");
    }
    long bytes = want * d * 4L;
    double fraction = Math.min(1.0, want * 1.1 / rows + 1e-9);
    if (bytes > maxTrainBytes) {
      return trainDistributed(input, index, rows, want, fraction, d, seed, maxTrainBytes, t0);
    }
    LOG.info("training {} on {} of {} rows (d = {})", factory, want, rows, d);
    // RDD.take reads partitions in order: the same rows whichever executor computes them (a SQL
    // limit gathers them through a shuffle, in the order the map outputs arrive)
    List<float[]> sample = input.projected().sample(false, fraction, seed)
        .queryExecution().toRdd().toJavaRDD()
        .map(r -> valid(input, r, d))
        .filter(v -> v != null)
        .take((int) want);
    float[] x = new float[sample.size() * d];
    for (int i = 0; i < sample.size(); i++) {
      System.arraycopy(sample.get(i), 0, x, i * d, d);
    }
    double sampleSeconds = (System.nanoTime() - t0) / 1e9;
    long t1 = System.nanoTime();
    int previous = Parallel.defaultThreads();
    Parallel.setDefaultThreads(Runtime.getRuntime().availableProcessors());
    try {
      index.train(x);
    } finally {
      Parallel.setDefaultThreads(previous);
    }
    double trainSeconds = (System.nanoTime() - t1) / 1e9;
    LOG.info("trained {} on {} vectors in {} s (sampling took {} s)", factory, sample.size(),
        String.format("%.2f", trainSeconds), String.format("%.2f", sampleSeconds));
    return new Result(index, rows, sample.size(), sampleSeconds, trainSeconds);
  }
}
