package io.quiver.index.io;

/**
 * The file was written by a format version older than the oldest this reader supports. Read it
 * with an older Quiver release and write it again, or rebuild the index.
 */
public class IndexFormatTooOldException extends IndexFileException {
  private static final long serialVersionUID = 1L;

  private final int version;

  public IndexFormatTooOldException(String file, int version) {
    this(file, "", version);
  }

  /** @param scope prefix of the problem: "" for a whole file, else where the nested index file lies in {@code file} */
  public IndexFormatTooOldException(String file, String scope, int version) {
    super(file, scope + "format version " + version + " is older than this reader supports (versions "
        + IndexFormat.VERSION_MIN_SUPPORTED + ".." + IndexFormat.VERSION_CURRENT
        + "); convert it with an older Quiver release or rebuild the index");
    this.version = version;
  }

  /** The version the file declares. */
  public int version() {
    return version;
  }
}
