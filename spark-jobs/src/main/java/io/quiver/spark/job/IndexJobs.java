package io.quiver.spark.job;

import io.quiver.index.InvertedFileIndex;
import io.quiver.index.Metric;
import io.quiver.index.RefineIndex;
import io.quiver.index.VectorIndex;
import io.quiver.index.io.IndexIO;
import io.quiver.spark.plan.BuildPlan;
import io.quiver.spark.plan.InvalidRows;
import io.quiver.spark.plan.TrainPlan;
import io.quiver.spark.plan.VectorInput;
import io.quiver.spark.shard.IndexLayout;
import io.quiver.spark.shard.Manifest;
import io.quiver.spark.shard.ShardStore;
import io.quiver.spark.shard.StagedOutput;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/** The train, build and index jobs: read the input, call the plans, write the outputs. */
public final class IndexJobs {
  private IndexJobs() {}

  /**
   * What the jobs read: a table, its two columns, what to do with invalid rows
   * ({@link InvalidRows}; default {@link InvalidRows.Policy#FAIL}) and the reader's options
   * ({@code DataFrameReader.option}, e.g. {@code header=true} for CSV; default none).
   */
  public record Input(String path, String format, String idCol, String vectorCol, InvalidRows.Policy onInvalid,
                      Map<String, String> options) {
    public Input(String path, String format, String idCol, String vectorCol) {
      this(path, format, idCol, vectorCol, InvalidRows.Policy.FAIL);
    }

    public Input(String path, String format, String idCol, String vectorCol, InvalidRows.Policy onInvalid) {
      this(path, format, idCol, vectorCol, onInvalid, Map.of());
    }

    public Input {
      if (onInvalid == null) {
        onInvalid = InvalidRows.Policy.FAIL;
      }
      options = options == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(options));
    }

    /** This input with other reader options. */
    public Input withOptions(Map<String, String> o) {
      return new Input(path, format, idCol, vectorCol, onInvalid, o);
    }

    /**
     * The table, after checking that it exists ({@code what}: "queries", "input", ...: a missing
     * table fails with one line naming it).
     */
    public Dataset<Row> read(SparkSession spark, String what) {
      String table = what.equals("queries") ? "the query table" : "the " + what + (what.endsWith("table") ? "" : " table");
      return io.quiver.spark.io.Tables.read(spark, path, format, options, table);
    }

    public VectorInput open(SparkSession spark, String what) {
      return open(read(spark, what), what);
    }

    /** The vectors of {@code df}, read with {@link #read}. */
    public VectorInput open(Dataset<Row> df, String what) {
      return VectorInput.of(df, idCol, vectorCol, what + " " + path).onInvalid(onInvalid);
    }

