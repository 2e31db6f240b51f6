package io.quiver.spark.ml;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.lit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.spark.SparkTestSessions;
import io.quiver.spark.plan.TestTables;
import io.quiver.spark.shard.ShardStore;
import java.io.File;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Spark ML API from a plain SparkSession (issue 17): a saved model finds its item rows after
 * load, Params read well in {@code explainParams}, and errors name Params, not the command line's
 * flags.
 */
class MlUsabilityTest {
  static SparkSession spark;
  static String itemsPath;
  static Dataset<Row> queries;

  @BeforeAll
  static void tables() throws Exception {
    io.quiver.index.io.VecsIO.FloatVectors base = TestTables.dataset("bigann10k/bigann10k_base.fvecs");
    io.quiver.index.io.VecsIO.FloatVectors q = TestTables.dataset("bigann10k/siftsmall_query100.fvecs");
    spark = SparkTestSessions.local(2);
    String vectors = TestTables.parquet(spark, "ml-ux-base", java.util.Arrays.copyOf(base.data(), 3000 * base.d()),
        base.d(), 0, 3);
    itemsPath = TestTables.outputDir("ml-ux-items");
    spark.read().parquet(vectors).withColumn("title", concat(lit("item-"), col("id").cast("string"))).write()
        .parquet(itemsPath);
    queries = spark.read().parquet(TestTables.parquet(spark, "ml-ux-queries", java.util.Arrays.copyOf(q.data(),
        20 * q.d()), q.d(), 0, 1));
  }

  static IvfKnnModel fit() {
    ShardStore.clearCaches();
    return new IvfKnn().setFactory("IVF8,Flat").setIndexDir(TestTables.outputDir("ml-ux-index"))
        .fit(spark.read().parquet(itemsPath));
  }

  @Test
  void aSavedModelReadsItsItemsAfterLoadWithoutSetItems() throws Exception {
    IvfKnnModel model = fit().setK(3).setNprobe(8).setItemCols("title");
    String saved = TestTables.outputDir("ml-ux-saved");
    model.save(saved);
    IvfKnnModel loaded = IvfKnnModel.load(saved);
    assertEquals(List.of("title"), List.of(loaded.getOrDefault(loaded.itemCols())));
    List<Row> rows = loaded.transform(queries).collectAsList();
    assertEquals(20, rows.size());
    for (Row r : rows) {
      for (Row n : r.<Row>getList(r.fieldIndex("neighbors"))) {
        assertEquals("item-" + n.getLong(0), n.getString(2));
      }
    }
    // item rows set on a model (a plain read of another table) are saved with it too
    String other = TestTables.outputDir("ml-ux-meta");
    spark.read().parquet(itemsPath).select(col("id"), concat(lit("other-"), col("id").cast("string")).as("title"))
        .write().parquet(other);
    String saved2 = TestTables.outputDir("ml-ux-saved2");
    loaded.setItems(spark.read().parquet(other)).save(saved2);
    Row first = IvfKnnModel.load(saved2).transform(queries).first();
    Row n = first.<Row>getList(first.fieldIndex("neighbors")).get(0);
    assertEquals("other-" + n.getLong(0), n.getString(2));
    // a self-join over item rows without vectors reads the vectors from the recorded input
    Dataset<Row> pairs = IvfKnnModel.load(saved2).setNprobe(8).selfJoin(2, Double.NaN, false);
    assertEquals(6000, pairs.count());
    assertTrue(pairs.select(col("datasetB.title")).first().getString(0).startsWith("other-"));
  }

  @Test
  void explainParamsShowsArraysAsTheirElements() {
    IvfKnnModel model = fit().setItemCols("title", "category");
    String explained = model.explainParams();
    assertFalse(explained.contains("[Ljava"), explained);
    assertTrue(explained.contains("itemCols: item columns carried into each neighbour struct (default: [], current: "
        + "[title, category])"), explained);
    assertTrue(new IvfKnn().explainParams().contains("factory: FAISS index factory string"), "the estimator too");
    assertFalse(new IvfKnn().explainParams().contains("[Ljava"));
  }

  @Test
  void errorsNameParamsNotFlags() {
    IvfKnnModel model = fit();
    IllegalArgumentException mmr = assertThrows(IllegalArgumentException.class,
        () -> model.copy(new org.apache.spark.ml.param.ParamMap()).setK(10).setMmrLambda(0.5).setFetchK(5)
            .transform(queries).collect());
    assertFalse(mmr.getMessage().contains("--"), mmr.getMessage());
    assertTrue(mmr.getMessage().contains("fetchK (5) must be >= k (10)"), mmr.getMessage());

    IllegalArgumentException deep = assertThrows(IllegalArgumentException.class,
        () -> model.copy(new org.apache.spark.ml.param.ParamMap()).setK(5000).transform(queries).collect());
    assertFalse(deep.getMessage().contains("--"), deep.getMessage());

    IllegalArgumentException noCol = assertThrows(IllegalArgumentException.class,
        () -> model.copy(new org.apache.spark.ml.param.ParamMap()).setItemCols("nope").transform(queries));
    assertFalse(noCol.getMessage().contains("--"), noCol.getMessage());
    assertTrue(noCol.getMessage().contains("'nope'") && noCol.getMessage().contains("setItems"), noCol.getMessage());

    IllegalArgumentException vec = assertThrows(IllegalArgumentException.class,
        () -> model.copy(new org.apache.spark.ml.param.ParamMap()).setVectorCol("emb").transform(queries));
    assertFalse(vec.getMessage().contains("--"), vec.getMessage());
    assertTrue(vec.getMessage().contains("vectorCol"), vec.getMessage());

    IllegalArgumentException factory = assertThrows(IllegalArgumentException.class,
        () -> new IvfKnn().setFactory("L2norm,Flat").setIndexDir(TestTables.outputDir("ml-ux-flat"))
            .fit(spark.read().parquet(itemsPath)));
    assertFalse(factory.getMessage().contains("--"), factory.getMessage());
    assertTrue(factory.getMessage().contains("IVF<nlist>,Flat") && factory.getMessage().contains("metric \"cosine\""),
        factory.getMessage());

    String dir = TestTables.outputDir("ml-ux-twice");
    new IvfKnn().setFactory("IVF8,Flat").setIndexDir(dir).fit(spark.read().parquet(itemsPath));
    IllegalArgumentException again = assertThrows(IllegalArgumentException.class,
        () -> new IvfKnn().setFactory("IVF8,Flat").setIndexDir(dir).fit(spark.read().parquet(itemsPath)));
    assertFalse(again.getMessage().contains("--"), again.getMessage());
    assertTrue(again.getMessage().contains("indexDir"), again.getMessage());
    assertTrue(new File(dir, "_SUCCESS").isFile());
  }
}
