package io.quiver.spark.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quiver.spark.SparkTestSessions;
import io.quiver.spark.shard.IndexLayout;
import io.quiver.spark.shard.Manifest;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The real jobs on a real Spark standalone cluster: {@code scripts/local-cluster.sh start} runs a
 * Master and two Workers (1 core, 1g each) in JVMs of their own, and {@code SparkSubmit}, in a child
 * JVM with the cluster's runtime jars as its class path, submits {@code target/quiver-spark.jar}'s
 * {@code index} and then {@code search}, in client and in cluster deploy mode, with the input, the
 * index and the output on local files that every process shares. Shards are byte for byte, and
 * search results equal to, those of a {@code local[2]} run in this JVM (builds are deterministic).
 * In cluster deploy mode spark-submit returns once the driver is launched, and exits 0 even when
 * the driver fails: the Master's {@code /json/} page says how the driver ended.
 *
 * <p>Runs in Maven's integration-test phase (after package wrote quiver-spark.jar and the
 * pre-integration-test phase filled {@code target/cluster-home/jars}); in the test phase it is
 * skipped.
 */
class StandaloneClusterTest {

  static final String MAIN = "io.quiver.spark.cli.QuiverCli";
  static final int N = 10_000;
  static final int D = 16;
  static final int NQ = 200;
  static final String FACTORY = "IVF16,PQ4";
  static final String[] SEARCH = {"--k", "10", "--nprobe", "4", "--strategy", "route"};
  /** How long one spark-submit, or one cluster-mode driver, may take. */
  static final Duration JOB_LIMIT = Duration.ofMinutes(4);

  static SparkSession spark;
  static File root;
  static File target;
  static File clusterHome;
  static File jar;
  static File work;
  static File state;
  static File tmp;
  static int masterPort;
  static int uiPort;
  static int workerUiPort;
  static String master;
  static boolean started;
  static Thread stopOnExit;
  static String base;
  static String queries;
  static String localIndex;
  static List<Row> localResults;

  @BeforeAll
  static void startCluster() throws Exception {
    String home = System.getProperty("quiver.cluster.home");
    assumeTrue(home != null, "skipped: StandaloneClusterTest runs in Maven's integration-test phase, after package "
        + "built quiver-spark.jar (mvn verify); in the test phase it does not run");
    assumeTrue(new File("/bin/bash").canExecute(), "skipped: scripts/local-cluster.sh needs bash (/bin/bash)");
    target = SparkTestSessions.targetDir();
    root = target.getParentFile().getParentFile();
    clusterHome = new File(home);
    jar = new File(target, "quiver-spark.jar");
    assertTrue(jar.isFile(), jar + " is missing: run the package phase first");
    assertTrue(new File(clusterHome, "jars").isDirectory(), clusterHome + "/jars is missing: run mvn pre-integration-test");
    work = new File(target, "standalone-" + System.nanoTime());
    state = new File(work, "cluster");
    tmp = new File(work, "tmp");
    assertTrue(tmp.mkdirs());

    Set<Integer> taken = new HashSet<>();
    masterPort = freePort(1, taken);
    uiPort = freePort(1, taken);
    workerUiPort = freePort(2, taken);
    stopOnExit = new Thread(StandaloneClusterTest::stopQuietly, "stop-local-cluster");
    Runtime.getRuntime().addShutdownHook(stopOnExit);
    started = true;
    Proc start = script("start");
    assertEquals(0, start.status, "local-cluster.sh start failed:\n" + start.out + start.err);
    Matcher m = Pattern.compile("(?m)^master: (spark://\\S+)$").matcher(start.out);
    assertTrue(m.find(), "no master URL in: " + start.out);
    master = m.group(1);
    assertEquals("spark://127.0.0.1:" + masterPort, master);
    assertTrue(start.out.contains("web UI: http://127.0.0.1:" + uiPort), start.out);
    assertEquals(2, masterState().get("aliveworkers").asInt());
    Proc status = script("status");
    assertEquals(0, status.status, status.out);

    // the data and the reference: a local[2] run of the same commands in this JVM
    spark = SparkTestSessions.local(2);
    base = new File(work, "base.parquet").getPath();
    queries = new File(work, "queries.parquet").getPath();
    Cli.ok("generate", "--rows", "" + N, "--dim", "" + D, "--clusters", "20", "--seed", "7", "--partitions", "4",
        "--output", base);
    Cli.ok("generate", "--rows", "" + NQ, "--dim", "" + D, "--clusters", "20", "--seed", "7", "--first-row",
        "" + N, "--partitions", "2", "--output", queries);
    localIndex = new File(work, "local-index").getPath();
    Cli.ok(indexArgs(localIndex));
    String out = new File(work, "local-results.parquet").getPath();
    Cli.ok(searchArgs(localIndex, out));
    localResults = results(out);
    assertEquals(NQ, localResults.size());
  }

