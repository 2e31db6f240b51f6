package io.quiver.index.io;

/**
 * The file was written by a newer format version than this reader understands. Upgrade Quiver
 * to read it.
 */
public class IndexFormatTooNewException extends IndexFileException {
  private static final long serialVersionUID = 1L;

  private final int version;

  public IndexFormatTooNewException(String file, int version) {
    this(file, "", version);
  }

  /** @param scope prefix of the problem: "" for a whole file, else where the nested index file lies in {@code file} */
  public IndexFormatTooNewException(String file, String scope, int version) {
    super(file, scope + "format version " + version + " is newer than this reader supports (versions "
        + IndexFormat.VERSION_MIN_SUPPORTED + ".." + IndexFormat.VERSION_CURRENT
        + "); read it with a newer Quiver release");
    this.version = version;
  }

  /** The version the file declares. */
  public int version() {
    return version;
  }
}
