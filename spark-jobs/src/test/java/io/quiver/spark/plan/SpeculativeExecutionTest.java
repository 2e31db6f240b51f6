package io.quiver.spark.plan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.Success$;
import org.apache.spark.TaskKilled;
import org.apache.spark.deploy.master.Master;
import org.apache.spark.deploy.worker.Worker;
import org.apache.spark.rpc.RpcEnv;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import scala.Option;

/**
 * Speculative execution ({@code spark.speculation=true}, multiplier 1, quantile 0.1, and a 1 s
 * duration threshold for stages with no more tasks than an executor has cores) during a build and
 * a search: the shards are byte for byte those of a build without speculation, the search results
 * are equal, and nothing is written into the index directory once it is committed.
 *
 * <p>Spark never runs a speculative copy on a host where the task already has an attempt, so
 * {@code local-cluster[...]}, whose executors all share one host, never speculates. This test runs
 * a standalone Master and two Workers in its JVM, bound to 127.0.0.1 and 127.0.0.2 (both loopback
 * on Linux), whose executors are JVMs of their own, one per "host". Tasks that outrun the median
 * are speculated on their own; to have stragglers on every run, {@link SlowFileSystem} makes the
 * first attempt of the tasks that read the first input file, write or read shard 0, or read the
 * first query file wait 10 s before it opens the file, so a speculative copy starts, succeeds, and
 * Spark kills the original.
 */
class SpeculativeExecutionTest {

  static final int D = 16;
  static final int N = 20_000;
  static final int NQ = 400;
  static final String FACTORY = "IVF32,PQ4";
  /** The files whose first readers and writers are stragglers (see {@link SlowFileSystem}). */
  static final String SLOW = "(base/part-00000|shard-00000\\.qvs|queries/part-00000)";
  /** The file whose first writer keeps running, killed or not, for 10 s before it creates it. */
  static final String STUBBORN = "shard-00000\\.qvs";
  static final String SECOND_HOST = "127.0.0.2";

  static RpcEnv master;
  static final List<RpcEnv> workers = new ArrayList<>();
  static SparkSession spark;
  static String base;
  static String queries;
  static String reference;
  static List<Row> referenceRows;

  @BeforeAll
  static void clusterAndReference() throws Exception {
    assumeTrue(bindable(SECOND_HOST), "skipped: " + SECOND_HOST + " is not a local address on this machine (it is on"
        + " Linux, where all of 127.0.0.0/8 is loopback); the second worker needs a host of its own");

    // the reference: a build and a search without speculation
    SparkSession local = SparkTestSessions.local(2);
    SyntheticData gen = new SyntheticData(D, 20, 5);
    base = TestTables.parquet(local, "spec-base", gen.generate(N, 1), D, 0, 8);
    queries = TestTables.parquet(local, "spec-queries", gen.generate(NQ, 2), D, 0, 4);
    reference = TestTables.outputDir("spec-reference");
    build(local, base, reference);
    referenceRows = search(local, reference, queries);
    assertEquals(NQ, referenceRows.size());

    // a Master and two Workers (1 core, 1 GiB) on two loopback addresses
    SparkConf conf = new SparkConf();
    master = (RpcEnv) Master.startRpcEnvAndEndpoint("127.0.0.1", 0, 0, conf)._1();
    String url = "spark://127.0.0.1:" + master.address().port();
    String[] hosts = {"127.0.0.1", SECOND_HOST};
    for (int i = 0; i < hosts.length; i++) {
      File work = new File(SparkTestSessions.targetDir(), "speculation-worker-" + (i + 1));
      workers.add(Worker.startRpcEnvAndEndpoint(hosts[i], 0, 0, 1, 1024, new String[] {url}, work.getPath(),
          Option.apply(i + 1), conf, Option.empty()));
    }

    Map<String, String> settings = new LinkedHashMap<>();
    settings.put("spark.speculation", "true");
    settings.put("spark.speculation.interval", "100ms");
    settings.put("spark.speculation.multiplier", "1");
    settings.put("spark.speculation.quantile", "0.1");
    settings.put("spark.speculation.minTaskRuntime", "100ms");
    // stages with no more tasks than an executor has cores (1 here): speculate after 1 s
    settings.put("spark.speculation.task.duration.threshold", "1s");
    // speculate every task past the multiplier, not only those that process their data slowly
    settings.put("spark.speculation.efficiency.enabled", "false");
    settings.put("spark.sql.shuffle.partitions", "4");
    settings.putAll(SlowFileSystem.settings(SlowFileSystem.SCHEME, SlowFileSystem.class, SLOW, 10_000));
    settings.putAll(SlowFileSystem.settings(SlowFileSystem.Stubborn.SCHEME, SlowFileSystem.Stubborn.class,
        STUBBORN, 10_000));
    spark = SparkTestSessions.standalone(url, settings);
    waitForExecutorsOn(Set.of(hosts));
  }

