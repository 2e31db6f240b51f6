package io.quiver.spark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quiver.index.util.SyntheticData;
import io.quiver.spark.SparkTestSessions;
import java.io.File;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code --on-invalid fail|skip} end to end: a Parquet table with one row of each invalid kind
 * (a null vector, NaN, an infinite component, a short vector, a null component, a null id, and an
 * id on two rows), with long ids and with string ids, indexed, searched and joined.
 */
class InvalidRowsCommandsTest {
  static final int D = 8;
  static final int N = 400;
  /** Every kind once; the duplicated id counts both of its rows. */
  static final Map<String, Long> BUILD_COUNTS = new LinkedHashMap<>();
  /** A search checks query ids too: both rows of id 240 are left out. */
  static final Map<String, Long> QUERY_COUNTS = new LinkedHashMap<>();
  /** Ids of the rows that are invalid in an index build (240 is on two rows). */
  static final Set<Long> BAD = Set.of(40L, 80L, 120L, 160L, 200L, 240L);

  static {
    for (String k : new String[] {"null_id", "null_vector", "dimension", "null_component", "nan", "infinite"}) {
      BUILD_COUNTS.put(k, 1L);
      QUERY_COUNTS.put(k, 1L);
    }
    BUILD_COUNTS.put("duplicate_id", 2L);
    QUERY_COUNTS.put("duplicate_id", 2L);
  }

  static SparkSession spark;
  static File work;
  static String longTable;
  static String stringTable;

  @BeforeAll
  static void tables() {
    spark = SparkTestSessions.local(2);
    work = new File(SparkTestSessions.targetDir(), "invalid-rows-" + System.nanoTime());
    longTable = table("long-ids", false);
    stringTable = table("string-ids", true);
  }

