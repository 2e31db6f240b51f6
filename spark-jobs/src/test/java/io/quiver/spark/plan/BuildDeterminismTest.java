package io.quiver.spark.plan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.Metric;
import io.quiver.index.util.SyntheticData;
import io.quiver.spark.SparkTestSessions;
import io.quiver.spark.job.IndexJobs;
import io.quiver.spark.job.SearchJobs;
import io.quiver.spark.shard.IndexLayout;
import io.quiver.spark.shard.Manifest;
import io.quiver.spark.shard.ShardPlan;
import io.quiver.spark.shard.ShardStore;
import java.io.File;
import java.nio.file.Files;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Builds are deterministic, keep every row, and balance shards on skewed input. */
class BuildDeterminismTest {

  static final int D = 16;
  static final int N = 20_000;
  static SparkSession spark;
  static String skewed;

  @BeforeAll
  static void data() {
    spark = SparkTestSessions.local(2);
    // half the points are one point: one list far larger than a shard's share
    float[] x = new SyntheticData(D, 20, 3).generate(N, 1);
    for (int i = 0; i < N / 2; i++) {
      for (int j = 0; j < D; j++) {
        x[i * D + j] = 5f + j;
      }
    }
    skewed = TestTables.parquet(spark, "skewed", x, D, 1_000_000, 5);
  }

  private static Manifest index(String out, int shards) throws Exception {
    IndexJobs.index(spark, new IndexJobs.Input(skewed, "parquet", "id", "vector"),
        new IndexJobs.TrainOptions("IVF32,PQ4", Metric.L2, 11, 0, 1L << 30), out, shards, false);
    return Manifest.read(new Path(out), spark.sparkContext().hadoopConfiguration());
  }

  @Test
  void twoBuildsGiveByteIdenticalShardsAndKeepEveryRow() throws Exception {
    String a = TestTables.outputDir("det-a");
    String b = TestTables.outputDir("det-b");
    Manifest ma = index(a, 4);
    Manifest mb = index(b, 4);
    assertEquals(N, ma.ntotal);
    long sum = 0;
    for (Manifest.Shard s : ma.shards) {
      sum += s.count;
      byte[] x = Files.readAllBytes(new File(a, s.file).toPath());
      byte[] y = Files.readAllBytes(new File(b, s.file).toPath());
      assertArrayEquals(x, y, s.file);
      assertEquals(s.bytes, x.length);
    }
    assertEquals(N, sum);
    assertArrayEquals(Files.readAllBytes(new File(a, IndexLayout.QUANTIZER).toPath()),
        Files.readAllBytes(new File(b, IndexLayout.QUANTIZER).toPath()));
    // manifests differ only in the input path... which is the same here: whole files equal
    assertEquals(ma.toJson(), mb.toJson());
    assertFalse(new File(a, IndexLayout.TEMPORARY).exists(), "no temporary files left");
  }

  @Test
  void noShardExceedsTheMeanByMoreThanAQuarterOnSkewedInput() throws Exception {
    for (int shards : new int[] {0, 3, 8}) {
      String out = TestTables.outputDir("skew-" + shards);
      Manifest m = index(out, shards);
      long max = m.shards.stream().mapToLong(s -> s.count).max().orElseThrow();
      double mean = m.ntotal / (double) m.shards.size();
      assertTrue(max <= 1.25 * mean, shards + " shards: max " + max + " vs mean " + mean);
      long[] sizes = m.listSizes();
      long largest = java.util.Arrays.stream(sizes).max().orElseThrow();
      assertTrue(largest >= N / 2, "the dense cluster makes one list of half the rows: " + largest);
      Map<String, Object> info = SearchJobs.info(spark, out);
      assertEquals(m.ntotal, info.get("ntotal"));
    }
  }

  @Test
  void shardPlanSplitsListsAcrossShardsInProportion() {
    long[] sizes = {10, 1000, 0, 30, 60};
    ShardPlan p = ShardPlan.balance(sizes, 4);
    long[] expected = p.expectedCounts();
    assertArrayEquals(new long[] {275, 275, 275, 275}, expected);
    assertArrayEquals(new int[] {0, 1, 2, 3}, p.shardsOf(1));
    long[] got = new long[4];
    for (long id = 0; id < 1000; id++) {
      got[p.shardOf(1, id)]++;
    }
    for (int s = 0; s < 4; s++) {
      long want = s == 0 ? 265 : s == 3 ? 175 : 275;
      assertTrue(Math.abs(got[s] - want) < 60, "shard " + s + ": " + got[s] + " of list 1, expected about " + want);
    }
    assertEquals(0, p.shardOf(0, 12345));
    assertEquals(3, p.shardOf(4, 7));
  }

  @Test
  void existingOutputsAreRefusedAndRetriedShardWritesKeepTheCommittedFile() throws Exception {
    String out = TestTables.outputDir("refuse");
    index(out, 2);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> index(out, 2));
    assertTrue(e.getMessage().contains("already exists and holds an index"), e.getMessage());

    Path dir = new Path(out);
    org.apache.hadoop.conf.Configuration conf = spark.sparkContext().hadoopConfiguration();
    byte[] before = Files.readAllBytes(new File(out, IndexLayout.shardFile(0)).toPath());
    Manifest.FileEntry again = ShardStore.writeOnce(dir, IndexLayout.shardFile(0), "retry", conf, o -> o.write(before));
    assertEquals(before.length, again.bytes);
    assertArrayEquals(before, Files.readAllBytes(new File(out, IndexLayout.shardFile(0)).toPath()));
    java.io.IOException io = assertThrows(java.io.IOException.class,
        () -> ShardStore.writeOnce(dir, IndexLayout.shardFile(0), "bad", conf, o -> o.write(new byte[3])));
    assertTrue(io.getMessage().contains("different output"), io.getMessage());
  }
}