    /** What the manifest records: the qualified path, format, options, columns and schema of {@code df}. */
    public Manifest.Input describe(SparkSession spark, Dataset<Row> df) {
      return io.quiver.spark.io.Tables.describe(spark, path, format, options, idCol, vectorCol, df.schema());
    }
  }

  /** Training parameters. */
  public record TrainOptions(String factory, Metric metric, long seed, long trainSize, long maxTrainBytes) {}

  /**
   * Prepares a scratch directory (the demo's work folder, not an index): refuses an existing one
   * unless {@code overwrite}, which deletes it first. Index builds go through
   * {@link StagedOutput} instead, which keeps an old index until the new one is committed.
   */
  public static Path prepareOutput(SparkSession spark, String output, boolean overwrite) throws IOException {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    Path p = new Path(output);
    FileSystem fs = p.getFileSystem(conf);
    Path q = fs.makeQualified(p);
    if (fs.exists(q)) {
      if (!overwrite) {
        boolean committed = fs.exists(IndexLayout.success(q));
        throw new IllegalArgumentException("the output " + q + " already exists" + (committed ? " and holds an index"
            : "") + "; a build writes a new directory: choose another --output, or pass --overwrite to delete it first");
      }
      if (!fs.delete(q, true)) {
        throw new IOException("cannot delete " + q + " (--overwrite)");
      }
    }
    fs.mkdirs(q);
    return q;
  }

  /**
   * Fails, before any work, when {@code output} exists and {@code overwrite} is false (a job
   * writing results would otherwise fail only at its end, with Spark's "set mode to overwrite").
   */
  public static void checkOutputAbsent(SparkSession spark, String output, boolean overwrite) {
    if (overwrite) {
      return;
    }
    try {
      Path p = new Path(output);
      FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
      Path q = fs.makeQualified(p);
      if (fs.exists(q)) {
        boolean index = fs.exists(IndexLayout.manifest(q));
        throw new IllegalArgumentException("the output " + q + " already exists" + (index ? " and holds an index" : "")
            + "; choose another --output, or pass --overwrite to replace it");
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("cannot check the output " + output + ": " + e.getMessage(), e);
    }
  }

  /** The rows of the table a job wrote (what its JSON result reports): a count over its files. */
  public static long rowsWritten(SparkSession spark, String output, String format) {
    try (io.quiver.spark.plan.Phase p = io.quiver.spark.plan.Phase.quiet(spark, "write", "count the rows written")) {
      return spark.read().format(format).load(output).count();
    }
  }

  /** The quantizer's file bytes: an 'RFLT' file around it (with no vectors) for RFlat indexes. */
  static byte[] bytes(InvertedFileIndex quantizer, boolean refine) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    IndexIO.write(refine ? new RefineIndex(quantizer) : quantizer, out);
    return out.toByteArray();
  }

  /** Trains and writes the quantizer to {@code file} (any Hadoop path); returns the run's summary. */
  public static Map<String, Object> train(SparkSession spark, Input in, TrainOptions o, String file, boolean overwrite)
      throws IOException {
    long start = System.nanoTime();
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    Path target = new Path(file);
    FileSystem fs = target.getFileSystem(conf);
    target = fs.makeQualified(target);
    if (fs.exists(target) && !overwrite) {
      throw new IllegalArgumentException("the output " + target + " already exists; pass --overwrite to replace it");
    }
    TrainPlan.Result r = TrainPlan.train(in.open(spark, "input"), o.factory(), o.metric(), o.seed(), o.trainSize(),
        o.maxTrainBytes());
    byte[] b = bytes(r.quantizer(), TrainPlan.refines(o.factory()));
    Path tmp = new Path(target.getParent(), "." + target.getName() + ".tmp-" + System.nanoTime());
    try (var out = fs.create(tmp, false)) {
      out.write(b);
    }
    if (fs.exists(target)) {
      fs.delete(target, false);
    }
    if (!fs.rename(tmp, target)) {
      fs.delete(tmp, false);
      throw new IOException("cannot rename " + tmp + " to " + target);
    }
    Map<String, Object> json = trainSummary(r, o);
    json.put("quantizer", target.toString());
    json.put("total_s", seconds(start));
    return json;
  }

  private static Map<String, Object> trainSummary(TrainPlan.Result r, TrainOptions o) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("factory", r.quantizer().factoryString() + (TrainPlan.refines(o.factory()) ? ",RFlat" : ""));
    json.put("metric", io.quiver.spark.plan.MetricNames.name(o.metric()));
    json.put("d", r.quantizer().d());
    json.put("nlist", r.quantizer().nlist());
    json.put("rows", r.inputRows());
    json.put("train_rows", r.sampleRows());
    json.put("sample_s", round(r.sampleSeconds()));
    json.put("train_s", round(r.trainSeconds()));
    return json;
  }

  /** Builds an index in {@code output} from a quantizer file. */
  public static Map<String, Object> build(SparkSession spark, Input in, String quantizerFile, String output,
                                          int shards, long seed, boolean overwrite) throws IOException {
    long start = System.nanoTime();
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    byte[] b = ShardStore.readAll(new Path(quantizerFile), conf);
    VectorIndex read = IndexIO.read(new ByteArrayInputStream(b), quantizerFile, b.length);
    boolean refine = read instanceof RefineIndex;
    if (read instanceof RefineIndex r) {
      read = r.base();
    }
    if (!(read instanceof InvertedFileIndex q)) {
      throw new IllegalArgumentException(quantizerFile + " is not the quantizer of an IVF index (written by quiver train)");
    }
    if (!q.isTrained() || q.ntotal() != 0) {
      throw new IllegalArgumentException(quantizerFile + " must hold a trained, empty IVF index (as quiver train writes "
          + "it); it is " + (q.isTrained() ? "not empty (" + q.ntotal() + " vectors)" : "untrained"));
    }
    Dataset<Row> df = in.read(spark, "input");
    VectorInput vin = in.open(df, "input");
    StagedOutput staged = StagedOutput.begin(conf, output, overwrite);
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("factory", q.factoryString() + (refine ? ",RFlat" : ""));
    try {
      json.putAll(build(spark, vin, in.describe(spark, df), staged, q, refine, b, -1, shards, seed));
    } catch (Throwable e) {
      // Throwable: a failed Spark job throws SparkException, a checked exception Java does not see
      staged.abandon();
      throw e;
    }
    json.put("total_s", seconds(start));
    return json;
  }

  /** Trains, writes the quantizer into the index directory, and builds. */
  public static Map<String, Object> index(SparkSession spark, Input in, TrainOptions o, String output, int shards,
                                          boolean overwrite) throws IOException {
    Dataset<Row> df = in.read(spark, "input");
    return index(spark, in.open(df, "input"), in.describe(spark, df), o, output, shards, overwrite);
  }

  /**
   * Trains and builds from a DataFrame's vectors ({@code described}: where they were read from,
   * recorded in the manifest, or null for a DataFrame made in the program).
   */
  public static Map<String, Object> index(SparkSession spark, VectorInput in, Manifest.Input described,
                                          TrainOptions o, String output, int shards, boolean overwrite)
      throws IOException {
    long start = System.nanoTime();
    StagedOutput staged = StagedOutput.begin(spark.sparkContext().hadoopConfiguration(), output, overwrite);
    Map<String, Object> json;
    try {
      TrainPlan.Result r = TrainPlan.train(in, o.factory(), o.metric(), o.seed(), o.trainSize(), o.maxTrainBytes());
      json = trainSummary(r, o);
      boolean refine = TrainPlan.refines(o.factory());
      json.putAll(build(spark, in, described, staged, r.quantizer(), refine, bytes(r.quantizer(), refine),
          r.inputRows(), shards, o.seed()));
    } catch (Throwable e) {
      // Throwable: a failed Spark job throws SparkException, a checked exception Java does not see
      staged.abandon();
      throw e;
    }
    json.put("total_s", seconds(start));
    return json;
  }

  /** Builds and commits in the staging directory, then moves the index to the output. */
  private static Map<String, Object> build(SparkSession spark, VectorInput in, Manifest.Input described,
                                           StagedOutput staged, InvertedFileIndex q, boolean refine, byte[] b,
                                           long rows, int shards, long seed) throws IOException {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    Path index = staged.dir();
    Manifest.FileEntry qe = ShardStore.writeOnce(index, IndexLayout.QUANTIZER, "driver", conf, out -> out.write(b));
    BuildPlan.Result r = BuildPlan.build(spark, in, described, index, q, refine, b, qe, rows, shards, seed);
    staged.publish();
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("index", staged.target().toString());
    json.put("ntotal", r.rows());
    json.put("shards", r.manifest().shards.size());
    long max = 0;
    for (Manifest.Shard s : r.manifest().shards) {
      max = Math.max(max, s.count);
    }
    json.put("max_shard_over_mean", round(max * (double) r.manifest().shards.size() / Math.max(1, r.rows())));
    json.put("invalid", r.manifest().invalid);
    json.put("encode_s", round(r.encodeSeconds()));
    json.put("write_s", round(r.writeSeconds()));
    return json;
  }

  static double round(double s) {
    return Math.round(s * 1000) / 1000.0;
  }

  static double seconds(long start) {
    return round((System.nanoTime() - start) / 1e9);
  }
}
