package io.quiver.index.io;

import java.io.IOException;

/**
 * An index file could not be read: the base of every format error {@link IndexIO} throws.
 * The message starts with the file (or stream) name and says what is wrong and what would be
 * valid; {@link #file()} gives the name alone.
 *
 * <p>Subclasses tell the causes apart: {@link NotAnIndexFileException} (wrong magic),
 * {@link IndexFormatTooNewException} and {@link IndexFormatTooOldException} (a version this
 * reader does not support), {@link UnsupportedIndexTypeException} (a file type it does not
 * know), and {@link CorruptIndexException} with its subclasses (a damaged file). Plain I/O
 * failures of the underlying stream are not wrapped: they surface as the stream's own
 * {@link IOException}.
 */
public class IndexFileException extends IOException {
  private static final long serialVersionUID = 1L;

  private final String file;

  /**
   * @param file the file or stream name, as given to the reader
   * @param problem what is wrong, and what would be valid
   */
  public IndexFileException(String file, String problem) {
    super(file + ": " + problem);
    this.file = file;
  }

  /** The name of the file or stream that failed. */
  public String file() {
    return file;
  }
}
