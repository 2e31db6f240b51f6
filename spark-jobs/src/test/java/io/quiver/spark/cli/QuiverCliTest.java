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
