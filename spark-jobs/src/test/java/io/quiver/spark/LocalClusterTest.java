package io.quiver.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quiver.index.io.VecsIO;
import io.quiver.spark.cli.Cli;
import io.quiver.spark.io.SyntheticVectors;
import io.quiver.spark.io.VectorColumns;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The commands on {@code local-cluster[2,1,1024]}: executors in JVMs of their own (class path,
 * JVM flags and Kryo with registrationRequired as on a real cluster), so everything a job ships
 * really crosses a JVM boundary.
 */
class LocalClusterTest {

  static SparkSession spark;

  @TempDir
  static Path tmp;

  @BeforeAll
  static void start() throws InterruptedException {
    spark = SparkTestSessions.localCluster();
    // executors register asynchronously; wait for both (the driver counts as one more)
    long deadline = System.nanoTime() + 120_000_000_000L;
    while (spark.sparkContext().getExecutorMemoryStatus().size() < 3) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("local-cluster executors did not register in 120 s: "
            + spark.sparkContext().getExecutorMemoryStatus());
      }
      Thread.sleep(200);
    }
  }

  @Test
  void tasksRunInTwoOtherJvmsWithTheModuleFlags() {
    String driver = Long.toString(ProcessHandle.current().pid());
    List<String> seen = spark.range(0, 8, 1, 8).mapPartitions((MapPartitionsFunction<Long, String>) it ->
        Collections.singletonList(ProcessHandle.current().pid() + " " + ManagementFactory.getRuntimeMXBean()
            .getInputArguments().contains("--add-modules=jdk.incubator.vector")).iterator(), Encoders.STRING())
        .collectAsList();
    Set<String> distinct = new HashSet<>(seen);
    assertEquals(2, distinct.size(), "two executor JVMs: " + seen);
    for (String s : distinct) {
      assertFalse(s.startsWith(driver + " "), "a task ran in the driver JVM " + driver + ": " + seen);
      assertTrue(s.endsWith(" true"), "an executor without quiver.jvm.flags: " + seen);
    }
  }

  @Test
  void generateAndReadBack() {
    String out = tmp.resolve("cluster-generated").toString();
    JsonNode json = Cli.ok("generate", "--rows", "20000", "--dim", "16", "--clusters", "10", "--seed", "3",
        "--partitions", "4", "--output", out);
    assertEquals(20000, json.get("rows").asLong());
    var df = spark.read().parquet(out);
    assertEquals(20000, df.count());
    VectorColumns cols = VectorColumns.of(df, "id", "vector");
    List<Row> sample = df.where("id >= 8190 and id < 8200").orderBy("id").collectAsList();
    float[] expected = new SyntheticVectors(16, 10, 3).rows(8190, 8200);
    float[] got = new float[10 * 16];
    for (int i = 0; i < 10; i++) {
      assertEquals(8190L + i, cols.id(sample.get(i)));
      System.arraycopy(cols.vector(sample.get(i), 16), 0, got, i * 16, 16);
    }
    assertArrayEquals(expected, got);
  }

  @Test
  void convertReadsRangesInTheExecutors() throws IOException {
    int n = 500;
    int d = 4;
    float[] data = new SyntheticVectors(d, 0, 1).rows(0, n);
    Path file = tmp.resolve("cluster.fvecs");
    VecsIO.writeFvecs(file, data, d);
    String out = tmp.resolve("cluster-converted").toString();
    Cli.ok("convert", "--input", file.toString(), "--output", out, "--partitions", "3");
    var df = spark.read().parquet(out);
    VectorColumns cols = VectorColumns.of(df, "id", "vector");
    List<Row> rows = df.orderBy("id").collectAsList();
    assertEquals(n, rows.size());
    float[] got = new float[n * d];
    for (int i = 0; i < n; i++) {
      System.arraycopy(cols.vector(rows.get(i), d), 0, got, i * d, d);
    }
    assertArrayEquals(data, got);
  }
}
