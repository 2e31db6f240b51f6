package io.quiver.spark.cli;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.lit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quiver.spark.SparkTestSessions;
import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The command line as a user meets it (issue 17), on bigann10k with tables given by paths
 * relative to the working directory: what the index records of its input and how it checks it,
 * one-line errors with the right exit status, item and query columns, reader options, the JSON
 * results and the names of the Spark jobs.
 */
class UserFlowsTest {
  static SparkSession spark;
  static File data;
  /** The work folder, relative to the working directory (as a user types paths). */
  static String work;
  static String base;
  static String queries;
  static String meta;
  static String index;
  static String gt;

  @BeforeAll
  static void build() {
    spark = SparkTestSessions.local(2);
    data = SparkTestSessions.datasets();
    assumeTrue(data != null, "skipped: the shared datasets folder (system property quiver.datasets) is absent");
    File dir = new File(SparkTestSessions.targetDir(), "ux-" + System.nanoTime());
    work = Path.of("").toAbsolutePath().relativize(dir.toPath()).toString();
    assertFalse(new File(work).isAbsolute());
    base = work + "/base.parquet";
    queries = work + "/queries.parquet";
    meta = work + "/meta.parquet";
    gt = new File(data, "bigann10k/bigann10k_siftsmallq100_gt100.ivecs").getPath();
    Cli.ok("convert", "--input", new File(data, "bigann10k/bigann10k_base.fvecs").getPath(), "--output", base);
    Cli.ok("convert", "--input", new File(data, "bigann10k/siftsmall_query100.fvecs").getPath(), "--output", queries);
    // the documents' metadata without their vectors: what a user joins results with
    spark.read().parquet(base).select(col("id"), concat(lit("item-"), col("id").cast("string")).as("title"),
        col("id").mod(10).cast("int").as("category")).write().parquet(meta);
    index = work + "/idx";
    Cli.ok("index", "--input", base, "--output", index, "--factory", "IVF16,Flat", "--seed", "5");
  }

  static JsonNode manifest(String dir) throws Exception {
    return new ObjectMapper().readTree(new File(dir, "manifest.json"));
  }

  /** Fails unless the command failed with {@code status} and one line on stderr holding every {@code parts}. */
  static Cli fails(int status, String[] args, String... parts) {
    Cli r = Cli.run(args);
    assertEquals(status, r.status(), "quiver " + String.join(" ", args) + "\n" + r.err());
    String first = r.errLines().length == 0 ? "" : r.errLines()[0];
    for (String p : parts) {
      assertTrue(first.contains(p), "'" + p + "' in the first line of: " + r.err());
    }
    assertFalse(r.err().contains("\tat "), "no stack trace without --verbose: " + r.err());
    assertFalse(r.err().contains("__quiver"), "no internal column names: " + r.err());
    return r;
  }

  static String[] args(String... a) {
    return a;
  }

  @Test
  void theIndexRecordsItsInputQualifiedWithAFingerprint() throws Exception {
    JsonNode in = manifest(index).get("input");
    String expected = "file:" + new File(base).getAbsolutePath();
    assertEquals(expected, in.get("path").asText(), "the path, not as typed (" + base + ") but fully qualified");
    assertEquals(10000, in.get("rows").asLong());
    assertEquals("struct<id:bigint,vector:array<float>>", in.get("schema").asText());
    JsonNode info = Cli.ok("info", "--index", index);
    assertEquals(expected, info.get("input").asText());
    assertEquals(10000, info.get("input_rows").asLong());
    assertEquals(info, Cli.ok("info", index), "info takes the directory as an argument or as --index");
    fails(2, args("info", index, "--index", work + "/other"), "two index directories");
    fails(2, args("info"), "index directory");
  }

