package io.quiver.spark.plan;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.CreateFlag;
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
 * regular expression {@code quiver.test.slow.paths} waits {@code quiver.test.slow.ms}
 * milliseconds (default 10000) first. Another attempt of the task (a speculative copy, a retry)
 * does not wait, nor does the driver. The bytes read and written are the local file system's; only
 * the timing changes. Enable it with {@code spark.hadoop.fs.slow.impl=io.quiver.spark.plan.SlowFileSystem};
 * executors need the test class path.
 *
 * <p>The wait ends early when Spark interrupts the task to kill it. {@link Stubborn} (scheme
 * {@code stubborn:}, settings {@code quiver.test.stubborn.*}) waits through interrupts, as a task
 * does that is busy computing or writing through a stream that ignores interrupts.
 */
public class SlowFileSystem extends RawLocalFileSystem {

  public static final String SCHEME = "slow";

  /** The scheme of this file system. */
  protected String scheme() {
    return SCHEME;
  }

  /** Whether a kill (an interrupt) ends the wait. */
  protected boolean interruptible() {
    return true;
  }

  /** {@code slow:} + the absolute path of a local file. */
  public static String path(String local) {
    return SCHEME + ":" + new java.io.File(local).getAbsolutePath();
  }

  /** The Spark settings that enable this file system and delay {@code paths} by {@code millis}. */
  public static java.util.Map<String, String> settings(String scheme, Class<? extends SlowFileSystem> impl,
      String paths, long millis) {
    return java.util.Map.of("spark.hadoop.fs." + scheme + ".impl", impl.getName(),
        "spark.hadoop.quiver.test." + scheme + ".paths", paths,
        "spark.hadoop.quiver.test." + scheme + ".ms", Long.toString(millis));
  }

  @Override
  public URI getUri() {
    return URI.create(scheme() + ":///");
  }

  @Override
  public String getScheme() {
    return scheme();
  }

  private void pause(Path f) throws IOException {
    TaskContext task = TaskContext.get();
    String paths = getConf() == null ? null : getConf().get("quiver.test." + scheme() + ".paths");
    if (task == null || task.attemptNumber() != 0 || paths == null || !Pattern.compile(paths).matcher(f.toString()).find()) {
      return;
    }
    long end = System.nanoTime() + getConf().getLong("quiver.test." + scheme() + ".ms", 10_000) * 1_000_000L;
    boolean interrupted = false;
    while (System.nanoTime() < end) {
      try {
        Thread.sleep(Math.max(1, (end - System.nanoTime()) / 1_000_000L));
      } catch (InterruptedException e) {
        if (interruptible()) {
          // Spark interrupts the task to kill it (another attempt succeeded)
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while delaying " + f);
        }
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** {@link SlowFileSystem} under the scheme {@code stubborn:}, whose wait ignores interrupts. */
  public static final class Stubborn extends SlowFileSystem {
    public static final String SCHEME = "stubborn";

    /** {@code stubborn:} + the absolute path of a local file. */
    public static String path(String local) {
      return SCHEME + ":" + new java.io.File(local).getAbsolutePath();
    }

    @Override
    protected String scheme() {
      return SCHEME;
    }

    @Override
    protected boolean interruptible() {
      return false;
    }
  }

  private interface Call<T> {
    T run() throws IOException;
  }

  /** Set while an overridden method runs: the one the caller called pauses, not those it calls. */
  private static final ThreadLocal<Boolean> INSIDE = ThreadLocal.withInitial(() -> false);

  private <T> T paused(Path f, Call<T> call) throws IOException {
    if (INSIDE.get()) {
      return call.run();
    }
    INSIDE.set(true);
    try {
      pause(f);
      return call.run();
    } finally {
      INSIDE.set(false);
    }
  }

  @Override
  public FSDataInputStream open(Path f, int bufferSize) throws IOException {
    return paused(f, () -> super.open(f, bufferSize));
  }

  /**
   * Fails when the parent directory is missing, as {@code file:} (Hadoop's ChecksumFileSystem) and
   * HDFS do; RawLocalFileSystem itself would create it.
   */
  private void parentMustExist(Path f) throws IOException {
    Path parent = f.getParent();
    if (parent != null && !exists(parent)) {
      throw new java.io.FileNotFoundException("Parent directory doesn't exist: " + parent);
    }
  }

  @Override
  public FSDataOutputStream createNonRecursive(Path f, FsPermission permission, java.util.EnumSet<CreateFlag> flags,
      int bufferSize, short replication, long blockSize, Progressable progress) throws IOException {
    return paused(f, () -> {
      parentMustExist(f);
      return super.createNonRecursive(f, permission, flags, bufferSize, replication, blockSize, progress);
    });
  }

  @Override
  public FSDataOutputStream createNonRecursive(Path f, FsPermission permission, boolean overwrite, int bufferSize,
      short replication, long blockSize, Progressable progress) throws IOException {
    return paused(f, () -> {
      parentMustExist(f);
      return super.createNonRecursive(f, permission, overwrite, bufferSize, replication, blockSize, progress);
    });
  }

  @Override
  public FSDataOutputStream create(Path f, boolean overwrite, int bufferSize, short replication, long blockSize,
      Progressable progress) throws IOException {
    return paused(f, () -> super.create(f, overwrite, bufferSize, replication, blockSize, progress));
  }

  @Override
  public FSDataOutputStream create(Path f, FsPermission permission, boolean overwrite, int bufferSize,
      short replication, long blockSize, Progressable progress) throws IOException {
    return paused(f, () -> super.create(f, permission, overwrite, bufferSize, replication, blockSize, progress));
  }
}
