package io.quiver.spark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Map;
import org.apache.spark.SparkException;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Parsing and exit codes; nothing here starts Spark. */
class QuiverCliTest {

  @Test
  void helpListsTheCommandsAndExitsZero() {
    Cli r = Cli.run("--help");
    assertEquals(0, r.status(), r.err());
    assertTrue(r.out().contains("generate") && r.out().contains("convert") && r.out().contains("--version"), r.out());
    for (String command : new String[] {"generate", "convert"}) {
      Cli c = Cli.run(command, "--help");
      assertEquals(0, c.status(), c.err());
      assertTrue(c.out().contains("--master") && c.out().contains("--conf") && c.out().contains("--output")
          && c.out().contains("--verbose"), c.out());
    }
    assertTrue(Cli.run("generate", "--help").out().contains("--first-row"));
    assertTrue(Cli.run("convert", "--help").out().contains("--limit"));
    Cli help = Cli.run("help", "convert");
    assertEquals(0, help.status());
    assertTrue(help.out().contains("--limit"), help.out());
  }

  @Test
  void versionNamesQuiverAndSpark() {
    Cli r = Cli.run("--version");
    assertEquals(0, r.status(), r.err());
    assertTrue(r.out().contains("quiver 0.") && r.out().contains("Spark 4."), r.out());
    // every command prints it, not only the top level
    for (String command : QuiverCli.commandLine(new java.io.PrintWriter(new java.io.StringWriter()),
        new java.io.PrintWriter(new java.io.StringWriter())).getSubcommands().keySet()) {
      if (command.equals("help")) {
        continue;
      }
      Cli c = Cli.run(command, "--version");
      assertEquals(0, c.status(), command + ": " + c.err());
      assertTrue(c.out().contains("quiver 0.") && c.out().contains("Spark 4."), command + " --version: " + c.out());
    }
  }

  @Test
  void theCommandListGivesWholeSentences() {
    String help = Cli.run("--help").out();
    String list = help.substring(help.indexOf("Commands:"), help.indexOf("Results are printed"));
    // each command's entry: its name, then the first sentence of its description, wrapped
    java.util.Map<String, String> entries = new java.util.LinkedHashMap<>();
    String name = null;
    for (String line : list.lines().skip(1).toList()) {
      if (line.isBlank()) {
        continue;
      }
      if (line.startsWith("  ") && !line.startsWith("    ")) {
        String[] parts = line.strip().split("\\s+", 2);
        name = parts[0];
        entries.put(name, parts.length > 1 ? parts[1] : "");
      } else {
        entries.merge(name, " " + line.strip(), String::concat);
      }
    }
    assertTrue(entries.keySet().containsAll(java.util.List.of("generate", "train", "index", "search", "join",
        "evaluate", "info")), entries.toString());
    entries.forEach((command, text) -> assertTrue(text.endsWith("."), command + ": '" + text + "' stops mid-sentence"));
    assertTrue(entries.get("train").contains("and write it as one file (any Hadoop path)."), entries.get("train"));
    assertTrue(entries.get("search").contains("or with --explode one row per (id, rank, neighbor, distance)."),
        entries.get("search"));
    assertEquals("Up to here.", QuiverCli.firstSentence("Up to here. Not this, e.g. that."));
    assertEquals("All of it, e.g. this.", QuiverCli.firstSentence("All of it, e.g. this."));
  }

  @Test
  void trainingOptionsAreCheckedBeforeSparkStarts() {
    // the input does not exist: a check after Spark started would report that instead
    Cli norm = Cli.run("index", "--input", "target/no-such-input.parquet", "--output", "target/no-such-out",
        "--factory", "L2norm,Flat");
    assertEquals(2, norm.status(), norm.err());
    assertTrue(norm.err().contains("--factory") && norm.err().contains("IVF<nlist>,PQ<m>")
        && norm.err().contains("--metric cosine") && !norm.err().contains("no-such-input"), norm.err());
    Cli hnsw = Cli.run("index", "--input", "target/no-such-input.parquet", "--output", "target/no-such-out",
        "--factory", "HNSW32");
    assertEquals(2, hnsw.status(), hnsw.err());
    assertTrue(hnsw.err().contains("HNSW32") && !hnsw.err().contains("no-such-input"), hnsw.err());
    Cli help = Cli.run("index", "--help");
    assertTrue(help.out().replaceAll("\\s+", " ").contains("IVF<nlist>,SQ8|SQ4|SQfp16, or the same without IVF<nlist>,"),
        "--help says which factory strings are accepted: " + help.out());
    Cli metric = Cli.run("train", "--input", "target/no-such-input.parquet", "--output", "target/x.qvq", "--factory",
        "IVF4,Flat", "--metric", "hamming");
    assertEquals(2, metric.status(), metric.err());
    assertTrue(metric.err().contains("--metric"), metric.err());
    Cli nlist = Cli.run("train", "--input", "target/no-such-input.parquet", "--output", "target/x.qvq", "--factory",
        "IVF99999999999,Flat");
    assertEquals(2, nlist.status(), nlist.err());
    assertTrue(nlist.err().contains("nlist"), nlist.err());
    Cli k = Cli.run("search", "--index", "target/none", "--queries", "target/none", "--output", "target/none",
        "--k", "-3");
    assertEquals(2, k.status(), k.err());
    assertTrue(k.err().contains("--k must be >= 1"), k.err());
    Cli info = Cli.run("info");
    assertEquals(2, info.status(), info.err());
  }

