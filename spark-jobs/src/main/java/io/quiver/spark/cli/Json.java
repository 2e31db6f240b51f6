package io.quiver.spark.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.util.Map;

/** The CLI's results: one JSON object per line on stdout (Jackson, as shipped with Spark). */
public final class Json {

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private Json() {}

  /** The object as one line of JSON. */
  public static String line(Map<String, ?> object) {
    try {
      return MAPPER.writeValueAsString(object);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("not representable as JSON: " + object, e);
    }
  }

  /** Prints the object as one line of JSON and flushes. */
  public static void print(PrintWriter out, Map<String, ?> object) {
    out.println(line(object));
    out.flush();
  }

  /** Seconds since {@code startNanos}, rounded to milliseconds. */
  public static double secondsSince(long startNanos) {
    return Math.round((System.nanoTime() - startNanos) / 1e6) / 1e3;
  }
}
