package io.quiver.spark.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quiver.index.FlatIndex;
import io.quiver.index.IvfPqIndex;
import io.quiver.index.Metric;
import io.quiver.index.SearchParams;
import io.quiver.index.SearchResult;
import io.quiver.index.VectorIndex;
import io.quiver.index.io.FaissIO;
import io.quiver.spark.SparkTestSessions;
import io.quiver.spark.io.VectorColumns;
import io.quiver.spark.io.VectorRows;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code quiver export} and {@code quiver import} on real local files: a Spark-built IVF-PQ index
 * of three shards exported whole and per shard, read back with {@link FaissIO} and searched
 * in one process with the same results as {@code quiver search} on the index directory; the
 * export imported again as a directory of two shards, which searches alike.
 */
class FaissCommandsTest {

  static final int D = 16;
  static final int ROWS = 4000;
  static final int NQ = 30;
  static final int K = 10;
  static final int NPROBE = 4;
  static final long SEED = 11;

  static SparkSession spark;
  @TempDir
  static Path tmp;
  static String base;
  static String queries;
  static String index;

  @BeforeAll
  static void build() {
    spark = SparkTestSessions.local(2);
    base = tmp.resolve("base.parquet").toString();
    queries = tmp.resolve("queries.parquet").toString();
    Cli.ok("generate", "--rows", Integer.toString(ROWS), "--dim", Integer.toString(D), "--clusters", "8", "--seed",
        Long.toString(SEED), "--output", base);
    Cli.ok("generate", "--rows", Integer.toString(NQ), "--dim", Integer.toString(D), "--clusters", "8", "--seed",
        Long.toString(SEED + 1), "--output", queries);
    index = tmp.resolve("idx").toString();
    JsonNode b = Cli.ok("index", "--input", base, "--output", index, "--factory", "IVF16,PQ4", "--shards", "3");
    assertEquals(ROWS, b.get("ntotal").asLong());
  }

  static float[] queryVectors() {
    List<Row> list = spark.read().parquet(queries).orderBy(VectorRows.ID).collectAsList();
    VectorColumns cols = VectorColumns.of(spark.read().parquet(queries), "id", "vector");
    float[] out = new float[NQ * D];
    for (int i = 0; i < NQ; i++) {
      System.arraycopy(cols.vector(list.get(i), D), 0, out, i * D, D);
    }
    return out;
  }

  /** {@code quiver search} on an index directory: neighbours and distances of query i at row i. */
  static SearchResult sparkSearch(String idx, String name) {
    String out = tmp.resolve(name).toString();
    Cli.ok("search", "--index", idx, "--queries", queries, "--output", out, "--k", Integer.toString(K), "--nprobe",
        Integer.toString(NPROBE));
    List<Row> rows = spark.read().parquet(out).orderBy("id").collectAsList();
    assertEquals(NQ, rows.size());
    long[] ids = new long[NQ * K];
    float[] dist = new float[NQ * K];
    for (int q = 0; q < NQ; q++) {
      List<Object> n = rows.get(q).getList(1);
      List<Object> dd = rows.get(q).getList(2);
      for (int r = 0; r < K; r++) {
        ids[q * K + r] = ((Number) n.get(r)).longValue();
        dist[q * K + r] = ((Number) dd.get(r)).floatValue();
      }
    }
    return new SearchResult(NQ, K, ids, dist);
  }

  @Test
  void exportedIndexSearchesAsTheIndexDirectory() throws IOException {
    Path file = tmp.resolve("whole.faiss");
    JsonNode e = Cli.ok("export", "--index", index, "--format", "faiss", "--output", file.toString());
    assertEquals(ROWS, e.get("ntotal").asLong());
    assertEquals(3, e.get("shards").asInt());
    assertEquals(Files.size(file), e.get("bytes").asLong());
    VectorIndex read = FaissIO.read(file);
    assertInstanceOf(IvfPqIndex.class, read);
    assertEquals("IVF16,PQ4", read.factoryString());
    assertEquals(ROWS, read.ntotal());
    SearchResult local = read.search(queryVectors(), K, SearchParams.defaults().withNprobe(NPROBE));
    SearchResult onSpark = sparkSearch(index, "search-idx.parquet");
    assertArrayEquals(onSpark.ids(), local.ids(), "ids of quiver search and of the exported file");
    assertArrayEquals(onSpark.distances(), local.distances(), 1e-4f, "distances");

    // exporting again onto the file needs --overwrite
    Cli again = Cli.run("export", "--index", index, "--output", file.toString());
    assertEquals(1, again.status(), again.err());
    assertTrue(again.err().contains("already exists"), again.err());
  }

