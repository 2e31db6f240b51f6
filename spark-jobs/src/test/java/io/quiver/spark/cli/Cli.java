package io.quiver.spark.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;

/** Runs the CLI in the test JVM (on the running test session) and keeps what it printed. */
public record Cli(int status, String out, String err) {

  public static Cli run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status = QuiverCli.execute(args, new PrintWriter(out), new PrintWriter(err));
    return new Cli(status, out.toString(), err.toString());
  }

  /** Runs a command that must succeed, and returns its JSON result. */
  public static JsonNode ok(String... args) {
    Cli r = run(args);
    if (r.status != 0) {
      throw new AssertionError("quiver " + String.join(" ", args) + " exited " + r.status + "\nstderr:\n" + r.err
          + "\nstdout:\n" + r.out);
    }
    return r.json();
  }

  /** The last stdout line as JSON. */
  public JsonNode json() {
    String[] lines = out.strip().split("\n");
    try {
      return new ObjectMapper().readTree(lines[lines.length - 1]);
    } catch (Exception e) {
      throw new AssertionError("stdout is not JSON: " + out, e);
    }
  }

  /** stderr's non-empty lines. */
  public String[] errLines() {
    return Arrays.stream(err.split("\n")).filter(l -> !l.isBlank()).toArray(String[]::new);
  }
}
