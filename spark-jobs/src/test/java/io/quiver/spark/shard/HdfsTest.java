package io.quiver.spark.shard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quiver.spark.SparkTestSessions;
import io.quiver.spark.cli.Cli;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.hadoop.hdfs.DFSTestUtil;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The jobs on a real HDFS: a MiniDFSCluster (one name node, one data node, in this JVM) holds the
 * input table, the index and the search output. A build there gives the same results as the same
 * build on local files, a damaged shard is named, and {@code --overwrite} swaps the index with
 * HDFS renames, leaving the old one readable until the new one is committed.
 */
class HdfsTest {
  private static MiniDFSCluster cluster;
  private static FileSystem hdfs;
  private static SparkSession spark;
  private static String root;
  private static File local;
  private static String localBase;
  private static String localQueries;
  private static String base;
  private static String queries;
  /** The committed index on HDFS (IVF8,PQ4, two shards, seed 5) and its results. */
  private static String index;
  private static List<Row> results;

  @BeforeAll
  static void start() throws Exception {
    spark = SparkTestSessions.local(2);
    File dir = new File(SparkTestSessions.targetDir(), "hdfs-" + System.nanoTime());
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, new File(dir, "dfs").getAbsolutePath());
    conf.setInt("dfs.replication", 1);
    cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
    cluster.waitActive();
    hdfs = cluster.getFileSystem();
    root = hdfs.getUri() + "/quiver";
    // Spark's client: one replica per block, and short waits before re-reading a block that
    // failed its checksum on every replica (HDFS's default is 3 s, growing per retry)
    Configuration client = spark.sparkContext().hadoopConfiguration();
    client.setInt("dfs.replication", 1);
    client.setInt("dfs.client.retry.window.base", 10);
    local = new File(dir, "local");