  @AfterAll
  static void stop() {
    if (spark != null) {
      spark.stop();
    }
    for (RpcEnv w : workers) {
      w.shutdown();
      w.awaitTermination();
    }
    if (master != null) {
      master.shutdown();
      master.awaitTermination();
    }
  }

  /** Counts task attempts: speculative copies launched and won, originals killed, attempts still running. */
  static final class Attempts extends SparkListener {
    final AtomicInteger started = new AtomicInteger();
    final AtomicInteger ended = new AtomicInteger();
    final AtomicInteger speculative = new AtomicInteger();
    final AtomicInteger speculativeWon = new AtomicInteger();
    final AtomicInteger killed = new AtomicInteger();

    @Override
    public void onTaskStart(SparkListenerTaskStart e) {
      started.incrementAndGet();
      if (e.taskInfo().speculative()) {
        speculative.incrementAndGet();
      }
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd e) {
      ended.incrementAndGet();
      if (e.taskInfo().speculative() && e.reason() == Success$.MODULE$) {
        speculativeWon.incrementAndGet();
      }
      if (e.reason() instanceof TaskKilled) {
        killed.incrementAndGet();
      }
    }

    /** Waits until every attempt that started has ended (killed originals end after the job returns). */
    void awaitAllEnded() throws Exception {
      long deadline = System.nanoTime() + 60_000_000_000L;
      while (System.nanoTime() < deadline) {
        spark.sparkContext().listenerBus().waitUntilEmpty();
        if (ended.get() >= started.get()) {
          return;
        }
        Thread.sleep(200);
      }
      throw new AssertionError("task attempts still running 60 s after the job: " + this);
    }

    @Override
    public String toString() {
      return started + " attempts, " + speculative + " speculative (" + speculativeWon + " won), " + killed + " killed";
    }
  }

  static <T> T counting(Attempts a, Callable<T> job) throws Exception {
    spark.sparkContext().addSparkListener(a);
    try {
      T result = job.call();
      a.awaitAllEnded();
      return result;
    } finally {
      spark.sparkContext().removeSparkListener(a);
    }
  }

  private static Manifest build(SparkSession s, String input, String out) throws Exception {
    IndexJobs.index(s, new IndexJobs.Input(input, "parquet", "id", "vector"),
        new IndexJobs.TrainOptions(FACTORY, Metric.L2, 5, 0, 1L << 30), out, 2, false);
    return Manifest.read(new Path(out), s.sparkContext().hadoopConfiguration());
  }

  private static List<Row> search(SparkSession s, String index, String queries) throws Exception {
    return TestTables.routeSearch(s, index, queries, ShardStore.DEFAULT_CACHE_BYTES, true);
  }