  @Test
  void aReplacedInputIsRefusedInOneLine() {
    String copy = work + "/copy.parquet";
    spark.read().parquet(base).write().parquet(copy);
    String idx = work + "/idx-copy";
    Cli.ok("index", "--input", copy, "--output", idx, "--factory", "IVF16,Flat");
    // another table at the same path: 3000 rows, then 10000 rows with another schema
    spark.read().parquet(base).where(col("id").lt(3000)).write().mode("overwrite").parquet(copy);
    String out = work + "/out-" + System.nanoTime();
    fails(1, args("join", "--index", idx, "--self", "--k", "3", "--output", out),
        "is not the table the index was built from", "3000 rows", "recorded 10000", "--items");
    fails(1, args("search", "--index", idx, "--queries", queries, "--item-cols", "category", "--output", out),
        "is not the table the index was built from", "--items");
    fails(1, args("evaluate", "--index", idx, "--queries", queries, "--k", "10"),
        "is not the table the index was built from", "--base");
    assertFalse(new File(out).exists(), "nothing written");
    spark.read().parquet(base).withColumn("extra", lit(1)).write().mode("overwrite").parquet(copy);
    fails(1, args("join", "--index", idx, "--self", "--k", "3", "--output", out), "its schema is",
        "struct<id:bigint,vector:array<float>,extra:int>", "the index recorded struct<id:bigint,vector:array<float>>");
    // the table it was built from is accepted again
    spark.read().parquet(base).write().mode("overwrite").parquet(copy);
    JsonNode e = Cli.ok("evaluate", "--index", idx, "--queries", queries, "--k", "10", "--nprobe", "16");
    assertEquals(1.0, e.get("recall_at_k").asDouble(), 1e-9, "IVF16 at nprobe 16 is exact: " + e);
  }

  @Test
  void evaluateRefusesAKDeeperThanTheGroundTruth() {
    Cli r = fails(2, args("evaluate", "--index", index, "--queries", queries, "--ground-truth", gt, "--k", "200"),
        "--k 200", "100 neighbours per query");
    assertTrue(r.err().contains("--help"), r.err());
    JsonNode ok = Cli.ok("evaluate", "--index", index, "--queries", queries, "--ground-truth", gt, "--k", "100",
        "--nprobe", "16");
    assertTrue(ok.get("recall_at_k").asDouble() <= 1.0, ok.toString());
  }

  @Test
  void errorsAreOneLineWithTheRightExitStatus() {
    String missing = work + "/no-such-queries.parquet";
    String out = work + "/out-" + System.nanoTime();
    fails(1, args("search", "--index", index, "--queries", missing, "--output", out), "the query table", missing,
        "does not exist");
    // the output is checked before anything is read: its message comes first
    fails(1, args("search", "--index", index, "--queries", missing, "--output", base), "already exists",
        "--overwrite");
    fails(1, args("join", "--index", index, "--queries", missing, "--output", meta), "already exists");
    fails(1, args("info", meta), "not a Quiver index", "a table written by Spark");
    // factory strings are checked before Spark reads anything (the input does not exist): a usage error
    fails(2, args("index", "--input", missing, "--output", out, "--factory", "L2norm,Flat"), "--factory",
        "IVF<nlist>,Flat", "--metric cosine");
    fails(2, args("index", "--input", missing, "--output", out, "--factory", "HNSW32"), "--factory", "HNSW32");
    fails(2, args("index", "--input", missing, "--output", out, "--factory", "IVF16,PQ9x12"), "--factory",
        "IVF16,PQ9x12");
    fails(2, args("train", "--input", missing, "--output", out, "--factory", "IVF16,Flat", "--metric", "manhattan"),
        "--metric");
    fails(2, args("search", "--index", index, "--queries", missing, "--output", out, "--k", "0"), "--k");
    fails(2, args("search", "--index", index, "--queries", queries, "--output", out, "--option", "header"),
        "--option");
    assertFalse(new File(out).exists());
  }

  @Test
  void itemColumnsWithoutTheColumnSayWhatToDo() {
    String out = work + "/out-" + System.nanoTime();
    fails(2, args("search", "--index", index, "--queries", queries, "--item-cols", "title", "--output", out),
        "has no column 'title'", "--items", "id, vector");
    fails(2, args("search", "--index", index, "--queries", queries, "--items", meta, "--item-cols", "titel", "--output",
        out), "has no column 'titel'", "id, title, category");
    fails(2, args("join", "--index", index, "--queries", queries, "--query-cols", "nope", "--output", out),
        "has no column 'nope'", "--query-cols");
  }

