package io.quiver.spark.plan;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.util.AccumulatorV2;

/**
 * The input rows a job cannot use, counted by reason, the first few named: the input's side of
 * the promise that every row is indexed (or searched) or reported.
 *
 * <p>Invalid rows have a null id, a null vector, a vector of the wrong dimension, a null, NaN or
 * infinite component, or (builds only) an id that another row also has or a negative long id. {@link Policy#FAIL}
 * stops the job before anything is committed with {@link Report#message}; {@link Policy#SKIP}
 * leaves the row out and reports the counts ({@link Report#counts}).
 *
 * <p>As an accumulator, the tasks that read the input add one {@link Problem} per invalid row.
 * The driver keeps one report per input partition (the partition is in the problem's position)
 * and a partition reported twice (a retried or speculative task, a recomputed cached partition)
 * replaces its earlier report instead of adding to it, so the counts are exact for a
 * deterministic input whatever Spark re-runs.
 */
public final class InvalidRows extends AccumulatorV2<InvalidRows.Problem, InvalidRows.Report> {
  private static final long serialVersionUID = 1L;

  /** Problems named in a message, lowest input position first. */
  public static final int NAMED = 10;
  /** Bits of a position below the partition number: the row's index inside its partition. */
  public static final int PARTITION_SHIFT = 36;

  /** What to do with invalid rows ({@code --on-invalid}). */
  public enum Policy {
    /** Stop the job before it commits anything, naming the first invalid rows and the counts. */
    FAIL,
    /** Leave invalid rows out and report how many there were, by reason. */
    SKIP;

