package io.quiver.spark.plan;

import java.util.Locale;
import org.apache.spark.SparkContext;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One phase of a Quiver job, as a person follows it: its start and end are logged (with counts
 * and a rate when it has them), and the Spark jobs it runs are described after it
 * ({@code setJobDescription}, in a job group named after the command unless the caller set one),
 * so that the Spark UI reads "build: encode 1,000,000 vectors" instead of the call site of an
 * action. Phases nest; closing one restores the description (and group) it replaced.
 *
 * <pre>{@code
 * try (Phase p = Phase.start(spark, "build", "encode %,d vectors", rows)) {
 *   ... the Spark actions of the phase ...
 *   p.done(rows, "vectors");
 * }
 * }</pre>
 *
 * A phase closed without {@link #done} (its work threw) logs that it stopped.
 */
public final class Phase implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Phase.class);

  static final String DESCRIPTION = "spark.job.description";
  static final String GROUP = "spark.jobGroup.id";

  private final SparkContext sc;
  private final String name;
  private final String previousDescription;
  private final String previousGroup;
  private final boolean setGroup;
  private final long start = System.nanoTime();
  private long count = -1;
  private String unit;
  private boolean finished;
  private boolean closed;
  private boolean quiet;

  private Phase(SparkContext sc, String name) {
    this.sc = sc;
    this.name = name;
    this.previousDescription = sc == null ? null : sc.getLocalProperty(DESCRIPTION);
    this.previousGroup = sc == null ? null : sc.getLocalProperty(GROUP);
    this.setGroup = sc != null && previousGroup == null;
  }

  /**
   * Starts the phase {@code command: what} ({@code what} formatted with {@code args}, in the root
   * locale's digits with grouping: {@code %,d}).
   */
  public static Phase start(SparkSession spark, String command, String what, Object... args) {
    String name = command + ": " + (args.length == 0 ? what : String.format(Locale.ROOT, what, args));
    SparkContext sc = spark == null ? null : spark.sparkContext();
    Phase p = new Phase(sc, name);
    if (sc != null) {
      if (p.setGroup) {
        sc.setLocalProperty(GROUP, "quiver " + command);
      }
      sc.setLocalProperty(DESCRIPTION, name);
    }
    LOG.info("{} ...", name);
    return p;
  }

  /**
   * A phase that names its Spark jobs without logging (a quick step, such as counting the rows a
   * job wrote, that would only add noise to the log).
   */
  public static Phase quiet(SparkSession spark, String command, String what, Object... args) {
    String name = command + ": " + (args.length == 0 ? what : String.format(Locale.ROOT, what, args));
    SparkContext sc = spark == null ? null : spark.sparkContext();
    Phase p = new Phase(sc, name);
    p.quiet = true;
    if (sc != null) {
      if (p.setGroup) {
        sc.setLocalProperty(GROUP, "quiver " + command);
      }
      sc.setLocalProperty(DESCRIPTION, name);
    }
    return p;
  }

  /** Marks the phase finished: {@code count} {@code unit} (e.g. 1000000 "vectors"), for the rate its end logs. */
  public Phase done(long count, String unit) {
    this.count = count;
    this.unit = unit;
    this.finished = true;
    return this;
  }

  /** Marks the phase finished, without a count. */
  public Phase done() {
    this.finished = true;
    return this;
  }

  /** Seconds since the phase started. */
  public double seconds() {
    return (System.nanoTime() - start) / 1e9;
  }

  /**
   * Phases one after another in one method: {@link #next} ends the current phase (as
   * {@link #done} unless counted already) and starts the next; closing the sequence closes the
   * current one, so a phase whose work threw logs that it stopped and restores the description.
   */
  public static final class Sequence implements AutoCloseable {
    private final SparkSession spark;
    private final String command;
    private Phase current;

    public Sequence(SparkSession spark, String command) {
      this.spark = spark;
      this.command = command;
    }

    /** Ends the current phase and starts {@code what}. */
    public Phase next(String what, Object... args) {
      end();
      current = Phase.start(spark, command, what, args);
      return current;
    }

    /** Ends the current phase with a count for its rate. */
    public void end(long count, String unit) {
      if (current != null) {
        current.done(count, unit).close();
        current = null;
      }
    }

    /** Ends the current phase. */
    public void end() {
      if (current != null) {
        if (!current.finished) {
          current.done();
        }
        current.close();
        current = null;
      }
    }

    @Override
    public void close() {
      if (current != null) {
        current.close();
        current = null;
      }
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    double s = seconds();
    if (quiet) {
      // nothing logged
    } else if (!finished) {
      LOG.info("{}: stopped after {} s", name, String.format(Locale.ROOT, "%.1f", s));
    } else if (count >= 0) {
      LOG.info("{}: done in {} s ({} {}, {} {}/s)", name, String.format(Locale.ROOT, "%.1f", s),
          String.format(Locale.ROOT, "%,d", count), unit, String.format(Locale.ROOT, "%,.0f", count / Math.max(s, 1e-9)),
          unit);
    } else {
      LOG.info("{}: done in {} s", name, String.format(Locale.ROOT, "%.1f", s));
    }
    if (sc != null) {
      sc.setLocalProperty(DESCRIPTION, previousDescription);
      if (setGroup) {
        sc.setLocalProperty(GROUP, null);
      }
    }
  }
}
