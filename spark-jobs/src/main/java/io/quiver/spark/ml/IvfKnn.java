package io.quiver.spark.ml;

import io.quiver.spark.job.IndexJobs;
import io.quiver.spark.plan.MetricNames;
import io.quiver.spark.plan.VectorInput;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains and builds an IVF index over a dataset of (id, vector) rows: {@code fit} samples the
 * rows, trains the coarse centroids (and PQ/SQ codebooks) and builds the sharded index into
 * {@code indexDir}, as the {@code quiver index} job does; the {@link IvfKnnModel} it returns
 * searches it.
 *
 * <pre>{@code
 * IvfKnnModel model = new IvfKnn().setFactory("IVF1024,PQ16").setIdCol("id").setVectorCol("embedding")
 *     .setIndexDir("hdfs:///indexes/products").fit(items);
 * Dataset<Row> withNeighbors = model.setK(10).setNprobe(16).transform(queries);
 * }</pre>
 */
public final class IvfKnn extends Estimator<IvfKnnModel> implements DefaultParamsWritable {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(IvfKnn.class);

  private final String uid;
  private final Param<String> factory;
  private final IntParam nlist;
  private final IntParam m;
  private final IntParam nbits;
  private final Param<String> metric;
  private final Param<String> idCol;
  private final Param<String> vectorCol;
  private final LongParam sampleSize;
  private final IntParam numShards;
  private final LongParam seed;
  private final Param<String> indexDir;

  public IvfKnn() {
    this(Identifiable$.MODULE$.randomUID("ivfKnn"));
  }

  public IvfKnn(String uid) {
    this.uid = uid;
    this.factory = KnnParams.factory(this);
    this.nlist = KnnParams.nlist(this);
    this.m = KnnParams.m(this);
    this.nbits = KnnParams.nbits(this);
    this.metric = KnnParams.metric(this);
    this.idCol = KnnParams.idCol(this);
    this.vectorCol = KnnParams.vectorCol(this);
    this.sampleSize = KnnParams.sampleSize(this);
    this.numShards = KnnParams.numShards(this);
    this.seed = KnnParams.seed(this);
    this.indexDir = KnnParams.indexDir(this);
    KnnParams.setDefaults(this);
  }

  @Override
  public String uid() {
    return uid;
  }

  public Param<String> factory() { return factory; }
  public IntParam nlist() { return nlist; }
  public IntParam m() { return m; }
  public IntParam nbits() { return nbits; }
  public Param<String> metric() { return metric; }
  public Param<String> idCol() { return idCol; }
  public Param<String> vectorCol() { return vectorCol; }
  public LongParam sampleSize() { return sampleSize; }
  public IntParam numShards() { return numShards; }
  public LongParam seed() { return seed; }
  public Param<String> indexDir() { return indexDir; }

  public IvfKnn setFactory(String v) { set(factory, v); return this; }
  public IvfKnn setNlist(int v) { set(nlist, v); return this; }
  public IvfKnn setM(int v) { set(m, v); return this; }
  public IvfKnn setNbits(int v) { set(nbits, v); return this; }
  public IvfKnn setMetric(String v) { set(metric, v); return this; }
  public IvfKnn setIdCol(String v) { set(idCol, v); return this; }
  public IvfKnn setVectorCol(String v) { set(vectorCol, v); return this; }
  public IvfKnn setSampleSize(long v) { set(sampleSize, v); return this; }
  public IvfKnn setNumShards(int v) { set(numShards, v); return this; }
  public IvfKnn setSeed(long v) { set(seed, v); return this; }
  public IvfKnn setIndexDir(String v) { set(indexDir, v); return this; }

  public String getFactory() { return $(factory); }
  public String getIdCol() { return $(idCol); }
  public String getVectorCol() { return $(vectorCol); }
  public String getIndexDir() { return $(indexDir); }

