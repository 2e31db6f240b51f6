package io.quiver.spark.job;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import io.quiver.spark.ml.IvfKnnModel;
import io.quiver.spark.plan.InvalidRows;
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

  /** A model over the index with the search options and refinements set. */
  static IvfKnnModel model(SparkSession spark, String index, SearchPlan.Options o, Refinements r) {
    IvfKnnModel m = IvfKnnModel.load(index);
    m.setNprobe(o.nprobe()).setKFactor(o.kFactor()).setStrategy(o.strategy() == SearchPlan.Strategy.LOCAL ? "auto"
        : o.strategy().name().toLowerCase(java.util.Locale.ROOT));
    if (r.items() != null) {
      m.setItems(spark.read().format(r.items().format()).load(r.items().path()));
      m.setIdCol(r.items().idCol());
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

  /**
   * A search with refinements: writes {@code (id, neighbors, distances)} as the plain search
   * does, or with item columns {@code (id, neighbors array<struct<id, distance, cols...>>)}.
   */
  public static Map<String, Object> search(SparkSession spark, String index, IndexJobs.Input queries,
                                           SearchPlan.Options o, Refinements r, String output, String outputFormat,
                                           boolean overwrite) {
    long start = System.nanoTime();
    checkOutputApart(spark, output, index);
    IvfKnnModel m = model(spark, index, o, r).setK(o.k()).setOnInvalid(queries.onInvalid().cliName());
    List<Column> qcols = new ArrayList<>(List.of(col(queries.idCol()).as("__quiver_query_id"),
        col(queries.vectorCol()).as(m.getOrDefault(m.vectorCol()))));
    if (r.matchCol() != null) {
      qcols.add(col(r.matchCol()));
    }
    IdCheck ids = checkIds(spark.read().format(queries.format()).load(queries.path()), queries.idCol(),
        queries.onInvalid());
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
    result.write().format(outputFormat).mode(overwrite ? SaveMode.Overwrite : SaveMode.ErrorIfExists).save(output);
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("index", index);
    json.put("output", output);
    json.put("k", o.k());
    json.put("nprobe", o.nprobe());
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
    Row totals = bad.agg(coalesce(sum(when(id.isNull(), col("count"))), lit(0L)),
        coalesce(sum(when(id.isNotNull(), col("count"))), lit(0L)), count(when(id.isNotNull(), lit(1)))).first();
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
    return join(spark, index, queries, o, threshold, pairsOnce, r, output, outputFormat, overwrite,
        queries == null ? InvalidRows.Policy.FAIL : queries.onInvalid());
  }

  /**
   * The join, with {@code onInvalid} for the query rows (with {@code queries == null}, the item
   * rows the self-join reads as queries).
   */
  public static Map<String, Object> join(SparkSession spark, String index, IndexJobs.Input queries,
                                         SearchPlan.Options o, double threshold, boolean pairsOnce, Refinements r,
                                         String output, String outputFormat, boolean overwrite,
                                         InvalidRows.Policy onInvalid) {
    long start = System.nanoTime();
    checkOutputApart(spark, output, index);
    IvfKnnModel m = model(spark, index, o, r).setOnInvalid(onInvalid.cliName());
    Dataset<Row> pairs;
    String queryId;
    IdCheck ids = null;
    if (queries == null) {
      pairs = m.selfJoin(o.k(), threshold, pairsOnce);
      queryId = m.getOrDefault(m.idCol());
    } else {
      if (pairsOnce) {
        throw new IllegalArgumentException("--pairs-once applies to self-joins (--self)");
      }
      ids = checkIds(spark.read().format(queries.format()).load(queries.path()), queries.idCol(), onInvalid);
      Dataset<Row> q = ids.kept();
      m.setVectorCol(queries.vectorCol());
      pairs = Double.isNaN(threshold) ? m.knnJoin(q, o.k()) : m.similarityJoin(q, threshold, o.k());
      queryId = queries.idCol();
    }
    List<Column> cols = new ArrayList<>(List.of(col("datasetA." + queryId).as("id"),
        col("datasetB." + m.getOrDefault(m.idCol())).as("neighbor"), col("distCol").cast("float").as("distance")));
    for (String c : r.itemCols()) {
      cols.add(col("datasetB." + c).as(c));
    }
    Dataset<Row> result = pairs.select(cols.toArray(new Column[0]));
    result.write().format(outputFormat).mode(overwrite ? SaveMode.Overwrite : SaveMode.ErrorIfExists).save(output);
    Dataset<Row> written = spark.read().format(outputFormat).load(output);
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("index", index);
    json.put("queries", queries == null ? "the index's items (self-join)" : queries.path());
    json.put("output", output);
    json.put("k", o.k());
    if (!Double.isNaN(threshold)) {
      json.put("threshold", threshold);
    }
    json.put("pairs", written.count());
    json.put("invalid", ids == null ? m.skippedQueries().counts() : ids.merged(m.skippedQueries().counts()));
    json.put("join_s", IndexJobs.seconds(start));
    return json;
  }
}
