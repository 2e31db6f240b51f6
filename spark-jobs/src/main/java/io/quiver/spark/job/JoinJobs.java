package io.quiver.spark.job;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import io.quiver.spark.UsageException;
import io.quiver.spark.io.Tables;
import io.quiver.spark.ml.IvfKnnModel;
import io.quiver.spark.plan.InvalidRows;
import io.quiver.spark.plan.Phase;
import io.quiver.spark.plan.SearchPlan;
import io.quiver.spark.shard.IndexLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

/**
 * The join job and searches with item columns, filters or MMR: both run through
 * {@link IvfKnnModel}, the same code as the Spark ML API.
 */
public final class JoinJobs {
  private JoinJobs() {}

  /** Filters, item columns and MMR, as the CLI takes them. */
  public record Refinements(IndexJobs.Input items, List<String> itemCols, String filter, String matchCol,
                            float filterFactor, float mmrLambda, int fetchK) {
    /** Whether a search needs the model's path (anything beyond a plain top-k). */
    public boolean any() {
      return !itemCols.isEmpty() || filter != null || matchCol != null || !Float.isNaN(mmrLambda);
    }
  }

  /** What the CLI says instead of a recorded item table that cannot be used. */
  static final String ITEMS_INSTEAD = "give the item table with --items";

