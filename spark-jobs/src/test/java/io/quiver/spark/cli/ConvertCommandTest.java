package io.quiver.spark.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quiver.index.io.VecsIO;
import io.quiver.spark.SparkTestSessions;
import io.quiver.spark.io.VectorColumns;
import io.quiver.spark.io.VectorRows;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConvertCommandTest {

  static SparkSession spark;

  @TempDir
  static Path tmp;

  @BeforeAll
  static void start() {
    spark = SparkTestSessions.local(2);
  }

  /** The converted table, ordered by id, checked to have ids 0..n-1, as n * d floats. */
  static float[] read(String path, int n, int d) {
    var df = spark.read().parquet(path);
    assertEquals(DataTypes.LongType, df.schema().apply(VectorRows.ID).dataType());
    assertEquals(DataTypes.FloatType, ((ArrayType) df.schema().apply(VectorRows.VECTOR).dataType()).elementType());
    List<Row> rows = df.orderBy(VectorRows.ID).collectAsList();
    assertEquals(n, rows.size(), "rows of " + path);
    VectorColumns cols = VectorColumns.of(df, VectorRows.ID, VectorRows.VECTOR);
    float[] out = new float[n * d];
    for (int i = 0; i < n; i++) {
      assertEquals((long) i, cols.id(rows.get(i)));
      System.arraycopy(cols.vector(rows.get(i), d), 0, out, i * d, d);
    }
    return out;
  }

  static JsonNode convert(Path input, String name, String... more) {
    List<String> args = new ArrayList<>(List.of("convert", "--input", input.toString(), "--output",
        tmp.resolve(name).toString(), "--overwrite"));
    args.addAll(List.of(more));
    return Cli.ok(args.toArray(String[]::new));
  }

  static float[] randomFloats(int n, long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (rng.nextDouble() * 200 - 100);
    }
    return v;
  }

  @Test
  void convertsTheSharedDatasetsLikeVecsIO() throws IOException {
    File datasets = SparkTestSessions.datasets();
    assumeTrue(datasets != null, "skipped: no datasets folder (system property quiver.datasets="
        + System.getProperty("quiver.datasets") + ")");
    int checked = 0;
    for (String name : new String[] {"bigann10k/bigann10k_base.fvecs", "bigann10k/siftsmall_query100.fvecs"}) {
      Path file = datasets.toPath().resolve(name);
      if (!Files.isRegularFile(file)) {
        System.err.println("ConvertCommandTest: " + file + " is absent; not compared");
        continue;
      }
      VecsIO.FloatVectors expected = VecsIO.readFvecs(file);
      JsonNode json = convert(file, file.getFileName() + ".parquet", "--partitions", "3");
      assertEquals(expected.n(), json.get("rows").asLong());
      assertEquals(expected.d(), json.get("dim").asInt());
      assertEquals("fvecs", json.get("type").asText());
      assertArrayEquals(expected.data(), read(tmp.resolve(file.getFileName() + ".parquet").toString(),
          expected.n(), expected.d()), name);
      checked++;
    }
    assumeTrue(checked > 0, "skipped: neither bigann10k file is in " + datasets);
  }

  @Test
  void convertsFvecsInParallelRanges() throws IOException {
    int n = 1_001;
    int d = 5;
    float[] data = randomFloats(n * d, 11);
    Path file = tmp.resolve("small.fvecs");
    VecsIO.writeFvecs(file, data, d);
    JsonNode json = convert(file, "small.parquet", "--partitions", "4");
    assertEquals(4, json.get("partitions").asInt());
    assertArrayEquals(data, read(tmp.resolve("small.parquet").toString(), n, d));

    JsonNode limited = convert(file, "small-limited.parquet", "--limit", "10", "--partitions", "3");
    assertEquals(10, limited.get("rows").asLong());
    assertArrayEquals(Arrays.copyOf(data, 10 * d), read(tmp.resolve("small-limited.parquet").toString(),
        10, d));
  }

  @Test
  void convertsBvecsToFloats() throws IOException {
    int n = 300;
    int d = 7;
    int[] bytes = new int[n * d];
    SplittableRandom rng = new SplittableRandom(5);
    float[] expected = new float[n * d];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = rng.nextInt(256);
      expected[i] = bytes[i];
    }
    Path file = tmp.resolve("small.bvecs");
    VecsIO.writeBvecs(file, bytes, d);
    JsonNode json = convert(file, "bytes.parquet", "--partitions", "2");
    assertEquals("bvecs", json.get("type").asText());
    assertArrayEquals(expected, read(tmp.resolve("bytes.parquet").toString(), n, d));
  }

  @Test
  void aTruncatedFileFailsNamingTheFileAndRecord() throws IOException {
    int d = 5;
    Path file = tmp.resolve("truncated.fvecs");
    VecsIO.writeFvecs(file, randomFloats(10 * d, 3), d);
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.setLength(raf.length() - 3);
    }
    Cli r = Cli.run("convert", "--input", file.toString(), "--output", tmp.resolve("truncated.parquet").toString(),
        "--partitions", "3");
    assertEquals(1, r.status(), r.err());
    assertEquals(1, r.errLines().length, "one line: " + r.err());
    assertTrue(r.err().contains("truncated.fvecs") && r.err().contains("record 9 is truncated")
        && r.err().contains("d=5"), r.err());

    // the records before the truncated one can still be converted
    Cli.ok("convert", "--input", file.toString(), "--output", tmp.resolve("truncated-9.parquet").toString(),
        "--limit", "9");
  }

  @Test
  void aRecordOfAnotherDimensionFailsNamingTheFileAndRecord() throws IOException {
    int d = 5;
    Path file = tmp.resolve("mixed.fvecs");
    VecsIO.writeFvecs(file, randomFloats(10 * d, 4), d);
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.seek(6L * (4 + 4 * d));
      raf.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(4).array());
    }
    Cli r = Cli.run("convert", "--input", file.toString(), "--output", tmp.resolve("mixed.parquet").toString(),
        "--partitions", "2");
    assertEquals(1, r.status(), r.err());
    assertEquals(1, r.errLines().length, "one line: " + r.err());
    assertTrue(r.err().contains("mixed.fvecs: record 6 has dimension 4, expected 5"), r.err());
    assertFalse(new File(tmp.resolve("mixed.parquet").toString(), "_SUCCESS").exists());

    // Spark leaves the failed output's directory behind: a rerun says so
    Cli again = Cli.run("convert", "--input", file.toString(), "--output", tmp.resolve("mixed.parquet").toString());
    assertEquals(1, again.status(), again.err());
    assertTrue(again.err().contains("already exists (without _SUCCESS: probably left by a failed run); pass"
        + " --overwrite"), again.err());
  }

  @Test
  void otherInputMistakesFailClearly() throws IOException {
    Path missing = tmp.resolve("missing.fvecs");
    Cli r = Cli.run("convert", "--input", missing.toString(), "--output", tmp.resolve("m.parquet").toString());
    assertEquals(1, r.status(), r.err());
    assertTrue(r.err().contains("missing.fvecs"), r.err());

    Path text = tmp.resolve("vectors.txt");
    Files.writeString(text, "1 2 3\n");
    r = Cli.run("convert", "--input", text.toString(), "--output", tmp.resolve("t.parquet").toString());
    assertEquals(1, r.status(), r.err());
    assertTrue(r.err().contains("vectors.txt") && r.err().contains(".fvecs"), r.err());

    Path empty = tmp.resolve("empty.fvecs");
    Files.write(empty, new byte[0]);
    r = Cli.run("convert", "--input", empty.toString(), "--output", tmp.resolve("e.parquet").toString());
    assertEquals(1, r.status(), r.err());
    assertTrue(r.err().contains("empty.fvecs is empty"), r.err());

    Path huge = tmp.resolve("not-vectors.fvecs");
    Files.write(huge, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(-7).array());
    r = Cli.run("convert", "--input", huge.toString(), "--output", tmp.resolve("h.parquet").toString());
    assertEquals(1, r.status(), r.err());
    assertTrue(r.err().contains("record 0 has dimension -7"), r.err());
  }
}