  @AfterAll
  static void stopCluster() {
    if (started) {
      Proc stop = stopQuietly();
      if (stopOnExit != null) {
        Runtime.getRuntime().removeShutdownHook(stopOnExit);
      }
      assertNotNull(stop, "local-cluster.sh stop did not run");
      assertEquals(0, stop.status, "local-cluster.sh stop:\n" + stop.out + stop.err);
      Proc status = script("status");
      assertEquals(3, status.status, "after stop, status says:\n" + status.out);
    }
  }

  private static Proc stopQuietly() {
    try {
      Proc stop = script("stop");
      started = false;
      return stop;
    } catch (RuntimeException e) {
      return null;
    }
  }

  @Test
  void clientModeIndexAndSearchGiveTheLocalResults() throws Exception {
    String index = new File(work, "client-index").getPath();
    Proc b = submit("client", indexArgs(index));
    assertEquals(0, b.status, b.describe());
    assertEquals(N, lastJson(b.out).get("ntotal").asLong(), b.out);
    assertSameIndex(index);

    String out = new File(work, "client-results.parquet").getPath();
    Proc s = submit("client", searchArgs(index, out));
    assertEquals(0, s.status, s.describe());
    assertSameResults(out);

    // the jobs ran as applications of this cluster, not on an embedded local master
    Set<String> apps = new HashSet<>();
    for (JsonNode app : masterState().get("completedapps")) {
      if (app.get("state").asText().equals("FINISHED")) {
        apps.add(app.get("name").asText());
      }
    }
    assertTrue(apps.containsAll(List.of("quiver index", "quiver search")), "completed applications: " + apps);
  }

  @Test
  void clusterModeIndexAndSearchFinishWithTheLocalResults() throws Exception {
    String index = new File(work, "cluster-index").getPath();
    Driver b = submitToCluster(indexArgs(index));
    assertEquals("FINISHED", b.state, b.describe());
    assertEquals(N, lastJson(b.stdout()).get("ntotal").asLong(), b.describe());
    assertSameIndex(index);

    String out = new File(work, "cluster-results.parquet").getPath();
    Driver s = submitToCluster(searchArgs(index, out));
    assertEquals("FINISHED", s.state, s.describe());
    assertSameResults(out);
  }

  @Test
  void aFailedClusterModeDriverIsReportedByTheMasterThoughSparkSubmitExitsZero() throws Exception {
    String missing = new File(work, "no-such-input.parquet").getPath();
    String index = new File(work, "never-built").getPath();
    Driver d = submitToCluster(indexArgs(index, missing));
    assertEquals(0, d.submit.status, "spark-submit in cluster mode exits 0 once the driver is launched: " + d.describe());
    assertEquals("FAILED", d.state, d.describe());
    String err = d.stderr();
    assertTrue(err.contains("quiver index: ") && err.contains(missing), "the driver's stderr names the input:\n" + err);
    assertTrue(!new File(index).exists(), "a failed build writes no index");
  }

  // --- the commands ---

  static String[] indexArgs(String output) {
    return indexArgs(output, base);
  }

  static String[] indexArgs(String output, String input) {
    return new String[] {"index", "--input", input, "--output", output, "--factory", FACTORY, "--shards", "2",
        "--seed", "11", "--backend", "cpu"};
  }

  static String[] searchArgs(String index, String output) {
    List<String> a = new ArrayList<>(List.of("search", "--index", index, "--queries", queries, "--output", output,
        "--backend", "cpu"));
    a.addAll(Arrays.asList(SEARCH));
    return a.toArray(String[]::new);
  }

