package io.quiver.index.io;

/**
 * The file holds a required section (fourcc not starting with a lowercase letter) that this
 * format version does not define. Optional sections (lowercase first letter) are skipped instead;
 * see {@link IndexFormat}.
 */
public class UnknownSectionException extends CorruptIndexException {
  private static final long serialVersionUID = 1L;

  public UnknownSectionException(String file, String problem) {
    super(file, problem);
  }
}
