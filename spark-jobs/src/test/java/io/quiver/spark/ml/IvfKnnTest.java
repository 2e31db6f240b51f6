package io.quiver.spark.ml;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.io.VecsIO;
import io.quiver.spark.SparkTestSessions;
import io.quiver.spark.plan.QueryFilter;
import io.quiver.spark.plan.SearchPlan;
import io.quiver.spark.plan.TestTables;
import io.quiver.spark.plan.VectorInput;
import io.quiver.spark.shard.ShardStore;
import java.io.File;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.ml.feature.BucketedRandomProjectionLSH;
import org.apache.spark.ml.feature.BucketedRandomProjectionLSHModel;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Spark ML API on bigann10k ({@code local[2]}): knnJoin against a brute-force cross join,
 * similarity and self joins against brute force, filtered search against filtered brute force,
 * item columns, MMR, and save/load.
 */
class IvfKnnTest {
  static final int K = 10;
  static SparkSession spark;
  static VecsIO.FloatVectors base;
  static VecsIO.FloatVectors queries;
  static Dataset<Row> items;
  static Dataset<Row> qdf;

  @BeforeAll
  static void tables() throws Exception {
    base = TestTables.dataset("bigann10k/bigann10k_base.fvecs");
    queries = TestTables.dataset("bigann10k/siftsmall_query100.fvecs");
    spark = SparkTestSessions.local(2);
    items = table("knn-items", base, true);
    qdf = table("knn-queries", queries, false);
  }

