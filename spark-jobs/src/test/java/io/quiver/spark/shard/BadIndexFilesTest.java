package io.quiver.spark.shard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quiver.spark.SparkTestSessions;
import io.quiver.spark.cli.Cli;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A search of an index directory with one bad file fails fast, naming the file and what is wrong:
 * flipped bytes, truncation, a wrong magic, a format version from the future, a manifest that
 * names a missing shard, a file outside the directory or counts the shard does not hold. Each
 * case copies a good two-shard IVF8,PQ4 index and breaks one thing.
 */
class BadIndexFilesTest {
  private static File work;
  private static Path good;
  private static String queries;

  @BeforeAll
  static void build() {
    SparkTestSessions.local(2);
    work = new File(SparkTestSessions.targetDir(), "bad-files-" + System.nanoTime());
    String base = new File(work, "base.parquet").getPath();
    queries = new File(work, "q.parquet").getPath();
    Cli.ok("generate", "--rows", "3000", "--dim", "16", "--clusters", "5", "--seed", "11", "--output", base);
    Cli.ok("generate", "--rows", "20", "--dim", "16", "--clusters", "5", "--seed", "12", "--output", queries);
    good = new File(work, "good").toPath();
    Cli.ok("index", "--input", base, "--output", good.toString(), "--factory", "IVF8,PQ4", "--shards", "2", "--seed", "5");
    Cli.ok("search", "--index", good.toString(), "--queries", queries, "--output", new File(work, "ok").getPath(),
        "--k", "5", "--nprobe", "8");
  }

  /** A copy of the good index with {@code damage} applied, searched; returns the one-line error. */
  private static String searchBroken(String name, Consumer<Path> damage) {
    return searchBroken(good, name, damage, queries);
  }

  /** A copy of {@code from} with {@code damage} applied, searched for {@code queries}; returns stderr. */
  private static String searchBroken(Path from, String name, Consumer<Path> damage, String queries) {
    Path dir = new File(work, name).toPath();
    copy(from, dir);
    damage.accept(dir);
    ShardStore.clearCaches();
    Cli r = Cli.run("search", "--index", dir.toString(), "--queries", queries, "--output",
        new File(work, name + "-out").getPath(), "--k", "5", "--nprobe", "8");
    assertEquals(1, r.status(), name + ": the search must fail; stderr:\n" + r.err());
    assertTrue(!r.err().contains("OutOfMemoryError"), r.err());
    String[] lines = r.errLines();
    System.out.println(name + ": " + lines[lines.length - 1]);
    return r.err();
  }

  private static void assertNames(String err, String... parts) {
    for (String p : parts) {
      assertTrue(err.contains(p), "the error must name '" + p + "':\n" + err);
    }
  }

  @Test
  void aFlippedByteInAShardFailsItsChecksum() {
    String err = searchBroken("flip-shard", d -> flip(d.resolve("shards/shard-00000.qvs"), 200));
    assertNames(err, "shard-00000.qvs");
    assertTrue(err.toLowerCase().contains("crc") || err.toLowerCase().contains("checksum"), err);
  }

  @Test
  void aFlippedByteInTheQuantizerFailsItsChecksum() {
    String err = searchBroken("flip-quantizer", d -> flip(d.resolve("quantizer.qvq"), 100));
    assertNames(err, "quantizer.qvq", "CRC32C");
  }

  @Test
  void aTruncatedShardIsReportedWithBothLengths() {
    String err = searchBroken("truncated", d -> truncate(d.resolve("shards/shard-00001.qvs"), 50));
    assertNames(err, "shard-00001.qvs", "has 50 bytes", "manifest.json says");
  }

  @Test
  void aWrongMagicAndAFutureVersionAreNamed() {
    String magic = searchBroken("magic", d -> write(d.resolve("shards/shard-00000.qvs"), 0, new byte[] {'X', 'Y', 'Z', 'W'}));
    assertNames(magic, "shard-00000.qvs");
    assertTrue(magic.toLowerCase().contains("magic") || magic.toLowerCase().contains("not a quiver"), magic);
    String future = searchBroken("future", d -> write(d.resolve("shards/shard-00000.qvs"), 4, new byte[] {99, 0, 0, 0}));
    assertNames(future, "shard-00000.qvs");
    assertTrue(future.contains("99") && future.toLowerCase().contains("version"), future);
  }

