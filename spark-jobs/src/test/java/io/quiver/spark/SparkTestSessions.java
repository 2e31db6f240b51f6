package io.quiver.spark;

import java.io.File;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * Spark sessions for tests, one per JVM at a time: {@link #local(int)} and {@link #localCluster()}
 * return the running session when it has the asked-for master, and stop it first otherwise, so
 * test classes that ask for the same master share one session (a session starts in seconds).
 * Both run Quiver's defaults, Kryo with {@code registrationRequired=true} included, without UI,
 * with their temporary files and warehouse under {@code target/}.
 */
public final class SparkTestSessions {

  /** Executors, cores per executor and MiB per executor of {@link #localCluster()}. */
  public static final String LOCAL_CLUSTER = "local-cluster[2,1,1024]";

  private SparkTestSessions() {}

  /** A {@code local[cores]} session. */
  public static synchronized SparkSession local(int cores) {
    return session("local[" + cores + "]");
  }

  /**
   * A {@code local-cluster[2,1,1024]} session: a standalone master and workers inside this JVM,
   * and two executors in JVMs of their own, started from {@code SPARK_HOME} (the build points it
   * at {@code target/spark-home}, with an empty {@code jars/}) with the test class path and the
   * parent's JVM flags.
   */
  public static synchronized SparkSession localCluster() {
    return session(LOCAL_CLUSTER);
  }

  /**
   * A new session on a standalone master ({@code spark://host:port}) with {@code conf} on top of
   * Quiver's defaults; a running session is stopped first. Its executors are started like those of
   * {@link #localCluster()}: the test class path and the parent's JVM flags, 1g each. The caller
   * stops it (a later {@link #local(int)} or {@link #localCluster()} does too).
   */
  public static synchronized SparkSession standalone(String masterUrl, Map<String, String> conf) {
    SparkSession running = SparkSessions.running();
    if (running != null) {
      running.stop();
    }
    return start(masterUrl, conf);
  }

  private static SparkSession session(String master) {
    SparkSession running = SparkSessions.running();
    if (running != null) {
      if (running.sparkContext().master().equals(master)) {
        return running;
      }
      running.stop();
    }
    return start(master, Map.of());
  }

  private static SparkSession start(String master, Map<String, String> conf) {
    File target = targetDir();
    File tmp = new File(target, "spark-test-tmp");
    File warehouse = new File(target, "spark-warehouse");
    tmp.mkdirs();
    SparkSession.Builder b = SparkSession.builder()
        .master(master)
        .appName("quiver-tests")
        .config("spark.sql.warehouse.dir", warehouse.getAbsolutePath())
        .config("spark.local.dir", tmp.getAbsolutePath())
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.ui.retainedExecutions", "1");
    int cores = SparkSessions.localCores(master);
    for (Map.Entry<String, String> e : SparkSessions.quiverDefaults(cores).entrySet()) {
      b.config(e.getKey(), e.getValue());
    }
    if (master.startsWith("local-cluster") || master.startsWith("spark://")) {
      String flags = System.getProperty("quiver.jvm.flags", "");
      b.config("spark.executor.extraClassPath", System.getProperty("java.class.path"))
          .config("spark.executor.extraJavaOptions", flags + " -Djava.io.tmpdir=" + tmp.getAbsolutePath()
              + " -Dhadoop.tmp.dir=" + new File(target, "hadoop-tmp").getAbsolutePath())
          .config("spark.executor.memory", "1g");
    }
    conf.forEach(b::config);
    return b.getOrCreate();
  }

  /** The module's {@code target/} (surefire runs in the module directory). */
  public static File targetDir() {
    String dir = System.getProperty("quiver.project.dir");
    File target = new File(dir != null ? dir : ".", "target");
    target.mkdirs();
    return target.getAbsoluteFile();
  }

  /** The shared datasets folder (system property {@code quiver.datasets}), or null if absent. */
  public static File datasets() {
    String dir = System.getProperty("quiver.datasets");
    if (dir == null) {
      return null;
    }
    File f = new File(dir);
    return f.isDirectory() ? f : null;
  }
}