    public static Policy parse(String s) {
      try {
        return valueOf(s.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException | NullPointerException e) {
        throw new IllegalArgumentException("--on-invalid '" + s + "': valid values are fail and skip");
      }
    }

    public String cliName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** Why a row is invalid; {@link #key} names it in JSON and in {@code manifest.json}. */
  public enum Reason {
    NULL_ID("null_id"),
    NULL_VECTOR("null_vector"),
    DIMENSION("dimension"),
    NULL_COMPONENT("null_component"),
    NAN("nan"),
    INFINITE("infinite"),
    /** Rows whose id another row also has: all copies are counted (and skipped). */
    DUPLICATE_ID("duplicate_id"),
    /**
     * Builds with long ids only: an id below 0. Searches pad missing neighbours with -1 and treat
     * every negative id as padding, so such a row could never be returned.
     */
    NEGATIVE_ID("negative_id");

    public final String key;

    Reason(String key) {
      this.key = key;
    }
  }

  /**
   * One invalid row: its position ({@code partition << 36 | row in partition}), its id as
   * messages print it, the reason, and what is wrong, e.g. "NaN at component 3".
   */
  public record Problem(long position, String id, Reason reason, String detail) implements Serializable {
    int partition() {
      return (int) (position >>> PARTITION_SHIFT);
    }

    @Override
    public String toString() {
      return (reason == Reason.NULL_ID ? "a row with a null id (input partition " + partition() + ", row "
          + (position & ((1L << PARTITION_SHIFT) - 1)) + ")" : "id " + id) + ": " + detail;
    }
  }

  /** Counts by reason and the first problems by input position; mergeable. */
  public static final class Report implements Serializable {
    private static final long serialVersionUID = 1L;
    private final long[] counts = new long[Reason.values().length];
    private final List<Problem> first = new ArrayList<>();
    private final List<String> duplicated = new ArrayList<>();
    private long duplicatedIds;

    void add(Problem p) {
      counts[p.reason().ordinal()]++;
      if (first.size() < NAMED || p.position() < first.get(first.size() - 1).position()) {
        int at = first.size();
        while (at > 0 && first.get(at - 1).position() > p.position()) {
          at--;
        }
        first.add(at, p);
        if (first.size() > NAMED) {
          first.remove(first.size() - 1);
        }
      }
    }

    void addAll(Report o) {
      for (int i = 0; i < counts.length; i++) {
        counts[i] += o.counts[i];
      }
      long[] keep = counts.clone();
      for (Problem p : o.first) {
        add(p);
      }
      System.arraycopy(keep, 0, counts, 0, counts.length);
    }

    /**
     * Records duplicated ids: {@code rows} rows share {@code ids} ids with another row;
     * {@code named} holds a few of them (the smallest, as printed).
     */
    public void addDuplicates(long rows, long ids, List<String> named) {
      counts[Reason.DUPLICATE_ID.ordinal()] += rows;
      duplicatedIds += ids;
      for (String n : named) {
        if (duplicated.size() < NAMED) {
          duplicated.add(n);
        }
      }
    }

    /** Invalid rows in all. */
    public long total() {
      long t = 0;
      for (long c : counts) {
        t += c;
      }
      return t;
    }

    public long count(Reason r) {
      return counts[r.ordinal()];
    }

    /** The counts by {@link Reason#key}, the reasons with at least one row only, in reason order. */
    public Map<String, Long> counts() {
      Map<String, Long> m = new LinkedHashMap<>();
      for (Reason r : Reason.values()) {
        if (counts[r.ordinal()] > 0) {
          m.put(r.key, counts[r.ordinal()]);
        }
      }
      return m;
    }

    /** The first invalid rows (not the duplicates), lowest input position first. */
    public List<Problem> first() {
      return List.copyOf(first);
    }

    /**
     * The failure message ({@code what}: "the input has"): how many rows are invalid, by reason; the first ones
     * named with what is wrong; what a valid row is; and how to go on.
     *
     * @param d the dimension rows must have
     * @param uniqueIds whether a valid row's id must differ from every other row's (builds)
     * @param committing what the job would have written ("nothing was committed", ...)
     */
    public String message(String what, int d, boolean uniqueIds, String committing) {
      StringBuilder sb = new StringBuilder();
      sb.append(what).append(" ").append(total()).append(" invalid row").append(total() == 1 ? "" : "s")
          .append(" (");
      String sep = "";
      for (Map.Entry<String, Long> e : counts().entrySet()) {
        sb.append(sep).append(e.getKey()).append(": ").append(e.getValue());
        sep = ", ";
      }
      sb.append(")");
      if (!first.isEmpty()) {
        sb.append("; the first: ");
        sep = "";
        for (Problem p : first) {
          sb.append(sep).append(p);
          sep = "; ";
        }
      }
      if (duplicatedIds > 0) {
        sb.append("; ").append(duplicatedIds).append(" id").append(duplicatedIds == 1 ? " is" : "s are")
            .append(" on more than one row: ").append(String.join(", ", duplicated))
            .append(duplicatedIds > duplicated.size() ? ", ..." : "");
      }
      sb.append(". A valid row has a non-null id").append(uniqueIds ? " that no other row has (a long id: >= 0)" : "")
          .append(" and a vector of d = ").append(d)
          .append(" finite, non-null components; ").append(committing)
          .append("; --on-invalid skip leaves invalid rows out and counts them");
      return sb.toString();
    }
  }

  /** One report per input partition that had invalid rows. */
  private final TreeMap<Integer, Report> parts = new TreeMap<>();

  @Override
  public boolean isZero() {
    return parts.isEmpty();
  }

  @Override
  public InvalidRows copy() {
    InvalidRows c = new InvalidRows();
    synchronized (this) {
      for (Map.Entry<Integer, Report> e : parts.entrySet()) {
        Report r = new Report();
        r.addAll(e.getValue());
        c.parts.put(e.getKey(), r);
      }
    }
    return c;
  }

  @Override
  public synchronized void reset() {
    parts.clear();
  }

  @Override
  public synchronized void add(Problem p) {
    parts.computeIfAbsent(p.partition(), k -> new Report()).add(p);
  }

  @Override
  public void merge(AccumulatorV2<Problem, Report> other) {
    if (!(other instanceof InvalidRows o)) {
      throw new UnsupportedOperationException("cannot merge " + other.getClass().getName() + " into InvalidRows");
    }
    synchronized (this) {
      // a partition reported again (a task re-run) replaces its report: counts stay exact
      for (Map.Entry<Integer, Report> e : o.parts.entrySet()) {
        Report mine = parts.get(e.getKey());
        if (mine == null || e.getValue().total() >= mine.total()) {
          parts.put(e.getKey(), e.getValue());
        }
      }
    }
  }

  /** All partitions' reports together (a new object; add duplicates to it). */
  @Override
  public synchronized Report value() {
    Report all = new Report();
    for (Report r : parts.values()) {
      all.addAll(r);
    }
    return all;
  }
}