  @Test
  void eachShardExportsAlone() throws IOException {
    long total = 0;
    for (int s = 0; s < 3; s++) {
      Path file = tmp.resolve("shard-" + s + ".faiss");
      JsonNode e = Cli.ok("export", "--index", index, "--output", file.toString(), "--shard", Integer.toString(s));
      assertEquals(1, e.get("shards").asInt());
      VectorIndex read = FaissIO.read(file);
      assertEquals(e.get("ntotal").asLong(), read.ntotal());
      assertTrue(read.ntotal() > 0 && read.ntotal() < ROWS, "shard " + s + " holds " + read.ntotal());
      total += read.ntotal();
    }
    assertEquals(ROWS, total);
    Cli bad = Cli.run("export", "--index", index, "--output", tmp.resolve("none.faiss").toString(), "--shard", "3");
    assertEquals(1, bad.status(), bad.err());
    assertTrue(bad.err().contains("--shard 3 is not a shard"), bad.err());
  }

  @Test
  void importedFileSearchesAsTheOriginal() throws IOException {
    Path file = tmp.resolve("for-import.faiss");
    Cli.ok("export", "--index", index, "--output", file.toString());
    String imported = tmp.resolve("imported").toString();
    JsonNode i = Cli.ok("import", "--faiss", file.toString(), "--output", imported, "--shards", "2");
    assertEquals(ROWS, i.get("ntotal").asLong());
    assertEquals(2, i.get("shards").asInt());
    assertEquals("IVF16,PQ4", i.get("factory").asText());
    JsonNode info = Cli.ok("info", imported);
    assertEquals(ROWS, info.get("ntotal").asLong());
    assertEquals(2, info.get("shards").get("count").asInt());
    SearchResult a = sparkSearch(index, "search-a.parquet");
    SearchResult b = sparkSearch(imported, "search-b.parquet");
    assertArrayEquals(a.ids(), b.ids(), "ids of the original and of the imported index");
    assertArrayEquals(a.distances(), b.distances(), "distances");

    // the imported quantizer builds a new index from the same input, with the same lists
    String rebuilt = tmp.resolve("rebuilt").toString();
    JsonNode r = Cli.ok("build", "--input", base, "--quantizer", imported + "/quantizer.qvq", "--output", rebuilt);
    assertEquals(ROWS, r.get("ntotal").asLong());
    SearchResult c = sparkSearch(rebuilt, "search-c.parquet");
    assertArrayEquals(a.ids(), c.ids(), "ids of the index rebuilt with the imported quantizer");
  }

  @Test
  void aFlatFaissFileIsNotAnIndexDirectory() throws IOException {
    FlatIndex flat = new FlatIndex(D, Metric.L2);
    flat.add(new float[2 * D]);
    Path file = tmp.resolve("flat.faiss");
    FaissIO.write(flat, file);
    Cli r = Cli.run("import", "--faiss", file.toString(), "--output", tmp.resolve("flat-idx").toString());
    assertEquals(1, r.status(), r.err());
    assertTrue(r.err().contains("index directories hold IVF indexes"), r.err());
    assertFalse(Files.exists(tmp.resolve("flat-idx")));
    Path junk = tmp.resolve("junk.faiss");
    Files.writeString(junk, "not an index at all");
    r = Cli.run("import", "--faiss", junk.toString(), "--output", tmp.resolve("junk-idx").toString());
    assertEquals(1, r.status(), r.err());
    assertTrue(r.err().contains("not a FAISS index file"), r.err());
  }
}
