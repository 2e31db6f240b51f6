package io.quiver.spark.plan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.quiver.index.Metric;
import io.quiver.index.util.SyntheticData;
import io.quiver.spark.SparkTestSessions;
import io.quiver.spark.job.IndexJobs;
import io.quiver.spark.shard.IndexLayout;
import io.quiver.spark.shard.Manifest;
import io.quiver.spark.shard.ShardStore;
import java.io.File;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.hadoop.fs.Path;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Executor JVMs of {@code local-cluster[2,1,1024]} killed with SIGKILL in the middle of a build and
 * of a search: Spark re-runs the lost tasks (and the stages whose shuffle output died with the
 * executor) on a replacement executor, and the results are those of a fault-free run, shard files
 * byte for byte.
 */
class ExecutorLossTest {

  static final int D = 16;
  static final int N = 30_000;
  static final int NQ = 400;
  static final String FACTORY = "IVF32,PQ4";
  static SparkSession spark;
  static String base;
  static String queries;

  @BeforeAll
  static void data() {
    assumeTrue(new File("/proc/self/cmdline").isFile(), "skipped: finding executor JVMs needs Linux's /proc");
    spark = SparkTestSessions.localCluster();
    SyntheticData gen = new SyntheticData(D, 20, 7);
    base = TestTables.parquet(spark, "loss-base", gen.generate(N, 1), D, 0, 8);
    queries = TestTables.parquet(spark, "loss-queries", gen.generate(NQ, 2), D, 0, 4);
  }

  /**
   * Kills the JVM of the executor that runs the {@code at}-th task started while it is registered,
   * and counts the executors Spark removes.
   */
  static final class Killer extends SparkListener {
    final int at;
    final AtomicInteger started = new AtomicInteger();
    final AtomicInteger removed = new AtomicInteger();
    final AtomicReference<String> killed = new AtomicReference<>();

    Killer(int at) {
      this.at = at;
    }

    @Override
    public void onTaskStart(SparkListenerTaskStart e) {
      if (started.incrementAndGet() == at) {
        String executor = e.taskInfo().executorId();
        long pid = killExecutorJvm(spark.sparkContext().applicationId(), executor);
        killed.set("executor " + executor + " (pid " + pid + ") in stage " + e.stageId());
      }
    }

    @Override
    public void onExecutorRemoved(SparkListenerExecutorRemoved e) {
      removed.incrementAndGet();
    }
  }

  /**
   * SIGKILL to the executor's JVM, found by its command line in {@code /proc} (the JDK's
   * {@code ProcessHandle.Info} leaves the arguments out of long command lines); returns its pid.
   */
  static long killExecutorJvm(String appId, String executorId) {
    ProcessHandle p = ProcessHandle.allProcesses()
        .filter(h -> isExecutor(commandLine(h.pid()), appId, executorId))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no JVM of executor " + executorId + " of " + appId));
    p.destroyForcibly();
    return p.pid();
  }

  private static String[] commandLine(long pid) {
    try {
      return new String(Files.readAllBytes(java.nio.file.Path.of("/proc/" + pid + "/cmdline")),
          java.nio.charset.StandardCharsets.UTF_8).split("\0");
    } catch (java.io.IOException | RuntimeException e) {
      return new String[0]; // gone, or not ours to read
    }
  }

  private static boolean isExecutor(String[] args, String appId, String executorId) {
    boolean backend = false;
    boolean app = false;
    boolean id = false;
    for (int i = 0; i < args.length; i++) {
      backend |= args[i].endsWith("CoarseGrainedExecutorBackend");
      app |= args[i].equals(appId);
      id |= args[i].equals("--executor-id") && i + 1 < args.length && args[i + 1].equals(executorId);
    }
    return backend && app && id;
  }

  private static Manifest build(String out) throws Exception {
    IndexJobs.index(spark, new IndexJobs.Input(base, "parquet", "id", "vector"),
        new IndexJobs.TrainOptions(FACTORY, Metric.L2, 5, 0, 1L << 30), out, 4, false);
    return Manifest.read(new Path(out), spark.sparkContext().hadoopConfiguration());
  }

  private static List<Row> search(String index) throws Exception {
    return TestTables.routeSearch(spark, index, queries, ShardStore.DEFAULT_CACHE_BYTES, true);
  }

  private static <T> T withKiller(Killer k, java.util.concurrent.Callable<T> job) throws Exception {
    spark.sparkContext().addSparkListener(k);
    try {
      return job.call();
    } finally {
      spark.sparkContext().removeSparkListener(k);
    }
  }

  @Test
  void killedExecutorsDuringBuildAndSearchLeaveTheFaultFreeResults() throws Exception {
    String clean = TestTables.outputDir("loss-clean");
    Manifest expected = build(clean);
    List<Row> expectedRows = search(clean);
    assertEquals(NQ, expectedRows.size());

    // a build that loses an executor a few tasks in (training sample, list counts or shard writes)
    String faulty = TestTables.outputDir("loss-build");
    Killer buildKiller = new Killer(6);
    Manifest got = withKiller(buildKiller, () -> build(faulty));
    assertNotNull(buildKiller.killed.get(), "the build ran fewer than 6 tasks: nothing was killed");
    assertEquals(N, got.ntotal, "every row indexed after " + buildKiller.killed.get());
    assertEquals(expected.shards.size(), got.shards.size());
    for (Manifest.Shard s : expected.shards) {
      assertArrayEquals(Files.readAllBytes(new File(clean, s.file).toPath()),
          Files.readAllBytes(new File(faulty, s.file).toPath()), s.file + " after " + buildKiller.killed.get());
    }
    assertArrayEquals(Files.readAllBytes(new File(clean, IndexLayout.QUANTIZER).toPath()),
        Files.readAllBytes(new File(faulty, IndexLayout.QUANTIZER).toPath()));
    assertTrue(new File(faulty, IndexLayout.SUCCESS).isFile());

    // a search that loses an executor while it routes, scans and merges
    Killer searchKiller = new Killer(3);
    List<Row> rows = withKiller(searchKiller, () -> search(faulty));
    assertNotNull(searchKiller.killed.get(), "the search ran fewer than 3 tasks: nothing was killed");
    assertEquals(NQ, rows.size(), "every query answered after " + searchKiller.killed.get());
    for (int i = 0; i < NQ; i++) {
      Row e = expectedRows.get(i);
      Row r = rows.get(i);
      assertEquals(e.getLong(0), r.getLong(0));
      assertEquals(e.getList(1), r.getList(1), "neighbours of query " + e.getLong(0) + " after " + searchKiller.killed.get());
      assertEquals(e.getList(2), r.getList(2), "distances of query " + e.getLong(0));
    }
    assertTrue(buildKiller.removed.get() >= 1 && searchKiller.removed.get() >= 1,
        "Spark saw the executors go: " + buildKiller.removed + " and " + searchKiller.removed);
  }
}