  @Test
  void noCommandOrAnUnknownOneIsAUsageError() {
    Cli none = Cli.run();
    assertEquals(2, none.status());
    assertTrue(none.err().contains("Missing command"), none.err());

    Cli unknown = Cli.run("genrate", "--rows", "1");
    assertEquals(2, unknown.status());
    assertTrue(unknown.err().contains("genrate") && unknown.err().contains("generate"), "suggests: " + unknown.err());
  }

  @Test
  void confMustBeKeyEqualsValue() {
    Cli r = Cli.run("generate", "--rows", "1", "--dim", "2", "--output", "x", "--conf", "spark.executor.memory");
    assertEquals(2, r.status());
    assertTrue(r.err().contains("--conf") && r.err().contains("'spark.executor.memory' has no '='"), r.err());

    Cli emptyKey = Cli.run("convert", "--input", "a.fvecs", "--output", "x", "--conf", "=1");
    assertEquals(2, emptyKey.status());
    assertTrue(emptyKey.err().contains("--conf") && emptyKey.err().contains("empty key"), emptyKey.err());
  }

  @Test
  void sparkOptionsAreParsed() {
    GenerateCommand g = new GenerateCommand();
    new CommandLine(g).parseArgs("--rows", "5", "--dim", "3", "--output", "o", "--master", "local[3]",
        "--conf", "spark.executor.extraJavaOptions=-Da=b -Dc=d", "--conf", "spark.x=1", "--conf", "spark.x=2",
        "--conf", "spark.empty=");
    assertEquals("local[3]", g.spark.master());
    assertEquals(Map.of("spark.executor.extraJavaOptions", "-Da=b -Dc=d", "spark.x", "2", "spark.empty", ""),
        g.spark.conf());

    GenerateCommand none = new GenerateCommand();
    new CommandLine(none).parseArgs("--rows", "5", "--dim", "3", "--output", "o");
    assertNull(none.spark.master());
    assertEquals(Map.of(), none.spark.conf());
    assertEquals("parquet", none.out.format());
  }

  @Test
  void failuresAreOneLineUnlessVerbose() {
    String[] args = {"convert", "--input", "target/no-such-dir/no-such-file.fvecs", "--output",
        "target/no-such-dir/out.parquet"};
    Cli quiet = Cli.run(args);
    assertEquals(1, quiet.status(), quiet.err());
    assertEquals(1, quiet.errLines().length, quiet.err());
    assertTrue(quiet.err().startsWith("quiver convert: ") && quiet.err().contains("no-such-file.fvecs"), quiet.err());

    String[] verboseArgs = java.util.Arrays.copyOf(args, args.length + 1);
    verboseArgs[args.length] = "--verbose";
    Cli verbose = Cli.run(verboseArgs);
    assertEquals(1, verbose.status());
    assertTrue(verbose.errLines().length > 3 && verbose.err().contains("\tat "), verbose.err());
  }

  @Test
  void theOneLineIsTheInnermostMessage() {
    IOException root = new IOException("base.fvecs: record 7 has dimension 3, expected 4");
    SparkException wrapped = new SparkException("Job aborted due to stage failure: Task 0 in stage 1.0 failed:\n"
        + root, new java.io.UncheckedIOException(root.getMessage(), root));
    assertEquals("base.fvecs: record 7 has dimension 3, expected 4", Failures.oneLine(wrapped));
    assertEquals("NullPointerException", Failures.oneLine(new RuntimeException(null, new NullPointerException()))
        .replace("java.lang.", ""));
    assertEquals("ArithmeticException: / by zero", Failures.oneLine(new ArithmeticException("/ by zero")));
  }
}
