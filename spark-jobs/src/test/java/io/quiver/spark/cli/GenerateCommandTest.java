package io.quiver.spark.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quiver.index.util.SyntheticData;
import io.quiver.spark.SparkTestSessions;
import io.quiver.spark.io.VectorColumns;
import io.quiver.spark.io.VectorRows;
import java.io.File;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerateCommandTest {

  static final int D = 8;
  static final int CLUSTERS = 5;
  static final long SEED = 7;

  static SparkSession spark;

  @TempDir
  static Path tmp;

  @BeforeAll
  static void start() {
    spark = SparkTestSessions.local(2);
  }

  /** Reads a generated table ordered by id; checks ids are firstRow, firstRow + 1, ... */
  static float[] readVectors(String path, String format, long firstRow, int rows) {
    List<Row> list = spark.read().format(format).load(path).orderBy(VectorRows.ID).collectAsList();
    assertEquals(rows, list.size(), "rows in " + path);
    VectorColumns cols = VectorColumns.of(spark.read().format(format).load(path), "id", "vector");
    float[] out = new float[rows * D];
    for (int i = 0; i < rows; i++) {
      Row r = list.get(i);
      assertEquals(firstRow + i, ((Number) cols.id(r)).longValue(), "id of row " + i);
      System.arraycopy(cols.vector(r, D), 0, out, i * D, D);
    }
    return out;
  }

  static String generate(String name, long firstRow, int rows, int partitions) {
    String out = tmp.resolve(name).toString();
    JsonNode json = Cli.ok("generate", "--rows", Integer.toString(rows), "--dim", Integer.toString(D), "--clusters",
        Integer.toString(CLUSTERS), "--seed", Long.toString(SEED), "--first-row", Long.toString(firstRow),
        "--partitions", Integer.toString(partitions), "--output", out);
    assertEquals(rows, json.get("rows").asLong());
    assertEquals(D, json.get("dim").asInt());
    assertEquals(partitions, json.get("partitions").asInt());
    assertTrue(json.get("output").asText().endsWith(name), json.toString());
    assertTrue(json.get("seconds").asDouble() >= 0, json.toString());
    return out;
  }

  @Test
  void sameSeedGivesTheSameRowsWhateverThePartitioning() {
    int rows = 20_000; // three blocks of 8192, the last one partial
    float[] one = readVectors(generate("one-partition", 0, rows, 1), "parquet", 0, rows);
    float[] seven = readVectors(generate("seven-partitions", 0, rows, 7), "parquet", 0, rows);
    assertArrayEquals(one, seven);
    // and they are index-core's vectors for the same seed (generate-vecs, bench --base generated:...)
    assertArrayEquals(new SyntheticData(D, CLUSTERS, SEED).generate(rows, SEED), one);
  }

  @Test
  void firstRowSliceIsTheSliceOfABiggerGeneration() {
    int all = 30_000;
    float[] big = readVectors(generate("big", 0, all, 3), "parquet", 0, all);
    long first = 10_000; // from inside block 1 to inside block 3
    int rows = 15_000;
    float[] slice = readVectors(generate("slice", first, rows, 4), "parquet", first, rows);
    float[] expected = new float[rows * D];
    System.arraycopy(big, (int) first * D, expected, 0, rows * D);
    assertArrayEquals(expected, slice);
  }

  @Test
  void morePartitionsThanBlocksStillSplitTheRows() {
    String out = generate("many-partitions", 100, 1_000, 6); // rows 100..1099, all inside block 0
    assertEquals(6, countFiles(out), "one file per partition");
    float[] all = new SyntheticData(D, CLUSTERS, SEED).generate(1_100, SEED);
    assertArrayEquals(Arrays.copyOfRange(all, 100 * D, 1_100 * D), readVectors(out, "parquet", 100, 1_000));
  }

  private static int countFiles(String dir) {
    File[] parts = new File(dir).listFiles((d, n) -> n.startsWith("part-"));
    return parts == null ? 0 : parts.length;
  }

  @Test
  void refusesAnExistingOutputUnlessOverwrite() {
    String out = generate("exists", 0, 100, 1);
    Cli again = Cli.run("generate", "--rows", "50", "--dim", "8", "--output", out);
    assertEquals(1, again.status(), again.err());
    assertEquals(1, again.errLines().length, again.err());
    assertTrue(again.err().contains("already exists") && again.err().contains("--overwrite")
        && again.err().contains(out), again.err());
    assertEquals(100, spark.read().parquet(out).count(), "the refused run left the output alone");

    Cli.ok("generate", "--rows", "50", "--dim", "8", "--seed", "99", "--output", out, "--overwrite");
    assertEquals(50, spark.read().parquet(out).count());
  }

  @Test
  void writesOtherFormats() {
    String orc = tmp.resolve("vectors.orc").toString();
    Cli.ok("generate", "--rows", "300", "--dim", "8", "--clusters", "5", "--seed", "7", "--output", orc,
        "--format", "orc");
    String json = tmp.resolve("vectors.json").toString();
    Cli.ok("generate", "--rows", "300", "--dim", "8", "--clusters", "5", "--seed", "7", "--output", json,
        "--format", "json", "--partitions", "2");
    float[] expected = new SyntheticData(D, CLUSTERS, SEED).generate(300, SEED);
    assertArrayEquals(expected, readVectors(orc, "orc", 0, 300));
    // JSON keeps floats as decimal text: compare as floats after reading the doubles Spark infers
    assertArrayEquals(expected, readVectors(json, "json", 0, 300));
  }

  @Test
  void badArgumentsAreUsageErrors() {
    String out = tmp.resolve("never").toString();
    Cli zeroRows = Cli.run("generate", "--rows", "0", "--dim", "8", "--output", out);
    assertEquals(2, zeroRows.status());
    assertTrue(zeroRows.err().contains("--rows"), zeroRows.err());
    Cli noDim = Cli.run("generate", "--rows", "10", "--output", out);
    assertEquals(2, noDim.status());
    assertTrue(noDim.err().contains("--dim"), noDim.err());
    assertFalse(new File(out).exists());
  }
}
