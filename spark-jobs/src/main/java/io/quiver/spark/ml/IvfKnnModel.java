package io.quiver.spark.ml;

import io.quiver.spark.plan.Neighbors;
import io.quiver.spark.plan.QueryFilter;
import io.quiver.spark.plan.SearchPlan;
import io.quiver.spark.plan.VectorInput;
import io.quiver.spark.shard.IndexLayout;
import io.quiver.spark.shard.Manifest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.FloatParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWriter$;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * A built index, searchable from DataFrames: {@link #transform} adds a neighbours column,
 * {@link #knnJoin}, {@link #similarityJoin} and {@link #selfJoin} return join rows
 * {@code (datasetA, datasetB, distCol)} as Spark ML's LSH joins do.
 *
 * <p>{@code save(path)} writes the index directory (a copy of the model's index, with the
 * Params under {@code metadata/}, committed by {@code _SUCCESS} last); {@link #load} opens any
 * committed index directory, also one built by the {@code quiver index} job (its Params then
 * take their defaults, with the id and vector columns recorded in the manifest).
 *
 * <p>Distances are the index's: squared L2, inner product, or cosine similarity. Query rows
 * are numbered with {@code monotonically_increasing_id} to carry them through the search, so the
 * query DataFrame must be deterministic (a table read, not a random sample).
 */
public final class IvfKnnModel extends Model<IvfKnnModel> implements MLWritable {
  private static final long serialVersionUID = 1L;

  private final String uid;
  private final String indexPath;
  private transient SearchPlan.LoadedIndex index;
  private transient Dataset<Row> items;
  /** Where {@link #items} are read from when not set: a saved model's items.json, else the manifest's input. */
  private Manifest.Input itemsSource;
  /** The file of a saved model that records the table its item rows were read from. */
  static final String ITEMS_FILE = "items.json";

  private final Param<String> idCol;
  private final Param<String> vectorCol;
  private final IntParam k;
  private final IntParam nprobe;
  private final FloatParam kFactor;
  private final Param<String> outputCol;
  private final Param<String> distCol;
  private final Param<String> strategy;
  private final Param<String> onInvalid;
  /** The query rows the last search left out (onInvalid skip). */
  private transient io.quiver.spark.plan.InvalidRows.Report skipped;
  private final StringArrayParam itemCols;
  private final Param<String> filter;
  private final Param<String> matchCol;
  private final FloatParam filterFactor;
  private final DoubleParam mmrLambda;
  private final IntParam fetchK;

  private IvfKnnModel(String uid, String indexPath, SearchPlan.LoadedIndex index, Dataset<Row> items) {
    this.uid = uid;
    this.idCol = KnnParams.idCol(this);
    this.vectorCol = KnnParams.vectorCol(this);
    this.k = KnnParams.k(this);
    this.nprobe = KnnParams.nprobe(this);
    this.kFactor = KnnParams.kFactor(this);
    this.outputCol = KnnParams.outputCol(this);
    this.distCol = KnnParams.distCol(this);
    this.strategy = KnnParams.strategy(this);
    this.onInvalid = KnnParams.onInvalid(this);
    this.itemCols = KnnParams.itemCols(this);
    this.filter = KnnParams.filter(this);
    this.matchCol = KnnParams.matchCol(this);
    this.filterFactor = KnnParams.filterFactor(this);
    this.mmrLambda = KnnParams.mmrLambda(this);
    this.fetchK = KnnParams.fetchK(this);
    this.indexPath = indexPath;
    this.index = index;
    this.items = items;
    KnnParams.setDefaults(this);
  }

  /** A model over the committed index at {@code path}; {@code items} may be null. */
  static IvfKnnModel open(String uid, SparkSession spark, String path, Dataset<Row> items) {
    try {
      return new IvfKnnModel(uid, path, SearchPlan.LoadedIndex.load(spark, path), items);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the index " + path + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String uid() {
    return uid;
  }

  /** The index directory this model searches. */
  public String indexPath() {
    return indexPath;
  }

  public Param<String> idCol() { return idCol; }
  public Param<String> vectorCol() { return vectorCol; }
  public IntParam k() { return k; }
  public IntParam nprobe() { return nprobe; }
  public FloatParam kFactor() { return kFactor; }
  public Param<String> outputCol() { return outputCol; }
  public Param<String> distCol() { return distCol; }
  public Param<String> strategy() { return strategy; }
  public Param<String> onInvalid() { return onInvalid; }
  public StringArrayParam itemCols() { return itemCols; }
  public Param<String> filter() { return filter; }
  public Param<String> matchCol() { return matchCol; }
  public FloatParam filterFactor() { return filterFactor; }
  public DoubleParam mmrLambda() { return mmrLambda; }
  public IntParam fetchK() { return fetchK; }

  public IvfKnnModel setIdCol(String v) { set(idCol, v); return this; }
  public IvfKnnModel setVectorCol(String v) { set(vectorCol, v); return this; }
  public IvfKnnModel setK(int v) { set(k, v); return this; }
  public IvfKnnModel setNprobe(int v) { set(nprobe, v); return this; }
  public IvfKnnModel setKFactor(float v) { set(kFactor, v); return this; }
  public IvfKnnModel setOutputCol(String v) { set(outputCol, v); return this; }
  public IvfKnnModel setDistCol(String v) { set(distCol, v); return this; }
  public IvfKnnModel setStrategy(String v) { set(strategy, v); return this; }
  public IvfKnnModel setOnInvalid(String v) { set(onInvalid, v); return this; }
  public IvfKnnModel setItemCols(String... v) { set(itemCols, v); return this; }
  public IvfKnnModel setFilter(String v) { set(filter, v); return this; }
  public IvfKnnModel setMatchCol(String v) { set(matchCol, v); return this; }
  public IvfKnnModel setFilterFactor(float v) { set(filterFactor, v); return this; }
  public IvfKnnModel setMmrLambda(double v) { set(mmrLambda, v); return this; }
  public IvfKnnModel setFetchK(int v) { set(fetchK, v); return this; }

  /**
   * The query rows the last {@code transform} or join left out because they were invalid
   * ({@code onInvalid} skip), by reason; empty before the first search.
   */
  public io.quiver.spark.plan.InvalidRows.Report skippedQueries() {
    return skipped == null ? new io.quiver.spark.plan.InvalidRows.Report() : skipped;
  }

  public int getK() { return (Integer) $(k); }
  public int getNprobe() { return (Integer) $(nprobe); }
  public String getOutputCol() { return $(outputCol); }

  /**
   * The item rows (payload columns, filters and self-joins read them): the dataset given to
   * {@code fit}, the one set here, or else the table recorded in the index's manifest (which
   * {@code fit} records when its dataset is a plain read of a file table, so a saved and loaded
   * model finds its items again). Items without the vector column serve item columns and
   * filters; a self-join then reads the vectors from the recorded table.
   */
  public IvfKnnModel setItems(Dataset<Row> items) {
    this.items = items;
    return this;
  }

  /**
   * The item rows this model reads: those set with {@link #setItems} or given to {@code fit},
   * else the index's recorded input, checked to be the table the index was built from (same
   * schema and row count).
   *
   * @throws IllegalArgumentException when there are none, or the recorded table changed
   */
  public Dataset<Row> getItems() {
    return items();
  }

  private SparkSession spark() {
    return SparkSession.active();
  }

  private SearchPlan.LoadedIndex index() {
    if (index == null) {
      try {
        index = SearchPlan.LoadedIndex.load(spark(), indexPath);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot open the index " + indexPath + ": " + e.getMessage(), e);
      }
    }
    return index;
  }

  private Dataset<Row> items() {
    if (items == null) {
      items = recorded("the item table");
    }
    return items;
  }

  /** The table the item rows were recorded from (items.json, else the index's input), checked against its fingerprint. */
  private Dataset<Row> recorded(String what) {
    Manifest.Input in = itemsSource != null ? itemsSource : index().manifest().input;
    return io.quiver.spark.io.Tables.openRecorded(spark(), in, indexPath, what,
        "give the item rows with setItems(items)");
  }

  private List<String> itemColumns() {
    return Arrays.asList($(itemCols));
  }

  private SearchPlan.Options options(int kk, SearchPlan.Constraints c) {
    return new SearchPlan.Options(kk, (Integer) $(nprobe), (Float) $(kFactor), SearchPlan.Strategy.parse($(strategy)),
        SearchPlan.DEFAULT_BROADCAST_BYTES, 0, c);
  }

  /** Queries as the search reads them, with the constraints that go with them. */
  private record Constrained(Dataset<Row> queries, SearchPlan.Constraints constraints) {}

  /** The constraints of the filter and MMR Params; compiles the filter against {@code queries}. */
  private Constrained constrain(Dataset<Row> queries, SearchPlan.Constraints c, int kk) {
    if (!$(filter).isEmpty() || !$(matchCol).isEmpty()) {
      QueryFilter.Compiled f = QueryFilter.compile(spark(), index(), items(), $(idCol),
          $(filter).isEmpty() ? null : $(filter), $(matchCol).isEmpty() ? null : $(matchCol), queries,
          (Float) $(filterFactor), 0);
      c = c.withFilter(f.filter());
      queries = f.queries();
    }
    double lambda = (Double) $(mmrLambda);
    if (lambda >= 0) {
      int fk = (Integer) $(fetchK);
      c = c.withMmr((float) lambda, fk == 0 ? 4 * kk : fk);
    }
    return new Constrained(queries, c);
  }

  private Dataset<Row> search(Dataset<Row> numbered, String key, int kk, SearchPlan.Constraints c) {
    Constrained qc = constrain(numbered, c, kk);
    VectorInput in = VectorInput.of(qc.queries(), key, $(vectorCol), "queries")
        .onInvalid(io.quiver.spark.plan.InvalidRows.Policy.parse($(onInvalid)));
    Dataset<Row> result = SearchPlan.search(spark(), index(), in, options(kk, qc.constraints()), r -> r);
    skipped = in.skipped();
    return result;
  }

  /** The queries with {@code outputCol}: their k nearest items, {@code array<struct<id, distance, itemCols...>>}. */
  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    return ParamNames.call(() -> {
      transformSchema(dataset.schema());
      @SuppressWarnings("unchecked")
      Dataset<Row> numbered = Neighbors.numbered((Dataset<Row>) dataset);
      Dataset<Row> result = search(numbered, Neighbors.ROW, getK(), SearchPlan.Constraints.NONE);
      List<String> cols = itemColumns();
      return Neighbors.withNeighbors(numbered, result, $(outputCol), cols.isEmpty() ? null : items(), $(idCol), cols);
    });
  }

  /** Every query row with each of its {@code k} nearest item rows: {@code (datasetA, datasetB, distCol)}. */
  public Dataset<Row> knnJoin(Dataset<Row> queries, int kk) {
    return ParamNames.call(() -> {
      Dataset<Row> numbered = Neighbors.numbered(queries);
      Dataset<Row> result = search(numbered, Neighbors.ROW, kk, SearchPlan.Constraints.NONE);
      return Neighbors.joinRows(numbered, Neighbors.ROW, result, items(), $(idCol), $(distCol), false);
    });
  }

  /**
   * Every (query row, item row) pair within {@code threshold} (squared L2 below it; inner
   * product or cosine above it): the schema of Spark ML's {@code approxSimilarityJoin}.
   */
  public Dataset<Row> similarityJoin(Dataset<Row> queries, double threshold) {
    return similarityJoin(queries, threshold, 0);
  }

  /** At most {@code k} items within {@code threshold} per query ({@code k = 0}: all of them). */
  public Dataset<Row> similarityJoin(Dataset<Row> queries, double threshold, int kk) {
    return ParamNames.call(() -> {
      Dataset<Row> numbered = Neighbors.numbered(queries);
      Dataset<Row> result = search(numbered, Neighbors.ROW, kk,
          SearchPlan.Constraints.NONE.withRadius((float) threshold));
      return Neighbors.joinRows(numbered, Neighbors.ROW, result, items(), $(idCol), $(distCol), false);
    });
  }

  /**
   * The items joined with themselves: each item with its {@code k} nearest other items (and/or
   * those within {@code threshold}; NaN: no threshold, k = 0: no bound), never with itself;
   * {@code pairsOnce} reports each unordered pair once, with the smaller id in {@code datasetA}.
   */
  public Dataset<Row> selfJoin(int kk, double threshold, boolean pairsOnce) {
    SearchPlan.Constraints c = SearchPlan.Constraints.NONE.withExcludeSelf(true);
    if (!Double.isNaN(threshold)) {
      c = c.withRadius((float) threshold);
    }
    SearchPlan.Constraints constraints = c;
    return ParamNames.call(() -> {
      Dataset<Row> it = withVectors(items());
      Dataset<Row> q = SearchPlan.withSelfIds(spark(), index(), it, $(idCol));
      Dataset<Row> result = search(q, $(idCol), kk, constraints);
      return Neighbors.joinRows(it, $(idCol), result, it, $(idCol), $(distCol), pairsOnce);
    });
  }

  /**
   * The item rows with their vectors: as they are when they have the vector column, else joined
   * by id to the vectors of the index's recorded input (all its rows, with the items' columns
   * where an item row has the id).
   */
  private Dataset<Row> withVectors(Dataset<Row> it) {
    if (Arrays.asList(it.columns()).contains($(vectorCol))) {
      return it;
    }
    Manifest.Input in = index().manifest().input;
    if (in == null || in.path == null) {
      throw new IllegalArgumentException("the item rows have no vector column '" + $(vectorCol) + "' (their columns: "
          + String.join(", ", io.quiver.spark.io.Tables.userColumns(it.columns())) + ") and the index " + indexPath
          + " records no input table to read the vectors from: give item rows with vectors (setItems), or set "
          + "vectorCol");
    }
    Dataset<Row> base = io.quiver.spark.io.Tables.openRecorded(spark(), in, indexPath, "the self-join's vectors: the "
        + "table", "give item rows with vectors (setItems)");
    org.apache.spark.sql.types.DataType idType = base.schema().apply(in.idCol).dataType();
    Dataset<Row> v = base.select(org.apache.spark.sql.functions.col(in.idCol).as("__quiver_vid"),
        org.apache.spark.sql.functions.col(in.vectorCol).as($(vectorCol)));
    Dataset<Row> j = v.join(it, v.col("__quiver_vid").equalTo(it.col($(idCol)).cast(idType)), "left");
    return j.withColumn($(idCol), org.apache.spark.sql.functions.col("__quiver_vid")).drop("__quiver_vid");
  }

  @Override
  public StructType transformSchema(StructType schema) {
    return ParamNames.call(() -> checkSchema(schema));
  }

  private StructType checkSchema(StructType schema) {
    // queries need a vector column only (they are numbered for the search)
    io.quiver.spark.io.VectorColumns.of(schema.add("__quiver_check_id", DataTypes.LongType), "__quiver_check_id",
        $(vectorCol));
    if (Arrays.asList(schema.fieldNames()).contains($(outputCol))) {
      throw new IllegalArgumentException("the queries already have a column '" + $(outputCol) + "'; choose another "
          + "outputCol");
    }
    DataType idType = "string".equals(index().manifest().idType) ? DataTypes.StringType : DataTypes.LongType;
    StructType neighbor = new StructType().add("id", idType).add("distance", DataTypes.FloatType);
    if (!itemColumns().isEmpty()) {
      StructType it = items().schema();
      for (String c : itemColumns()) {
        if (!Arrays.asList(it.fieldNames()).contains(c)) {
          throw new IllegalArgumentException("the item rows have no column '" + c + "' (itemCols); their columns: "
              + String.join(", ", io.quiver.spark.io.Tables.userColumns(it.fieldNames())) + " (give item rows with it: "
              + "setItems(items))");
        }
        neighbor = neighbor.add(c, it.apply(c).dataType());
      }
    }
    return schema.add($(outputCol), DataTypes.createArrayType(neighbor, false), false);
  }

  /** As Spark's, with array values shown as their elements (Spark shows {@code [Ljava.lang.String;@...}). */
  @Override
  public String explainParam(org.apache.spark.ml.param.Param<?> param) {
    return KnnParams.explain(this, param);
  }

  @Override
  public IvfKnnModel copy(ParamMap extra) {
    IvfKnnModel m = new IvfKnnModel(uid, indexPath, index, items);
    m.itemsSource = itemsSource;
    return copyValues(m, extra).setParent(parent());
  }

  @Override
  public MLWriter write() {
    return new Writer(this);
  }

  public static MLReader<IvfKnnModel> read() {
    return new Reader();
  }

  public static IvfKnnModel load(String path) {
    return read().load(path);
  }

  /** Copies the index into the target directory, writes the Params, then commits with _SUCCESS. */
  private static final class Writer extends MLWriter {
    private final IvfKnnModel model;

    Writer(IvfKnnModel model) {
      this.model = model;
    }

    /**
     * Refuses a path that is, lies inside or contains the model's index before anything is
     * written: {@code overwrite()} deletes the path first, and a copy into the index itself
     * would copy into what it copies.
     */
    @Override
    public void save(String path) throws IOException {
      IndexLayout.checkOutputApart(sparkSession().sparkContext().hadoopConfiguration(), path, model.indexPath);
      super.save(path);
    }

    /**
     * Records in items.json the table the model's item rows (set with setItems, or given to fit)
     * are a plain read of, with its row count and schema, so that the loaded model reads them
     * again; removes a copied items.json that no longer describes them.
     */
    private void writeItemsSource(FileSystem dfs, Path dst) throws IOException {
      Path f = new Path(dst, ITEMS_FILE);
      if (model.items == null) {
        return; // the copied items.json (if any) still describes where they come from
      }
      Manifest.Input in = io.quiver.spark.io.Tables.describe(model.items, model.$(model.idCol), model.$(model.vectorCol));
      Manifest.Input indexInput = model.index().manifest().input;
      if (in == null || (indexInput != null && in.path.equals(indexInput.path))) {
        dfs.delete(f, false); // none, or the manifest's input: nothing beyond the manifest to record
        return;
      }
      in.rows = model.items.count();
      try (java.io.OutputStream out = dfs.create(f, true)) {
        out.write(new com.fasterxml.jackson.databind.ObjectMapper().writerWithDefaultPrettyPrinter()
            .writeValueAsBytes(in));
      }
    }

    @Override
    public void saveImpl(String path) {
      Configuration conf = sparkSession().sparkContext().hadoopConfiguration();
      try {
        Path src = new Path(model.indexPath);
        FileSystem sfs = src.getFileSystem(conf);
        Path dst = new Path(path);
        FileSystem dfs = dst.getFileSystem(conf);
        src = sfs.makeQualified(src);
        dst = dfs.makeQualified(dst);
        if (src.equals(dst)) {
          throw new IllegalArgumentException("the model's index already lives in " + dst + "; save to another path");
        }
        dfs.mkdirs(dst);
        for (FileStatus f : sfs.listStatus(src)) {
          String name = f.getPath().getName();
          if (name.equals(IndexLayout.SUCCESS) || name.equals("metadata") || name.startsWith(".")
              || name.equals(IndexLayout.TEMPORARY)) {
            continue;
          }
          if (!FileUtil.copy(sfs, f.getPath(), dfs, new Path(dst, name), false, false, conf)) {
            throw new IOException("cannot copy " + f.getPath() + " to " + dst);
          }
        }
        DefaultParamsWriter$.MODULE$.saveMetadata(model, path, sparkSession());
        writeItemsSource(dfs, dst);
        // the commit point, as the index jobs write it
        if (!FileUtil.copy(sfs, IndexLayout.success(src), dfs, IndexLayout.success(dst), false, false, conf)) {
          throw new IOException("cannot write " + IndexLayout.success(dst));
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot save the model to " + path + ": " + e.getMessage(), e);
      }
    }
  }

  /** The item rows' source table, as items.json records it, or null. */
  static Manifest.Input readItemsSource(FileSystem fs, Path dir) throws IOException {
    Path f = new Path(dir, ITEMS_FILE);
    if (!fs.exists(f)) {
      return null;
    }
    try (java.io.InputStream in = fs.open(f)) {
      return new com.fasterxml.jackson.databind.ObjectMapper()
          .disable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .readValue(in, Manifest.Input.class);
    }
  }

  /** Opens a committed index directory, with the saved Params when it has them. */
  private static final class Reader extends MLReader<IvfKnnModel> {
    @Override
    public IvfKnnModel load(String path) {
      SparkSession spark = sparkSession();
      Configuration conf = spark.sparkContext().hadoopConfiguration();
      boolean hasMetadata;
      try {
        Path p = new Path(path);
        hasMetadata = p.getFileSystem(conf).exists(new Path(p, "metadata"));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
      }
      if (hasMetadata) {
        DefaultParamsReader.Metadata meta = DefaultParamsReader.loadMetadata(path, spark, IvfKnnModel.class.getName());
        IvfKnnModel m = open(meta.uid(), spark, path, null);
        meta.getAndSetParams(m, meta.getAndSetParams$default$2());
        try {
          Path p = new Path(path);
          m.itemsSource = readItemsSource(p.getFileSystem(conf), p);
        } catch (IOException e) {
          throw new UncheckedIOException("cannot read " + path + "/" + ITEMS_FILE + ": " + e.getMessage(), e);
        }
        return m;
      }
      IvfKnnModel m = open(Identifiable$.MODULE$.randomUID("ivfKnn"), spark, path, null);
      Manifest.Input in = m.index().manifest().input;
      if (in != null && in.idCol != null) {
        m.setIdCol(in.idCol).setVectorCol(in.vectorCol);
      }
      return m;
    }
  }
}
