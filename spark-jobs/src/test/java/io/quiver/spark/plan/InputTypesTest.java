package io.quiver.spark.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.InvertedFileIndex;
import io.quiver.index.Metric;
import io.quiver.index.SearchParams;
import io.quiver.index.SearchResult;
import io.quiver.index.io.IndexIO;
import io.quiver.index.util.SyntheticData;
import io.quiver.spark.SparkTestSessions;
import io.quiver.spark.job.IndexJobs;
import io.quiver.spark.shard.IndexLayout;
import io.quiver.spark.shard.ShardStore;
import java.io.File;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/**
 * Other input shapes: string ids (mapped to longs in the index and back in the results),
 * array&lt;double&gt; and Spark ML vectors, int query ids; and bad rows named by their id.
 */
class InputTypesTest {

  static final int D = 12;

  @Test
  void stringIdsDoubleArraysAndMlVectors() throws Exception {
    SparkSession spark = SparkTestSessions.local(2);
    int n = 3000;
    float[] x = new SyntheticData(D, 10, 9).generate(n, 1);
    float[] q = new SyntheticData(D, 10, 9).generate(50, 2);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      double[] v = new double[D];
      for (int j = 0; j < D; j++) {
        v[j] = x[i * D + j];
      }
      rows.add(RowFactory.create("doc-" + i, v));
    }
    StructType baseSchema = new StructType().add("key", DataTypes.StringType)
        .add("emb", DataTypes.createArrayType(DataTypes.DoubleType));
    String base = new File(SparkTestSessions.targetDir(), "test-tables/string-ids").getPath();
    spark.createDataFrame(rows, baseSchema).repartition(3).write().mode(SaveMode.Overwrite).parquet(base);
    List<Row> qrows = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      double[] v = new double[D];
      for (int j = 0; j < D; j++) {
        v[j] = q[i * D + j];
      }
      qrows.add(RowFactory.create(i, Vectors.dense(v)));
    }
    StructType qSchema = new StructType().add("qid", DataTypes.IntegerType).add("features", SQLDataTypes.VectorType());
    String queries = new File(SparkTestSessions.targetDir(), "test-tables/ml-queries").getPath();
    spark.createDataFrame(qrows, qSchema).write().mode(SaveMode.Overwrite).parquet(queries);

    String out = TestTables.outputDir("string-ids");
    IndexJobs.index(spark, new IndexJobs.Input(base, "parquet", "key", "emb"),
        new IndexJobs.TrainOptions("IVF16,Flat", Metric.L2, 5, 0, 1L << 30), out, 2, false);
    assertTrue(new File(out, IndexLayout.IDMAP).isDirectory());

    SearchPlan.LoadedIndex idx = SearchPlan.LoadedIndex.load(spark, out);
    assertEquals("string", idx.manifest().idType);
    VectorInput qin = new IndexJobs.Input(queries, "parquet", "qid", "features").open(spark, "queries");
    List<Row> found = SearchPlan.search(spark, idx, qin, new SearchPlan.Options(5, 4, 1f, SearchPlan.Strategy.ROUTE,
        0, ShardStore.DEFAULT_CACHE_BYTES), Dataset::collectAsList);
    assertEquals(50, found.size());

    // index-core with ids = row numbers: the names must be "doc-" + those numbers
    InvertedFileIndex quantizer = (InvertedFileIndex) IndexIO.read(new File(out, IndexLayout.QUANTIZER).toPath());
    InvertedFileIndex local = quantizer.emptyCopy();
    local.add(x);
    SearchResult expected = local.search(q, 5, SearchParams.defaults().withNprobe(4));
    Map<Long, Row> byId = new HashMap<>();
    for (Row r : found) {
      byId.put(r.getLong(0), r);
    }
    for (int i = 0; i < 50; i++) {
      List<String> names = byId.get((long) i).getList(1);
      List<Float> dist = byId.get((long) i).getList(2);
      for (int j = 0; j < 5; j++) {
        assertEquals(expected.distance(i, j), dist.get(j), 1e-4, "query " + i + " rank " + j);
        if (j == 0 || expected.distance(i, j) != expected.distance(i, j - 1)) {
          assertEquals("doc-" + expected.id(i, j), names.get(j), "query " + i + " rank " + j);
        }
      }
    }
  }

  @Test
  void queriesThatProbeOnlyEmptyListsStillGetARow() throws Exception {
    SparkSession spark = SparkTestSessions.local(2);
    float[] x = new SyntheticData(D, 30, 4).generate(3000, 1);
    String all = TestTables.parquet(spark, "empty-lists-all", x, D, 0, 2);
    // the quantizer sees every point; the index holds the first 20 only, so most lists are empty
    String few = TestTables.parquet(spark, "empty-lists-few", java.util.Arrays.copyOf(x, 20 * D), D, 0, 1);
    String quantizer = TestTables.outputDir("empty-lists") + ".qvq";
    IndexJobs.train(spark, new IndexJobs.Input(all, "parquet", "id", "vector"),
        new IndexJobs.TrainOptions("IVF64,Flat", Metric.L2, 5, 0, 1L << 30), quantizer, false);
    String out = TestTables.outputDir("empty-lists");
    IndexJobs.build(spark, new IndexJobs.Input(few, "parquet", "id", "vector"), quantizer, out, 2, 5, false);
    SearchPlan.LoadedIndex idx = SearchPlan.LoadedIndex.load(spark, out);
    VectorInput qin = new IndexJobs.Input(all, "parquet", "id", "vector").open(spark, "queries");
    for (SearchPlan.Strategy st : new SearchPlan.Strategy[] {SearchPlan.Strategy.ROUTE, SearchPlan.Strategy.BROADCAST,
        SearchPlan.Strategy.LOCAL}) {
      List<Row> rows = SearchPlan.search(spark, idx, qin, new SearchPlan.Options(3, 1, 1f, st, 1L << 30,
          ShardStore.DEFAULT_CACHE_BYTES), Dataset::collectAsList);
      assertEquals(3000, rows.size(), st.toString());
      long unanswered = rows.stream().filter(r -> r.<Long>getList(1).get(0) == -1L).count();
      assertTrue(unanswered > 1000, st + ": most queries probe an empty list, " + unanswered);
      Row r0 = rows.stream().filter(r -> r.getLong(0) == 0L).findFirst().orElseThrow();
      assertEquals(0L, r0.<Long>getList(1).get(0), st + ": vector 0 finds itself");
    }
  }

  @Test
  void badRowsAreNamedByTheirId() {
    SparkSession spark = SparkTestSessions.local(2);
    StructType schema = TestTables.SCHEMA;
    StructType nullable = new StructType().add("id", DataTypes.LongType)
        .add("vector", DataTypes.createArrayType(DataTypes.FloatType));
    List<Row> rows = new ArrayList<>();
    float[] x = new SyntheticData(D, 4, 1).generate(500, 1);
    for (int i = 0; i < 500; i++) {
      float[] v = new float[i == 321 ? D - 1 : D];
      System.arraycopy(x, i * D, v, 0, v.length);
      rows.add(RowFactory.create((long) i, v));
    }
    String wrongDim = new File(SparkTestSessions.targetDir(), "test-tables/wrong-dim").getPath();
    spark.createDataFrame(rows, schema).coalesce(1).write().mode(SaveMode.Overwrite).parquet(wrongDim);
    Exception e = assertThrows(Exception.class, () -> IndexJobs.index(spark,
        new IndexJobs.Input(wrongDim, "parquet", "id", "vector"),
        new IndexJobs.TrainOptions("IVF4,Flat", Metric.L2, 5, 0, 1L << 30), TestTables.outputDir("bad"), 1, false));
    assertTrue(messages(e).contains("the input has 1 invalid row (dimension: 1); the first: id 321: vector of "
        + "dimension 11, expected d = 12"), messages(e));

    rows.set(321, RowFactory.create(321L, null));
    String nullVector = new File(SparkTestSessions.targetDir(), "test-tables/null-vector").getPath();
    spark.createDataFrame(rows, nullable).coalesce(1).write().mode(SaveMode.Overwrite).parquet(nullVector);
    e = assertThrows(Exception.class, () -> IndexJobs.index(spark,
        new IndexJobs.Input(nullVector, "parquet", "id", "vector"),
        new IndexJobs.TrainOptions("IVF4,Flat", Metric.L2, 5, 0, 1L << 30), TestTables.outputDir("bad"), 1, false));
    assertTrue(messages(e).contains("id 321: null vector (column 'vector')"), messages(e));

    IllegalArgumentException wrongCol = assertThrows(IllegalArgumentException.class, () -> IndexJobs.index(spark,
        new IndexJobs.Input(nullVector, "parquet", "id", "emb"),
        new IndexJobs.TrainOptions("IVF4,Flat", Metric.L2, 5, 0, 1L << 30), TestTables.outputDir("bad"), 1, false));
    assertTrue(wrongCol.getMessage().contains("no vector column 'emb'"), wrongCol.getMessage());
    IllegalArgumentException pq = assertThrows(IllegalArgumentException.class, () -> TrainPlan.create(D, "L2norm,PQ4",
        Metric.L2));
    assertTrue(pq.getMessage().contains("inverted-file") && pq.getMessage().contains("--metric cosine"), pq.getMessage());
  }

  private static String messages(Throwable t) {
    StringBuilder sb = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause()) {
      sb.append(c.getMessage()).append(" | ");
    }
    return sb.toString();
  }
}