  /** 400 valid rows (seeded), five of them broken, one id repeated, one null id: 402 rows. */
  static String table(String name, boolean stringIds) {
    float[] x = new SyntheticData(D, 4, 11).generate(N, 1);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < N; i++) {
      Float[] v = new Float[D];
      for (int j = 0; j < D; j++) {
        v[j] = x[i * D + j];
      }
      switch (i) {
        case 40 -> v = null;
        case 80 -> v[3] = Float.NaN;
        case 120 -> v[0] = Float.POSITIVE_INFINITY;
        case 160 -> v = Arrays.copyOf(v, D - 1);
        case 200 -> v[2] = null;
        default -> { }
      }
      rows.add(RowFactory.create(id(i, stringIds), v == null ? null : Arrays.asList(v)));
      if (i == 240) {
        Float[] w = v.clone();
        w[0] += 1f;
        rows.add(RowFactory.create(id(i, stringIds), Arrays.asList(w)));
      }
      if (i == 300) {
        rows.add(RowFactory.create(null, Arrays.asList(v)));
      }
    }
    DataType idType = stringIds ? DataTypes.StringType : DataTypes.LongType;
    StructType schema = new StructType().add("id", idType, true)
        .add("vector", DataTypes.createArrayType(DataTypes.FloatType, true), true);
    String path = new File(work, name + ".parquet").getPath();
    spark.createDataFrame(rows, schema).repartition(3).write().mode(SaveMode.Overwrite).parquet(path);
    return path;
  }

  static Object id(int i, boolean stringIds) {
    return stringIds ? "doc-" + i : (Object) (long) i;
  }

  static String named(long i, boolean stringIds) {
    return stringIds ? "'doc-" + i + "'" : Long.toString(i);
  }

  static Map<String, Long> counts(JsonNode n) {
    Map<String, Long> m = new LinkedHashMap<>();
    n.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asLong()));
    return m;
  }

  /** The index directory's siblings left by builds (staging or replaced directories). */
  static List<String> leftovers(String index) {
    File f = new File(index);
    String[] names = f.getParentFile().list((dir, n) -> n.startsWith(f.getName() + "."));
    return names == null ? List.of() : List.of(names);
  }

  static void failingBuildNamesEveryRowAndCommitsNothing(String table, boolean stringIds) {
    String out = new File(work, "fail-" + (stringIds ? "s" : "l")).getPath();
    Cli r = Cli.run("index", "--input", table, "--output", out, "--factory", "IVF4,Flat", "--seed", "3");
    assertEquals(1, r.status(), r.err());
    String err = String.join("\n", r.errLines());
    assertTrue(err.contains("the input has 8 invalid rows (null_id: 1, null_vector: 1, dimension: 1, "
        + "null_component: 1, nan: 1, infinite: 1, duplicate_id: 2)"), err);
    assertTrue(err.contains("id " + named(40, stringIds) + ": null vector (column 'vector')"), err);
    assertTrue(err.contains("id " + named(80, stringIds) + ": NaN at vector component 3"), err);
    assertTrue(err.contains("id " + named(120, stringIds) + ": Infinity at vector component 0"), err);
    assertTrue(err.contains("id " + named(160, stringIds) + ": vector of dimension 7, expected d = 8"), err);
    assertTrue(err.contains("id " + named(200, stringIds) + ": null at vector component 2"), err);
    assertTrue(err.contains("a row with a null id (input partition "), err);
    assertTrue(err.contains("1 id is on more than one row: " + named(240, stringIds)), err);
    assertTrue(err.contains("nothing was committed; --on-invalid skip leaves invalid rows out"), err);
    assertEquals(1, r.errLines().length, "one line: " + err);
    assertFalse(new File(out).exists(), "no output directory");
    assertEquals(List.of(), leftovers(out), "no staging directory left behind");
  }

  @Test
  void failNamesTheInvalidRowsWithLongIds() {
    failingBuildNamesEveryRowAndCommitsNothing(longTable, false);
  }

  @Test
  void failNamesTheInvalidRowsWithStringIds() {
    failingBuildNamesEveryRowAndCommitsNothing(stringTable, true);
  }

  static void skipIndexesExactlyTheValidRows(String table, boolean stringIds) throws Exception {
    String tag = stringIds ? "s" : "l";
    String index = new File(work, "skip-" + tag).getPath();
    JsonNode b = Cli.ok("index", "--input", table, "--output", index, "--factory", "IVF4,Flat", "--seed", "3",
        "--on-invalid", "skip");
    assertEquals(N - BAD.size(), b.get("ntotal").asLong(), b.toString());
    assertEquals(BUILD_COUNTS, counts(b.get("invalid")));
    JsonNode manifest = new ObjectMapper().readTree(new File(index, "manifest.json"));
    assertEquals(BUILD_COUNTS, counts(manifest.get("invalid")));
    assertEquals(N - BAD.size(), manifest.get("ntotal").asLong());

    // the same table as queries: invalid query rows get no row, nor do the two rows of id 240
    String out = new File(work, "skip-search-" + tag).getPath();
    JsonNode s = Cli.ok("search", "--index", index, "--queries", table, "--output", out, "--k", "3", "--nprobe", "4",
        "--on-invalid", "skip");
    assertEquals(QUERY_COUNTS, counts(s.get("invalid")));
    List<Row> rows = spark.read().parquet(out).collectAsList();
    assertEquals(N - BAD.size(), rows.size());
    Set<Object> valid = new HashSet<>();
    for (int i = 0; i < N; i++) {
      if (!BAD.contains((long) i)) {
        valid.add(id(i, stringIds));
      }
    }
    for (Row r : rows) {
      Object q = r.get(0);
      List<Object> neighbors = r.getList(1);
      assertEquals(3, neighbors.size(), "query " + q);
      assertTrue(valid.containsAll(neighbors), "query " + q + " finds only valid rows: " + neighbors);
      if (valid.contains(q)) {
        assertEquals(q, neighbors.get(0), "a valid row is its own nearest neighbour (exhaustive search)");
      }
    }

    // fail (the default) names the query rows and writes nothing
    String failed = new File(work, "fail-search-" + tag).getPath();
    Cli f = Cli.run("search", "--index", index, "--queries", table, "--output", failed, "--k", "3");
    assertEquals(1, f.status(), f.err());
    String err = String.join("\n", f.errLines());
    assertTrue(err.contains("the queries have 8 invalid rows (null_id: 1, null_vector: 1, dimension: 1, "
        + "null_component: 1, nan: 1, infinite: 1, duplicate_id: 2)"), err);
    assertTrue(err.contains("1 id is on more than one row: " + named(240, stringIds)), err);
    assertTrue(err.contains("id " + named(80, stringIds) + ": NaN at vector component 3"), err);
    assertTrue(err.contains("nothing was searched or written"), err);
    assertFalse(new File(failed).exists());

    // the join reads its queries the same way
    String joined = new File(work, "skip-join-" + tag).getPath();
    JsonNode j = Cli.ok("join", "--index", index, "--queries", table, "--k", "2", "--nprobe", "4", "--output", joined,
        "--on-invalid", "skip");
    // the join checks the query ids before the Spark ML path numbers its rows: the same counts
    assertEquals(QUERY_COUNTS, counts(j.get("invalid")));
    assertEquals(2L * (N - BAD.size()), j.get("pairs").asLong());
    List<Row> pairs = spark.read().parquet(joined).collectAsList();
    assertTrue(pairs.stream().noneMatch(p -> p.isNullAt(0) || id(240, stringIds).equals(p.get(0))),
        "no pair of a null or repeated query id");
    Cli jf = Cli.run("join", "--index", index, "--queries", table, "--k", "2", "--output", joined + "-fail");
    assertEquals(1, jf.status(), jf.err());
    assertTrue(jf.err().contains("the queries have 3 rows with a null or repeated id (null_id: 1, duplicate_id: 2); "
        + "1 id is on more than one row: " + named(240, stringIds)), jf.err());
  }

  @Test
  void skipIndexesExactlyTheValidRowsWithLongIds() throws Exception {
    skipIndexesExactlyTheValidRows(longTable, false);
  }

  @Test
  void skipIndexesExactlyTheValidRowsWithStringIds() throws Exception {
    skipIndexesExactlyTheValidRows(stringTable, true);
  }

  /**
   * Ids below 0 are refused by a build ({@code negative_id}): every search pads missing neighbours
   * with -1, so such a row could never be returned. As queries they are valid.
   */
  @Test
  void negativeIdsAreInvalidInABuildAndValidAsQueries() throws Exception {
    float[] x = new SyntheticData(D, 4, 17).generate(200, 1);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      rows.add(RowFactory.create((long) i - 3, Arrays.copyOfRange(x, i * D, (i + 1) * D)));
    }
    String table = new File(work, "negative-ids.parquet").getPath();
    spark.createDataFrame(rows, io.quiver.spark.plan.TestTables.SCHEMA).repartition(2).write()
        .mode(SaveMode.Overwrite).parquet(table);

    String failed = new File(work, "negative-fail").getPath();
    Cli f = Cli.run("index", "--input", table, "--output", failed, "--factory", "IVF4,Flat", "--seed", "3");
    assertEquals(1, f.status(), f.err());
    String err = String.join("\n", f.errLines());
    assertTrue(err.contains("the input has 3 invalid rows (negative_id: 3)"), err);
    assertTrue(err.contains("id -3: a negative id"), err);
    assertEquals(1, f.errLines().length, "one line: " + err);
    assertFalse(new File(failed).exists(), "no output directory");
    assertEquals(List.of(), leftovers(failed));

    String index = new File(work, "negative-skip").getPath();
    JsonNode b = Cli.ok("index", "--input", table, "--output", index, "--factory", "IVF4,Flat", "--seed", "3",
        "--on-invalid", "skip");
    assertEquals(197, b.get("ntotal").asLong());
    assertEquals(Map.of("negative_id", 3L), counts(b.get("invalid")));
    // every indexed row is found by every distributed strategy, and the negative query ids get rows
    for (String strategy : new String[] {"route", "broadcast", "local"}) {
      String out = new File(work, "negative-search-" + strategy).getPath();
      Cli.ok("search", "--index", index, "--queries", table, "--output", out, "--k", "1", "--nprobe", "4",
          "--strategy", strategy);
      List<Row> found = spark.read().parquet(out).collectAsList();
      assertEquals(200, found.size(), strategy);
      for (Row r : found) {
        long q = r.getLong(0);
        List<Object> n = r.getList(1);
        if (q >= 0) {
          assertEquals(List.of(q), n, strategy + ": query " + q + " finds its own row");
        } else {
          assertTrue((Long) n.get(0) >= 0, strategy + ": query " + q + " finds an indexed row: " + n);
        }
      }
    }
  }

  static Map<String, byte[]> files(File dir) throws Exception {
    Map<String, byte[]> m = new LinkedHashMap<>();
    try (var walk = Files.walk(dir.toPath())) {
      for (java.nio.file.Path p : walk.filter(Files::isRegularFile).sorted().toList()) {
        m.put(dir.toPath().relativize(p).toString(), Files.readAllBytes(p));
      }
    }
    return m;
  }

  static List<Row> search(String index, String queries, String out) {
    Cli.ok("search", "--index", index, "--queries", queries, "--output", out, "--k", "3", "--nprobe", "2",
        "--on-invalid", "skip");
    return spark.read().parquet(out).orderBy("id").collectAsList();
  }

  @Test
  void overwriteKeepsTheOldIndexReadableUntilTheNewOneCommits() throws Exception {
    String index = new File(work, "overwrite").getPath();
    Cli.ok("index", "--input", longTable, "--output", index, "--factory", "IVF4,Flat", "--seed", "3",
        "--on-invalid", "skip");
    List<Row> before = search(index, longTable, new File(work, "ow-before").getPath());
    Map<String, byte[]> bytes = files(new File(index));
    // the old index is open in this JVM (loaded manifest and quantizer, shards in the cache)
    io.quiver.spark.plan.SearchPlan.LoadedIndex open = io.quiver.spark.plan.SearchPlan.LoadedIndex.load(spark, index);

    // a build over it that fails (an invalid row with --on-invalid fail) leaves it as it was
    Cli failed = Cli.run("index", "--input", longTable, "--output", index, "--factory", "IVF2,Flat", "--overwrite");
    assertEquals(1, failed.status(), failed.err());
    Map<String, byte[]> after = files(new File(index));
    assertEquals(bytes.keySet(), after.keySet());
    for (String f : bytes.keySet()) {
      assertTrue(Arrays.equals(bytes.get(f), after.get(f)), f + " is unchanged");
    }
    assertEquals(List.of(), leftovers(index));
    assertEquals(before, search(index, longTable, new File(work, "ow-after-failure").getPath()));
    io.quiver.spark.plan.VectorInput q = new io.quiver.spark.job.IndexJobs.Input(longTable, "parquet", "id", "vector",
        io.quiver.spark.plan.InvalidRows.Policy.SKIP).open(spark, "queries");
    List<Row> viaOpen = io.quiver.spark.plan.SearchPlan.search(spark, open, q, new io.quiver.spark.plan.SearchPlan
        .Options(3, 2, 1f, io.quiver.spark.plan.SearchPlan.Strategy.ROUTE, 0, 0),
        r -> r.orderBy("id").collectAsList());
    assertEquals(before, viaOpen, "the index opened before the failed build still answers the same");

    // without --overwrite an existing index is refused
    Cli refused = Cli.run("index", "--input", longTable, "--output", index, "--factory", "IVF2,Flat",
        "--on-invalid", "skip");
    assertEquals(1, refused.status());
    assertTrue(refused.err().contains("already exists and holds an index; a build writes a new directory"),
        refused.err());

    // a build that succeeds replaces it and leaves no staging or replaced directory behind
    JsonNode ok = Cli.ok("index", "--input", longTable, "--output", index, "--factory", "IVF2,Flat", "--seed", "3",
        "--on-invalid", "skip", "--overwrite");
    assertEquals(new File(index).toURI().getPath().replaceAll("/$", ""),
        new java.net.URI(ok.get("index").asText()).getPath().replaceAll("/$", ""));
    assertEquals(List.of(), leftovers(index));
    JsonNode manifest = new ObjectMapper().readTree(new File(index, "manifest.json"));
    assertEquals("IVF2,Flat", manifest.get("factory").asText());
    assertTrue(new File(index, "_SUCCESS").isFile());
    assertEquals(before.size(), search(index, longTable, new File(work, "ow-new").getPath()).size());
  }

  @Test
  void aStagingDirectoryWithoutSuccessIsRefused() throws Exception {
    String index = new File(work, "staged").getPath();
    Cli.ok("index", "--input", longTable, "--output", index, "--factory", "IVF4,Flat", "--on-invalid", "skip");
    // what a build killed before its commit leaves: the files of an index, without _SUCCESS
    File staging = new File(index + ".building-1-killed");
    for (Map.Entry<String, byte[]> e : files(new File(index)).entrySet()) {
      if (!e.getKey().equals("_SUCCESS")) {
        File f = new File(staging, e.getKey());
        f.getParentFile().mkdirs();
        Files.write(f.toPath(), e.getValue());
      }
    }
    Cli r = Cli.run("search", "--index", staging.getPath(), "--queries", longTable, "--output",
        new File(work, "staged-out").getPath(), "--on-invalid", "skip");
    assertEquals(1, r.status());
    assertTrue(r.err().contains("no committed index at ") && r.err().contains(staging.getName() + ": _SUCCESS is "
        + "missing (the build that wrote it did not finish, or this is not an index directory)"), r.err());
  }
}