  @Test
  void aSelfJoinReadsMetadataWithoutVectorsAndCarriesQueryColumns() {
    String out = work + "/self-" + System.nanoTime();
    JsonNode j = Cli.ok("join", "--index", index, "--self", "--items", meta, "--item-cols", "title", "--query-cols",
        "title,category", "--k", "3", "--nprobe", "16", "--output", out);
    assertEquals(List.of("id", "neighbor", "distance", "title", "query_title", "query_category"),
        List.of(spark.read().parquet(out).columns()));
    List<Row> rows = spark.read().parquet(out).collectAsList();
    assertEquals(30000, rows.size());
    assertEquals(30000, j.get("pairs").asLong());
    for (Row r : rows) {
      assertTrue(r.getLong(0) != r.getLong(1), "never a row with itself: " + r);
      assertEquals("item-" + r.getLong(1), r.getString(3));
      assertEquals("item-" + r.getLong(0), r.getString(4));
      assertEquals((int) (r.getLong(0) % 10), r.getInt(5));
    }
    String qout = work + "/join-" + System.nanoTime();
    Cli.ok("join", "--index", index, "--queries", queries, "--k", "2", "--query-cols", "vector", "--items", meta,
        "--item-cols", "title", "--output", qout);
    assertEquals(List.of("id", "neighbor", "distance", "title", "query_vector"),
        List.of(spark.read().parquet(qout).columns()));
    fails(2, args("join", "--index", index, "--self", "--item-cols", "id", "--output", qout + "-x"),
        "two columns 'id'");
  }

  @Test
  void readerOptionsReadACsvTableWithAHeader() {
    String csv = work + "/meta.csv";
    spark.read().parquet(meta).coalesce(1).write().option("header", "true").csv(csv);
    String out = work + "/csv-" + System.nanoTime();
    JsonNode s = Cli.ok("search", "--index", index, "--queries", queries, "--k", "3", "--nprobe", "4", "--items", csv,
        "--items-format", "csv", "--option", "header=true", "--item-cols", "title", "--output", out);
    assertEquals(100, s.get("rows").asLong());
    for (Row r : spark.read().parquet(out).collectAsList()) {
      for (Row n : r.<Row>getList(1)) {
        assertEquals("item-" + n.getLong(0), n.getString(2));
      }
    }
    // without the header option the columns are _c0, _c1, ...: named in the message
    fails(2, args("search", "--index", index, "--queries", queries, "--items", csv, "--items-format", "csv",
        "--item-cols", "title", "--output", out + "-x"), "has no column", "_c0");
  }

  @Test
  void searchSaysHowManyRowsItWrote() {
    String out = work + "/rows-" + System.nanoTime();
    assertEquals(100, Cli.ok("search", "--index", index, "--queries", queries, "--k", "5", "--output", out)
        .get("rows").asLong());
    assertEquals(500, Cli.ok("search", "--index", index, "--queries", queries, "--k", "5", "--nprobe", "16",
        "--explode", "--output", out + "-e").get("rows").asLong());
  }