  @Test
  void speculativeCopiesInBuildAndSearchLeaveTheResultsOfARunWithout() throws Exception {
    String out = TestTables.outputDir("spec-build");
    Attempts b = new Attempts();
    Manifest got = counting(b, () -> build(spark, SlowFileSystem.path(base), SlowFileSystem.path(out)));
    assertTrue(b.speculative.get() >= 1 && b.speculativeWon.get() >= 1, "the build: " + b);
    assertEquals(N, got.ntotal, "every row indexed; " + b);
    assertEquals(2, got.shards.size());
    for (Manifest.Shard s : got.shards) {
      assertArrayEquals(Files.readAllBytes(new File(reference, s.file).toPath()),
          Files.readAllBytes(new File(out, s.file).toPath()), s.file + "; " + b);
    }
    assertArrayEquals(Files.readAllBytes(new File(reference, IndexLayout.QUANTIZER).toPath()),
        Files.readAllBytes(new File(out, IndexLayout.QUANTIZER).toPath()), IndexLayout.QUANTIZER + "; " + b);
    // every attempt has ended: the killed ones wrote nothing into the committed directory
    assertFalse(new File(out, IndexLayout.TEMPORARY).exists(), IndexLayout.TEMPORARY + " left by a killed attempt; " + b);
    assertEquals(names(new File(reference)), names(new File(out)), "the files of the index directory");
    assertEquals(names(new File(reference, "shards")), names(new File(out, "shards")));

    Attempts s = new Attempts();
    List<Row> rows = counting(s, () -> search(spark, SlowFileSystem.path(out), SlowFileSystem.path(queries)));
    assertTrue(s.speculative.get() >= 1 && s.speculativeWon.get() >= 1, "the search: " + s);
    assertEquals(NQ, rows.size());
    for (int i = 0; i < NQ; i++) {
      Row e = referenceRows.get(i);
      Row r = rows.get(i);
      assertEquals(e.getLong(0), r.getLong(0));
      assertEquals(e.getList(1), r.getList(1), "neighbours of query " + e.getLong(0) + "; " + s);
      assertEquals(e.getList(2), r.getList(2), "distances of query " + e.getLong(0));
    }
    System.out.println("speculation: build " + b + "; search " + s);
  }

  /**
   * The original attempt of a shard write that ignores the kill (it is busy, as in a long write)
   * goes on after the job has committed and renamed the index into place: it must not write into
   * the committed index nor leave a staging directory behind.
   */
  @Test
  void anOriginalThatOutlivesTheCommitWritesNothingAfterIt() throws Exception {
    File parent = new File(TestTables.outputDir("spec-late"));
    assertTrue(parent.mkdirs());
    String out = new File(parent, "index").getPath();
    Attempts b = new Attempts();
    Manifest got = counting(b, () -> build(spark, base, SlowFileSystem.Stubborn.path(out)));
    assertTrue(b.speculativeWon.get() >= 1, "the build: " + b);
    assertEquals(N, got.ntotal);
    for (Manifest.Shard s : got.shards) {
      assertArrayEquals(Files.readAllBytes(new File(reference, s.file).toPath()),
          Files.readAllBytes(new File(out, s.file).toPath()), s.file + "; " + b);
    }
    assertEquals(Set.of("index"), names(parent), "beside the index, after every attempt ended; " + b);
    assertEquals(names(new File(reference)), names(new File(out)), "the files of the index directory; " + b);
    assertEquals(names(new File(reference, "shards")), names(new File(out, "shards")));
  }

  /** The names in a directory, without the checksum files of Hadoop's local file system. */
  static Set<String> names(File dir) {
    return Arrays.stream(dir.list()).filter(n -> !(n.startsWith(".") && n.endsWith(".crc")))
        .collect(Collectors.toCollection(TreeSet::new));
  }

  static boolean bindable(String host) {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(host))) {
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  static void waitForExecutorsOn(Set<String> hosts) throws InterruptedException {
    long deadline = System.nanoTime() + 120_000_000_000L;
    Set<String> seen = Set.of();
    while (System.nanoTime() < deadline) {
      // the driver is listed too (on 127.0.0.1)
      org.apache.spark.SparkExecutorInfo[] infos = spark.sparkContext().statusTracker().getExecutorInfos();
      seen = Arrays.stream(infos).map(e -> e.host()).collect(Collectors.toSet());
      if (infos.length > hosts.size() && seen.containsAll(hosts)) {
        return;
      }
      Thread.sleep(200);
    }
    throw new AssertionError("executors on " + hosts + " did not register within 120 s; hosts seen: " + seen);
  }
}
