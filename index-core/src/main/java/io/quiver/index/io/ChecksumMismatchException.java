package io.quiver.index.io;

/**
 * Every structure of the file was readable, but the CRC32C stored in the footer differs from the
 * CRC32C of the bytes read: some byte changed after the file was written (disk, network or a
 * partial overwrite).
 */
public class ChecksumMismatchException extends CorruptIndexException {
  private static final long serialVersionUID = 1L;

  private final int stored;
  private final int computed;

  public ChecksumMismatchException(String file, int stored, int computed, long fileLength) {
    this(file, "", stored, computed, fileLength);
  }

  /**
   * @param scope prefix of the problem: "" for a whole file, else where the nested index file
   *     whose checksum failed lies in {@code file}
   * @param checkedBytes the number of bytes the checksum covers
   */
  public ChecksumMismatchException(String file, String scope, int stored, int computed, long checkedBytes) {
    super(file, scope + String.format("checksum mismatch: the footer stores CRC32C 0x%08x but the %d bytes before it "
        + "have CRC32C 0x%08x; the file is damaged, restore or rewrite it", stored, checkedBytes, computed));
    this.stored = stored;
    this.computed = computed;
  }

  /** The CRC32C stored in the footer. */
  public int stored() {
    return stored;
  }

  /** The CRC32C of the bytes actually read. */
  public int computed() {
    return computed;
  }
}
