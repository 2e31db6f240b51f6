package io.quiver.index.io;

/**
 * The file ends before the index does: the stream reached end-of-file in the middle of a field,
 * or (when the file size is known) the header and sections read so far need more bytes than the
 * file has. Usually an interrupted copy or write.
 */
public class TruncatedIndexException extends CorruptIndexException {
  private static final long serialVersionUID = 1L;

  public TruncatedIndexException(String file, String problem) {
    super(file, problem);
  }
}
