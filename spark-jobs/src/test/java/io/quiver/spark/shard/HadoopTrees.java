package io.quiver.spark.shard;

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
}
