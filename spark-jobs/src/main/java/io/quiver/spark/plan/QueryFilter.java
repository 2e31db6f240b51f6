package io.quiver.spark.plan;

import static org.apache.spark.sql.functions.broadcast;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;

import io.quiver.index.IdSelector;
import io.quiver.index.InvertedFileIndex;
import io.quiver.spark.shard.HadoopConf;
import io.quiver.spark.shard.IndexLayout;
import io.quiver.spark.shard.Manifest;
import io.quiver.spark.shard.ShardStore;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;
import org.roaringbitmap.longlong.Roaring64Bitmap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Filtered search, evaluated during the list scan: a global predicate on item columns
 * ({@code category = 'shoes'}) and a per-query condition (only items whose {@code matchCol}
 * equals the query's) are compiled, before the search, into sets of allowed item ids (Roaring
 * bitmaps, built on the executors and broadcast): one set for a global filter, one per distinct
 * value of the match column otherwise (each within the global filter). Each query uses one set,
 * passed to index-core as its id selector, so a scanned entry outside the set never takes a place
 * in the top-k.
 *
 * <p>The number of allowed entries of every list is counted per set. A query visits its first
 * {@code nprobe} lists, then further lists in coarse order until the visited lists hold at least
 * {@code max(k, factor * nprobe * |set| / nlist)} allowed entries (twice, by default, what its
 * first {@code nprobe} lists hold at the set's average density), at most {@code maxNprobe} lists:
 * k results come back whenever the lists within reach hold k allowed items. The extra lists are
 * counted in {@link #extraLists()}.
 */
public final class QueryFilter implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(QueryFilter.class);
  /** The query column holding each query's set number ({@link #compile}). */
  public static final String SET_COL = "__quiver_filter_set";
  /** Distinct values of a match column beyond which the per-value sets are refused. */
  public static final int MAX_MATCH_VALUES = 1 << 16;
  /** The default of {@code factor}. */
  public static final float DEFAULT_FACTOR = 2f;

  /** The broadcast part: the sets and their per-list counts. */
  public static final class Sets implements Serializable {
    private static final long serialVersionUID = 1L;
    /** Serialized Roaring64Bitmaps of allowed ids. */
    public byte[][] sets;
    /** {@code [set][list]}: the allowed entries of each list. */
    public long[][] listCounts;
    public long[] sizes;
    private transient volatile IdSelector[] selectors;

    /** For serializers. */
    public Sets() {}

    /** The id selector of set {@code s} (decoded once per JVM). */
    IdSelector selector(int s) {
      IdSelector[] sel = selectors;
      if (sel == null) {
        synchronized (this) {
          if (selectors == null) {
            IdSelector[] out = new IdSelector[sets.length];
            for (int i = 0; i < sets.length; i++) {
              Roaring64Bitmap b = decode(sets[i]);
              out[i] = b::contains;
            }
            selectors = out;
          }
          sel = selectors;
        }
      }
      return sel[s];
    }
  }

  private final Broadcast<Sets> sets;
  private final float factor;
  private final int maxNprobe;
  private final String description;
  private final LongAccumulator extraLists;
  private final LongAccumulator cappedQueries;

  private QueryFilter(Broadcast<Sets> sets, float factor, int maxNprobe, String description,
                      LongAccumulator extraLists, LongAccumulator cappedQueries) {
    this.sets = sets;
    this.factor = factor;
    this.maxNprobe = maxNprobe;
    this.description = description;
    this.extraLists = extraLists;
    this.cappedQueries = cappedQueries;
  }

  /** A compiled filter and the queries with their set numbers in {@link #SET_COL}. */
  public record Compiled(QueryFilter filter, Dataset<Row> queries) {}

  /**
   * Compiles a filter.
   *
   * @param items     the index's items with their id column (as the index was built from) and the
   *                  columns the predicate and the match column name
   * @param itemIdCol the items' id column
   * @param predicate a Spark SQL boolean expression on item columns, or null
   * @param matchCol  a column of both items and queries, or null
   * @param queries   the queries (they need {@code matchCol} when it is given)
   * @param factor    extra-probing factor (>= 0; 0: never probe beyond nprobe unless fewer than k)
   * @param maxNprobe the most lists a filtered query visits (0: 32 * nprobe, at most nlist)
   */
  public static Compiled compile(SparkSession spark, SearchPlan.LoadedIndex index, Dataset<Row> items,
                                 String itemIdCol, String predicate, String matchCol, Dataset<Row> queries,
                                 float factor, int maxNprobe) {
    if (predicate == null && matchCol == null) {
      throw new IllegalArgumentException("a filter needs a predicate, a match column, or both");
    }
    if (!(factor >= 0f) || Float.isInfinite(factor)) {
      throw new IllegalArgumentException("the filter factor must be a finite number >= 0, was " + factor);
    }
    if (maxNprobe < 0) {
      throw new IllegalArgumentException("the filter's maximum nprobe must be >= 0 (0: 32 * nprobe), was " + maxNprobe);
    }
    Manifest m = index.manifest();
    requireColumn(items, itemIdCol, "items");
    Dataset<Row> allowed = items;
    if (predicate != null) {
      try {
        allowed = items.where(expr(predicate));
        allowed.queryExecution().analyzed();
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("cannot apply the filter \"" + predicate + "\" to the items (columns: "
            + String.join(", ", items.columns()) + "): " + firstLine(e.getMessage()), e);
      }
    }
    Dataset<Row> ids = longIds(spark, index, allowed, itemIdCol);
    long t0 = System.nanoTime();
    List<String> values = new ArrayList<>();
    Dataset<Row> labelled;
    if (matchCol == null) {
      labelled = ids.select(col("id"), lit(0).as("set"));
      values.add(null);
    } else {
      requireColumn(items, matchCol, "items");
      requireColumn(queries, matchCol, "queries");
      Dataset<Row> itemValues = ids.select(col("id"), col(matchCol).cast(DataTypes.StringType).as("value"))
          .where(col("value").isNotNull());
      List<Row> distinct = itemValues.select("value").distinct().limit(MAX_MATCH_VALUES + 1).collectAsList();
      if (distinct.size() > MAX_MATCH_VALUES) {
        throw new IllegalArgumentException("the match column '" + matchCol + "' has more than " + MAX_MATCH_VALUES
            + " distinct values among the items; a per-query match needs at most that many");
      }
      for (Row r : distinct) {
        values.add(r.getString(0));
      }
      values.sort(null);
      Dataset<Row> dict = dictionary(spark, values);
      labelled = itemValues.join(broadcast(dict), "value").select(col("id"), col("set"));
    }
    int nsets = values.size() + (matchCol == null ? 0 : 1); // the last set (empty) for unknown values
    Sets s = new Sets();
    s.sets = bitmaps(labelled, nsets);
    s.sizes = new long[nsets];
    for (int i = 0; i < nsets; i++) {
      s.sizes[i] = decode(s.sets[i]).getLongCardinality();
    }
    s.listCounts = listCounts(spark, index, s.sets);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    String what = (predicate != null ? "items where " + predicate : "all items")
        + (matchCol != null ? ", matching the query's " + matchCol + " (" + values.size() + " values)" : "");
    LOG.info("filter compiled in {} ms: {}; {} of {} items allowed", (System.nanoTime() - t0) / 1_000_000, what,
        Arrays.stream(s.sizes).sum(), m.ntotal);
    QueryFilter f = new QueryFilter(jsc.broadcast(s), factor, maxNprobe, what,
        spark.sparkContext().longAccumulator("quiver.filter.extraLists"),
        spark.sparkContext().longAccumulator("quiver.filter.cappedQueries"));
    Dataset<Row> q;
    if (matchCol == null) {
      q = queries.withColumn(SET_COL, lit(0));
    } else {
      Dataset<Row> dict = dictionary(spark, values).withColumnRenamed("value", "__quiver_value")
          .withColumnRenamed("set", "__quiver_set");
      q = queries.join(broadcast(dict), queries.col(matchCol).cast(DataTypes.StringType).equalTo(col("__quiver_value")),
              "left")
          .withColumn(SET_COL, coalesce(col("__quiver_set"), lit(nsets - 1)))
          .drop("__quiver_value", "__quiver_set");
    }
    return new Compiled(f, q);
  }

  /** What the filter allows, for logs and reports. */
  public String description() {
    return description;
  }

  /** Lists visited beyond nprobe, summed over queries (after the search's action). */
  public long extraLists() {
    return extraLists.value();
  }

  /** Queries that reached the maximum nprobe with fewer allowed entries than wanted. */
  public long cappedQueries() {
    return cappedQueries.value();
  }

  /** The lists a filtered search probes per query before choosing among them. */
  int probeWidth(int nprobe, int nlist) {
    int max = maxNprobe > 0 ? maxNprobe : (int) Math.min(Integer.MAX_VALUE, 32L * nprobe);
    return Math.max(nprobe, Math.min(nlist, max));
  }

  IdSelector selector(int set) {
    return sets.value().selector(set);
  }

  /**
   * Keeps, in one query's ranked lists ({@code width} entries from {@code off}), the first
   * {@code nprobe} and the further ones it needs; the others become -1.
   */
  void choose(long[] lists, int off, int width, int nprobe, int nlist, int k, int set) {
    Sets s = sets.value();
    long[] counts = s.listCounts[set];
    double target = Math.max(k, factor * (double) nprobe * s.sizes[set] / nlist);
    long held = 0;
    int p = 0;
    for (; p < width; p++) {
      long l = lists[off + p];
      if (p >= nprobe && held >= target) {
        break;
      }
      if (l >= 0) {
        held += counts[(int) l];
      }
    }
    if (p > nprobe) {
      extraLists.add(p - nprobe);
    }
    if (held < target && p == width && width < nlist) {
      cappedQueries.add(1);
    }
    for (; p < width; p++) {
      lists[off + p] = -1;
    }
  }

  // ---- compiling ------------------------------------------------------------------------------

  private static Dataset<Row> dictionary(SparkSession spark, List<String> values) {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < values.size(); i++) {
      rows.add(RowFactory.create(values.get(i), i));
    }
    return spark.createDataFrame(rows, new StructType().add("value", DataTypes.StringType, false)
        .add("set", DataTypes.IntegerType, false));
  }

  /** The items with their index ids as a long column {@code id} (mapped through idmap/ for string ids). */
  private static Dataset<Row> longIds(SparkSession spark, SearchPlan.LoadedIndex index, Dataset<Row> items,
                                      String idCol) {
    if ("string".equals(index.manifest().idType)) {
      Dataset<Row> idmap = spark.read().parquet(IndexLayout.idmap(index.path()).toString()).toDF("__quiver_long",
          "__quiver_string");
      return items.join(idmap, items.col(idCol).cast(DataTypes.StringType).equalTo(col("__quiver_string")))
          .drop(idCol).withColumnRenamed("__quiver_long", "id").drop("__quiver_string");
    }
    Dataset<Row> out = items.withColumn("__quiver_id", col(idCol).cast(DataTypes.LongType));
    return out.drop(idCol).withColumnRenamed("__quiver_id", "id");
  }

  /** Builds the sets' bitmaps on the executors and ORs them together. */
  private static byte[][] bitmaps(Dataset<Row> labelled, int nsets) {
    byte[][] out = labelled.javaRDD().mapPartitions(it -> {
      Roaring64Bitmap[] b = new Roaring64Bitmap[nsets];
      for (int i = 0; i < nsets; i++) {
        b[i] = new Roaring64Bitmap();
      }
      while (it.hasNext()) {
        Row r = it.next();
        if (!r.isNullAt(0)) {
          b[r.getInt(1)].addLong(r.getLong(0));
        }
      }
      byte[][] e = new byte[nsets][];
      for (int i = 0; i < nsets; i++) {
        e[i] = encode(b[i]);
      }
      return java.util.Collections.singletonList(e).iterator();
    }).treeReduce((a, b) -> {
      byte[][] o = new byte[nsets][];
      for (int i = 0; i < nsets; i++) {
        Roaring64Bitmap x = decode(a[i]);
        x.or(decode(b[i]));
        o[i] = encode(x);
      }
      return o;
    });
    return out;
  }

  /** {@code [set][list]}: allowed entries per list, counted shard by shard on the executors. */
  private static long[][] listCounts(SparkSession spark, SearchPlan.LoadedIndex index, byte[][] sets) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Manifest m = index.manifest();
    Manifest.Shard[] shards = m.shards.toArray(new Manifest.Shard[0]);
    String qkey = index.quantizerKey();
    Broadcast<byte[]> qb = jsc.broadcast(index.quantizerBytes());
    Broadcast<byte[][]> sb = jsc.broadcast(sets);
    HadoopConf hc = new HadoopConf(spark.sparkContext().hadoopConfiguration());
    String indexPath = index.path().toString();
    int nlist = m.nlist;
    List<Integer> numbers = new ArrayList<>();
    for (int i = 0; i < shards.length; i++) {
      numbers.add(i);
    }
    try {
      return jsc.parallelize(numbers, Math.max(1, shards.length)).map(i -> {
        InvertedFileIndex q = ShardStore.quantizer(qkey, qb::value);
        InvertedFileIndex s = ShardStore.shard(new Path(indexPath), qkey, shards[i], q, hc.get(), 0);
        byte[][] enc = sb.value();
        long[][] c = new long[enc.length][nlist];
        for (int j = 0; j < enc.length; j++) {
          Roaring64Bitmap b = decode(enc[j]);
          for (long[] lc : shards[i].lists) {
            int list = (int) lc[0];
            for (long id : s.listIds(list)) {
              if (b.contains(id)) {
                c[j][list]++;
              }
            }
          }
        }
        return c;
      }).reduce((a, b) -> {
        for (int j = 0; j < a.length; j++) {
          for (int l = 0; l < nlist; l++) {
            a[j][l] += b[j][l];
          }
        }
        return a;
      });
    } finally {
      sb.destroy();
      qb.destroy();
    }
  }

  private static void requireColumn(Dataset<Row> df, String name, String what) {
    if (!Arrays.asList(df.columns()).contains(name)) {
      throw new IllegalArgumentException("the " + what + " have no column '" + name + "'; columns: "
          + String.join(", ", df.columns()));
    }
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  static byte[] encode(Roaring64Bitmap b) {
    try {
      b.runOptimize();
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      try (DataOutputStream out = new DataOutputStream(bytes)) {
        b.serialize(out);
      }
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Roaring64Bitmap decode(byte[] bytes) {
    try {
      Roaring64Bitmap b = new Roaring64Bitmap();
      b.deserialize(new DataInputStream(new ByteArrayInputStream(bytes)));
      return b;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