  @Test
  void aMissingShardIsNamed() {
    String err = searchBroken("missing", d -> delete(d.resolve("shards/shard-00001.qvs")));
    assertNames(err, "shard-00001.qvs", "is missing");
  }

  @Test
  void aManifestCannotPointOutsideTheIndex() {
    String dots = searchBroken("dots", d -> editManifest(d, m ->
        ((ObjectNode) m.withArray("shards").get(0)).put("file", "../good/shards/shard-00000.qvs")));
    assertNames(dots, "manifest.json", "'../good/shards/shard-00000.qvs'", "expected 'shards/shard-00000.qvs'");
    String abs = searchBroken("absolute", d -> editManifest(d, m -> m.with("quantizer").put("file", "/etc/passwd")));
    assertNames(abs, "manifest.json", "'/etc/passwd'", "expected 'quantizer.qvq'");
  }

  @Test
  void countsThatDisagreeAreCaught() {
    // the manifest adds up, but shard 0 does not hold what it says
    String held = searchBroken("count", d -> editManifest(d, m -> {
      ObjectNode s0 = (ObjectNode) m.withArray("shards").get(0);
      s0.put("count", s0.get("count").asLong() + 1);
      ArrayNode first = (ArrayNode) s0.withArray("lists").get(0);
      first.set(1, first.get(1).asLong() + 1);
      m.put("ntotal", m.get("ntotal").asLong() + 1);
    }));
    assertNames(held, "shard-00000.qvs", "manifest.json says shard 0 holds");
    // the manifest does not add up
    String sum = searchBroken("sum", d -> editManifest(d, m -> m.put("ntotal", m.get("ntotal").asLong() + 7)));
    assertNames(sum, "manifest.json", "the shards hold 3000 vectors in all, ntotal says 3007");
  }

  @Test
  void aManifestFromTheFutureAndAnUncommittedDirectoryAreRefused() {
    String future = searchBroken("manifest-future", d -> editManifest(d, m -> m.put("formatVersion", 99)));
    assertNames(future, "manifest.json", "version 99", "upgrade Quiver");
    String uncommitted = searchBroken("uncommitted", d -> delete(d.resolve("_SUCCESS")));
    assertNames(uncommitted, "no committed index", "_SUCCESS is missing");
  }

  /**
   * A quantizer of another build of the same factory has the same size and, like every index
   * file, the same whole-file CRC32C; the manifest's SHA-256 of each file tells them apart.
   */
  @Test
  void aQuantizerOfAnotherBuildIsRefused() {
    Path other = new File(work, "other-build").toPath();
    Cli.ok("index", "--input", new File(work, "base.parquet").getPath(), "--output", other.toString(), "--factory",
        "IVF8,PQ4", "--shards", "2", "--seed", "6");
    String err = searchBroken("foreign-quantizer", d -> copyFile(other.resolve("quantizer.qvq"), d.resolve("quantizer.qvq")));
    assertNames(err, "quantizer.qvq", "SHA-256", "another build");
  }

  /** Two shards of the same size swapped: sizes and whole-file CRC32C agree, the content does not. */
  @Test
  void twoSwappedShardsOfTheSameSizeAreRefused() throws IOException {
    Path twin = twoEqualShards("twin");
    assertEquals(Files.size(twin.resolve("shards/shard-00000.qvs")), Files.size(twin.resolve("shards/shard-00001.qvs")));
    String err = searchBroken(twin, "swapped", d -> {
      copyFile(twin.resolve("shards/shard-00001.qvs"), d.resolve("shards/shard-00000.qvs"));
      copyFile(twin.resolve("shards/shard-00000.qvs"), d.resolve("shards/shard-00001.qvs"));
    }, twinQueries);
    assertNames(err, "shard-0000", "SHA-256", "manifest.json");
  }