  /** The flows of docs/spark-jobs.md, "Documents with their vectors", on glove25. */
  @Test
  void documentsWithVectorsCarryTheirWords() throws Exception {
    File glove = new File(data, "glove25");
    assumeTrue(new File(glove, "words.txt").isFile(), "skipped: glove25 is absent");
    String vectors = work + "/glove-vectors.parquet";
    Cli.ok("convert", "--input", new File(glove, "glove25_base.fvecs").getPath(), "--output", vectors);
    // what the documented awk line writes: "id<TAB>word" for every base vector
    List<String> words = java.nio.file.Files.readAllLines(new File(glove, "words.txt").toPath());
    List<String> rowsOf = java.nio.file.Files.readAllLines(new File(glove, "base_rows.txt").toPath());
    StringBuilder tsv = new StringBuilder("id\tword\n");
    for (int i = 0; i < rowsOf.size(); i++) {
      tsv.append(i).append('\t').append(words.get(Integer.parseInt(rowsOf.get(i).strip()))).append('\n');
    }
    String wordsTsv = work + "/glove-words.tsv";
    java.nio.file.Files.writeString(Path.of(wordsTsv), tsv);
    String idx = work + "/glove-idx";
    Cli.ok("index", "--input", vectors, "--output", idx, "--factory", "IVF64,Flat", "--metric", "cosine");
    String pairs = work + "/glove-pairs";
    JsonNode j = Cli.ok("join", "--index", idx, "--self", "--k", "5", "--nprobe", "16", "--output", pairs,
        "--output-format", "json", "--items", wordsTsv, "--items-format", "csv", "--option", "header=true",
        "--option", "sep=\\t", "--item-cols", "word", "--query-cols", "word");
    assertEquals(5L * rowsOf.size(), j.get("pairs").asLong());
    List<String> monday = new ArrayList<>();
    for (Row r : spark.read().json(pairs).where("query_word = 'monday'").orderBy(col("distance").desc())
        .collectAsList()) {
      monday.add(r.getString(r.fieldIndex("word")));
    }
    assertEquals(5, monday.size(), monday.toString());
    long weekdays = monday.stream().filter(w -> List.of("tuesday", "wednesday", "thursday", "friday", "saturday",
        "sunday").contains(w)).count();
    assertTrue(weekdays >= 4, "monday's neighbours are weekdays: " + monday);

    // documents kept with their vectors: the index's input carries the words, no --items needed
    String docs = work + "/glove-docs.parquet";
    spark.read().parquet(vectors).join(spark.read().option("header", "true").option("sep", "\t").csv(wordsTsv)
        .selectExpr("cast(id as bigint) as id", "word"), "id").write().parquet(docs);
    String docsIdx = work + "/glove-docs-idx";
    Cli.ok("index", "--input", docs, "--output", docsIdx, "--factory", "IVF64,Flat", "--metric", "cosine");
    String q = work + "/glove-queries.parquet";
    spark.read().parquet(docs).where("word = 'monday'").write().parquet(q);
    String found = work + "/glove-found";
    Cli.ok("search", "--index", docsIdx, "--queries", q, "--k", "6", "--nprobe", "16", "--item-cols", "word",
        "--output", found);
    Row r = spark.read().parquet(found).first();
    List<String> near = new ArrayList<>();
    for (Row n : r.<Row>getList(1)) {
      near.add(n.getString(2));
    }
    assertEquals("monday", near.get(0), "a document is its own nearest: " + near);
    assertTrue(near.subList(1, 6).stream().filter(w -> w.endsWith("day")).count() >= 4, near.toString());
  }

  @Test
  void sparkJobsAreNamedAfterQuiversPhases() {
    List<String> descriptions = Collections.synchronizedList(new ArrayList<>());
    SparkListener listener = new SparkListener() {
      @Override
      public void onJobStart(SparkListenerJobStart start) {
        String d = start.properties() == null ? null : start.properties().getProperty("spark.job.description");
        String g = start.properties() == null ? null : start.properties().getProperty("spark.jobGroup.id");
        descriptions.add(g + " | " + d);
      }
    };
    spark.sparkContext().addSparkListener(listener);
    try {
      Cli.ok("index", "--input", base, "--output", work + "/idx-named", "--factory", "IVF16,Flat");
      Cli.ok("evaluate", "--index", index, "--queries", queries, "--k", "10", "--sample", "20");
    } finally {
      // the listener bus delivers asynchronously: wait until it has seen every job
      long until = System.currentTimeMillis() + 10_000;
      while (System.currentTimeMillis() < until && descriptions.stream().noneMatch(d -> d.contains("exact search"))) {
        Thread.onSpinWait();
      }
      spark.sparkContext().removeSparkListener(listener);
    }
    List<String> seen = new ArrayList<>(descriptions);
    assertTrue(seen.contains("quiver index | build: encode 10,000 vectors (d = 128) into 16 lists"), seen.toString());
    assertTrue(seen.stream().anyMatch(d -> d.equals("quiver index | build: write 10,000 vectors in 1 shards")),
        seen.toString());
    assertTrue(seen.stream().anyMatch(d -> d.startsWith("quiver index | train: ")), seen.toString());
    assertTrue(seen.contains("quiver evaluate | evaluate: exact search of 20 queries (k = 10) over the base"),
        seen.toString());
    assertTrue(seen.stream().noneMatch(d -> d.endsWith("| null")), "every job of a command has a description: " + seen);
  }
}
