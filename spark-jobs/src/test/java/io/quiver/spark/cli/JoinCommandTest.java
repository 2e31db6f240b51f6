package io.quiver.spark.cli;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.lit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quiver.spark.SparkTestSessions;
import java.io.File;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code quiver join} and {@code quiver search} with item columns and filters, end to end on bigann10k. */
class JoinCommandTest {
  static SparkSession spark;
  static File work;
  static String items;
  static String queries;
  static String index;

  @BeforeAll
  static void build() {
    spark = SparkTestSessions.local(2);
    File data = SparkTestSessions.datasets();
    assumeTrue(data != null, "skipped: the shared datasets folder (system property quiver.datasets) is absent");
    work = new File(SparkTestSessions.targetDir(), "cli-join-" + System.nanoTime());
    String base = new File(work, "base.parquet").getPath();
    String q = new File(work, "q.parquet").getPath();
    Cli.ok("convert", "--input", new File(data, "bigann10k/bigann10k_base.fvecs").getPath(), "--output", base);
    Cli.ok("convert", "--input", new File(data, "bigann10k/siftsmall_query100.fvecs").getPath(), "--output", q);
    items = new File(work, "items.parquet").getPath();
    queries = new File(work, "queries.parquet").getPath();
    spark.read().parquet(base).where(col("id").lt(3000))
        .withColumn("category", col("id").mod(10).cast("int"))
        .withColumn("title", concat(lit("item-"), col("id").cast("string"))).write().parquet(items);
    spark.read().parquet(q).withColumn("category", col("id").mod(10).cast("int")).write().parquet(queries);
    index = new File(work, "idx").getPath();
    Cli.ok("index", "--input", items, "--output", index, "--factory", "IVF16,Flat", "--seed", "5");
  }

  @Test
  void selfJoinPairsOnceWithItemColumns() {
    String out = new File(work, "self.parquet").getPath();
    JsonNode j = Cli.ok("join", "--index", index, "--self", "--k", "3", "--nprobe", "16", "--pairs-once",
        "--item-cols", "title", "--output", out);
    assertEquals(List.of("id", "neighbor", "distance", "title"), List.of(spark.read().parquet(out).columns()));
    List<Row> rows = spark.read().parquet(out).collectAsList();
    assertEquals(rows.size(), j.get("pairs").asLong());
    Set<String> pairs = new HashSet<>();
    for (Row r : rows) {
      assertTrue(r.getLong(0) < r.getLong(1), "pair " + r);
      assertTrue(pairs.add(r.getLong(0) + "-" + r.getLong(1)), "pair twice " + r);
      assertEquals("item-" + r.getLong(1), r.getString(3));
    }
    // every item has 3 neighbours: between 3000 * 3 / 2 and 3000 * 3 distinct unordered pairs
    assertTrue(rows.size() >= 4500 && rows.size() <= 9000, rows.size() + " pairs");
  }

  @Test
  void joinWithThresholdAndKAndAPerQueryMatch() {
    String out = new File(work, "join.parquet").getPath();
    Cli.ok("join", "--index", index, "--queries", queries, "--k", "4", "--threshold", "250000", "--nprobe", "16",
        "--match-col", "category", "--item-cols", "category", "--output", out);
    List<Row> rows = spark.read().parquet(out).collectAsList();
    assertTrue(rows.size() > 50, rows.size() + " pairs within the threshold");
    Map<Long, Integer> perQuery = new HashMap<>();
    for (Row r : rows) {
      assertTrue(r.getFloat(2) < 250000f, "beyond the threshold: " + r);
      assertEquals((int) (r.getLong(0) % 10), r.getInt(3), "another category: " + r);
      perQuery.merge(r.getLong(0), 1, Integer::sum);
    }
    perQuery.values().forEach(n -> assertTrue(n <= 4));

    Cli bad = Cli.run("join", "--index", index, "--queries", queries, "--self", "--output", out + "-x");
    assertEquals(2, bad.status());
    assertTrue(bad.err().contains("either --queries or --self"), bad.err());
  }

  @Test
  void benchJoinMeasuresBothSystemsAndMllibAsABatchSearch() {
    Cli self = Cli.run("bench-join", "--rows", "3000", "--dim", "16", "--clusters", "10", "--k", "5", "--factory",
        "IVF16,Flat", "--nprobe", "16", "--lsh", "1.0,2", "--budget-s", "120", "--sample", "50", "--work",
        new File(work, "bench-self").getPath());
    assertEquals(0, self.status(), self.err());
    String[] lines = self.out().strip().split("\n");
    JsonNode quiver = parse(lines[0]);
    assertEquals("quiver", quiver.get("system").asText());
    // IVF16 at nprobe 16 is exact
    assertEquals(1.0, quiver.get("recall_at_k").asDouble(), 1e-9);
    assertTrue(self.json().get("runs").size() == 2, self.out());

    Cli q = Cli.run("bench-join", "--base", items, "--queries", queries, "--k", "10", "--lsh", "1.0,4", "--budget-s",
        "120", "--work", new File(work, "bench-q").getPath());
    assertEquals(0, q.status(), q.err());
    JsonNode lsh = q.json();
    assertEquals("mllib-brp-lsh", lsh.get("system").asText());
    double r = lsh.get("recall_at_k").asDouble();
    assertTrue(r > 0 && r <= 1, lsh.toString());
    assertTrue(lsh.get("qps").asDouble() > 0, lsh.toString());
  }

  static JsonNode parse(String line) {
    try {
      return new com.fasterxml.jackson.databind.ObjectMapper().readTree(line);
    } catch (Exception e) {
      throw new AssertionError("not JSON: " + line, e);
    }
  }

  @Test
  void searchWithAFilterAndItemColumns() {
    String out = new File(work, "filtered.parquet").getPath();
    Cli.ok("search", "--index", index, "--queries", queries, "--k", "10", "--nprobe", "2", "--filter",
        "category = 3", "--item-cols", "title,category", "--output", out);
    List<Row> rows = spark.read().parquet(out).collectAsList();
    assertEquals(100, rows.size());
    for (Row r : rows) {
      List<Row> n = r.getList(1);
      assertEquals(10, n.size(), "query " + r.getLong(0));
      for (Row x : n) {
        assertEquals(3, x.getInt(3));
        assertEquals("item-" + x.getLong(0), x.getString(2));
      }
    }
    String plain = new File(work, "filtered-plain.parquet").getPath();
    Cli.ok("search", "--index", index, "--queries", queries, "--k", "10", "--nprobe", "2", "--filter",
        "category = 3", "--output", plain);
    assertEquals(List.of("id", "neighbors", "distances"), List.of(spark.read().parquet(plain).columns()));
    Cli bad = Cli.run("search", "--index", index, "--queries", queries, "--filter", "no_such_column = 1", "--output",
        plain + "-x");
    assertEquals(1, bad.status());
    assertTrue(bad.err().contains("no_such_column"), bad.err());
  }
}
