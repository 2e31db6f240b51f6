package io.quiver.spark.shard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.robothy.s3.rest.LocalS3;
import com.robothy.s3.rest.bootstrap.LocalS3Mode;
import io.quiver.spark.SparkTestSessions;
import io.quiver.spark.cli.Cli;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
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
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The jobs on S3 through Hadoop's s3a file system: an S3 server in this JVM (LocalS3, on
 * 127.0.0.1) holds the input table, the index and the search output. A build there gives the same
 * files and results as on local files, a missing shard is named, and the staged build and
 * {@code --overwrite} work where a rename is a copy of every object.
 */
class S3Test {
  private static final String BUCKET = "quiver-test";
  /** The s3a settings of the test bucket, set per bucket ({@code fs.s3a.bucket.BUCKET.*}) on the session. */
  private static final List<String> SETTINGS = new ArrayList<>();

  private static LocalS3 server;
  private static SparkSession spark;
  private static FileSystem s3;
  private static String root;
  private static File local;
  private static String localBase;
  private static String localQueries;
  private static String base;
  private static String queries;
  private static String index;
  private static List<Row> results;

  @BeforeAll
  static void start() throws Exception {
    spark = SparkTestSessions.local(2);
    int port;
    try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = free.getLocalPort();
    }
    server = LocalS3.builder().port(port).mode(LocalS3Mode.IN_MEMORY).build();
    server.start();
    String endpoint = "http://127.0.0.1:" + port;
    try (S3Client client = S3Client.builder().endpointOverride(URI.create(endpoint)).region(Region.US_EAST_1)
        .forcePathStyle(true).credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test",
            "test"))).build()) {
      client.createBucket(b -> b.bucket(BUCKET));
    }

    Configuration conf = spark.sparkContext().hadoopConfiguration();
    set(conf, "endpoint", endpoint);
    set(conf, "endpoint.region", "us-east-1");
    set(conf, "path.style.access", "true");
    set(conf, "connection.ssl.enabled", "false");
    set(conf, "aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
    set(conf, "access.key", "test");
    set(conf, "secret.key", "test");
    // fail fast: the server is in this JVM
    set(conf, "attempts.maximum", "1");
    set(conf, "retry.limit", "1");
    root = "s3a://" + BUCKET + "/quiver";
    s3 = new Path(root).getFileSystem(conf);
    local = new File(SparkTestSessions.targetDir(), "s3-" + System.nanoTime());

    HadoopTrees.Tables t = HadoopTrees.writeTables(s3, root, local, conf);
    base = t.base();
    queries = t.queries();
    localBase = t.localBase();
    localQueries = t.localQueries();
    index = t.index();
    results = search(index, queries, root + "/out");
  }

  private static void set(Configuration conf, String key, String value) {
    String k = "fs.s3a.bucket." + BUCKET + "." + key;
    conf.set(k, value);
    SETTINGS.add(k);
  }

  @AfterAll
  static void stop() throws IOException {
    ShardStore.clearCaches();
    if (s3 != null) {
      s3.close(); // and out of FileSystem's cache
    }
    for (String k : SETTINGS) {
      spark.sparkContext().hadoopConfiguration().unset(k);
    }
    if (server != null) {
      server.shutdown();
    }
  }

  private static List<Row> search(String idx, String q, String out) {
    ShardStore.clearCaches();
    Cli.ok("search", "--index", idx, "--queries", q, "--output", out, "--k", "5", "--nprobe", "4");
    return spark.read().parquet(out).orderBy("id").collectAsList();
  }

  @Test
  void anIndexOnS3IsCommittedAndAnswersAsOnLocalFiles() throws IOException {
    Path p = new Path(index);
    assertTrue(s3.exists(new Path(p, "manifest.json")), "manifest.json on S3");
    assertTrue(s3.exists(new Path(p, "_SUCCESS")), "_SUCCESS on S3");
    assertFalse(s3.exists(new Path(p, IndexLayout.TEMPORARY)), "no _temporary left");
    assertEquals(List.of(), leftovers(index), "the staging directory was copied to the output and deleted");
    assertTrue(s3.exists(new Path(root + "/out", "_SUCCESS")), "the search output is on S3");
    assertEquals(50, results.size());

    String localIndex = new File(local, "idx").getPath();
    Cli.ok("index", "--input", localBase, "--output", localIndex, "--factory", "IVF8,PQ4", "--shards", "2",
        "--seed", "5");
    assertEquals(results, search(localIndex, localQueries, new File(local, "out").getPath()),
        "the same build on local files gives the same neighbours and distances");
    Map<String, byte[]> onS3 = files(p);
    Map<String, byte[]> onDisk = files(new Path(new File(localIndex).toURI()));
    assertEquals(onDisk.keySet(), onS3.keySet());
    for (String f : onDisk.keySet()) {
      if (!f.equals(IndexLayout.MANIFEST)) { // it records the input path
        assertArrayEquals(onDisk.get(f), onS3.get(f), f);
      }
    }
  }

  @Test
  void trainAndBuildWriteAndReadTheQuantizerOnS3() throws IOException {
    String quantizer = root + "/pq.qvq";
    Cli.ok("train", "--input", base, "--output", quantizer, "--factory", "IVF8,PQ4", "--seed", "5");
    String built = root + "/built";
    JsonNode b = Cli.ok("build", "--input", base, "--quantizer", quantizer, "--output", built, "--shards", "2");
    assertEquals(3000, b.get("ntotal").asLong());
    // the same seed trains the same quantizer as `index`, and the build writes the same shards
    Map<String, byte[]> fromIndex = files(new Path(index));
    assertArrayEquals(fromIndex.get(IndexLayout.QUANTIZER), files(new Path(root)).get("pq.qvq"));
    Map<String, byte[]> fromBuild = files(new Path(built));
    assertEquals(fromIndex.keySet(), fromBuild.keySet());
    for (String f : fromIndex.keySet()) {
      if (f.startsWith(IndexLayout.SHARDS + "/")) {
        assertArrayEquals(fromIndex.get(f), fromBuild.get(f), f);
      }
    }
  }

  @Test
  void aMissingShardOnS3IsNamed() throws IOException {
    String broken = root + "/missing";
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    assertTrue(FileUtil.copy(s3, new Path(index), s3, new Path(broken), false, conf));
    Path shard = new Path(broken, "shards/shard-00001.qvs");
    assertTrue(s3.delete(shard, false));
    ShardStore.clearCaches();
    Cli r = Cli.run("search", "--index", broken, "--queries", queries, "--output", root + "/missing-out", "--k", "5",
        "--nprobe", "8");
    assertEquals(1, r.status(), r.err());
    String[] lines = r.errLines();
    System.out.println("missing shard on S3: " + lines[lines.length - 1]);
    assertTrue(r.err().contains("shards/shard-00001.qvs is missing; manifest.json lists it"), r.err());
    assertTrue(r.err().contains(BUCKET + "/quiver/missing"), "the error names the index on S3:\n" + r.err());
  }

  @Test
  void overwriteOnS3ReplacesTheIndexByCopies() throws Exception {
    String target = root + "/replaced";
    Cli.ok("index", "--input", base, "--output", target, "--factory", "IVF8,PQ4", "--shards", "2", "--seed", "5");
    Map<String, byte[]> old = files(new Path(target));

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
    assertEquals(List.of(), leftovers(target), "the failed build deleted its staging objects");
    assertEquals(results, search(target, queries, root + "/replaced-after-failure"));

    // a build that succeeds: the old index stays readable while the new one is built; the swap
    // copies objects, so a reader may see the output missing for the time of the copies
    Path t = new Path(target);
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    List<String> seen = HadoopTrees.readDuring(s3, target, conf, () -> Cli.ok("index", "--input", base, "--output",
        target, "--factory", "IVF4,Flat", "--seed", "5", "--overwrite"));
    System.out.println("a reader of " + target + " during --overwrite on S3 saw: " + seen);
    assertTrue(seen.contains("IVF8,PQ4 while staging"), "the old index is readable while the new one is built: "
        + seen);
    assertEquals("IVF4,Flat", Manifest.read(t, conf).factory);
    assertEquals(List.of(), leftovers(target), "no .building- or .replaced- directory left");
    List<Row> replaced = search(target, queries, root + "/replaced-after");
    assertEquals(50, replaced.size());
    assertTrue(!replaced.equals(results), "the new index answers with its own quantizer and shards");
  }

  // ---- S3 helpers --------------------------------------------------------------------------

  private static List<String> leftovers(String output) throws IOException {
    return HadoopTrees.leftovers(s3, output);
  }

  private static Map<String, byte[]> files(Path dir) throws IOException {
    return HadoopTrees.files(dir, spark.sparkContext().hadoopConfiguration());
  }
}
