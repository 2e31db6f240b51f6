package io.quiver.spark.shard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.spark.SparkTestSessions;
import io.quiver.spark.cli.Cli;
import java.io.File;
import java.io.IOException;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code --overwrite} swaps an index with two renames. A build killed between them left no index
 * at the output (the old one in {@code <out>.replaced-U}, the new committed one in
 * {@code <out>.building-U}) and nothing repaired it: readers and the next build now complete the
 * swap, or roll it back when the new index is not committed. And a build that loses a race for a
 * new output says truly what became of its index.
 */
class SwapRecoveryTest {
  private static File work;
  private static String base;
  private static Configuration conf;
  private static FileSystem fs;

  @BeforeAll
  static void tables() throws IOException {
    conf = SparkTestSessions.local(2).sparkContext().hadoopConfiguration();
    fs = FileSystem.getLocal(conf);
    work = new File(SparkTestSessions.targetDir(), "swap-recovery-" + System.nanoTime());
    base = new File(work, "base.parquet").getPath();
    Cli.ok("generate", "--rows", "500", "--dim", "8", "--clusters", "4", "--seed", "3", "--output", base);
  }

  private static String index(String out, String factory) {
    Cli.ok("index", "--input", base, "--output", out, "--factory", factory, "--seed", "3");
    return out;
  }

  private static String factoryOf(String index) throws IOException {
    return Manifest.read(new Path(index), conf).factory;
  }

  /** The state a build killed between the swap's two renames leaves: no output, old and new beside it. */
  private static void interruptedSwap(String out, String newIndex, String unique) throws IOException {
    assertTrue(fs.rename(new Path(out), new Path(out + StagedOutput.REPLACED + unique)));
    assertTrue(fs.rename(new Path(newIndex), new Path(out + StagedOutput.BUILDING + unique)));
    assertFalse(fs.exists(new Path(out)));
  }

  @Test
  void aReaderCompletesASwapThatStoppedBetweenItsRenames() throws Exception {
    String out = index(new File(work, "complete").getPath(), "IVF4,Flat");
    interruptedSwap(out, index(new File(work, "complete-new").getPath(), "IVF2,Flat"), "1-killed");
    ShardStore.clearCaches();
    Cli.ok("search", "--index", out, "--queries", base, "--output", new File(work, "complete-out").getPath(), "--k",
        "3");
    assertEquals("IVF2,Flat", factoryOf(out), "the new index is in place");
    assertEquals(List.of(), HadoopTrees.leftovers(fs, out), "the old index is deleted");
  }

  @Test
  void aReaderRollsBackASwapWhoseNewIndexIsNotCommitted() throws Exception {
    String out = index(new File(work, "rollback").getPath(), "IVF4,Flat");
    String staged = index(new File(work, "rollback-new").getPath(), "IVF2,Flat");
    assertTrue(fs.delete(IndexLayout.success(new Path(staged)), false));
    interruptedSwap(out, staged, "2-killed");
    Cli info = Cli.run("info", out);
    assertEquals(0, info.status(), info.err());
    assertEquals("IVF4,Flat", factoryOf(out), "the old index is back");
    // the uncommitted staging directory stays for the user to delete, as a killed build's does
    assertEquals(List.of(new Path(out).getName() + StagedOutput.BUILDING + "2-killed"),
        HadoopTrees.leftovers(fs, out));
  }

  @Test
  void theNextBuildCompletesTheSwapFirst() throws Exception {
    String out = index(new File(work, "writer").getPath(), "IVF4,Flat");
    interruptedSwap(out, index(new File(work, "writer-new").getPath(), "IVF2,Flat"), "3-killed");
    Cli refused = Cli.run("index", "--input", base, "--output", out, "--factory", "IVF8,Flat");
    assertEquals(1, refused.status(), refused.err());
    assertTrue(refused.err().contains("already exists and holds an index"), refused.err());
    assertEquals("IVF2,Flat", factoryOf(out), "the swap was completed before the output was checked");
    Cli.ok("index", "--input", base, "--output", out, "--factory", "IVF8,Flat", "--overwrite");
    assertEquals("IVF8,Flat", factoryOf(out));
    assertEquals(List.of(), HadoopTrees.leftovers(fs, out));
  }

  @Test
  void theLoserOfTwoBuildsIntoOneNewOutputSaysItsIndexIsDeleted() throws Exception {
    String built = index(new File(work, "race-built").getPath(), "IVF4,Flat");
    String out = new File(work, "race").getPath();
    StagedOutput first = StagedOutput.begin(conf, out, false);
    StagedOutput second = StagedOutput.begin(conf, out, false);
    for (StagedOutput s : List.of(first, second)) {
      fs.delete(s.dir(), true);
      assertTrue(FileUtil.copy(fs, new Path(built), fs, s.dir(), false, conf));
    }
    first.publish();
    IOException e = assertThrows(IOException.class, second::publish);
    second.abandon(); // what a failed build does
    assertTrue(e.getMessage().contains("appeared while this index was built") && e.getMessage().contains(
        second.dir() + ", is deleted"), e.getMessage());
    assertFalse(fs.exists(second.dir()), "what the message says: the loser's index is deleted");
    assertEquals("IVF4,Flat", factoryOf(out), "the winner's index is in place");
    assertEquals(List.of(), HadoopTrees.leftovers(fs, out));
  }
}
