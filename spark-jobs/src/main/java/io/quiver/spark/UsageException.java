package io.quiver.spark;

/**
 * A mistake in what a job was asked, found once the job looked at its inputs (a {@code --k}
 * deeper than the ground-truth file, item columns the item table lacks): the command line reports
 * it like a mistake on the command line itself, with exit status 2 and a pointer to
 * {@code --help}, and prints no stack trace.
 */
public final class UsageException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public UsageException(String message) {
    super(message);
  }
}