  /** The shard and quantizer files of {@code index} equal the local run's, byte for byte. */
  static void assertSameIndex(String index) throws Exception {
    org.apache.hadoop.conf.Configuration conf = spark.sparkContext().hadoopConfiguration();
    Manifest expected = Manifest.read(new Path(localIndex), conf);
    Manifest got = Manifest.read(new Path(index), conf);
    assertEquals(expected.ntotal, got.ntotal);
    assertEquals(expected.shards.size(), got.shards.size());
    for (Manifest.Shard s : expected.shards) {
      assertArrayEquals(Files.readAllBytes(new File(localIndex, s.file).toPath()),
          Files.readAllBytes(new File(index, s.file).toPath()), s.file);
    }
    assertArrayEquals(Files.readAllBytes(new File(localIndex, IndexLayout.QUANTIZER).toPath()),
        Files.readAllBytes(new File(index, IndexLayout.QUANTIZER).toPath()), IndexLayout.QUANTIZER);
    assertTrue(new File(index, IndexLayout.SUCCESS).isFile());
  }

  /** The search results at {@code path} equal the local run's: ids, neighbours and distances. */
  static void assertSameResults(String path) {
    List<Row> got = results(path);
    assertEquals(NQ, got.size());
    for (int i = 0; i < NQ; i++) {
      Row e = localResults.get(i);
      Row r = got.get(i);
      assertEquals(e.getLong(0), r.getLong(0));
      assertEquals(e.getList(1), r.getList(1), "neighbours of query " + e.getLong(0));
      assertEquals(e.getList(2), r.getList(2), "distances of query " + e.getLong(0));
    }
  }

  static List<Row> results(String path) {
    return spark.read().parquet(path).orderBy("id").collectAsList();
  }

  // --- processes ---

  /** A finished child process: its exit status and what it printed. */
  record Proc(List<String> command, int status, String out, String err) {
    String describe() {
      return "exit " + status + " of " + String.join(" ", command) + "\nstdout:\n" + out + "\nstderr (end):\n"
          + tail(err, 40);
    }
  }

  /** A driver of cluster deploy mode: the submission, its id and how it ended (the Master's word). */
  record Driver(Proc submit, String id, String state, File dir) {
    String stdout() throws IOException {
      return dir == null ? "" : Files.readString(new File(dir, "stdout").toPath());
    }

    String stderr() throws IOException {
      return dir == null ? "" : Files.readString(new File(dir, "stderr").toPath());
    }

    String describe() {
      try {
        return "driver " + id + " " + state + "\nits stdout:\n" + stdout() + "\nits stderr (end):\n" + tail(stderr(), 40)
            + "\nspark-submit: " + submit.describe();
      } catch (IOException e) {
        return "driver " + id + " " + state + " (" + e + ")";
      }
    }
  }

  static Proc script(String command) {
    List<String> cmd = List.of("/bin/bash", new File(root, "scripts/local-cluster.sh").getPath(), command);
    Map<String, String> env = Map.of(
        "QUIVER_CLUSTER_DIR", state.getPath(),
        "QUIVER_MASTER_PORT", "" + masterPort,
        "QUIVER_MASTER_UI_PORT", "" + uiPort,
        "QUIVER_WORKER_UI_PORT", "" + workerUiPort,
        "QUIVER_NO_BUILD", "1",
        "QUIVER_CLUSTER_TIMEOUT", "120",
        "JAVA_HOME", System.getProperty("java.home"));
    return run(cmd, env, Duration.ofMinutes(3));
  }

