package io.quiver.spark.plan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.InvertedFileIndex;
import io.quiver.index.Metric;
import io.quiver.index.SearchParams;
import io.quiver.index.SearchResult;
import io.quiver.index.io.IndexIO;
import io.quiver.index.io.VecsIO;
import io.quiver.spark.SparkTestSessions;
import io.quiver.spark.job.IndexJobs;
import io.quiver.spark.shard.IndexLayout;
import io.quiver.spark.shard.Manifest;
import io.quiver.spark.shard.ShardStore;
import java.io.File;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The correctness oracle: an index built and searched on Spark ({@code local[2]}) returns the same
 * neighbours and distances as index-core's own search with the same trained quantizer, on the
 * real datasets, with both query strategies and lists split across shards.
 */
class SparkIndexOracleTest {

  static final int K = 10;

  /** Builds on Spark, then compares Spark's search with index-core's; returns the manifest. */
  static Manifest buildAndCompare(SparkSession spark, String dataset, String baseFile, String queryFile, String factory,
                                  Metric metric, int nprobe, int shards) throws Exception {
    VecsIO.FloatVectors base = TestTables.dataset(baseFile);
    VecsIO.FloatVectors queries = TestTables.dataset(queryFile);
    int d = base.d();
    String basePath = TestTables.parquet(spark, dataset + "-base", base.data(), d, 0, 4);
    String queryPath = TestTables.parquet(spark, dataset + "-queries", queries.data(), d, 0, 2);
    String out = TestTables.outputDir(dataset + "-" + factory.replace(',', '_'));
    IndexJobs.Input in = new IndexJobs.Input(basePath, "parquet", "id", "vector");
    IndexJobs.index(spark, in, new IndexJobs.TrainOptions(factory, metric, 7, 0, 1L << 30), out, shards, false);

    Manifest m = Manifest.read(new org.apache.hadoop.fs.Path(out), spark.sparkContext().hadoopConfiguration());
    assertEquals(base.n(), m.ntotal);
    assertEquals(shards, m.shards.size());
    assertTrue(new File(out, IndexLayout.SUCCESS).isFile());

    // index-core, one process, the same quantizer
    InvertedFileIndex quantizer = (InvertedFileIndex) IndexIO.read(new File(out, IndexLayout.QUANTIZER).toPath());
    InvertedFileIndex local = quantizer.emptyCopy();
    long[] ids = new long[base.n()];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = i;
    }
    local.addWithIds(base.data(), ids);
    SearchResult expected = local.search(queries.data(), K, SearchParams.defaults().withNprobe(nprobe).withThreads(1));

    for (SearchPlan.Strategy strategy : new SearchPlan.Strategy[] {SearchPlan.Strategy.ROUTE,
        SearchPlan.Strategy.BROADCAST}) {
      ShardStore.clearCaches();
      SearchPlan.LoadedIndex idx = SearchPlan.LoadedIndex.load(spark, out);
      VectorInput qin = new IndexJobs.Input(queryPath, "parquet", "id", "vector").open(spark, "queries");
      List<Row> rows = SearchPlan.search(spark, idx, qin, new SearchPlan.Options(K, nprobe, 1f, strategy,
          SearchPlan.DEFAULT_BROADCAST_BYTES, ShardStore.DEFAULT_CACHE_BYTES), Dataset::collectAsList);
      assertEquals(queries.n(), rows.size(), strategy + ": one row per query");
      Map<Long, Row> byId = new HashMap<>();
      for (Row r : rows) {
        byId.put(r.getLong(0), r);
      }
      int tieDiffs = 0;
      for (int qi = 0; qi < queries.n(); qi++) {
        Row r = byId.get((long) qi);
        long[] got = r.<Long>getList(1).stream().mapToLong(Long::longValue).toArray();
        float[] dist = new float[K];
        List<Float> dl = r.getList(2);
        for (int j = 0; j < K; j++) {
          dist[j] = dl.get(j);
        }
        String ctx = dataset + " " + factory + " " + strategy + ", query " + qi;
        for (int j = 0; j < K; j++) {
          float e = expected.distance(qi, j);
          assertEquals(e, dist[j], 1e-5 * Math.max(1, Math.abs(e)), ctx + ", rank " + j);
          if (got[j] != expected.id(qi, j)) {
            // only a tie may reorder: the same distance at the other place
            tieDiffs++;
            assertTrue(j > 0 && dist[j] == dist[j - 1] || j < K - 1 && dist[j] == dist[j + 1],
                ctx + ": id " + got[j] + " at rank " + j + " where index-core has " + expected.id(qi, j));
          }
        }
      }
      assertTrue(tieDiffs <= queries.n(), "tie reorderings: " + tieDiffs);
    }
    return m;
  }

  @ParameterizedTest
  @CsvSource({
      "bigann10k, 'IVF100,Flat', L2, 8",
      "bigann10k, 'IVF100,PQ16', L2, 8",
      "bigann10k, 'IVF50,SQ8', L2, 8",
      "glove25, 'IVF100,Flat', COSINE, 8",
      "glove25, 'IVF50,SQ8', COSINE, 8"})
  void sparkSearchEqualsIndexCoreSearch(String dataset, String factory, Metric metric, int nprobe) throws Exception {
    SparkSession spark = SparkTestSessions.local(2);
    String base = dataset.equals("bigann10k") ? "bigann10k/bigann10k_base.fvecs" : "glove25/glove25_base.fvecs";
    String queries = dataset.equals("bigann10k") ? "bigann10k/siftsmall_query100.fvecs" : "glove25/glove25_query.fvecs";
    buildAndCompare(spark, dataset, base, queries, factory, metric, nprobe, 3);
  }
}
