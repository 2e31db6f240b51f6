package io.quiver.index.tools;

import java.io.PrintStream;
import java.util.Arrays;

/**
 * The {@code scripts/quiver} entry point of index-core. Subcommands:
 * <ul>
 *   <li>{@code bench}: train, add and search one index in one process; one JSON line on stdout.</li>
 *   <li>{@code generate}: write the synthetic vectors bench generates to {@code .fvecs} files.</li>
 *   <li>{@code kmeans}: k-means on a vector file, with the objective per iteration.</li>
 * </ul>
 * Exit status: 0 on success, 1 on a failure, 2 on a command-line mistake.
 */
public final class QuiverTool {

  static final String USAGE = String.join("\n",
      "usage: quiver <command> [options]",
      "",
      "commands:",
      "  bench    train, add and search one index; prints one JSON object on stdout",
      "  generate write seeded synthetic vectors (the ones bench generates) to .fvecs files",
      "  kmeans   run k-means on a vector file; prints one JSON object on stdout",
      "",
      "'quiver <command> --help' describes a command's options.");

  private QuiverTool() {}

  public static void main(String[] argv) {
    // one line per log record, on stderr (java.util.logging's console handler)
    if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
      System.setProperty("java.util.logging.SimpleFormatter.format", "[quiver] %4$s: %5$s%6$s%n");
    }
    System.exit(run(argv, System.out, System.err));
  }

  /** Runs a command; returns the exit status. */
  static int run(String[] argv, PrintStream out, PrintStream err) {
    if (argv.length == 0 || argv[0].equals("--help") || argv[0].equals("help") || argv[0].equals("-h")) {
      (argv.length == 0 ? err : out).println(USAGE);
      return argv.length == 0 ? 2 : 0;
    }
    String[] rest = Arrays.copyOfRange(argv, 1, argv.length);
    try {
      switch (argv[0]) {
        case "bench":
          return Bench.run(rest, out, err);
        case "generate":
          return Generate.run(rest, out, err);
        case "kmeans":
          return KMeansCommand.run(rest, out, err);
        default:
          err.println("quiver: unknown command '" + argv[0] + "'\n\n" + USAGE);
          return 2;
      }
    } catch (Args.UsageException e) {
      err.println("quiver " + e.getMessage());
      return 2;
    } catch (Exception e) {
      err.println("quiver " + argv[0] + ": " + e.getMessage());
      if (Boolean.getBoolean("quiver.debug")) {
        e.printStackTrace(err);
      }
      return 1;
    }
  }
}
