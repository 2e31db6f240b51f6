package io.quiver.spark.plan;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.util.Progressable;
import org.apache.spark.TaskContext;

/**
 * The local file system under the scheme {@code slow:} ({@code slow:/abs/path} is the local file
 * {@code /abs/path}), for tests that need a straggler: in a Spark task's first attempt
 * ({@code TaskContext.attemptNumber() == 0}), opening or creating a file whose path matches the
 * regular expression {@value #PATHS} waits {@value #MILLIS} milliseconds first. Another attempt of
 * the task (a speculative copy, a retry) does not wait, nor does the driver. The bytes read and
 * written are the local file system's; only the timing changes. Enable it with
 * {@code spark.hadoop.fs.slow.impl=io.quiver.spark.plan.SlowFileSystem}; executors need the test
 * class path.
 */
public class SlowFileSystem extends RawLocalFileSystem {

  public static final String SCHEME = "slow";
  /** Hadoop setting: the regular expression of paths (found anywhere in the path) to delay. */
  public static final String PATHS = "quiver.test.slow.paths";
  /** Hadoop setting: the delay in milliseconds (default 10000). */
  public static final String MILLIS = "quiver.test.slow.ms";
  private static final URI NAME = URI.create(SCHEME + ":///");

  /** {@code slow:} + the absolute path of a local file. */
  public static String path(String local) {
    return SCHEME + ":" + new java.io.File(local).getAbsolutePath();
  }

  @Override
  public URI getUri() {
    return NAME;
  }

  @Override
  public String getScheme() {
    return SCHEME;
  }

  private void pause(Path f) throws IOException {
    TaskContext task = TaskContext.get();
    String paths = getConf() == null ? null : getConf().get(PATHS);
    if (task == null || task.attemptNumber() != 0 || paths == null || !Pattern.compile(paths).matcher(f.toString()).find()) {
      return;
    }
    try {
      Thread.sleep(getConf().getLong(MILLIS, 10_000));
    } catch (InterruptedException e) {
      // Spark interrupts the task to kill it (another attempt succeeded)
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while delaying " + f);
    }
  }

  @Override
  public FSDataInputStream open(Path f, int bufferSize) throws IOException {
    pause(f);
    return super.open(f, bufferSize);
  }

  @Override
  public FSDataOutputStream create(Path f, boolean overwrite, int bufferSize, short replication, long blockSize,
      Progressable progress) throws IOException {
    pause(f);
    return super.create(f, overwrite, bufferSize, replication, blockSize, progress);
  }

  @Override
  public FSDataOutputStream create(Path f, FsPermission permission, boolean overwrite, int bufferSize,
      short replication, long blockSize, Progressable progress) throws IOException {
    pause(f);
    return super.create(f, permission, overwrite, bufferSize, replication, blockSize, progress);
  }
}
