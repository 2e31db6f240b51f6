package io.quiver.spark.plan;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.NoSpaceLeft;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;

/**
 * The local file system under the scheme {@code full:} ({@code full:/abs/path} is the local file
 * {@code /abs/path}) on a disk that is full for the files whose path matches the regular
 * expression {@code quiver.test.full.paths}: they are created, and the first write to them
 * throws what Hadoop's local file system throws on ENOSPC (an {@code FSError}, "No space left on
 * device"). Enable it with {@code fs.full.impl=io.quiver.spark.plan.FullFileSystem}.
 */
public class FullFileSystem extends RawLocalFileSystem {
  public static final String SCHEME = "full";

  /** {@code full:} + the absolute path of a local file. */
  public static String path(String local) {
    return SCHEME + ":" + new java.io.File(local).getAbsolutePath();
  }

  @Override
  public URI getUri() {
    return URI.create(SCHEME + ":///");
  }

  @Override
  public String getScheme() {
    return SCHEME;
  }

  @Override
  protected OutputStream createOutputStream(Path f, boolean append) throws IOException {
    return full(f, super.createOutputStream(f, append));
  }

  @Override
  protected OutputStream createOutputStreamWithMode(Path f, boolean append, FsPermission permission)
      throws IOException {
    return full(f, super.createOutputStreamWithMode(f, append, permission));
  }

  /** The stream every file creation goes through: one that fails on write for the full paths. */
  private OutputStream full(Path f, OutputStream out) {
    String paths = getConf() == null ? null : getConf().get("quiver.test.full.paths");
    if (paths == null || !Pattern.compile(paths).matcher(f.toString()).find()) {
      return out;
    }
    return new OutputStream() {
      @Override
      public void write(int b) {
        throw NoSpaceLeft.error();
      }

      @Override
      public void write(byte[] b, int off, int len) {
        throw NoSpaceLeft.error();
      }

      @Override
      public void close() throws IOException {
        out.close();
      }
    };
  }
}
