package io.quiver.spark.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.util.SyntheticData;
import io.quiver.spark.SparkTestSessions;
import io.quiver.spark.plan.TestTables;
import io.quiver.spark.shard.IndexLayout;
import io.quiver.spark.shard.StagedOutput;
import java.io.File;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/**
 * A build with {@code --overwrite} killed (SIGKILL to its JVM) after training, before its commit:
 * the committed index it was to replace stays byte for byte as it was and answers the same, and
 * the killed build's staging directory, which has no {@code _SUCCESS}, is refused by readers.
 */
class KilledBuildTest {

  static final int D = 32;

  @Test
  void aBuildKilledBeforeItsCommitLeavesThePreviousIndexUntouched() throws Exception {
    SparkSession spark = SparkTestSessions.local(2);
    File work = new File(TestTables.outputDir("killed-build"));
    work.mkdirs();
    String input = TestTables.parquet(spark, "killed-build", new SyntheticData(D, 20, 11).generate(60_000, 1), D, 0, 8);
    String index = new File(work, "index").getPath();
    Cli.ok("index", "--input", input, "--output", index, "--factory", "IVF64,PQ8", "--seed", "3");
    Map<String, byte[]> before = InvalidRowsCommandsTest.files(new File(index));
    List<Row> answers = search(spark, index, input, new File(work, "before").getPath());

    // the same build with --overwrite, in a JVM of its own, killed once it has trained its quantizer
    List<String> cmd = new ArrayList<>();
    cmd.add(new File(System.getProperty("java.home"), "bin/java").getPath());
    for (String flag : System.getProperty("quiver.jvm.flags", "").trim().split("\\s+")) {
      if (!flag.isEmpty()) {
        cmd.add(flag);
      }
    }
    cmd.addAll(List.of("-Xmx1g", "-cp", System.getProperty("java.class.path"), QuiverCli.class.getName(), "index",
        "--input", input, "--output", index, "--factory", "IVF64,PQ8", "--seed", "3", "--overwrite",
        "--master", "local[2]"));
    File log = new File(work, "killed-build.log");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log).start();
    File staging = null;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (staging == null && p.isAlive() && System.nanoTime() < deadline) {
      File[] found = work.listFiles((dir, name) -> name.startsWith("index" + StagedOutput.BUILDING)
          && new File(dir, name + "/" + IndexLayout.QUANTIZER).isFile());
      if (found != null && found.length > 0) {
        staging = found[0];
      } else {
        Thread.sleep(20);
      }
    }
    p.destroyForcibly();
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    assertNotNull(staging, "the build did not reach its training's end: " + Files.readString(log.toPath()));
    assertFalse(new File(staging, IndexLayout.SUCCESS).exists(), "killed before its commit");

    Map<String, byte[]> after = InvalidRowsCommandsTest.files(new File(index));
    assertEquals(before.keySet(), after.keySet());
    for (String f : before.keySet()) {
      assertArrayEquals(before.get(f), after.get(f), f + " is unchanged");
    }
    assertEquals(answers, search(spark, index, input, new File(work, "after").getPath()));

    Cli refused = Cli.run("search", "--index", staging.getPath(), "--queries", input, "--output",
        new File(work, "from-staging").getPath(), "--k", "5");
    assertEquals(1, refused.status(), refused.err());
    assertTrue(refused.err().contains(staging.getName()) && refused.err().contains(IndexLayout.SUCCESS), refused.err());
  }

  private static List<Row> search(SparkSession spark, String index, String queries, String out) {
    Cli.ok("search", "--index", index, "--queries", queries, "--output", out, "--k", "5", "--nprobe", "4");
    return spark.read().parquet(out).orderBy("id").limit(2000).collectAsList();
  }
}
