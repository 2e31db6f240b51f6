package io.quiver.spark.shard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.spark.SparkTestSessions;
import io.quiver.spark.cli.Cli;
import java.io.File;
import java.io.IOException;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.DFSTestUtil;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.Test;

/**
 * The jobs on a real HDFS: a MiniDFSCluster (one name node, one data node, in this JVM) holds the
 * input table, the index and the search output; {@link RemoteFileSystemContract} runs there. On
 * top: a replica damaged on the data node is caught, and {@code --overwrite} swaps the index with
 * HDFS renames, so a reader never sees the old index again once the new one is in place.
 */
class HdfsTest extends RemoteFileSystemContract {
  private MiniDFSCluster cluster;

  @Override
  protected String name() {
    return "HDFS";
  }

  @Override
  protected void startFileSystem() throws Exception {
    File dir = new File(SparkTestSessions.targetDir(), "hdfs-" + System.nanoTime());
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, new File(dir, "dfs").getAbsolutePath());
    conf.setInt("dfs.replication", 1);
    cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
    cluster.waitActive();
    fs = cluster.getFileSystem();
    root = fs.getUri() + "/quiver";
    // Spark's client: one replica per block, and short waits before re-reading a block that
    // failed its checksum on every replica (HDFS's default is 3 s, growing per retry)
    Configuration client = conf();
    client.setInt("dfs.replication", 1);
    client.setInt("dfs.client.retry.window.base", 10);
    local = new File(dir, "local");
  }

  @Override
  protected void stopFileSystem() throws IOException {
    if (cluster != null) {
      // drop the cached client of this cluster's URI (FileSystem.get keeps one per scheme and authority)
      FileSystem.get(fs.getUri(), conf()).close();
      cluster.shutdown(true);
      conf().unset("dfs.replication");
      conf().unset("dfs.client.retry.window.base");
    }
  }

  /** Renames are atomic here: the old index, committed, until the swap; then no directory or the new index. */
  @Override
  protected void assertSwapSeen(List<String> seen) {
    super.assertSwapSeen(seen);
    int swapped = 0;
    while (swapped < seen.size() && seen.get(swapped).startsWith("IVF8,PQ4")) {
      swapped++;
    }
    for (String s : seen.subList(swapped, seen.size())) {
      assertTrue(s.startsWith("IVF4,Flat") || s.endsWith("the directory does not exist"), s + " in " + seen);
    }
  }

  @Test
  void aReplicaDamagedOnTheDataNodeIsCaughtByHdfs() throws IOException {
    String broken = root + "/bad-replica";
    copyIndex(broken);
    // the block file on the data node's disk changes under HDFS: its own checksums catch it on read
    Path shard = new Path(broken, "shards/shard-00001.qvs");
    assertEquals(1, cluster.corruptBlockOnDataNodes(DFSTestUtil.getFirstBlock(fs, shard)));
    Cli r = failedSearch(broken, "damaged replica");
    assertTrue(r.err().contains(shard.toUri().getPath()), "the error names the file:\n" + r.err());
  }
}
