package io.quiver.spark.cli;

import io.quiver.spark.SparkSessions;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * The {@code quiver} command line of the Spark jobs, the main class of {@code quiver-spark.jar}:
 * {@code spark-submit --class io.quiver.spark.cli.QuiverCli quiver-spark.jar <command> ...} (or
 * {@code scripts/quiver <command> ...}).
 *
 * <p>Conventions of every command: results go to stdout as one JSON object per line, logs to
 * stderr. Exit status 0 on success, 2 on a command-line mistake (with the reason and a pointer to
 * {@code --help}), 1 when the job fails, with one line on stderr saying why; the stack trace too
 * with {@code --verbose} or when the environment variable {@code QUIVER_DEBUG} is set.
 *
 * <p>A command is a picocli {@code Callable<Integer>} added to the {@code subcommands} of the
 * {@code @Command} annotation below, with {@code mixinStandardHelpOptions = true} and
 * {@code @Mixin SparkOptions}; it prints its result with {@link Json#print} and throws on failure.
 */
@Command(name = "quiver",
    mixinStandardHelpOptions = true,
    versionProvider = QuiverCli.Version.class,
    description = "FAISS-like vector indexing and batch k-nearest-neighbour search on Apache Spark.",
    synopsisSubcommandLabel = "COMMAND",
    subcommands = {
        GenerateCommand.class,
        ConvertCommand.class,
        IndexCommands.Train.class,
        IndexCommands.Build.class,
        IndexCommands.Index.class,
        SearchCommands.Search.class,
        SearchCommands.Join.class,
        SearchCommands.Evaluate.class,
        SearchCommands.Info.class,
        FaissCommands.Export.class,
        FaissCommands.Import.class,
        DemoCommand.class,
        JoinBenchCommand.class,
        CommandLine.HelpCommand.class,
    },
    footer = {
        "",
        "Results are printed to stdout as JSON, logs to stderr. Exit status: 0 ok, 1 the job failed, 2 a usage error.",
        "Run 'quiver COMMAND --help' for a command's options."})
public final class QuiverCli implements Callable<Integer> {

  /** The environment variable that turns on stack traces, like {@code --verbose}. */
  public static final String DEBUG_ENV = "QUIVER_DEBUG";

  @Spec
  CommandSpec spec;

  @Option(names = "--verbose", scope = ScopeType.INHERIT,
      description = "On failure, print the full stack trace (also: environment variable " + DEBUG_ENV + "=1).")
  boolean verbose;

  @Override
  public Integer call() {
    throw new ParameterException(spec.commandLine(), "Missing command: give one of "
        + String.join(", ", spec.subcommands().keySet()));
  }

  /** The command line, writing to {@code out} and {@code err}. */
  public static CommandLine commandLine(PrintWriter out, PrintWriter err) {
    CommandLine cl = new CommandLine(new QuiverCli());
    cl.setOut(out);
    cl.setErr(err);
    cl.setCaseInsensitiveEnumValuesAllowed(true);
    cl.setParameterExceptionHandler(QuiverCli::usageError);
    cl.setExecutionExceptionHandler(QuiverCli::jobFailure);
    everyCommand(cl);
    cl.getHelpSectionMap().put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_COMMAND_LIST, QuiverCli::commandList);
    return cl;
  }

  /** Every command prints the version with {@code --version} (picocli gives subcommands none of their own). */
  private static void everyCommand(CommandLine cl) {
    for (CommandLine sub : cl.getSubcommands().values()) {
      CommandSpec s = sub.getCommandSpec();
      if (s.versionProvider() == null && s.version().length == 0) {
        s.versionProvider(new Version());
      }
      everyCommand(sub);
    }
  }

  /**
   * The list of commands in {@code quiver --help}: each with the first sentence of its
   * description, whole and wrapped (picocli's own list shows the first line of the description
   * only, which ends mid-sentence).
   */
  static String commandList(CommandLine.Help help) {
    java.util.Map<String, CommandLine.Help> subs = help.subcommands();
    if (subs.isEmpty()) {
      return "";
    }
    int nameWidth = 2;
    for (String name : subs.keySet()) {
      nameWidth = Math.max(nameWidth, name.length() + 4);
    }
    int width = help.commandSpec().usageMessage().width();
    CommandLine.Help.TextTable table = CommandLine.Help.TextTable.forColumns(help.colorScheme(),
        new CommandLine.Help.Column(nameWidth, 2, CommandLine.Help.Column.Overflow.SPAN),
        new CommandLine.Help.Column(Math.max(20, width - nameWidth), 0, CommandLine.Help.Column.Overflow.WRAP));
    for (java.util.Map.Entry<String, CommandLine.Help> e : subs.entrySet()) {
      CommandSpec spec = e.getValue().commandSpec();
      String[] text = spec.usageMessage().header().length > 0 ? spec.usageMessage().header()
          : spec.usageMessage().description();
      table.addRowValues(help.colorScheme().commandText(e.getKey()),
          help.colorScheme().text(firstSentence(String.join(" ", text))));
    }
    return table.toString();
  }

  /** Up to the first full stop that ends a sentence (not one of "e.g.", "i.e."), or all of it. */
  static String firstSentence(String text) {
    String t = text.strip().replaceAll("\\s+", " ");
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?<!e\\.g|i\\.e|etc)\\.(\\s|$)").matcher(t);
    return m.find() ? t.substring(0, m.start() + 1) : t;
  }

  /**
   * Runs a command in this JVM and returns its exit status; the Spark session it used stays open
   * (the caller, such as a test, may reuse it). Output goes to {@code out} and {@code err}.
   */
  public static int execute(String[] args, PrintWriter out, PrintWriter err) {
    try {
      return commandLine(out, err).execute(args);
    } catch (org.apache.hadoop.fs.FSError e) {
      // an I/O error of Hadoop's local file system (a full disk: ENOSPC) is an Error, which the
      // command line's handler of exceptions never sees: report it like any failed job
      String command = java.util.Arrays.stream(args).filter(a -> !a.startsWith("-")).findFirst().orElse("");
      err.println("quiver " + command + ": " + Failures.oneLine(e));
      if (java.util.Arrays.asList(args).contains("--verbose") || debugEnv()) {
        e.printStackTrace(err);
      }
      return 1;
    } finally {
      out.flush();
      err.flush();
    }
  }

  /**
   * Entry point of spark-submit and of {@code java -cp}: runs the command and stops Spark. On
   * success it returns normally (in YARN cluster mode, {@code System.exit(0)} from the user class
   * marks the application failed); otherwise it exits with the status.
   */
  public static void main(String[] args) {
    PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
    PrintWriter err = new PrintWriter(System.err, true, StandardCharsets.UTF_8);
    int status = execute(args, out, err);
    if (SparkOptions.sessionRequested()) {
      keepUiOpen(err);
      try {
        SparkSessions.stopRunning();
      } catch (RuntimeException e) {
        // a failure while stopping must not turn a finished job into a failed one
        err.println("quiver: stopping Spark failed: " + e);
      }
    }
    if (status != 0) {
      System.exit(status);
    }
  }

  /** The system property ({@code scripts/quiver --ui} sets it) that keeps the Spark UI up after the command. */
  public static final String KEEP_UI = "quiver.ui.keep";

  /**
   * With {@value #KEEP_UI} set and a terminal, waits for Enter before Spark (and its UI) stops,
   * so that the finished jobs can be looked at.
   */
  private static void keepUiOpen(PrintWriter err) {
    org.apache.spark.sql.SparkSession s = SparkSessions.running();
    if (s == null || !Boolean.getBoolean(KEEP_UI) || System.console() == null || s.sparkContext().uiWebUrl().isEmpty()) {
      return;
    }
    err.println("quiver: the Spark UI stays at " + s.sparkContext().uiWebUrl().get() + "; press Enter to stop Spark");
    err.flush();
    try {
      System.console().reader().read();
    } catch (IOException e) {
      // stop now
    }
  }

  private static int usageError(ParameterException e, String[] args) {
    CommandLine cl = e.getCommandLine();
    PrintWriter err = cl.getErr();
    err.println(cl.getColorScheme().errorText(e.getMessage()));
    if (!UnmatchedArgumentException.printSuggestions(e, err)) {
      String name = cl.getCommandSpec().qualifiedName();
      err.println("Run '" + name + " --help' for the options.");
    }
    return cl.getCommandSpec().exitCodeOnInvalidInput();
  }

  /**
   * A failed job: one line naming what failed (the stack trace too with {@code --verbose});
   * exit status 1, or 2 when the job found a mistake in what it was asked
   * ({@link io.quiver.spark.UsageException}).
   */
  private static int jobFailure(Exception e, CommandLine cl, ParseResult parseResult) {
    PrintWriter err = cl.getErr();
    err.println(cl.getCommandSpec().qualifiedName() + ": " + Failures.oneLine(e));
    boolean usage = Failures.isUsageError(e);
    if (usage) {
      err.println("Run '" + cl.getCommandSpec().qualifiedName() + " --help' for the options.");
    }
    if (verbose(parseResult) || debugEnv()) {
      e.printStackTrace(err);
    }
    err.flush();
    return usage ? cl.getCommandSpec().exitCodeOnInvalidInput() : 1;
  }

  private static boolean verbose(ParseResult parseResult) {
    for (ParseResult pr = parseResult; pr != null; pr = pr.subcommand()) {
      if (pr.hasMatchedOption("--verbose")) {
        return true;
      }
    }
    return false;
  }

  private static boolean debugEnv() {
    String v = System.getenv(DEBUG_ENV);
    return v != null && !v.isEmpty() && !v.equals("0") && !v.equalsIgnoreCase("false");
  }

  /** {@code quiver --version}: Quiver's version, and the Spark it was built with and runs on. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      Properties built = properties("/io/quiver/spark/version.properties");
      Properties running = properties("/spark-version-info.properties");
      return new String[] {
          "quiver " + built.getProperty("quiver.version", "unknown"),
          "built with Spark " + built.getProperty("spark.version", "unknown") + " (Scala "
              + built.getProperty("scala.binary.version", "?") + "), running on Spark "
              + running.getProperty("version", "unknown") + ", Java " + System.getProperty("java.version"),
      };
    }

    private static Properties properties(String resource) {
      Properties p = new Properties();
      try (InputStream in = QuiverCli.class.getResourceAsStream(resource)) {
        if (in != null) {
          p.load(in);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return p;
    }
  }
}
