package io.quiver.index.io;

/**
 * The file does not start with the index magic 'QVR1': it is some other file (an fvecs file, a
 * shard, text), or its first bytes are damaged.
 */
public class NotAnIndexFileException extends IndexFileException {
  private static final long serialVersionUID = 1L;

  public NotAnIndexFileException(String file, String problem) {
    super(file, problem);
  }
}