    // the input tables, written by Spark to HDFS, and copies of them on local files
    HadoopTrees.Tables t = HadoopTrees.writeTables(hdfs, root, local, conf);
    base = t.base();
    queries = t.queries();
    localBase = t.localBase();
    localQueries = t.localQueries();
    index = t.index();
    results = search(index, queries, root + "/out");
  }

  @AfterAll
  static void stop() throws IOException {
    ShardStore.clearCaches();
    if (cluster != null) {
      // drop the cached client of this cluster's URI (FileSystem.get keeps one per scheme and authority)
      FileSystem.get(hdfs.getUri(), spark.sparkContext().hadoopConfiguration()).close();
      cluster.shutdown(true);
      spark.sparkContext().hadoopConfiguration().unset("dfs.replication");
      spark.sparkContext().hadoopConfiguration().unset("dfs.client.retry.window.base");
    }
  }

  private static List<Row> search(String idx, String q, String out) {
    ShardStore.clearCaches();
    Cli.ok("search", "--index", idx, "--queries", q, "--output", out, "--k", "5", "--nprobe", "4");
    return spark.read().parquet(out).orderBy("id").collectAsList();
  }

  @Test
  void anIndexOnHdfsIsCommittedAndAnswersAsOnLocalFiles() throws IOException {
    Path p = new Path(index);
    assertTrue(hdfs.exists(new Path(p, "manifest.json")), "manifest.json on HDFS");
    assertTrue(hdfs.exists(new Path(p, "_SUCCESS")), "_SUCCESS on HDFS");
    assertTrue(hdfs.exists(new Path(p, "shards/shard-00001.qvs")));
    assertFalse(hdfs.exists(new Path(p, IndexLayout.TEMPORARY)), "no _temporary left");
    assertEquals(List.of(), leftovers(index));
    assertTrue(hdfs.exists(new Path(root + "/out", "_SUCCESS")), "the search output is on HDFS");
    assertEquals(50, results.size());
    assertEquals(5, results.get(0).getList(1).size());

    String localIndex = new File(local, "idx").getPath();
    Cli.ok("index", "--input", localBase, "--output", localIndex, "--factory", "IVF8,PQ4", "--shards", "2",
        "--seed", "5");
    assertEquals(results, search(localIndex, localQueries, new File(local, "out").getPath()),
        "the same build on local files gives the same neighbours and distances");
    // builds are deterministic: the files themselves are the same
    Map<String, byte[]> onHdfs = files(new Path(index));
    Map<String, byte[]> onDisk = files(new Path(new File(localIndex).toURI()));
    assertEquals(onDisk.keySet(), onHdfs.keySet());
    for (String f : onDisk.keySet()) {
      if (!f.equals(IndexLayout.MANIFEST)) { // it records the input path
        assertArrayEquals(onDisk.get(f), onHdfs.get(f), f);
      }
    }
  }

  @Test
  void trainAndBuildWriteAndReadTheQuantizerOnHdfs() {
    String quantizer = root + "/pq.qvq";
    JsonNode t = Cli.ok("train", "--input", base, "--output", quantizer, "--factory", "IVF8,PQ4", "--seed", "5");
    assertEquals(3000, t.get("rows").asLong());
    String built = root + "/built";
    JsonNode b = Cli.ok("build", "--input", base, "--quantizer", quantizer, "--output", built, "--shards", "2");
    assertEquals(3000, b.get("ntotal").asLong());
    String localQuantizer = new File(local, "pq.qvq").getPath();
    String localBuilt = new File(local, "built").getPath();
    Cli.ok("train", "--input", localBase, "--output", localQuantizer, "--factory", "IVF8,PQ4", "--seed", "5");
    Cli.ok("build", "--input", localBase, "--quantizer", localQuantizer, "--output", localBuilt, "--shards", "2");
    assertEquals(search(localBuilt, localQueries, new File(local, "built-out").getPath()),
        search(built, queries, root + "/built-out"));
  }

  @Test
  void aFlippedByteInAShardOnHdfsIsNamed() throws IOException {
    String broken = root + "/flipped";
    copy(new Path(index), new Path(broken));
    // HDFS files cannot be modified in place: rewrite the shard with one byte flipped
    Path shard = new Path(broken, "shards/shard-00000.qvs");
    byte[] bytes = read(shard);
    bytes[200] ^= 0x10;
    try (OutputStream out = hdfs.create(shard, true)) {
      out.write(bytes);
    }
    ShardStore.clearCaches();
    Cli r = Cli.run("search", "--index", broken, "--queries", queries, "--output", root + "/flipped-out", "--k", "5",
        "--nprobe", "8");
    assertEquals(1, r.status(), r.err());
    String[] lines = r.errLines();
    String line = lines[lines.length - 1];
    System.out.println("flipped shard on HDFS: " + line);
    assertTrue(r.err().contains(broken + "/shards/shard-00000.qvs"), "the error names the file on HDFS:\n" + r.err());
    assertTrue(r.err().contains("checksum mismatch"), r.err());
    // Spark leaves the directory of a failed write, without _SUCCESS (a re-run asks for --overwrite)
    assertFalse(hdfs.exists(new Path(root + "/flipped-out", "_SUCCESS")), "no output committed");
  }

  @Test
  void aReplicaDamagedOnTheDataNodeIsCaughtByHdfs() throws IOException {
    String broken = root + "/bad-replica";
    copy(new Path(index), new Path(broken));
    // the block file on the data node's disk changes under HDFS: its own checksums catch it on read
    Path shard = new Path(broken, "shards/shard-00001.qvs");
    assertEquals(1, cluster.corruptBlockOnDataNodes(DFSTestUtil.getFirstBlock(hdfs, shard)));
    ShardStore.clearCaches();
    Cli r = Cli.run("search", "--index", broken, "--queries", queries, "--output", root + "/bad-replica-out", "--k",
        "5", "--nprobe", "8");
    assertEquals(1, r.status(), r.err());
    String[] lines = r.errLines();
    System.out.println("damaged replica on HDFS: " + lines[lines.length - 1]);
    assertTrue(r.err().contains(shard.toUri().getPath()), "the error names the file:\n" + r.err());
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
    assertFiles(old, files(new Path(target)));
    assertEquals(List.of(), leftovers(target), "the failed build deleted its staging directory on HDFS");
    assertEquals(results, search(target, queries, root + "/replaced-after-failure"));

    // while a build that succeeds runs, readers of the output see the old index, committed, until
    // the swap; then the new one. A reader polls the name node through the build.
    Path t = new Path(target);
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    List<String> seen = HadoopTrees.readDuring(hdfs, target, conf, () -> Cli.ok("index", "--input", base, "--output",
        target, "--factory", "IVF4,Flat", "--seed", "5", "--overwrite"));
    System.out.println("a reader of " + target + " during --overwrite saw: " + seen);
    // the old index, committed, until the swap; then (between the two renames) no directory, or
    // the new index: never a directory without _SUCCESS, never the old index again
    int swapped = 0;
    while (swapped < seen.size() && seen.get(swapped).startsWith("IVF8,PQ4")) {
      swapped++;
    }
    assertTrue(seen.subList(0, swapped).contains("IVF8,PQ4 while staging"),
        "the old index is readable while the new one is built: " + seen);
    for (String s : seen.subList(swapped, seen.size())) {
      assertTrue(s.startsWith("IVF4,Flat") || s.endsWith("the directory does not exist"), s + " in " + seen);
    }
    assertEquals("IVF4,Flat", Manifest.read(t, conf).factory);
    assertTrue(hdfs.exists(new Path(t, "_SUCCESS")));
    assertEquals(List.of(), leftovers(target), "no .building- or .replaced- directory left");
    List<Row> after = search(target, queries, root + "/replaced-after");
    assertEquals(50, after.size());
    assertTrue(!after.equals(results), "the new index answers with its own quantizer and shards");
  }

  // ---- HDFS helpers ------------------------------------------------------------------------

  private static List<String> leftovers(String output) throws IOException {
    return HadoopTrees.leftovers(hdfs, output);
  }

  private static Map<String, byte[]> files(Path dir) throws IOException {
    return HadoopTrees.files(dir, spark.sparkContext().hadoopConfiguration());
  }

  private static void assertFiles(Map<String, byte[]> expected, Map<String, byte[]> actual) {
    assertEquals(expected.keySet(), actual.keySet());
    for (String f : expected.keySet()) {
      assertArrayEquals(expected.get(f), actual.get(f), f + " is unchanged");
    }
  }

  private static byte[] read(Path f) throws IOException {
    try (InputStream in = hdfs.open(f)) {
      return in.readAllBytes();
    }
  }

  private static void copy(Path from, Path to) throws IOException {
    for (Map.Entry<String, byte[]> e : files(from).entrySet()) {
      try (OutputStream out = hdfs.create(new Path(to, e.getKey()), false)) {
        out.write(e.getValue());
      }
    }
  }
}
