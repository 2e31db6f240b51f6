package io.quiver.spark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.spark.SparkTestSessions;
import java.io.File;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code search} and {@code join} refuse an output that is, lies inside or contains the index they
 * read: with {@code --overwrite} the write deletes the output first, so the index was deleted before
 * its shards were read.
 */
class OutputOverlapTest {
  private static File work;
  private static String base;
  private static File index;

  @BeforeAll
  static void build() {
    SparkTestSessions.local(2);
    work = new File(SparkTestSessions.targetDir(), "output-overlap-" + System.nanoTime());
    base = new File(work, "base.parquet").getPath();
    Cli.ok("generate", "--rows", "500", "--dim", "8", "--clusters", "4", "--seed", "3", "--output", base);
    index = new File(work, "lib/idx");
    Cli.ok("index", "--input", base, "--output", index.getPath(), "--factory", "IVF4,Flat", "--seed", "3");
  }

  private static void refused(String command, String output, String where) throws Exception {
    Map<String, byte[]> before = InvalidRowsCommandsTest.files(index);
    Cli r = Cli.run(command, "--index", index.getPath(), "--queries", base, "--output", output, "--k", "2",
        "--overwrite");
    assertEquals(1, r.status(), command + " --output " + output + ": " + r.err());
    assertTrue(r.err().contains(where) && r.err().contains("choose an output path outside the index"), r.err());
    Map<String, byte[]> after = InvalidRowsCommandsTest.files(index);
    assertEquals(before.keySet(), after.keySet(), "the index keeps every file");
    for (String f : before.keySet()) {
      assertTrue(Arrays.equals(before.get(f), after.get(f)), f + " is unchanged");
    }
  }

  @Test
  void searchAndJoinRefuseAnOutputThatIsInsideOrAroundTheIndex() throws Exception {
    for (String command : new String[] {"search", "join"}) {
      refused(command, index.getPath(), "is the index being read");
      refused(command, index.getPath() + "/", "is the index being read");
      refused(command, new File(index, "out").getPath(), "lies inside the index being read");
      refused(command, index.getParent(), "contains the index being read");
    }
    // the Spark ML model's save (overwrite() deletes the path first)
    io.quiver.spark.ml.IvfKnnModel model = io.quiver.spark.ml.IvfKnnModel.load(index.getPath());
    Map<String, byte[]> before = InvalidRowsCommandsTest.files(index);
    for (String path : new String[] {index.getPath(), new File(index, "saved").getPath(), index.getParent()}) {
      IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
          () -> model.write().overwrite().save(path));
      assertTrue(e.getMessage().contains("choose an output path outside the index"), e.getMessage());
    }
    assertEquals(before.keySet(), InvalidRowsCommandsTest.files(index).keySet(), "the index keeps every file");
    // a sibling whose name starts like the index is apart from it
    Cli.ok("search", "--index", index.getPath(), "--queries", base, "--output", index.getPath() + "-out", "--k", "2");
  }
}
