package io.quiver.index.io;

/**
 * The file claims to be a supported index file (right magic and version) but its content is
 * inconsistent: a missing, repeated or misplaced section, an unknown metric code, a field out of
 * range, trailing bytes. The subclasses name the common cases: {@link ChecksumMismatchException},
 * {@link TruncatedIndexException}, {@link InvalidLengthException}, {@link UnknownSectionException}.
 * Rewrite the index from its source, or restore the file from a copy.
 */
public class CorruptIndexException extends IndexFileException {
  private static final long serialVersionUID = 1L;

  public CorruptIndexException(String file, String problem) {
    super(file, problem);
  }
}
