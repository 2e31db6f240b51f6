package io.quiver.spark.plan;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.collect_list;
import static org.apache.spark.sql.functions.greatest;
import static org.apache.spark.sql.functions.least;
import static org.apache.spark.sql.functions.monotonically_increasing_id;
import static org.apache.spark.sql.functions.posexplode_outer;
import static org.apache.spark.sql.functions.sort_array;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.when;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;

/**
 * The DataFrame side of a search: numbering query rows, turning the search's
 * {@code (id, neighbors, distances)} rows into a neighbours column of structs (with item columns
 * joined back by id after the top-k merge, never shuffled through the scan), and into join rows
 * {@code (datasetA, datasetB, distCol)} as Spark ML's LSH joins return them.
 */
public final class Neighbors {
  /** The query row number column added for the search and dropped after it. */
  public static final String ROW = "__quiver_row";
  private static final String NID = "__quiver_nid";
  private static final String DIST = "__quiver_dist";
  private static final String POS = "__quiver_pos";

  private Neighbors() {}

  /** The queries with a row number in {@link #ROW} (stable for a deterministic input). */
  public static Dataset<Row> numbered(Dataset<Row> queries) {
    if (Arrays.asList(queries.columns()).contains(ROW)) {
      return queries;
    }
    return queries.withColumn(ROW, monotonically_increasing_id());
  }

  /**
   * One row per query of the search result with (query id, neighbour id, distance) exploded:
   * {@code (id, __quiver_pos, __quiver_nid, __quiver_dist)}, padding dropped; queries without
   * neighbours keep one row with null neighbour when {@code outer}.
   */
  static Dataset<Row> exploded(Dataset<Row> result, boolean outer) {
    Dataset<Row> e = result.select(col("id"), posexplode_outer(org.apache.spark.sql.functions.arrays_zip(
        col("neighbors"), col("distances"))).as(new String[] {POS, "__quiver_pair"}))
        .select(col("id"), col(POS), col("__quiver_pair.neighbors").as(NID), col("__quiver_pair.distances").as(DIST));
    // long ids pad with -1; string ids carry only real neighbours
    boolean longIds = e.schema().apply(NID).dataType().equals(DataTypes.LongType);
    Column pad = longIds ? col(NID).isNull().or(col(NID).equalTo(-1L)) : col(NID).isNull();
    Dataset<Row> real = e.where(pad.unary_$bang());
    if (!outer) {
      return real;
    }
    // padding (and queries without neighbours) keep a row with a null position, which
    // collect_list skips
    return e.withColumn(POS, when(pad, null).otherwise(col(POS)));
  }

  /**
   * The queries with {@code outputCol}: {@code array<struct<id, distance, itemCols...>>}, best
   * first. {@code result} is the search's output keyed by {@link #ROW}; item columns are read
   * from {@code items} (joined on {@code itemIdCol} = neighbour id).
   */
  public static Dataset<Row> withNeighbors(Dataset<Row> numberedQueries, Dataset<Row> result, String outputCol,
                                           Dataset<Row> items, String itemIdCol, List<String> itemCols) {
    Dataset<Row> e = exploded(result, true);
    List<Column> fields = new ArrayList<>(List.of(col(POS), col(NID).as("id"), col(DIST).as("distance")));
    if (!itemCols.isEmpty()) {
      requireColumns(items, itemCols, "items");
      List<Column> cols = new ArrayList<>();
      cols.add(col(itemIdCol).as("__quiver_iid"));
      for (String c : itemCols) {
        cols.add(col(c));
      }
      Dataset<Row> payload = items.select(cols.toArray(new Column[0]));
      e = e.join(payload, e.col(NID).equalTo(payload.col("__quiver_iid").cast(e.schema().apply(NID).dataType())),
          "left");
      for (String c : itemCols) {
        fields.add(col(c));
      }
    }
    Dataset<Row> grouped = e.groupBy(col("id"))
        .agg(sort_array(collect_list(when(col(POS).isNotNull(), struct(fields.toArray(new Column[0]))))).as("__n"));
    // drop the position field used for ordering
    List<String> names = new ArrayList<>(List.of("id", "distance"));
    names.addAll(itemCols);
    Column out = org.apache.spark.sql.functions.transform(col("__n"), x -> {
      List<Column> f = new ArrayList<>();
      for (String n : names) {
        f.add(x.getField(n).as(n));
      }
      return struct(f.toArray(new Column[0]));
    });
    Dataset<Row> neighbors = grouped.select(col("id").as(ROW), out.as(outputCol));
    return numberedQueries.join(neighbors, ROW).drop(ROW);
  }

  /**
   * Join rows {@code (datasetA, datasetB, distCol)}: each query row (as a struct of its columns)
   * with each neighbour's item row (a struct of the item columns), the distance as a double.
   *
   * @param queryKey  the queries' column matching the result's {@code id} ({@link #ROW}, or the
   *                  id column in a self-join)
   * @param pairsOnce keep each unordered pair once, as (smaller id, larger id) (self-joins)
   */
  public static Dataset<Row> joinRows(Dataset<Row> queries, String queryKey, Dataset<Row> result, Dataset<Row> items,
                                      String itemIdCol, String distCol, boolean pairsOnce) {
    Dataset<Row> pairs = exploded(result, false).select(col("id"), col(NID), col(DIST));
    if (pairsOnce) {
      pairs = pairs.select(least(col("id"), col(NID)).as("id"), greatest(col("id"), col(NID)).as(NID), col(DIST))
          .dropDuplicates("id", NID);
    }
    Column[] qcols = Arrays.stream(queries.columns()).filter(c -> !c.startsWith("__quiver_")).map(c -> col(c))
        .toArray(Column[]::new);
    Column[] icols = Arrays.stream(items.columns()).filter(c -> !c.startsWith("__quiver_")).map(c -> col(c))
        .toArray(Column[]::new);
    Dataset<Row> a = queries.select(col(queryKey).as("__quiver_a"), struct(qcols).as("datasetA"));
    Dataset<Row> b = items.select(col(itemIdCol).as("__quiver_b"), struct(icols).as("datasetB"));
    Dataset<Row> withA = pairs.join(a, pairs.col("id").equalTo(a.col("__quiver_a").cast(pairs.schema().apply("id")
        .dataType())));
    Dataset<Row> withB = withA.join(b, withA.col(NID).equalTo(b.col("__quiver_b").cast(withA.schema().apply(NID)
        .dataType())));
    return withB.select(col("datasetA"), col("datasetB"), col(DIST).cast(DataTypes.DoubleType).as(distCol));
  }

  static void requireColumns(Dataset<Row> df, List<String> cols, String what) {
    List<String> have = Arrays.asList(df.columns());
    for (String c : cols) {
      if (!have.contains(c)) {
        throw new IllegalArgumentException("the " + what + " have no column '" + c + "'; columns: "
            + String.join(", ", have));
      }
    }
  }
}
