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

  /** The factory strings the Spark jobs build, as help texts and errors list them. */
  public static final String ACCEPTED = "IVF<nlist>,Flat | IVF<nlist>,PQ<m>[x<nbits>] | IVF<nlist>,SQ8|SQ4|SQfp16, "
      + "or the same without IVF<nlist>, (Flat, PQ16, SQ8: built as IVF1,...: one inverted list split over the "
      + "shards by id, every search exhaustive with an exact merge), each optionally with ,RFlat and an IDMap, "
      + "prefix (e.g. IVF1024,PQ16, IVF256,SQ8,RFlat, Flat)";

  /**
   * The inverted-file factory string the Spark jobs build for {@code factory}: as it is for an
   * {@code IVF} string; without an {@code IDMap,} or {@code IDMap2,} prefix (an index built on
   * Spark always keeps the input's ids); and {@code IVF1,} before a flat index ({@code Flat},
   * {@code PQ16}, {@code SQ8}, ...): one inverted list, which the build splits over the shards by
   * id, so that every search scans every vector, shard by shard, and merges the shards' top-k
   * exactly: FAISS's flat index distributed.
   */
  public static String sharded(String factory) {
    String f = factory.trim();
    for (String prefix : new String[] {"IDMap2,", "IDMap,"}) {
      if (f.startsWith(prefix)) {
        f = f.substring(prefix.length()).trim();
        break;
      }
    }
    if (f.isEmpty() || f.startsWith("IVF") || f.startsWith("L2norm")) {
      return f; // L2norm is refused by create, with what to use instead
    }
    return "IVF1," + f;
  }

  /** The index a factory string describes ({@link #sharded}), refused unless the Spark jobs can shard it. */
  public static InvertedFileIndex create(int d, String factory, Metric metric) {
    String built = sharded(factory);
    VectorIndex index;
    try {
      index = IndexFactory.create(d, built, metric);
    } catch (IllegalArgumentException e) {
      if (built.equals(factory)) {
        throw e;
      }
      throw new IllegalArgumentException(e.getMessage().replace("'" + built + "'", "'" + factory + "'"));
    }
    if (index instanceof RefineIndex r) {
      index = r.base();
    }
    if (!(index instanceof InvertedFileIndex ivf)) {
      throw new IllegalArgumentException(notSharded(factory));
    }
    return ivf;
  }

  private static String notSharded(String factory) {
    String f = factory.trim();
    String hint = f.startsWith("L2norm,") ? " (for L2norm,... use --metric cosine with the rest of the string)" : "";
    return "factory '" + factory + "': the Spark jobs build inverted-file indexes: " + ACCEPTED + hint;
  }

  private static final java.util.regex.Pattern IVF_NLIST = java.util.regex.Pattern.compile("(?:^|,)\\s*IVF([0-9]+)\\s*,");
  private static final java.util.regex.Pattern PQ_M = java.util.regex.Pattern.compile("PQ([0-9]{1,6})");

  /**
   * Checks a factory string without data (so before Spark starts): that index-core parses it and
   * that it is one the Spark jobs build ({@link #ACCEPTED}); the dimension it needs (PQ's m
   * divides d) is checked by the training, which knows d.
   *
   * @throws IllegalArgumentException saying what is accepted
   */
  public static void checkFactory(String factory) {
    if (factory == null || factory.isBlank()) {
      throw new IllegalArgumentException("the factory string is empty; accepted: " + ACCEPTED);
    }
    String f = factory;
    java.util.regex.Matcher ivf = IVF_NLIST.matcher(f);
    if (ivf.find()) {
      long nlist;
      try {
        nlist = Long.parseLong(ivf.group(1));
      } catch (NumberFormatException e) {
        nlist = Long.MAX_VALUE;
      }
      if (nlist < 1 || nlist > io.quiver.index.io.IndexFormat.MAX_NLIST) {
        throw new IllegalArgumentException("factory '" + factory + "': nlist must be in [1, "
            + io.quiver.index.io.IndexFormat.MAX_NLIST + "], was " + ivf.group(1));
      }
      f = f.substring(0, ivf.start(1)) + "1" + f.substring(ivf.end(1)); // the structure, without nlist's lists
    }
    java.util.regex.Matcher pq = PQ_M.matcher(f);
    int d = pq.find() ? Math.max(1, Integer.parseInt(pq.group(1))) : 8;
    try {
      create(d, f, Metric.L2); // parses, and refuses what the Spark jobs do not build
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(e.getMessage().replace("'" + f + "'", "'" + factory + "'"));
    }
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

  /** Training vectors of a flat string's codes ({@code SQ8}, {@code PQ16} built as {@code IVF1,...}) at least. */
  static final long FLAT_TRAIN_SIZE = 256 * 256;

  /**
   * {@link #defaultSampleSize(InvertedFileIndex)}, and for a flat string ({@code SQ8}, {@code PQ16}:
   * one list) at least {@value #FLAT_TRAIN_SIZE}: one list's 256 points would train scalar
   * quantizer ranges too narrow, where FAISS trains its flat indexes on all they are given.
   */
  static long defaultSampleSize(InvertedFileIndex index, String factory) {
    boolean flat = !factory.trim().startsWith("IVF") && sharded(factory).startsWith("IVF1,");
    return flat ? Math.max(FLAT_TRAIN_SIZE, index.trainingSampleSize()) : index.trainingSampleSize();
  }

  /**
   * The coarse k-means on the executors (the sample stays distributed), then the code quantizer
   * on the driver from a part of the sample that fits the bound.
   */
  static Result trainDistributed(VectorInput input, InvertedFileIndex index, long rows, long want, double fraction,
                                 int d, long seed, long maxTrainBytes, long t0, Phase.Sequence phases) {
    phases.next("sample about %,d of %,d rows (d = %d)", want, rows, d);
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
      phases.end(n, "vectors");
      LOG.info("training sample of {} vectors ({} bytes) exceeds --max-train-bytes {}: k-means runs on the executors",
          n, n * d * 4L, maxTrainBytes);
      phases.next("distributed k-means of %,d centroids on %,d vectors", index.nlist(), n);
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
      phases.end(n, "vectors");
      phases.next("train the codes of %s on %,d vectors on the driver", index.factoryString(), codecSample.size());
      index.trainWithCentroids(centroids, x);
      double trainSeconds = (System.nanoTime() - t1) / 1e9;
      phases.end(codecSample.size(), "vectors");
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
    try (Phase.Sequence phases = new Phase.Sequence(input.projected().sparkSession(), "train")) {
      return train(input, factory, metric, seed, sampleSize, maxTrainBytes, phases);
    }
  }

  private static Result train(VectorInput input, String factory, Metric metric, long seed, long sampleSize,
                              long maxTrainBytes, Phase.Sequence phases) {
    phases.next("read the dimension and count the input rows");
    int d = dimension(input);
    InvertedFileIndex index = create(d, factory, metric);
    if (!sharded(factory).equals(factory.trim())) {
      LOG.info("factory '{}' is built as {}{}", factory, sharded(factory), sharded(factory).startsWith("IVF1,")
          && !factory.trim().startsWith("IVF") ? ": one inverted list split over the shards by id; every search "
          + "scans all vectors and merges the shards' results exactly" : "");
    }
    index.coarseQuantizer().setSeed(seed);
    long t0 = System.nanoTime();
    long rows = input.projected().count();
    phases.end(rows, "rows");
    long want = Math.min(rows, sampleSize > 0 ? sampleSize : defaultSampleSize(index, factory));
    if (want < index.nlist()) {
      throw new IllegalArgumentException("the input has " + rows + " rows" + (sampleSize > 0 ? " (or --train-size "
          + sampleSize + ")" : "") + ": training " + factory + " needs at least nlist = " + index.nlist() + " vectors");
    }
    long bytes = want * d * 4L;
    double fraction = Math.min(1.0, want * 1.1 / rows + 1e-9);
    if (bytes > maxTrainBytes) {
      return trainDistributed(input, index, rows, want, fraction, d, seed, maxTrainBytes, t0, phases);
    }
    phases.next("sample %,d of %,d rows (d = %d) to train %s", want, rows, d, factory);
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
    phases.end(sample.size(), "vectors");
    phases.next("train %s on %,d vectors on the driver", factory, sample.size());
    long t1 = System.nanoTime();
    int previous = Parallel.defaultThreads();
    Parallel.setDefaultThreads(Runtime.getRuntime().availableProcessors());
    try {
      index.train(x);
    } finally {
      Parallel.setDefaultThreads(previous);
    }
    double trainSeconds = (System.nanoTime() - t1) / 1e9;
    phases.end(sample.size(), "vectors");
    return new Result(index, rows, sample.size(), sampleSeconds, trainSeconds);
  }
}