  /** id, vector, category = id % 10 and (items) title = "item-<id>", as Parquet. */
  static Dataset<Row> table(String name, VecsIO.FloatVectors v, boolean titles) {
    StructType schema = TestTables.SCHEMA.add("category", DataTypes.IntegerType, false);
    if (titles) {
      schema = schema.add("title", DataTypes.StringType, false);
    }
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < v.n(); i++) {
      rows.add(titles ? RowFactory.create((long) i, v.row(i), i % 10, "item-" + i)
          : RowFactory.create((long) i, v.row(i), i % 10));
    }
    String path = new File(SparkTestSessions.targetDir(), "test-tables/" + name).getAbsolutePath();
    spark.createDataFrame(rows, schema).repartition(3).sortWithinPartitions("id").write().mode("overwrite")
        .parquet(path);
    return spark.read().parquet(path);
  }

  static IvfKnnModel fit(String factory, Dataset<Row> data) {
    ShardStore.clearCaches();
    return new IvfKnn().setFactory(factory).setSeed(7).setIndexDir(TestTables.outputDir("ml-" + factory.replace(',',
        '_'))).fit(data);
  }

  static double l2(VecsIO.FloatVectors a, int i, VecsIO.FloatVectors b, int j) {
    double s = 0;
    for (int x = 0; x < a.d(); x++) {
      double t = a.data()[i * a.d() + x] - b.data()[j * b.d() + x];
      s += t * t;
    }
    return s;
  }

  /** Exact k nearest base rows of query q among those passing {@code allowed}, by double-precision L2. */
  static List<Integer> bruteForce(int q, int k, java.util.function.IntPredicate allowed) {
    List<Integer> ids = new ArrayList<>();
    for (int i = 0; i < base.n(); i++) {
      if (allowed.test(i)) {
        ids.add(i);
      }
    }
    double[] dist = new double[base.n()];
    for (int i : ids) {
      dist[i] = l2(queries, q, base, i);
    }
    ids.sort((x, y) -> Double.compare(dist[x], dist[y]));
    return ids.subList(0, Math.min(k, ids.size()));
  }

  /** Query id -> neighbour ids (best first) of join rows (datasetA.id, datasetB.id, distCol). */
  static Map<Long, List<Long>> byQuery(Dataset<Row> joined) {
    Map<Long, List<Long>> out = new HashMap<>();
    List<Row> rows = joined.select(col("datasetA.id"), col("datasetB.id"), col("distCol")).orderBy(col("distCol"))
        .collectAsList();
    for (Row r : rows) {
      out.computeIfAbsent(r.getLong(0), x -> new ArrayList<>()).add(r.getLong(1));
    }
    return out;
  }

  @Test
  void knnJoinEqualsABruteForceCrossJoinForAnExactIndex() {
    IvfKnnModel model = fit("IVF16,Flat", items).setNprobe(16);
    Dataset<Row> q = qdf.where(col("id").lt(30));
    Map<Long, List<Long>> got = byQuery(model.knnJoin(q, K));

    // brute force on Spark: every (query, item) pair, squared L2 in double, top k by a window
    Dataset<Row> pairs = q.select(col("id").as("qid"), col("vector").as("qv"))
        .crossJoin(items.select(col("id").as("iid"), col("vector").as("iv")))
        .withColumn("d", functions.expr("aggregate(zip_with(qv, iv, (a, b) -> (cast(a as double) - b) * (a - b)), "
            + "0D, (acc, x) -> acc + x)"))
        .withColumn("rank", functions.row_number().over(Window.partitionBy("qid").orderBy(col("d"), col("iid"))))
        .where(col("rank").leq(K));
    Map<Long, List<Long>> want = new HashMap<>();
    Map<Long, Double> kth = new HashMap<>();
    for (Row r : pairs.orderBy("qid", "rank").collectAsList()) {
      want.computeIfAbsent(r.getLong(0), x -> new ArrayList<>()).add(r.getLong(2));
      kth.put(r.getLong(0), r.getDouble(4));
    }
    assertEquals(30, got.size());
    int differ = 0;
    for (long qi = 0; qi < 30; qi++) {
      assertEquals(K, got.get(qi).size(), "query " + qi);
      Set<Long> a = new HashSet<>(got.get(qi));
      a.removeAll(want.get(qi));
      for (long id : a) {
        // only a tie at the k-th distance may differ
        double dist = l2(queries, (int) qi, base, (int) id);
        assertEquals(kth.get(qi), dist, 1e-4 * kth.get(qi), "query " + qi + " has neighbour " + id);
        differ++;
      }
    }
    assertTrue(differ <= 3, differ + " neighbours differ");
  }

  @Test
  void knnJoinRecallEqualsTheSearchJobsRecall() throws Exception {
    IvfKnnModel model = fit("IVF100,Flat", items).setNprobe(8);
    Map<Long, List<Long>> join = byQuery(model.knnJoin(qdf, K));
    SearchPlan.LoadedIndex idx = SearchPlan.LoadedIndex.load(spark, model.indexPath());
    List<Row> searched = SearchPlan.search(spark, idx, VectorInput.of(qdf, "id", "vector", "queries"),
        new SearchPlan.Options(K, 8, 1f, SearchPlan.Strategy.ROUTE, 0, 0), Dataset::collectAsList);
    Map<Long, List<Long>> search = new HashMap<>();
    for (Row r : searched) {
      search.put(r.getLong(0), r.getList(1));
    }
    double rJoin = 0;
    double rSearch = 0;
    for (int qi = 0; qi < queries.n(); qi++) {
      List<Integer> truth = bruteForce(qi, K, i -> true);
      rJoin += hits(join.getOrDefault((long) qi, List.of()), truth);
      rSearch += hits(search.get((long) qi), truth);
    }
    rJoin /= queries.n() * K;
    rSearch /= queries.n() * K;
    assertEquals(rSearch, rJoin, 0.0, "knnJoin recall@10 " + rJoin + " vs search " + rSearch);
    assertTrue(rJoin > 0.75, "IVF100,Flat nprobe 8 recall@10 " + rJoin);
  }

  static int hits(List<Long> got, List<Integer> truth) {
    int h = 0;
    for (long id : got) {
      h += truth.contains((int) id) ? 1 : 0;
    }
    return h;
  }

  @Test
  void similarityJoinReturnsExactlyThePairsWithinTheThreshold() {
    IvfKnnModel model = fit("IVF16,Flat", items).setNprobe(16);
    Dataset<Row> q = qdf.where(col("id").lt(20));
    // a threshold that holds about 20 items per query: the median distance of the 20th neighbour
    double[] twentieth = new double[20];
    for (int qi = 0; qi < 20; qi++) {
      List<Integer> nn = bruteForce(qi, 20, i -> true);
      twentieth[qi] = l2(queries, qi, base, nn.get(19));
    }
    double[] sorted = twentieth.clone();
    Arrays.sort(sorted);
    double threshold = sorted[10];
    Dataset<Row> joined = model.similarityJoin(q, threshold);
    Set<String> got = new HashSet<>();
    for (Row r : joined.select(col("datasetA.id"), col("datasetB.id"), col("distCol")).collectAsList()) {
      assertTrue(r.getDouble(2) < threshold, "pair beyond the threshold: " + r);
      got.add(r.getLong(0) + "-" + r.getLong(1));
    }
    int want = 0;
    for (int qi = 0; qi < 20; qi++) {
      for (int i = 0; i < base.n(); i++) {
        double dist = l2(queries, qi, base, i);
        if (Math.abs(dist - threshold) < 1e-4 * threshold) {
          continue; // float and double may disagree at the boundary
        }
        if (dist < threshold) {
          want++;
          assertTrue(got.contains(qi + "-" + i), "pair " + qi + "-" + i + " at " + dist + " < " + threshold + " missing");
        }
      }
    }
    assertTrue(want > 100 && Math.abs(got.size() - want) <= 2, got.size() + " pairs returned, " + want + " within");

    // MLlib's signature: the right side indexed by the estimator
    long viaEstimator = new IvfKnn().setFactory("IVF16,Flat").setSeed(7)
        .setIndexDir(TestTables.outputDir("ml-right")).similarityJoin(q, items, threshold, 0, 16).count();
    assertEquals(got.size(), viaEstimator);

    // k and threshold together: at most k per query, all within
    Map<Long, List<Long>> capped = byQuery(model.similarityJoin(q, threshold, 5));
    capped.values().forEach(v -> assertTrue(v.size() <= 5));

    // the schema of Spark ML's LSH join
    BucketedRandomProjectionLSHModel lsh = new BucketedRandomProjectionLSH().setInputCol("features").setOutputCol("h")
        .setBucketLength(100).setSeed(1).fit(mlVectors(q));
    StructType mllib = lsh.approxSimilarityJoin(mlVectors(q), mlVectors(q), 1e9, "distCol").schema();
    StructType ours = joined.schema();
    assertEquals(Arrays.asList(mllib.fieldNames()), Arrays.asList(ours.fieldNames()));
    assertEquals(mllib.apply("distCol").dataType(), ours.apply("distCol").dataType());
    assertTrue(ours.apply("datasetA").dataType() instanceof StructType);
    assertTrue(Arrays.asList(((StructType) ours.apply("datasetB").dataType()).fieldNames()).containsAll(
        List.of("id", "vector", "category", "title")));
  }

  static Dataset<Row> mlVectors(Dataset<Row> df) {
    List<Row> rows = new ArrayList<>();
    for (Row r : df.select("id", "vector").collectAsList()) {
      List<Float> v = r.getList(1);
      double[] x = new double[v.size()];
      for (int i = 0; i < x.length; i++) {
        x[i] = v.get(i);
      }
      rows.add(RowFactory.create(r.getLong(0), Vectors.dense(x)));
    }
    return spark.createDataFrame(rows, new StructType(new StructField[] {
        new StructField("id", DataTypes.LongType, false, org.apache.spark.sql.types.Metadata.empty()),
        new StructField("features", SQLDataTypes.VectorType(), false, org.apache.spark.sql.types.Metadata.empty())}));
  }

  @Test
  void selfJoinNeverPairsARowWithItselfAndReportsPairsOnceWhenAsked() {
    Dataset<Row> small = items.where(col("id").lt(2000));
    IvfKnnModel model = fit("IVF8,Flat", small).setNprobe(8);
    List<Row> all = model.selfJoin(5, Double.NaN, false).select(col("datasetA.id"), col("datasetB.id"))
        .collectAsList();
    Map<Long, Integer> perItem = new HashMap<>();
    Set<String> unordered = new HashSet<>();
    for (Row r : all) {
      assertFalse(r.getLong(0) == r.getLong(1), "row paired with itself: " + r);
      perItem.merge(r.getLong(0), 1, Integer::sum);
      unordered.add(Math.min(r.getLong(0), r.getLong(1)) + "-" + Math.max(r.getLong(0), r.getLong(1)));
    }
    assertEquals(2000, perItem.size());
    perItem.values().forEach(n -> assertEquals(5, n));
    // exact index: each item's 5 neighbours are its 5 nearest other items
    List<Row> once = model.selfJoin(5, Double.NaN, true).select(col("datasetA.id"), col("datasetB.id"))
        .collectAsList();
    Set<String> seen = new HashSet<>();
    for (Row r : once) {
      assertTrue(r.getLong(0) < r.getLong(1), "pair not ordered: " + r);
      assertTrue(seen.add(r.getLong(0) + "-" + r.getLong(1)), "pair twice: " + r);
    }
    assertEquals(unordered, seen);
  }

  @Test
  void filteredSearchReturnsKMatchingItemsWithRecallAsUnfiltered() throws Exception {
    IvfKnnModel model = fit("IVF100,Flat", items);
    // the smallest nprobe giving recall@10 >= 0.9 unfiltered
    int nprobe = 0;
    double unfiltered = 0;
    for (int np : new int[] {8, 10, 12, 16, 20, 24}) {
      unfiltered = recall(model.setNprobe(np).setMatchCol(""), i -> true);
      if (unfiltered >= 0.9) {
        nprobe = np;
        break;
      }
    }
    assertTrue(nprobe > 0, "no nprobe up to 24 gives recall 0.9");
    double filtered = recall(model.setNprobe(nprobe).setMatchCol("category"), null);
    System.out.printf("filtered search (10%% match) at nprobe %d: recall@10 %.3f; unfiltered %.3f%n", nprobe,
        filtered, unfiltered);
    assertTrue(filtered >= 0.9, "filtered recall@10 " + filtered + " at nprobe " + nprobe);

    // the extra lists, reported by the filter
    SearchPlan.LoadedIndex idx = SearchPlan.LoadedIndex.load(spark, model.indexPath());
    QueryFilter.Compiled f = QueryFilter.compile(spark, idx, items, "id", null, "category", qdf,
        QueryFilter.DEFAULT_FACTOR, 0);
    SearchPlan.Options o = new SearchPlan.Options(K, nprobe, 1f, SearchPlan.Strategy.BROADCAST, 1L << 26, 0,
        SearchPlan.Constraints.NONE.withFilter(f.filter()));
    List<Row> rows = SearchPlan.search(spark, idx, VectorInput.of(f.queries(), "id", "vector", "queries"), o,
        Dataset::collectAsList);
    assertEquals(queries.n(), rows.size());
    long extra = f.filter().extraLists();
    System.out.printf("extra lists probed: %d over %d queries (%.1f per query beyond nprobe %d)%n", extra,
        queries.n(), extra / (double) queries.n(), nprobe);
    assertTrue(extra > 0, "a 10% filter probes lists beyond nprobe");

    // a global predicate: only category 3, k results each
    List<Row> shoes = model.setMatchCol("").setFilter("category = 3").setItemCols("category").transform(qdf)
        .select("neighbors").collectAsList();
    for (Row r : shoes) {
      List<Row> n = r.getList(0);
      assertEquals(K, n.size());
      n.forEach(x -> assertEquals(3, x.getInt(2)));
    }
    model.setFilter("").setItemCols();
  }

  /** recall@10 of model.transform(qdf) against brute force (filtered by category when allowed is null). */
  static double recall(IvfKnnModel model, java.util.function.IntPredicate allowed) {
    List<Row> rows = model.setItemCols("category").transform(qdf).select("id", "category", "neighbors")
        .collectAsList();
    model.setItemCols();
    double hit = 0;
    for (Row r : rows) {
      int qi = (int) r.getLong(0);
      int cat = r.getInt(1);
      List<Row> n = r.getList(2);
      assertEquals(K, n.size(), "query " + qi + " has " + n.size() + " neighbours");
      List<Long> ids = new ArrayList<>();
      for (Row x : n) {
        if (allowed == null) {
          assertEquals(cat, x.getInt(2), "query " + qi + ": neighbour " + x + " of another category");
        }
        ids.add(x.getLong(0));
      }
      hit += hits(ids, bruteForce(qi, K, allowed != null ? allowed : i -> i % 10 == cat));
    }
    return hit / (rows.size() * K);
  }

  @Test
  void neighboursCarryItemColumnsAndMmrKeepsKCandidates() {
    IvfKnnModel model = fit("IVF16,PQ16", items).setNprobe(4).setItemCols("title", "category");
    Dataset<Row> out = model.transform(qdf.where(col("id").lt(10)));
    StructType neighbor = (StructType) ((org.apache.spark.sql.types.ArrayType) out.schema().apply("neighbors")
        .dataType()).elementType();
    assertEquals(List.of("id", "distance", "title", "category"), Arrays.asList(neighbor.fieldNames()));
    List<Row> plain = out.orderBy("id").collectAsList();
    for (Row r : plain) {
      for (Row n : r.<Row>getList(r.fieldIndex("neighbors"))) {
        assertEquals("item-" + n.getLong(0), n.getString(2));
        assertEquals((int) (n.getLong(0) % 10), n.getInt(3));
      }
    }
    List<Row> diverse = model.setMmrLambda(0.5).setFetchK(40).setItemCols().transform(qdf.where(col("id").lt(10)))
        .orderBy("id").collectAsList();
    model.setMmrLambda(-1);
    for (int i = 0; i < diverse.size(); i++) {
      List<Row> n = diverse.get(i).getList(diverse.get(i).fieldIndex("neighbors"));
      assertEquals(K, n.size());
      assertEquals(K, new HashSet<>(n.stream().map(x -> x.getLong(0)).toList()).size());
    }
  }

  @Test
  void saveAndLoadGiveIdenticalResults() throws Exception {
    IvfKnnModel model = fit("IVF16,SQ8", items).setNprobe(3).setK(7);
    String saved = TestTables.outputDir("ml-saved");
    model.save(saved);
    assertTrue(new File(saved, "_SUCCESS").isFile());
    IvfKnnModel loaded = IvfKnnModel.load(saved);
    assertEquals(7, loaded.getK());
    assertEquals(3, loaded.getNprobe());
    assertEquals(model.uid(), loaded.uid());
    List<Row> a = model.transform(qdf).select("id", "neighbors").orderBy("id").collectAsList();
    List<Row> b = loaded.transform(qdf).select("id", "neighbors").orderBy("id").collectAsList();
    assertEquals(a, b);
    // the model's own index directory opens too (no saved Params: defaults)
    IvfKnnModel plain = IvfKnnModel.load(model.indexPath());
    assertEquals(10, plain.getK());

    File notIndex = new File(TestTables.outputDir("not-an-index"));
    assertTrue(new File(notIndex, "x").mkdirs());
    Exception e = assertThrows(Exception.class, () -> IvfKnnModel.load(notIndex.getAbsolutePath()));
    assertTrue(e.getMessage().contains("no committed index"), e.getMessage());
    Exception e2 = assertThrows(Exception.class, () -> model.save(saved));
    assertTrue(e2.getMessage().contains("already exists"), e2.getMessage());
  }
}
