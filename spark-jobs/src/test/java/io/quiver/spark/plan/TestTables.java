package io.quiver.spark.plan;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.quiver.index.io.VecsIO;
import io.quiver.spark.SparkTestSessions;
import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** Vector tables for the plan tests: the shared datasets and generated data as Parquet under target/. */
public final class TestTables {
  public static final StructType SCHEMA = new StructType()
      .add("id", DataTypes.LongType, false)
      .add("vector", DataTypes.createArrayType(DataTypes.FloatType, false), false);

  private TestTables() {}

  /** An .fvecs file of the shared datasets, or the test is skipped with a message when absent. */
  public static VecsIO.FloatVectors dataset(String relative) throws IOException {
    File dir = SparkTestSessions.datasets();
    assumeTrue(dir != null, "skipped: the shared datasets folder (system property quiver.datasets) is absent");
    File f = new File(dir, relative);
    assumeTrue(f.isFile(), "skipped: " + f + " is absent");
    return VecsIO.readFvecs(f.toPath());
  }

  /** Writes vectors with ids {@code firstId, firstId+1, ...} as a Parquet table; returns its path. */
  public static String parquet(SparkSession spark, String name, float[] data, int d, long firstId, int partitions) {
    List<Row> rows = new ArrayList<>();
    int n = data.length / d;
    for (int i = 0; i < n; i++) {
      float[] v = new float[d];
      System.arraycopy(data, i * d, v, 0, d);
      rows.add(RowFactory.create(firstId + i, v));
    }
    String path = new File(SparkTestSessions.targetDir(), "test-tables/" + name).getAbsolutePath();
    spark.createDataFrame(rows, SCHEMA).repartition(partitions).sortWithinPartitions("id").write()
        .mode(SaveMode.Overwrite).parquet(path);
    return path;
  }

  /** A fresh directory path under target/ (not created). */
  public static String outputDir(String name) {
    File f = new File(SparkTestSessions.targetDir(), "test-out/" + name + "-" + System.nanoTime());
    return f.getAbsolutePath();
  }

  /**
   * Searches {@code index} for the queries of a Parquet table (columns id, vector) with the route
   * strategy, k = 10 and nprobe = 8 (the shard caches cleared first when {@code fresh}); rows
   * sorted by query id.
   */
  public static List<Row> routeSearch(SparkSession spark, String index, String queries, long cacheBytes, boolean fresh)
      throws Exception {
    if (fresh) {
      io.quiver.spark.shard.ShardStore.clearCaches();
    }
    SearchPlan.LoadedIndex idx = SearchPlan.LoadedIndex.load(spark, index);
    VectorInput qin = new io.quiver.spark.job.IndexJobs.Input(queries, "parquet", "id", "vector").open(spark, "queries");
    List<Row> rows = new ArrayList<>(SearchPlan.search(spark, idx, qin,
        new SearchPlan.Options(10, 8, 1f, SearchPlan.Strategy.ROUTE, SearchPlan.DEFAULT_BROADCAST_BYTES, cacheBytes),
        org.apache.spark.sql.Dataset::collectAsList));
    rows.sort(java.util.Comparator.comparingLong(r -> r.getLong(0)));
    return rows;
  }
}
