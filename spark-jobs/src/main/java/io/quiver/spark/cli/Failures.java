package io.quiver.spark.cli;

import java.io.EOFException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashSet;
import java.util.Set;

/** Turns a job's exception into the one line the CLI prints. */
final class Failures {

  private Failures() {}

  /**
   * The first line of the innermost message in the cause chain (Spark wraps a task's exception
   * in "Job aborted due to stage failure: ..." and "Task failed while writing rows ..."), with
   * the exception's class name where the message alone would not say what went wrong.
   */
  static String oneLine(Throwable e) {
    Throwable pick = null;
    Throwable root = e;
    Set<Throwable> seen = new HashSet<>();
    for (Throwable t = e; t != null && seen.add(t); t = t.getCause()) {
      root = t;
      if (t.getMessage() != null && !t.getMessage().isBlank() && !(t instanceof UncheckedIOException)) {
        pick = t;
      }
    }
    if (pick == null) {
      return root.getClass().getName(); // no message anywhere: at least say what was thrown
    }
    String message = pick.getMessage();
    String first = message.strip().lines().findFirst().orElse("").strip();
    return selfExplaining(pick) ? first : pick.getClass().getSimpleName() + ": " + first;
  }

  /** Whether the failure is a mistake in what the job was asked ({@link io.quiver.spark.UsageException}). */
  static boolean isUsageError(Throwable e) {
    Set<Throwable> seen = new HashSet<>();
    for (Throwable t = e; t != null && seen.add(t); t = t.getCause()) {
      if (t instanceof io.quiver.spark.UsageException) {
        return true;
      }
    }
    return false;
  }

  private static boolean selfExplaining(Throwable t) {
    Class<?> c = t.getClass();
    return c == IllegalArgumentException.class || c == IllegalStateException.class || c == IOException.class
        || c == EOFException.class || c == UnsupportedOperationException.class
        || c.getName().startsWith("io.quiver.")
        || c.getName().equals("org.apache.spark.sql.AnalysisException")
        || (t instanceof FileNotFoundException && (t.getMessage().contains("not exist")
            || t.getMessage().startsWith("not a Quiver index")));
  }
}