  /**
   * A model over the index with the search options and refinements set. The item table is
   * {@code --items}, or else (when item columns, a filter, a match column or a self-join need
   * it) the input recorded in the manifest, checked against its fingerprint; a self-join whose
   * item table has no vectors reads them from the recorded input.
   */
  static IvfKnnModel model(SparkSession spark, String index, SearchPlan.Options o, Refinements r, boolean self) {
    IvfKnnModel m = IvfKnnModel.load(index);
    m.setNprobe(o.nprobe()).setKFactor(o.kFactor()).setStrategy(o.strategy() == SearchPlan.Strategy.LOCAL ? "auto"
        : o.strategy().name().toLowerCase(java.util.Locale.ROOT));
    boolean needItems = self || !r.itemCols().isEmpty() || r.filter() != null || r.matchCol() != null;
    if (needItems) {
      io.quiver.spark.shard.Manifest manifest;
      try {
        manifest = io.quiver.spark.shard.Manifest.read(new org.apache.hadoop.fs.Path(index),
            spark.sparkContext().hadoopConfiguration());
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e.getMessage(), e);
      }
      ItemTable t = itemTable(spark, index, manifest, r, self);
      m.setItems(t.rows());
      m.setIdCol(t.idCol());
      m.setVectorCol(t.vectorCol());
    }
    m.setItemCols(r.itemCols().toArray(new String[0]))
        .setFilter(r.filter() == null ? "" : r.filter())
        .setMatchCol(r.matchCol() == null ? "" : r.matchCol())
        .setFilterFactor(r.filterFactor())
        .setMmrLambda(Float.isNaN(r.mmrLambda()) ? -1 : r.mmrLambda());
    if (r.fetchK() > 0) {
      m.setFetchK(r.fetchK());
    }
    return m;
  }

  /** The item rows, their id and vector columns. */
  record ItemTable(Dataset<Row> rows, String idCol, String vectorCol) {}

  /**
   * {@code --items} (checked to have the item columns), or the recorded input; for a self-join
   * the rows carry vectors: an item table without them is joined by id to the recorded input's.
   */
  static ItemTable itemTable(SparkSession spark, String index, io.quiver.spark.shard.Manifest manifest,
                             Refinements r, boolean self) {
    io.quiver.spark.shard.Manifest.Input rec = manifest.input;
    if (r.items() == null) {
      Dataset<Row> in = Tables.openRecorded(spark, rec, index, "the item table", ITEMS_INSTEAD);
      String where = "the item table " + rec.path + " (the index's input; " + ITEMS_INSTEAD + ")";
      requireColumns(in, r.itemCols(), where, "--item-cols");
      if (r.matchCol() != null) {
        requireColumns(in, List.of(r.matchCol()), where, "--match-col");
      }
      return new ItemTable(in, rec.idCol, rec.vectorCol);
    }
    Dataset<Row> items = r.items().read(spark, "item table");
    String where = "the item table " + r.items().path() + " (--items)";
    requireColumns(items, List.of(r.items().idCol()), where, "--items-id-col");
    requireColumns(items, r.itemCols(), where, "--item-cols");
    if (r.matchCol() != null) {
      requireColumns(items, List.of(r.matchCol()), where, "--match-col");
    }
    String vectorCol = rec != null && rec.vectorCol != null ? rec.vectorCol : r.items().vectorCol();
    if (!self || List.of(items.columns()).contains(vectorCol)) {
      return new ItemTable(items, r.items().idCol(), vectorCol);
    }
    // a self-join's queries are the items: their vectors come from the table the index was built from
    Dataset<Row> base = Tables.openRecorded(spark, rec, index, "the self-join's vectors: the table",
        "the item table " + r.items().path() + " has no vector column '" + vectorCol + "', and the index's input is "
            + "what a self-join reads the vectors from; give --items with a vector column, or rebuild the index");
    return new ItemTable(withVectors(base, rec.idCol, rec.vectorCol, items, r.items().idCol()), r.items().idCol(),
        rec.vectorCol);
  }

  /**
   * The item rows {@code meta} with the vectors of {@code base} (the index's input): every row of
   * {@code base}, with {@code meta}'s columns where an item row has its id (null elsewhere).
   */
  static Dataset<Row> withVectors(Dataset<Row> base, String baseId, String vectorCol, Dataset<Row> meta,
                                  String metaId) {
    org.apache.spark.sql.types.DataType idType = base.schema().apply(baseId).dataType();
    Dataset<Row> v = base.select(col(baseId).as("__quiver_vid"), col(vectorCol));
    Dataset<Row> j = v.join(meta, v.col("__quiver_vid").equalTo(meta.col(metaId).cast(idType)), "left");
    return j.withColumn(metaId, col("__quiver_vid")).drop("__quiver_vid");
  }

  /** Fails with a usage error when {@code df} lacks one of {@code cols}, listing the columns it has. */
  static void requireColumns(Dataset<Row> df, List<String> cols, String where, String option) {
    List<String> have = List.of(df.columns());
    for (String c : cols) {
      if (!have.contains(c)) {
        throw new UsageException(where + " has no column '" + c + "' (" + option + "); its columns: "
            + String.join(", ", Tables.userColumns(df.columns())));
      }
    }
  }

  /**
   * Refuses, before any work, an output that exists (without {@code overwrite}) or that overlaps
   * the index ({@link IndexLayout#checkOutputApart}).
   */
  static void checkOutput(SparkSession spark, String output, String index, boolean overwrite) {
    checkOutputApart(spark, output, index);
    IndexJobs.checkOutputAbsent(spark, output, overwrite);
  }

  /**
   * A search with refinements: writes {@code (id, neighbors, distances)} as the plain search
   * does, or with item columns {@code (id, neighbors array<struct<id, distance, cols...>>)}.
   */
  public static Map<String, Object> search(SparkSession spark, String index, IndexJobs.Input queries,
                                           SearchPlan.Options o, Refinements r, String output, String outputFormat,
                                           boolean overwrite) {
    long start = System.nanoTime();
    checkOutput(spark, output, index, overwrite);
    IvfKnnModel m = model(spark, index, o, r, false).setK(o.k()).setOnInvalid(queries.onInvalid().cliName());
    Dataset<Row> qtable = queries.read(spark, "queries");
    requireColumns(qtable, List.of(queries.idCol(), queries.vectorCol()), "the queries " + queries.path(),
        "--id-col, --vector-col");
    if (r.matchCol() != null) {
      requireColumns(qtable, List.of(r.matchCol()), "the queries " + queries.path(), "--match-col");
    }
    List<Column> qcols = new ArrayList<>(List.of(col(queries.idCol()).as("__quiver_query_id"),
        col(queries.vectorCol()).as(m.getOrDefault(m.vectorCol()))));
    if (r.matchCol() != null) {
      qcols.add(col(r.matchCol()));
    }
    IdCheck ids = checkIds(qtable, queries.idCol(), queries.onInvalid());
    Dataset<Row> q = ids.kept().select(qcols.toArray(new Column[0]));
    Dataset<Row> out = m.transform(q);
    Dataset<Row> result;
    if (r.itemCols().isEmpty()) {
      result = out.select(col("__quiver_query_id").as("id"),
          org.apache.spark.sql.functions.transform(col("neighbors"), x -> x.getField("id")).as("neighbors"),
          org.apache.spark.sql.functions.transform(col("neighbors"), x -> x.getField("distance")).as("distances"));
    } else {
      result = out.select(col("__quiver_query_id").as("id"), col("neighbors"));
    }
    try (Phase p = Phase.start(spark, "search", "scan, merge and write the results of the queries")) {
      result.write().format(outputFormat).mode(overwrite ? SaveMode.Overwrite : SaveMode.ErrorIfExists).save(output);
      p.done();
    }
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("index", index);
    json.put("output", output);
    json.put("k", o.k());
    json.put("nprobe", o.nprobe());
    json.put("rows", IndexJobs.rowsWritten(spark, output, outputFormat));
    json.put("invalid", ids.merged(m.skippedQueries().counts()));
    json.put("search_s", IndexJobs.seconds(start));
    return json;
  }

  /** {@link IndexLayout#checkOutputApart}, with I/O errors unchecked. */
  private static void checkOutputApart(SparkSession spark, String output, String index) {
    try {
      IndexLayout.checkOutputApart(spark.sparkContext().hadoopConfiguration(), output, index);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("cannot check the output " + output + ": " + e.getMessage(), e);
    }
  }

  /** What {@link #checkIds} left out: null ids and every row of a repeated id. */
  record IdCheck(Dataset<Row> kept, long nullIds, long repeatedRows) {
    /** The model's counts with these added, as the JSON result gives them. */
    Map<String, Long> merged(Map<String, Long> model) {
      Map<String, Long> all = new LinkedHashMap<>();
      if (nullIds > 0) {
        all.put(InvalidRows.Reason.NULL_ID.key, nullIds);
      }
      all.putAll(model);
      if (repeatedRows > 0) {
        all.put(InvalidRows.Reason.DUPLICATE_ID.key, repeatedRows);
      }
      return all;
    }
  }

  /**
   * The query rows' ids under {@code --on-invalid}, before the Spark ML path numbers the rows: a
   * null id ({@code null_id}) and an id on several rows ({@code duplicate_id}, every copy) are
   * invalid, as in {@code search}. {@code fail} stops here naming them; {@code skip} leaves them out.
   */
  static IdCheck checkIds(Dataset<Row> q, String idCol, InvalidRows.Policy policy) {
    Column id = col(idCol);
    // one aggregation: rows per id, the null id included as its own group
    Dataset<Row> bad = q.groupBy(id).count().filter(id.isNull().or(col("count").gt(1)));
    Row totals;
    try (Phase p = Phase.quiet(q.sparkSession(), "check", "look for null and repeated query ids")) {
      totals = bad.agg(coalesce(sum(when(id.isNull(), col("count"))), lit(0L)),
          coalesce(sum(when(id.isNotNull(), col("count"))), lit(0L)), count(when(id.isNotNull(), lit(1)))).first();
    }
    long nullIds = totals.getLong(0);
    long repeatedRows = totals.getLong(1);
    long repeatedIds = totals.getLong(2);
    if (nullIds + repeatedRows == 0) {
      return new IdCheck(q, 0, 0);
    }
    Dataset<Row> repeated = bad.filter(id.isNotNull());
    if (policy == InvalidRows.Policy.FAIL) {
      List<Row> some = repeated.orderBy(id).limit(InvalidRows.NAMED).collectAsList();
      StringBuilder msg = new StringBuilder("the queries have ").append(nullIds + repeatedRows)
          .append(" rows with a null or repeated id (null_id: ").append(nullIds).append(", duplicate_id: ")
          .append(repeatedRows).append(")");
      if (repeatedIds > 0) {
        List<String> named = new ArrayList<>();
        for (Row r : some) {
          Object v = r.get(0);
          named.add(v instanceof String str ? "'" + str + "'" : String.valueOf(v));
        }
        msg.append("; ").append(repeatedIds).append(repeatedIds == 1 ? " id is" : " ids are")
            .append(" on more than one row: ").append(String.join(", ", named));
      }
      throw new IllegalArgumentException(msg.append(". Each query row needs its own non-null id in '").append(idCol)
          .append("' (or pass --on-invalid skip); nothing was searched or written").toString());
    }
    Dataset<Row> drop = repeated.select(id.as("__quiver_repeated_id"));
    Dataset<Row> kept = q.filter(id.isNotNull()).join(drop, q.col(idCol).equalTo(drop.col("__quiver_repeated_id")),
        "left_anti");
    return new IdCheck(kept, nullIds, repeatedRows);
  }

  /**
   * The join: each query (or, with {@code queries == null}, each item) with its k nearest items
   * and/or the items within {@code threshold}; writes one row per pair:
   * {@code (id, neighbor, distance, itemCols...)}.
   */
  public static Map<String, Object> join(SparkSession spark, String index, IndexJobs.Input queries,
                                         SearchPlan.Options o, double threshold, boolean pairsOnce, Refinements r,
                                         String output, String outputFormat, boolean overwrite) {
    return join(spark, index, queries, o, threshold, pairsOnce, r, List.of(), output, outputFormat, overwrite,
        queries == null ? InvalidRows.Policy.FAIL : queries.onInvalid());
  }

  /**
   * The join, with {@code queryCols} of each query row carried into its pairs as
   * {@code query_<name>}, and {@code onInvalid} for the query rows (with {@code queries == null},
   * the item rows the self-join reads as queries).
   */
  public static Map<String, Object> join(SparkSession spark, String index, IndexJobs.Input queries,
                                         SearchPlan.Options o, double threshold, boolean pairsOnce, Refinements r,
                                         List<String> queryCols, String output, String outputFormat,
                                         boolean overwrite, InvalidRows.Policy onInvalid) {
    long start = System.nanoTime();
    if (pairsOnce && queries != null) {
      throw new UsageException("--pairs-once applies to self-joins (--self)");
    }
    List<String> names = new ArrayList<>(List.of("id", "neighbor", "distance"));
    for (String c : r.itemCols()) {
      names.add(c);
    }
    for (String c : queryCols) {
      names.add("query_" + c);
    }
    for (String n : names) {
      if (names.indexOf(n) != names.lastIndexOf(n)) {
        throw new UsageException("the output would have two columns '" + n + "' (from id, neighbor, distance, "
            + "--item-cols and --query-cols as query_<name>); name each column once");
      }
    }
    checkOutput(spark, output, index, overwrite);
    IvfKnnModel m = model(spark, index, o, r, queries == null).setOnInvalid(onInvalid.cliName());
    Dataset<Row> pairs;
    String queryId;
    IdCheck ids = null;
    if (queries == null) {
      requireColumns(m.getItems(), queryCols, "the item table (the self-join's queries)", "--query-cols");
      try (Phase p = Phase.start(spark, "join", "self-join the index's items")) {
        pairs = m.selfJoin(o.k(), threshold, pairsOnce);
        p.done();
      }
      queryId = m.getOrDefault(m.idCol());
    } else {
      Dataset<Row> qtable = queries.read(spark, "queries");
      requireColumns(qtable, queryCols, "the queries " + queries.path(), "--query-cols");
      requireColumns(qtable, List.of(queries.idCol()), "the queries " + queries.path(), "--id-col");
      ids = checkIds(qtable, queries.idCol(), onInvalid);
      Dataset<Row> q = ids.kept();
      m.setVectorCol(queries.vectorCol());
      try (Phase p = Phase.start(spark, "join", "search the nearest items of the queries")) {
        pairs = Double.isNaN(threshold) ? m.knnJoin(q, o.k()) : m.similarityJoin(q, threshold, o.k());
        p.done();
      }
      queryId = queries.idCol();
    }
    List<Column> cols = new ArrayList<>(List.of(col("datasetA." + queryId).as("id"),
        col("datasetB." + m.getOrDefault(m.idCol())).as("neighbor"), col("distCol").cast("float").as("distance")));
    for (String c : r.itemCols()) {
      cols.add(col("datasetB." + c).as(c));
    }
    for (String c : queryCols) {
      cols.add(col("datasetA." + c).as("query_" + c));
    }
    Dataset<Row> result = pairs.select(cols.toArray(new Column[0]));
    try (Phase p = Phase.start(spark, "join", "join the pairs with their rows and write them")) {
      result.write().format(outputFormat).mode(overwrite ? SaveMode.Overwrite : SaveMode.ErrorIfExists).save(output);
      p.done();
    }
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("index", index);
    json.put("queries", queries == null ? "the index's items (self-join)" : queries.path());
    json.put("output", output);
    json.put("k", o.k());
    if (!Double.isNaN(threshold)) {
      json.put("threshold", threshold);
    }
    json.put("pairs", IndexJobs.rowsWritten(spark, output, outputFormat));
    json.put("invalid", ids == null ? m.skippedQueries().counts() : ids.merged(m.skippedQueries().counts()));
    json.put("join_s", IndexJobs.seconds(start));
    return json;
  }
}
