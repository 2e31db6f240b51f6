package io.quiver.spark.shard;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Paths;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * An index directory holds regular files only, and a reader opens nothing else: not a FIFO or a
 * device (reading one blocks forever or never ends), not a symbolic link (which could serve a file
 * from outside the directory, and put its bytes in error messages). File systems without such
 * files (HDFS without symlinks, S3) need no check beyond their file status; on the local file
 * system every file and every directory between it and the index directory is checked without
 * following links.
 */
final class RegularFiles {
  private RegularFiles() {}

  /**
   * Fails unless {@code file}, under {@code index}, is a regular file reached without a symbolic
   * link below {@code index} (the index directory itself may be reached through one).
   *
   * @param name the file as messages name it (relative to the index, or the path)
   */
  static void check(FileSystem fs, Path index, Path file, String name) throws IOException {
    if (!"file".equals(fs.getScheme())) {
      return;
    }
    java.nio.file.Path root = Paths.get(fs.makeQualified(index).toUri()).normalize();
    java.nio.file.Path p = Paths.get(fs.makeQualified(file).toUri()).normalize();
    if (!p.startsWith(root)) {
      throw new IOException(file + " (" + name + ") is outside the index directory " + index);
    }
    for (java.nio.file.Path q = p; q != null && !q.equals(root); q = q.getParent()) {
      if (Files.isSymbolicLink(q)) {
        throw new IOException(file + " is reached through the symbolic link " + q + "; an index directory holds "
            + "regular files and directories only (copy the file in instead of linking it)");
      }
    }
    if (Files.exists(p, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
      throw new IOException(file + " is not a regular file (a " + kind(p) + "); an index directory holds regular "
          + "files only");
    }
  }

  private static String kind(java.nio.file.Path p) {
    return Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? "directory" : "FIFO, socket or device";
  }
}
