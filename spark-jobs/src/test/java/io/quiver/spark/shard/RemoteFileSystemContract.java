package io.quiver.spark.shard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quiver.spark.SparkTestSessions;
import io.quiver.spark.cli.Cli;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What every Hadoop file system the jobs run on must do, run against a real one per subclass
 * ({@link HdfsTest}: a MiniDFSCluster; {@link S3Test}: an S3 server through s3a): generate,
 * index, train, build and search there with the same files and results as on local files,
 * damaged and missing shards named, and {@code --overwrite} keeping the old index until the new
 * one is committed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class RemoteFileSystemContract {
  protected SparkSession spark;
  /** The file system under test, and the root of this run's files on it. */
  protected FileSystem fs;
  protected String root;
  protected File local;
  protected String base;
  protected String queries;
  protected String localBase;
  protected String localQueries;
  /** The committed index on the file system (IVF8,PQ4, two shards, seed 5) and its results. */
  protected String index;
  protected List<Row> results;

  /** Starts the file system, sets {@link #fs}, {@link #root} and {@link #local}, and the session's settings for it. */
  protected abstract void startFileSystem() throws Exception;

  /** Stops it and removes its settings from the session. */
  protected abstract void stopFileSystem() throws IOException;

  /** Its name in messages: "HDFS", "S3". */
  protected abstract String name();

  /**
   * Checks what a reader polling the output saw during an {@code --overwrite} build (the old
   * index was readable while the new one was staged); a file system with atomic renames checks more.
   */
  protected void assertSwapSeen(List<String> seen) {
    assertTrue(seen.contains("IVF8,PQ4 while staging"), "the old index is readable while the new one is built: "
        + seen);
  }

  @BeforeAll
  void start() throws Exception {
    spark = SparkTestSessions.local(2);
    startFileSystem();
    HadoopTrees.Tables t = HadoopTrees.writeTables(fs, root, local, conf());
    base = t.base();
    queries = t.queries();
    localBase = t.localBase();
    localQueries = t.localQueries();
    index = t.index();
    results = search(index, queries, root + "/out");
  }

  @AfterAll
  void stop() throws IOException {
    ShardStore.clearCaches();
    stopFileSystem();
  }

  protected Configuration conf() {
    return spark.sparkContext().hadoopConfiguration();
  }

  protected List<Row> search(String idx, String q, String out) {
    ShardStore.clearCaches();
    Cli.ok("search", "--index", idx, "--queries", q, "--output", out, "--k", "5", "--nprobe", "4");
    return spark.read().parquet(out).orderBy("id").collectAsList();
  }

  protected Map<String, byte[]> files(Path dir) throws IOException {
    return HadoopTrees.files(dir, conf());
  }

  protected List<String> leftovers(String output) throws IOException {
    return HadoopTrees.leftovers(fs, output);
  }

  /** A copy of the committed index at {@code to}, file by file. */
  protected void copyIndex(String to) throws IOException {
    for (Map.Entry<String, byte[]> e : files(new Path(index)).entrySet()) {
      try (OutputStream out = fs.create(new Path(to, e.getKey()), false)) {
        out.write(e.getValue());
      }
    }
  }

  protected byte[] read(Path f) throws IOException {
    try (InputStream in = fs.open(f)) {
      return in.readAllBytes();
    }
  }

  /** A failed search of {@code idx}: exit 1, and the error's last line printed. */
  protected Cli failedSearch(String idx, String what) {
    ShardStore.clearCaches();
    Cli r = Cli.run("search", "--index", idx, "--queries", queries, "--output", idx + "-out", "--k", "5", "--nprobe",
        "8");
    assertEquals(1, r.status(), r.err());
    String[] lines = r.errLines();
    System.out.println(what + " on " + name() + ": " + lines[lines.length - 1]);
    return r;
  }

  @Test
  void anIndexIsCommittedAndAnswersAsOnLocalFiles() throws IOException {
    Path p = new Path(index);
    assertTrue(fs.exists(new Path(p, "manifest.json")), "manifest.json on " + name());
    assertTrue(fs.exists(new Path(p, "_SUCCESS")), "_SUCCESS on " + name());
    assertTrue(fs.exists(new Path(p, "shards/shard-00001.qvs")));
    assertFalse(fs.exists(new Path(p, IndexLayout.TEMPORARY)), "no _temporary left");
    assertEquals(List.of(), leftovers(index), "no staging directory left");
    assertTrue(fs.exists(new Path(root + "/out", "_SUCCESS")), "the search output is on " + name());
    assertEquals(50, results.size());
    assertEquals(5, results.get(0).getList(1).size());

    String localIndex = new File(local, "idx").getPath();
    Cli.ok("index", "--input", localBase, "--output", localIndex, "--factory", "IVF8,PQ4", "--shards", "2",
        "--seed", "5");
    assertEquals(results, search(localIndex, localQueries, new File(local, "out").getPath()),
        "the same build on local files gives the same neighbours and distances");
    // builds are deterministic: the files themselves are the same
    Map<String, byte[]> remote = files(p);
    Map<String, byte[]> onDisk = files(new Path(new File(localIndex).toURI()));
    assertEquals(onDisk.keySet(), remote.keySet());
    for (String f : onDisk.keySet()) {
      if (!f.equals(IndexLayout.MANIFEST)) { // it records the input path
        assertArrayEquals(onDisk.get(f), remote.get(f), f);
      }
    }
  }

  @Test
  void trainAndBuildWriteAndReadTheQuantizer() throws IOException {
    String quantizer = root + "/pq.qvq";
    JsonNode t = Cli.ok("train", "--input", base, "--output", quantizer, "--factory", "IVF8,PQ4", "--seed", "5");
    assertEquals(3000, t.get("rows").asLong());
    String built = root + "/built";
    JsonNode b = Cli.ok("build", "--input", base, "--quantizer", quantizer, "--output", built, "--shards", "2");
    assertEquals(3000, b.get("ntotal").asLong());
    // the same seed trains the same quantizer as `index`, and the build writes the same shards
    Map<String, byte[]> fromIndex = files(new Path(index));
    assertArrayEquals(fromIndex.get(IndexLayout.QUANTIZER), read(new Path(quantizer)));
    Map<String, byte[]> fromBuild = files(new Path(built));
    assertEquals(fromIndex.keySet(), fromBuild.keySet());
    for (String f : fromIndex.keySet()) {
      if (f.startsWith(IndexLayout.SHARDS + "/")) {
        assertArrayEquals(fromIndex.get(f), fromBuild.get(f), f);
      }
    }
    String localQuantizer = new File(local, "pq.qvq").getPath();
    String localBuilt = new File(local, "built").getPath();
    Cli.ok("train", "--input", localBase, "--output", localQuantizer, "--factory", "IVF8,PQ4", "--seed", "5");
    Cli.ok("build", "--input", localBase, "--quantizer", localQuantizer, "--output", localBuilt, "--shards", "2");
    assertEquals(search(localBuilt, localQueries, new File(local, "built-out").getPath()),
        search(built, queries, root + "/built-out"));
  }

  @Test
  void aFlippedByteInAShardIsNamed() throws IOException {
    String broken = root + "/flipped";
    copyIndex(broken);
    // HDFS files and S3 objects cannot be modified in place: rewrite the shard with one byte flipped
    Path shard = new Path(broken, "shards/shard-00000.qvs");
    byte[] bytes = read(shard);
    bytes[200] ^= 0x10;
    try (OutputStream out = fs.create(shard, true)) {
      out.write(bytes);
    }
    Cli r = failedSearch(broken, "flipped shard");
    assertTrue(r.err().contains(shard.toUri().getPath()), "the error names the file on " + name() + ":\n" + r.err());
    assertTrue(r.err().contains("checksum mismatch"), r.err());
    // Spark leaves the directory of a failed write, without _SUCCESS (a re-run asks for --overwrite)
    assertFalse(fs.exists(new Path(broken + "-out", "_SUCCESS")), "no output committed");
  }

  @Test
  void aMissingShardIsNamed() throws IOException {
    String broken = root + "/missing";
    copyIndex(broken);
    assertTrue(fs.delete(new Path(broken, "shards/shard-00001.qvs"), false));
    Cli r = failedSearch(broken, "missing shard");
    assertTrue(r.err().contains("shards/shard-00001.qvs is missing; manifest.json lists it"), r.err());
    assertTrue(r.err().contains(new Path(broken).toUri().getPath()), "the error names the index on " + name() + ":\n"
        + r.err());
  }

  @Test
  void overwriteKeepsTheOldIndexReadableUntilTheNewOneCommits() throws Exception {
    String target = root + "/replaced";
    Cli.ok("index", "--input", base, "--output", target, "--factory", "IVF8,PQ4", "--shards", "2", "--seed", "5");
    Map<String, byte[]> old = files(new Path(target));
    assertEquals(results, search(target, queries, root + "/replaced-before"));

    // a build over it that fails after it began staging (a NaN row, --on-invalid fail) leaves it as it was
    String invalid = root + "/invalid.parquet";
    spark.read().parquet(base).limit(100)
        .union(spark.sql("SELECT CAST(999999 AS BIGINT) AS id, array_repeat(CAST('NaN' AS FLOAT), 16) AS vector"))
        .write().parquet(invalid);
    Cli failed = Cli.run("index", "--input", invalid, "--output", target, "--factory", "IVF4,Flat", "--overwrite");
    assertEquals(1, failed.status(), failed.err());
    assertTrue(failed.err().contains("id 999999: NaN at vector component 0"), failed.err());
    Map<String, byte[]> after = files(new Path(target));
    assertEquals(old.keySet(), after.keySet());
    for (String f : old.keySet()) {
      assertArrayEquals(old.get(f), after.get(f), f + " is unchanged");
    }
    assertEquals(List.of(), leftovers(target), "the failed build deleted its staging directory");
    assertEquals(results, search(target, queries, root + "/replaced-after-failure"));

    // a build that succeeds: a reader polls the output through it
    List<String> seen = HadoopTrees.readDuring(fs, target, conf(), () -> Cli.ok("index", "--input", base, "--output",
        target, "--factory", "IVF4,Flat", "--seed", "5", "--overwrite"));
    System.out.println("a reader of " + target + " during --overwrite on " + name() + " saw: " + seen);
    assertSwapSeen(seen);
    assertEquals("IVF4,Flat", Manifest.read(new Path(target), conf()).factory);
    assertTrue(fs.exists(new Path(target, "_SUCCESS")));
    assertEquals(List.of(), leftovers(target), "no .building- or .replaced- directory left");
    List<Row> replaced = search(target, queries, root + "/replaced-after");
    assertEquals(50, replaced.size());
    assertNotEquals(results, replaced, "the new index answers with its own quantizer and shards");
  }
}
