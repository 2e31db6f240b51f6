package io.quiver.index.io;

/**
 * The header is valid but names a file type (fourcc at offset 8) this reader cannot build, such
 * as an index type added by a later release.
 */
public class UnsupportedIndexTypeException extends IndexFileException {
  private static final long serialVersionUID = 1L;

  public UnsupportedIndexTypeException(String file, String problem) {
    super(file, problem);
  }
}