  /** The manifest's parameters are checked against the quantizer before any task runs. */
  @Test
  void manifestParametersMustMatchTheQuantizer() {
    assertNames(searchBroken("metric", d -> editManifest(d, m -> m.put("metric", "ip"))),
        "manifest.json", "metric 'ip'", "quantizer.qvq", "l2");
    assertNames(searchBroken("dim", d -> editManifest(d, m -> m.put("d", 15))),
        "manifest.json", "d 15", "quantizer.qvq", "16");
    assertNames(searchBroken("codesize", d -> editManifest(d, m -> m.put("codeSize", 8))),
        "manifest.json", "codeSize 8", "quantizer.qvq", "4");
    // a smaller nlist, every list entry kept consistent with it
    assertNames(searchBroken("nlist-small", d -> editManifest(d, m -> {
      long total = 0;
      for (com.fasterxml.jackson.databind.JsonNode sh : m.withArray("shards")) {
        ArrayNode kept = new ObjectMapper().createArrayNode();
        long count = 0;
        for (com.fasterxml.jackson.databind.JsonNode l : sh.get("lists")) {
          if (l.get(0).asInt() < 4) {
            kept.add(l);
            count += l.get(1).asLong();
          }
        }
        ((ObjectNode) sh).set("lists", kept);
        ((ObjectNode) sh).put("count", count);
        total += count;
      }
      m.put("nlist", 4);
      m.put("ntotal", total);
    })), "manifest.json", "nlist 4", "quantizer.qvq", "8");
    assertNames(searchBroken("nlist-huge", d -> editManifest(d, m -> m.put("nlist", Integer.MAX_VALUE))),
        "manifest.json", "nlist " + Integer.MAX_VALUE, "nlist <= " + io.quiver.index.io.IndexFormat.MAX_NLIST);
    assertNames(searchBroken("nlist-large", d -> editManifest(d, m -> m.put("nlist", 1 << 20))),
        "manifest.json", "nlist " + (1 << 20), "quantizer.qvq", "8");
  }

  /** A list entry moved to another list number: the shard's own list sizes disagree. */
  @Test
  void listsReassignedInTheManifestAreCaughtWhenTheShardLoads() {
    String err = searchBroken("reassigned", d -> editManifest(d, m -> {
      ArrayNode lists = (ArrayNode) m.withArray("shards").get(0).get("lists");
      ArrayNode first = (ArrayNode) lists.get(0);
      first.set(0, new com.fasterxml.jackson.databind.node.IntNode(7));
    }));
    assertNames(err, "shard-00000.qvs", "list", "manifest.json");
  }

  /** List counts near the long range must not overflow their sums. */
  @Test
  void listCountsThatOverflowAreRefused() {
    String err = searchBroken("overflow", d -> editManifest(d, m -> {
      ArrayNode lists = (ArrayNode) m.withArray("shards").get(0).get("lists");
      ((ArrayNode) lists.get(0)).set(1, new com.fasterxml.jackson.databind.node.LongNode(Long.MAX_VALUE));
      ((ArrayNode) lists.get(1)).set(1, new com.fasterxml.jackson.databind.node.LongNode(Long.MAX_VALUE));
    }));
    assertNames(err, "manifest.json", "shard 0", "more than 2^63-1");
  }

  /** A version 1 manifest (written before builds had an identity) is read without the SHA-256 checks. */
  @Test
  void aVersion1ManifestWithoutHashesStillLoads() {
    Path dir = new File(work, "version1").toPath();
    copy(good, dir);
    editManifest(dir, m -> {
      m.put("formatVersion", 1);
      m.remove("buildId");
      m.with("quantizer").remove("sha256");
      for (com.fasterxml.jackson.databind.JsonNode sh : m.withArray("shards")) {
        ((ObjectNode) sh).remove("sha256");
      }
    });
    ShardStore.clearCaches();
    Cli.ok("search", "--index", dir.toString(), "--queries", queries, "--output", new File(work, "version1-out").getPath(),
        "--k", "5", "--nprobe", "8");
    // a version 2 manifest without them is refused
    String err = searchBroken("no-sha", d -> editManifest(d, m -> m.with("quantizer").remove("sha256")));
    assertNames(err, "manifest.json", "the quantizer entry has sha256 'null'");
  }

