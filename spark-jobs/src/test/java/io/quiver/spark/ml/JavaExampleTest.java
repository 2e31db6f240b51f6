package io.quiver.spark.ml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.examples.SimilarityJoinExample;
import io.quiver.spark.SparkTestSessions;
import io.quiver.spark.plan.TestTables;
import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.Test;

/** Runs the Java example of docs/examples on 5,000 seeded random vectors. */
class JavaExampleTest {

  @Test
  void theJavaExampleRuns() throws Exception {
    SparkSession spark = SparkTestSessions.local(2);
    Random r = new Random(11);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 5000; i++) {
      float[] v = new float[16];
      for (int j = 0; j < v.length; j++) {
        v[j] = (float) r.nextGaussian() + (i % 20);
      }
      rows.add(RowFactory.create((long) i, v, i % 10));
    }
    String items = new File(SparkTestSessions.targetDir(), "test-tables/example-items").getAbsolutePath();
    spark.createDataFrame(rows, TestTables.SCHEMA.add("category", DataTypes.IntegerType, false)).write()
        .mode("overwrite").parquet(items);
    String work = TestTables.outputDir("example");

    SimilarityJoinExample.Result res = SimilarityJoinExample.run(spark, items, work);

    List<Row> neighbors = res.neighbors().select("id", "neighbors").collectAsList();
    assertEquals(100, neighbors.size());
    for (Row n : neighbors) {
      List<Row> list = n.getList(1);
      assertEquals(5, list.size());
      assertEquals(n.getLong(0), list.get(0).getLong(0), "a query that is an item finds itself first");
    }
    long pairs = res.pairs().count();
    assertTrue(pairs >= 5000 * 5 / 2 && pairs <= 5000 * 5, pairs + " pairs");
    for (Row s : res.shoes().select("neighbors").collectAsList()) {
      assertEquals(5, s.getList(0).size());
    }
    assertEquals(5, res.loaded().getK());
    assertEquals(8, res.loaded().getNprobe());
    assertTrue(new File(work, "model/_SUCCESS").isFile());
  }
}
