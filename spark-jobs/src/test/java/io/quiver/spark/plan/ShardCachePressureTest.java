package io.quiver.spark.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.Metric;
import io.quiver.index.util.SyntheticData;
import io.quiver.spark.SparkTestSessions;
import io.quiver.spark.job.IndexJobs;
import io.quiver.spark.shard.Manifest;
import io.quiver.spark.shard.ShardStore;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/**
 * Searches whose shards do not fit the shard cache (a bound below one shard's bytes): every
 * search still completes, evicting and reloading shards, with the results of an unbounded cache.
 */
class ShardCachePressureTest {

  @Test
  void aCacheSmallerThanAShardEvictsAndReloadsAndAnswersTheSame() throws Exception {
    SparkSession spark = SparkTestSessions.local(2);
    int d = 16;
    SyntheticData gen = new SyntheticData(d, 20, 13);
    String base = TestTables.parquet(spark, "pressure-base", gen.generate(40_000, 1), d, 0, 4);
    String queries = TestTables.parquet(spark, "pressure-queries", gen.generate(300, 2), d, 0, 2);
    String index = TestTables.outputDir("pressure");
    IndexJobs.index(spark, new IndexJobs.Input(base, "parquet", "id", "vector"),
        new IndexJobs.TrainOptions("IVF32,PQ8", Metric.L2, 3, 0, 1L << 30), index, 6, false);
    Manifest m = Manifest.read(new Path(index), spark.sparkContext().hadoopConfiguration());
    long smallest = m.shards.stream().mapToLong(s -> s.count * (8L + 8)).min().orElseThrow();

    List<Row> roomy = search(spark, index, queries, ShardStore.DEFAULT_CACHE_BYTES);
    ShardStore.CacheStats warm = ShardStore.cacheStats();
    List<Row> again = search(spark, index, queries, ShardStore.DEFAULT_CACHE_BYTES);
    ShardStore.CacheStats cached = ShardStore.cacheStats();
    assertEquals(roomy, again);
    assertEquals(warm.loads(), cached.loads(), "a roomy cache serves the second search: " + cached);
    assertEquals(0, cached.evictions(), cached.toString());

    ShardStore.clearCaches();
    long bound = smallest / 2;
    List<Row> tight1 = search(spark, index, queries, bound);
    List<Row> tight2 = search(spark, index, queries, bound);
    ShardStore.CacheStats pressed = ShardStore.cacheStats();
    assertEquals(roomy, tight1, "same answers with a cache of " + bound + " bytes");
    assertEquals(roomy, tight2);
    assertTrue(pressed.loads() >= 2L * m.shards.size(), "every shard loaded again by the second search: " + pressed);
    assertTrue(pressed.evictions() >= pressed.loads() - 1, "each load evicted the shard before it: " + pressed);
    assertEquals(1, pressed.entries(), "one shard at a time in the cache: " + pressed);
  }

  private static List<Row> search(SparkSession spark, String index, String queries, long cacheBytes) throws Exception {
    return TestTables.routeSearch(spark, index, queries, cacheBytes, false);
  }
}
