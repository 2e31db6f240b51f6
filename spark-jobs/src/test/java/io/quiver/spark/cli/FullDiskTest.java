package io.quiver.spark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.spark.SparkTestSessions;
import io.quiver.spark.plan.FullFileSystem;
import java.io.File;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A build on a full disk (Hadoop's local file system throws {@code FSError}, "No space left on
 * device") removes its staging directory and reports the error in one line: a build that left
 * it kept the disk full, and the next build died with an uncaught {@code FSError} stack trace.
 */
class FullDiskTest {
  private static File work;
  private static String base;
  private static Configuration conf;

  @BeforeAll
  static void tables() {
    conf = SparkTestSessions.local(2).sparkContext().hadoopConfiguration();
    conf.set("fs." + FullFileSystem.SCHEME + ".impl", FullFileSystem.class.getName());
    conf.setBoolean("fs." + FullFileSystem.SCHEME + ".impl.disable.cache", true);
    work = new File(SparkTestSessions.targetDir(), "full-disk-" + System.nanoTime());
    base = new File(work, "base.parquet").getPath();
    Cli.ok("generate", "--rows", "500", "--dim", "8", "--clusters", "4", "--seed", "3", "--output", base);
  }

  @AfterEach
  void diskNotFull() {
    conf.unset("quiver.test.full.paths");
  }

  private static void fullDiskBuild(String name, String fullPaths) {
    conf.set("quiver.test.full.paths", fullPaths);
    String out = new File(work, name).getPath();
    for (int attempt = 0; attempt < 2; attempt++) {
      Cli r = Cli.run("index", "--input", base, "--output", FullFileSystem.path(out), "--factory", "IVF4,Flat",
          "--shards", "2");
      assertEquals(1, r.status(), name + ": " + r.err());
      String[] lines = r.errLines();
      assertEquals(1, lines.length, name + ": one line, no stack trace:\n" + r.err());
      assertTrue(lines[0].contains("No space left on device"), lines[0]);
      assertFalse(new File(out).exists(), name + ": no output");
      assertEquals(List.of(), InvalidRowsCommandsTest.leftovers(out), name + ": no staging directory left");
    }
  }

  @Test
  void aFullDiskOnTheDriverLeavesNoStagingAndOneLine() {
    fullDiskBuild("driver", "quantizer\\.qvq");
  }

  @Test
  void aFullDiskInAShardTaskLeavesNoStagingAndOneLine() {
    fullDiskBuild("task", "shard-00001\\.qvs");
  }
}
