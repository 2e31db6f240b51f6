package io.quiver.spark.shard;

import java.io.IOException;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a build writes: a staging directory next to the output,
 * {@code <output>.building-<unique>}, committed there ({@code manifest.json}, then
 * {@code _SUCCESS}) and only then renamed to the output. With {@code --overwrite} the old index
 * stays in place, readable, until the new one is committed: the old directory is renamed to
 * {@code <output>.replaced-<unique>}, the new one renamed into place, and the old one deleted.
 *
 * <p>A build that fails deletes its staging directory; a build that is killed leaves it behind,
 * without {@code _SUCCESS} (readers refuse it), for the user to delete. A build killed between
 * the two renames of the swap leaves no output; the next reader or build completes (or rolls
 * back) the swap ({@link #recover}). Renames are atomic on
 * HDFS and on local file systems; on S3 (s3a) a rename copies every file, so there the swap is
 * not atomic and a reader may see the output missing or partly copied for the time of the copy.
 * Between the two renames the output does not exist for a moment on any file system: a reader
 * that opens it then is told the index does not exist.
 */
public final class StagedOutput {
  private static final Logger LOG = LoggerFactory.getLogger(StagedOutput.class);

  /** Marks a build's staging directory: {@code <output>.building-<unique>}. */
  public static final String BUILDING = ".building-";
  /** Marks an index being replaced by {@code --overwrite}: {@code <output>.replaced-<unique>}. */
  public static final String REPLACED = ".replaced-";

  private final FileSystem fs;
  private final Path target;
  private final Path staging;
  private final String unique;
  private final boolean overwrite;

  private StagedOutput(FileSystem fs, Path target, Path staging, String unique, boolean overwrite) {
    this.fs = fs;
    this.target = target;
    this.staging = staging;
    this.unique = unique;
    this.overwrite = overwrite;
  }

  /**
   * Checks the output and creates the staging directory. An existing output is refused unless
   * {@code overwrite} (a committed index is never modified); it is not touched here.
   */
  public static StagedOutput begin(Configuration conf, String output, boolean overwrite) throws IOException {
    Path p = new Path(output);
    FileSystem fs = p.getFileSystem(conf);
    Path q = fs.makeQualified(p);
    if (q.getParent() == null) {
      throw new IllegalArgumentException("the output " + q + " is a file system root; an index is written to a "
          + "directory that a build can create and rename");
    }
    recover(fs, q, false);
    if (fs.exists(q) && !overwrite) {
      boolean committed = fs.exists(IndexLayout.success(q));
      throw new IllegalArgumentException("the output " + q + " already exists" + (committed ? " and holds an index"
          : "") + "; a build writes a new directory: choose another --output, or pass --overwrite to replace it once "
          + "the new index is committed");
    }
    String unique = System.currentTimeMillis() + "-" + UUID.randomUUID().toString().substring(0, 8);
    Path staging = new Path(q.getParent(), q.getName() + BUILDING + unique);
    if (!fs.mkdirs(staging)) {
      throw new IOException("cannot create the staging directory " + staging);
    }
    return new StagedOutput(fs, q, staging, unique, overwrite);
  }

  /** The directory the build writes and commits: {@code <output>.building-<unique>}. */
  public Path dir() {
    return staging;
  }

  /** The output directory the index ends in. */
  public Path target() {
    return target;
  }

  /**
   * Moves the committed staging directory to the output, replacing an old index there
   * ({@code --overwrite}): the old one is renamed aside, the new one into place, then the old one
   * deleted. If the second rename fails the old index is renamed back.
   */
  public void publish() throws IOException {
    if (!fs.exists(IndexLayout.success(staging))) {
      throw new IllegalStateException(staging + " has no " + IndexLayout.SUCCESS + ": only a committed index is "
          + "moved to " + target);
    }
    Path old = null;
    if (fs.exists(target)) {
      if (!overwrite) {
        // the caller abandons the staging directory: say so
        throw new IOException(target + " appeared while this index was built (another build committed it there); "
            + "this build's index, staged in " + staging + ", is deleted: pass --overwrite to replace the other one");
      }
      old = new Path(target.getParent(), target.getName() + REPLACED + unique);
      if (!fs.rename(target, old)) {
        throw new IOException("cannot rename the old index " + target + " to " + old + " (--overwrite); it is "
            + "untouched, and this build's index, staged in " + staging + ", is deleted");
      }
    }
    if (!fs.rename(staging, target)) {
      if (!fs.exists(staging) && fs.exists(IndexLayout.success(target))) {
        // a reader completed this swap (recover) between the two renames
        LOG.info("{} was moved to {} by a reader that found the swap half done", staging, target);
      } else {
        String back = old != null && fs.rename(old, target) ? "; the old index is back in place"
            : old != null ? "; the old index is in " + old : "";
        throw new IOException("cannot rename " + staging + " to " + target + back);
      }
    }
    if (old != null && !fs.delete(old, true)) {
      LOG.warn("replaced {}, but could not delete the old index, now in {}", target, old);
    }
    LOG.info("moved the committed index {} to {}{}", staging, target, old != null ? " (replacing the old one)" : "");
  }

  /**
   * Repairs an {@code --overwrite} swap that stopped between its two renames (the build was
   * killed), which leaves no directory at {@code target}: the old index in
   * {@code <target>.replaced-U} and the new, committed one in {@code <target>.building-U}. The
   * swap is completed (the new index renamed into place, the old one deleted), or, when the new
   * one is not committed or gone, rolled back (the old one renamed back). A build whose swap a
   * reader completes finds its index in place ({@link #publish}). On S3 (s3a) a rename copies
   * every file, so a swap in progress lasts long enough for readers to see it: there only writers
   * repair ({@code byReader} false).
   *
   * @return whether {@code target} was restored
   */
  public static boolean recover(FileSystem fs, Path target, boolean byReader) throws IOException {
    if ((byReader && "s3a".equals(fs.getScheme())) || fs.exists(target) || target.getParent() == null
        || !fs.exists(target.getParent())) {
      return false;
    }
    String prefix = target.getName() + REPLACED;
    for (FileStatus st : fs.listStatus(target.getParent())) {
      String name = st.getPath().getName();
      if (!name.startsWith(prefix) || !st.isDirectory()) {
        continue;
      }
      Path old = st.getPath();
      Path staged = new Path(target.getParent(), target.getName() + BUILDING + name.substring(prefix.length()));
      if (fs.exists(IndexLayout.success(staged)) && fs.rename(staged, target)) {
        LOG.warn("{} was missing: an --overwrite swap had stopped between its renames; completed it (moved the new "
            + "index {} into place, deleting the old one {})", target, staged, old);
        fs.delete(old, true);
        return true;
      }
      if (!fs.exists(target) && fs.rename(old, target)) {
        LOG.warn("{} was missing: an --overwrite swap had stopped between its renames and its new index {} is not "
            + "committed; rolled back (moved the old index {} back)", target, staged, old);
        return true;
      }
    }
    return false;
  }

  /** Deletes the staging directory of a build that did not commit (best effort; the error that stopped it wins). */
  public void abandon() {
    // a failed job's other tasks are killed asynchronously: one still writing keeps files here
    // for a moment after the failure, so the directory is deleted until it stays deleted
    for (int attempt = 1; attempt <= ABANDON_ATTEMPTS; attempt++) {
      try {
        fs.delete(staging, true);
        if (!fs.exists(staging)) {
          return;
        }
        LOG.info("the staging directory {} of a failed build is still there (a task of the failed job is still "
            + "writing); deleting it again", staging);
        Thread.sleep(100L * attempt);
      } catch (IOException e) {
        LOG.warn("could not delete the staging directory {} of a failed build: {}", staging, e.getMessage());
        return;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    LOG.warn("could not delete the staging directory {} of a failed build; delete it by hand", staging);
  }

  /** Deletions of a failed build's staging directory before giving up (about 4.5 s in all). */
  private static final int ABANDON_ATTEMPTS = 10;
}
