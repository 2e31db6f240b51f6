package io.quiver.spark.shard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quiver.spark.cli.Cli;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

/** Reading directory trees on any Hadoop file system, for the HDFS and S3 tests. */
final class HadoopTrees {
  private HadoopTrees() {}

  /** Staging ({@code .building-}) and replaced ({@code .replaced-}) directories next to {@code output}. */
  static List<String> leftovers(FileSystem fs, String output) throws IOException {
    Path p = new Path(output);
    List<String> names = new ArrayList<>();
    for (FileStatus s : fs.listStatus(p.getParent())) {
      String n = s.getPath().getName();
      if (n.startsWith(p.getName() + StagedOutput.BUILDING) || n.startsWith(p.getName() + StagedOutput.REPLACED)) {
        names.add(n);
      }
    }
    return names;
  }

  /** Every file under {@code dir} (relative name to bytes), without Hadoop's local .crc files. */
  static Map<String, byte[]> files(Path dir, Configuration conf) throws IOException {
    FileSystem fs = dir.getFileSystem(conf);
    Path q = fs.makeQualified(dir);
    Map<String, byte[]> out = new TreeMap<>();
    RemoteIterator<LocatedFileStatus> it = fs.listFiles(q, true);
    while (it.hasNext()) {
      Path f = it.next().getPath();
      if (!f.getName().endsWith(".crc")) {
        String rel = URI.create(q.toUri().getPath() + "/").relativize(URI.create(f.toUri().getPath())).toString();
        try (InputStream in = fs.open(f)) {
          out.put(rel, in.readAllBytes());
        }
      }
    }
    return out;
  }

  /**
   * Runs {@code build} while a reader thread opens {@code target}'s manifest every 5 ms, and
   * returns what the reader saw, each change once: the index's factory string (with
   * {@code " while staging"} when a staging directory is beside it), or {@code "error: "} and the
   * message.
   */
  static List<String> readDuring(FileSystem fs, String target, Configuration conf, Runnable build)
      throws InterruptedException {
    Path t = new Path(target);
    AtomicBoolean building = new AtomicBoolean(true);
    List<String> seen = new ArrayList<>();
    Thread reader = new Thread(() -> {
      while (building.get()) {
        String state;
        try {
          boolean staging = !leftovers(fs, target).isEmpty();
          state = Manifest.read(t, conf).factory + (staging ? " while staging" : "");
        } catch (IOException e) {
          state = "error: " + e.getMessage();
        }
        if (seen.isEmpty() || !seen.get(seen.size() - 1).equals(state)) {
          seen.add(state);
        }
        try {
          Thread.sleep(5);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "index-reader");
    reader.start();
    try {
      build.run();
    } finally {
      building.set(false);
      reader.join();
    }
    return seen;
  }

  /** The tables and the index every HDFS and S3 test starts from. */
  record Tables(String base, String queries, String localBase, String localQueries, String index) {}

  /**
   * Writes 3000 base and 50 query vectors (16-d, seeded) under {@code root} with {@code quiver
   * generate}, copies them to {@code local}, and indexes the base there ({@code IVF8,PQ4}, two
   * shards, seed 5).
   */
  static Tables writeTables(FileSystem remote, String root, File local, Configuration conf) throws IOException {
    String base = root + "/base.parquet";
    String queries = root + "/q.parquet";
    String localBase = new File(local, "base.parquet").getPath();
    String localQueries = new File(local, "q.parquet").getPath();
    Cli.ok("generate", "--rows", "3000", "--dim", "16", "--clusters", "5", "--seed", "11", "--output", base);
    Cli.ok("generate", "--rows", "50", "--dim", "16", "--clusters", "5", "--seed", "12", "--output", queries);
    FileSystem localFs = FileSystem.getLocal(conf);
    FileUtil.copy(remote, new Path(base), localFs, new Path(localBase), false, conf);
    FileUtil.copy(remote, new Path(queries), localFs, new Path(localQueries), false, conf);
    assertTrue(remote.exists(new Path(base, "_SUCCESS")));
    String index = root + "/idx";
    JsonNode b = Cli.ok("index", "--input", base, "--output", index, "--factory", "IVF8,PQ4", "--shards", "2",
        "--seed", "5");
    assertEquals(3000, b.get("ntotal").asLong());
    return new Tables(base, queries, localBase, localQueries, index);
  }
}
