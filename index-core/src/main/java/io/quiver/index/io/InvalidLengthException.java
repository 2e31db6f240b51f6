package io.quiver.index.io;

/**
 * A size or count in the file is impossible: d, ntotal, nlist or a list size out of range, a
 * section byteLength that is negative, differs from what the header implies, or exceeds what is
 * left of the file, list sizes that do not sum to ntotal, or sizes that would not fit a Java
 * array. The reader checks these before allocating anything for them.
 */
public class InvalidLengthException extends CorruptIndexException {
  private static final long serialVersionUID = 1L;

  public InvalidLengthException(String file, String problem) {
    super(file, problem);
  }
}