  /** SparkSubmit in a JVM of its own, with the cluster's runtime jars as its class path. */
  static Proc submit(String deployMode, String... args) {
    String flags = System.getProperty("quiver.jvm.flags", "");
    String javaOpts = flags + " -Djava.io.tmpdir=" + tmp.getPath();
    List<String> cmd = new ArrayList<>();
    cmd.add(new File(System.getProperty("java.home"), "bin/java").getPath());
    cmd.addAll(Arrays.asList(flags.trim().split("\\s+")));
    // in client mode this JVM is the driver
    cmd.addAll(List.of("-Xmx512m", "-Djava.io.tmpdir=" + tmp.getPath(),
        "-cp", new File(clusterHome, "jars").getPath() + File.separator + "*",
        "org.apache.spark.deploy.SparkSubmit",
        "--master", master, "--deploy-mode", deployMode,
        "--properties-file", new File(root, "conf/spark-defaults.conf").getPath(),
        "--driver-memory", "512m",
        "--conf", "spark.executor.memory=512m",
        "--conf", "spark.driver.extraJavaOptions=" + javaOpts,
        "--conf", "spark.executor.extraJavaOptions=" + javaOpts,
        "--class", MAIN, jar.getPath()));
    cmd.addAll(Arrays.asList(args));
    Map<String, String> env = Map.of("SPARK_HOME", clusterHome.getPath(), "SPARK_LOCAL_IP", "127.0.0.1",
        "SPARK_SCALA_VERSION", "2.13");
    return run(cmd, env, JOB_LIMIT);
  }

  /** Submits in cluster deploy mode and waits until the Master lists the driver as completed. */
  static Driver submitToCluster(String... args) throws Exception {
    Proc p = submit("cluster", args);
    Matcher m = Pattern.compile("submitted as (driver-\\S+)").matcher(p.err);
    if (!m.find()) {
      fail("spark-submit did not submit a driver: " + p.describe());
    }
    String id = m.group(1);
    long deadline = System.nanoTime() + JOB_LIMIT.toNanos();
    while (System.nanoTime() < deadline) {
      for (JsonNode d : masterState().get("completeddrivers")) {
        if (d.get("id").asText().equals(id)) {
          return new Driver(p, id, d.get("state").asText(), driverDir(id));
        }
      }
      Thread.sleep(500);
    }
    return new Driver(p, id, "still running after " + JOB_LIMIT, driverDir(id));
  }

  /** The driver's folder in a worker's work folder (its stdout and stderr). */
  static File driverDir(String id) {
    for (File w : state.listFiles((dir, name) -> name.startsWith("work-"))) {
      File d = new File(w, id);
      if (d.isDirectory()) {
        return d;
      }
    }
    return null;
  }

  static Proc run(List<String> cmd, Map<String, String> env, Duration limit) {
    try {
      File out = File.createTempFile("proc", ".out", tmp);
      File err = File.createTempFile("proc", ".err", tmp);
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out).redirectError(err)
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      pb.environment().putAll(env);
      Process p = pb.start();
      if (!p.waitFor(limit.toSeconds(), TimeUnit.SECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly().waitFor();
        fail("no answer within " + limit + " from " + String.join(" ", cmd) + "\nstderr (end):\n"
            + tail(Files.readString(err.toPath()), 40));
      }
      return new Proc(cmd, p.exitValue(), Files.readString(out.toPath()), Files.readString(err.toPath()));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The Master's state, from its web UI's {@code /json/} page. */
  static JsonNode masterState() throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + uiPort + "/json/"))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    assertEquals(200, r.statusCode(), r.body());
    return new ObjectMapper().readTree(r.body());
  }

  static JsonNode lastJson(String out) throws IOException {
    String[] lines = out.strip().split("\n");
    return new ObjectMapper().readTree(lines[lines.length - 1]);
  }

  /** A port nobody listens on, the first of {@code count} in a row, none of them in {@code taken}; adds them. */
  static int freePort(int count, Set<Integer> taken) throws IOException {
    for (int attempt = 0; attempt < 50; attempt++) {
      int port;
      try (ServerSocket s = new ServerSocket(0)) {
        port = s.getLocalPort();
      }
      boolean free = port + count <= 65535;
      for (int i = 0; i < count; i++) {
        free &= !taken.contains(port + i);
      }
      for (int i = 1; i < count && free; i++) {
        try (ServerSocket s = new ServerSocket(port + i)) {
          free = true;
        } catch (IOException e) {
          free = false;
        }
      }
      if (free) {
        for (int i = 0; i < count; i++) {
          taken.add(port + i);
        }
        return port;
      }
    }
    throw new IOException("no " + count + " free ports in a row");
  }

  static String tail(String s, int lines) {
    String[] l = s.split("\n");
    return String.join("\n", Arrays.copyOfRange(l, Math.max(0, l.length - lines), l.length));
  }
}