  /** A FIFO in place of manifest.json or a shard hung the search forever (reading it never ends). */
  @Test
  void aFifoInPlaceOfTheManifestOrAShardIsRefused() {
    org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(120), () -> {
      String manifest = searchBroken("fifo-manifest", d -> fifo(d.resolve("manifest.json")));
      assertNames(manifest, "manifest.json is not a regular file (a FIFO, socket or device)");
      String shard = searchBroken("fifo-shard", d -> fifo(d.resolve("shards/shard-00001.qvs")));
      assertNames(shard, "shards/shard-00001.qvs is not a regular file");
    });
  }

  /**
   * A symbolic link inside the index directory served a file from outside it, and errors quoted the
   * bytes of what it pointed at; files that are not index files are never quoted.
   */
  @Test
  void symbolicLinksInsideTheIndexAreRefusedAndForeignBytesNeverQuoted() throws IOException {
    Path outside = new File(work, "outside").toPath();
    Files.createDirectories(outside);
    Path secret = outside.resolve("secret");
    Files.writeString(secret, "root:x:0:0:root:/root:/bin/bash\n");
    Path elsewhere = outside.resolve("shard-00000.qvs");
    Files.copy(good.resolve("shards/shard-00000.qvs"), elsewhere, StandardCopyOption.REPLACE_EXISTING);
    // the same bytes as the shard, but served from outside the index
    String linked = searchBroken("link-shard", d -> link(d.resolve("shards/shard-00000.qvs"), elsewhere));
    assertNames(linked, "shards/shard-00000.qvs is reached through the symbolic link");
    String dir = searchBroken("link-dir", d -> {
      Path real = outside.resolve("shards-copy");
      copy(d.resolve("shards"), real);
      deleteTree(d.resolve("shards"));
      link(d.resolve("shards"), real);
    });
    assertNames(dir, "is reached through the symbolic link", "/shards");
    for (String f : new String[] {"manifest.json", "quantizer.qvq", "shards/shard-00001.qvs"}) {
      String err = searchBroken("link-" + f.replace('/', '-'), d -> link(d.resolve(f), secret));
      assertNames(err, f + " is reached through the symbolic link");
      assertTrue(!quotesSecret(err), "no byte of the link's target is quoted:\n" + err);
    }
    // a regular file inside the index that is not an index file is named, not quoted
    for (String f : new String[] {"manifest.json", "quantizer.qvq", "shards/shard-00001.qvs"}) {
      String err = searchBroken("foreign-" + f.replace('/', '-'), d -> {
        Path target = d.resolve(f);
        byte[] bytes = "root:x:0:0:root:/root:/bin/bash\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] sized = java.util.Arrays.copyOf(bytes, (int) target.toFile().length());
        write(target, 0, f.endsWith(".json") ? bytes : sized);
      });
      assertNames(err, f);
      assertTrue(!quotesSecret(err), "no byte of a file that is not an index file is quoted:\n" + err);
    }
  }

  /**
   * True when {@code err} quotes bytes of the planted secret {@code root:x:0:0:root:/root:/bin/bash}
   * (its word "root" alone may be part of the path the error names, as in /root or /tmp/ciroot).
   */
  private static boolean quotesSecret(String err) {
    return err.contains("root:") || err.contains(":x:0") || err.contains("bin/bash") || err.contains("'root");
  }

  /** A manifest listing 20,000 shards whose files are missing fails before any Spark job runs. */
  @Test
  void aManifestListingMissingShardsFailsBeforeAnyJob() throws Exception {
    Path dir = new File(work, "many-missing").toPath();
    copy(good, dir);
    Path mf = dir.resolve("manifest.json");
    Manifest m = new ObjectMapper().readValue(mf.toFile(), Manifest.class);
    Manifest.Shard last = m.shards.get(m.shards.size() - 1);
    for (int i = m.shards.size(); i < 20_000; i++) {
      Manifest.Shard s = new Manifest.Shard();
      s.shard = i;
      s.file = IndexLayout.shardFile(i);
      s.bytes = last.bytes;
      s.crc32c = last.crc32c;
      s.sha256 = last.sha256;
      m.shards.add(s);
    }
    m.buildId = Manifest.buildIdOf(m.quantizer, m.shards);
    Files.writeString(mf, m.toJson());
    ShardStore.clearCaches();
    org.apache.spark.SparkContext sc = SparkTestSessions.local(2).sparkContext();
    int jobsBefore = sc.statusTracker().getJobIdsForGroup(null).length;
    Cli r = Cli.run("search", "--index", dir.toString(), "--queries", queries, "--output",
        new File(work, "many-missing-out").getPath(), "--k", "5", "--nprobe", "8");
    assertEquals(1, r.status(), r.err());
    assertNames(r.err(), "shards/shard-00002.qvs is missing; manifest.json lists it with " + last.bytes + " bytes (and "
        + "19997 more of the 20000 shard files it lists are missing)");
    Thread.sleep(500);
    assertEquals(jobsBefore, sc.statusTracker().getJobIdsForGroup(null).length, "no Spark job ran");
  }

  /**
   * A shard whose header disagrees with its quantizer (here 'SHPR' says nlist 3, the quantizer
   * has 8) is refused on the driver, naming the shard, before any Spark job reads a shard.
   */
  @Test
  void aShardHeaderThatDisagreesWithTheQuantizerIsRefusedBeforeAnyJob() {
    Path dir = new File(work, "shard-header").toPath();
    copy(good, dir);
    // header (28 bytes), the 'SHPR' section header (12), indexType (4), then nlist
    write(dir.resolve("shards/shard-00001.qvs"), 44, new byte[] {3, 0, 0, 0});
    ShardStore.clearCaches();
    org.apache.spark.SparkContext sc = SparkTestSessions.local(2).sparkContext();
    int jobsBefore = sc.statusTracker().getJobIdsForGroup(null).length;
    Cli r = Cli.run("search", "--index", dir.toString(), "--queries", queries, "--output",
        new File(work, "shard-header-out").getPath(), "--k", "5", "--nprobe", "8");
    assertEquals(1, r.status(), r.err());
    assertNames(r.err(), "shards/shard-00001.qvs", "'SHPR'", "nlist = 3", "nlist = 8");
    assertEquals(jobsBefore, sc.statusTracker().getJobIdsForGroup(null).length, "no Spark job ran");
  }

  private static String twinQueries;

  /**
   * An IVF2,Flat index of two shards holding one list each, of 500 vectors each (two clusters far
   * apart), so both shard files have the same size.
   */
  private static Path twoEqualShards(String name) {
    org.apache.spark.sql.SparkSession spark = SparkTestSessions.local(2);
    java.util.List<org.apache.spark.sql.Row> rows = new java.util.ArrayList<>();
    java.util.Random rnd = new java.util.Random(21);
    for (int i = 0; i < 1000; i++) {
      float[] v = new float[8];
      for (int j = 0; j < 8; j++) {
        v[j] = (i % 2 == 0 ? 100f : -100f) + (float) rnd.nextGaussian();
      }
      rows.add(org.apache.spark.sql.RowFactory.create((long) i, v));
    }
    String table = new File(work, name + ".parquet").getPath();
    spark.createDataFrame(rows, io.quiver.spark.plan.TestTables.SCHEMA).write()
        .mode(org.apache.spark.sql.SaveMode.Overwrite).parquet(table);
    twinQueries = table;
    Path dir = new File(work, name).toPath();
    Cli.ok("index", "--input", table, "--output", dir.toString(), "--factory", "IVF2,Flat", "--shards", "2",
        "--seed", "5");
    return dir;
  }

  // ---- damage ------------------------------------------------------------------------------

  private static void copy(Path from, Path to) {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        Path t = to.resolve(from.relativize(f).toString());
        if (Files.isDirectory(f)) {
          Files.createDirectories(t);
        } else if (!f.getFileName().toString().endsWith(".crc")) {
          Files.copy(f, t, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void fifo(Path file) {
    try {
      Files.delete(file);
      Process p = new ProcessBuilder("mkfifo", file.toString()).inheritIO().start();
      assertEquals(0, p.waitFor(), "mkfifo " + file);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void link(Path link, Path target) {
    try {
      Files.deleteIfExists(link);
      Files.createSymbolicLink(link, target);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void deleteTree(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : (Iterable<Path>) files.sorted(java.util.Comparator.reverseOrder())::iterator) {
        Files.delete(f);
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void copyFile(Path from, Path to) {
    try {
      Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void flip(Path file, long offset) {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(offset);
      int b = f.read();
      f.seek(offset);
      f.write(b ^ 0x10);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void write(Path file, long offset, byte[] bytes) {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(offset);
      f.write(bytes);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void truncate(Path file, long length) {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.setLength(length);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void delete(Path file) {
    try {
      Files.delete(file);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void editManifest(Path dir, Consumer<ObjectNode> edit) {
    Path m = dir.resolve("manifest.json");
    try {
      ObjectMapper json = new ObjectMapper();
      ObjectNode root = (ObjectNode) json.readTree(m.toFile());
      edit.accept(root);
      json.writerWithDefaultPrettyPrinter().writeValue(m.toFile(), root);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