  /**
   * The factory string fit builds: {@code factory} when set, else {@code IVF<nlist>,Flat} or
   * {@code IVF<nlist>,PQ<m>x<nbits>}, with nlist 0 meaning {@code 4 * sqrt(rows)}.
   */
  String factoryFor(long rows) {
    String f = $(factory).trim();
    if (!f.isEmpty()) {
      return f;
    }
    int lists = (Integer) $(nlist);
    if (lists == 0) {
      lists = (int) Math.max(1, Math.min(65536, Math.round(4 * Math.sqrt(rows))));
    }
    return "IVF" + lists + "," + ((Integer) $(m) == 0 ? "Flat" : "PQ" + $(m) + "x" + $(nbits));
  }

  /**
   * Builds the index over {@code dataset}. When the dataset is a plain read of a file table
   * ({@code spark.read().parquet(path)}, columns selected or not), the index records the table's
   * path and fingerprint, so that a saved and loaded model finds its item rows again without
   * {@code setItems}.
   */
  @Override
  public IvfKnnModel fit(Dataset<?> dataset) {
    return ParamNames.call(() -> fitItems(dataset));
  }

  private IvfKnnModel fitItems(Dataset<?> dataset) {
    @SuppressWarnings("unchecked")
    Dataset<Row> items = (Dataset<Row>) dataset;
    SparkSession spark = items.sparkSession();
    VectorInput in = VectorInput.of(items, $(idCol), $(vectorCol), "items");
    String f = $(factory).trim().isEmpty() ? factoryFor(items.count()) : $(factory).trim();
    try {
      io.quiver.spark.plan.TrainPlan.checkFactory(f);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("factory: " + e.getMessage(), e);
    }
    String dir = $(indexDir).isEmpty() ? defaultDir(spark) : $(indexDir);
    IndexJobs.TrainOptions o = new IndexJobs.TrainOptions(f, MetricNames.parse($(metric)), (Long) $(seed), (Long) $(sampleSize),
        io.quiver.spark.plan.TrainPlan.DEFAULT_MAX_TRAIN_BYTES);
    Map<String, Object> summary;
    try {
      summary = IndexJobs.index(spark, in, io.quiver.spark.io.Tables.describe(items, $(idCol), $(vectorCol)), o, dir,
          (Integer) $(numShards), false);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot build the index in " + dir + ": " + e.getMessage(), e);
    }
    LOG.info("fit built {} into {}: {}", f, dir, summary);
    IvfKnnModel model = IvfKnnModel.open(uid, spark, summary.get("index").toString(), items);
    model.setIdCol($(idCol)).setVectorCol($(vectorCol));
    return copyValues(model.setParent(this), extractParamMap());
  }

  /**
   * MLlib LSH's {@code approxSimilarityJoin(datasetA, datasetB, threshold)}: indexes
   * {@code right} with this estimator's Params and returns every (left row, right row) pair within
   * {@code threshold} (squared L2 below it; inner product or cosine above it) as
   * {@code (datasetA, datasetB, distCol)}; with {@code k > 0} at most k per left row.
   */
  public Dataset<Row> similarityJoin(Dataset<Row> left, Dataset<Row> right, double threshold, int k, int nprobe) {
    return fit(right).setNprobe(nprobe).similarityJoin(left, threshold, k);
  }

  /** A new directory under the file system's home for an index fit builds without {@code indexDir}. */
  private String defaultDir(SparkSession spark) {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    try {
      FileSystem fs = FileSystem.get(conf);
      Path p = new Path(fs.getHomeDirectory(), ".quiver/indexes/" + uid + "-" + System.currentTimeMillis());
      LOG.info("indexDir not set: fit writes the index to {}", p);
      return p.toString();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the default file system to choose an index directory; set indexDir",
          e);
    }
  }

  @Override
  public StructType transformSchema(StructType schema) {
    io.quiver.spark.io.VectorColumns.of(schema, $(idCol), $(vectorCol));
    return schema;
  }

  /** As Spark's, with array values shown as their elements. */
  @Override
  public String explainParam(Param<?> param) {
    return KnnParams.explain(this, param);
  }

  @Override
  public IvfKnn copy(ParamMap extra) {
    return defaultCopy(extra);
  }

  public static MLReader<IvfKnn> read() {
    return new DefaultParamsReader<>();
  }

  public static IvfKnn load(String path) {
    return read().load(path);
  }
}
