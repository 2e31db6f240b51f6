package io.quiver.spark.plan;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.TreeSet;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import scala.Tuple2;

/**
 * The ids that more than one input row has, found with one shuffle of the ids (counted with
 * map-side combining, so a partition sends each of its ids once). The action runs when the
 * object is made; {@link #collectLongs} and {@link #collectStrings} read the same shuffle again.
 *
 * @param <K> Long or String
 */
public final class Duplicates<K extends Comparable<K>> {
  /** Most duplicated ids a build with {@code --on-invalid skip} drops (their set is broadcast). */
  static final long MAX_DROPPED_IDS = 50_000_000L;

  /** What one partition of the counted ids holds: rows and ids duplicated, the smallest ids. */
  public static final class Summary implements Serializable {
    private static final long serialVersionUID = 1L;
    long rows;
    long ids;
    ArrayList<Object> smallest = new ArrayList<>();
  }

  private final JavaPairRDD<K, Integer> repeated;
  private final Summary summary;

  private Duplicates(JavaRDD<K> ids) {
    repeated = ids.mapToPair(id -> new Tuple2<>(id, 1)).reduceByKey(Integer::sum).filter(t -> t._2() > 1);
    summary = repeated.mapPartitions(it -> {
      Summary s = new Summary();
      TreeSet<K> smallest = new TreeSet<>();
      while (it.hasNext()) {
        Tuple2<K, Integer> t = it.next();
        s.rows += t._2();
        s.ids++;
        smallest.add(t._1());
        if (smallest.size() > InvalidRows.NAMED) {
          smallest.pollLast();
        }
      }
      s.smallest.addAll(smallest);
      return Collections.singletonList(s).iterator();
    }).fold(new Summary(), Duplicates::merge);
  }

  @SuppressWarnings("unchecked")
  private static Summary merge(Summary a, Summary b) {
    Summary s = new Summary();
    s.rows = a.rows + b.rows;
    s.ids = a.ids + b.ids;
    TreeSet<Comparable<Object>> all = new TreeSet<>();
    for (Object o : a.smallest) {
      all.add((Comparable<Object>) o);
    }
    for (Object o : b.smallest) {
      all.add((Comparable<Object>) o);
    }
    for (Comparable<Object> o : all) {
      if (s.smallest.size() < InvalidRows.NAMED) {
        s.smallest.add(o);
      }
    }
    return s;
  }

  static Duplicates<Long> longs(JavaRDD<Long> ids) {
    return new Duplicates<>(ids);
  }

  static Duplicates<String> strings(JavaRDD<String> ids) {
    return new Duplicates<>(ids);
  }

  /** Rows whose id is on more than one row (every copy). */
  long rows() {
    return summary.rows;
  }

  /** Ids on more than one row. */
  long ids() {
    return summary.ids;
  }

  /** Adds the duplicated rows (every copy) and the smallest ids to {@code report}. */
  void report(InvalidRows.Report report) {
    List<String> named = new ArrayList<>();
    for (Object o : summary.smallest) {
      named.add(o instanceof String str ? "'" + str + "'" : String.valueOf(o));
    }
    report.addDuplicates(summary.rows, summary.ids, named);
  }

  private void checkDroppable() {
    if (summary.ids > MAX_DROPPED_IDS) {
      throw new IllegalArgumentException(summary.ids + " ids are on more than one input row; --on-invalid skip drops at "
          + "most " + MAX_DROPPED_IDS + " duplicated ids: deduplicate the input first");
    }
  }

  /** The duplicated long ids, sorted (for {@link Arrays#binarySearch}). */
  long[] collectLongs() {
    checkDroppable();
    List<long[]> parts = repeated.keys().mapPartitions(it -> {
      long[] a = new long[16];
      int n = 0;
      while (it.hasNext()) {
        if (n == a.length) {
          a = Arrays.copyOf(a, 2 * n);
        }
        a[n++] = (Long) it.next();
      }
      return Collections.singletonList(Arrays.copyOf(a, n)).iterator();
    }).collect();
    long[] all = new long[(int) summary.ids];
    int at = 0;
    for (long[] p : parts) {
      System.arraycopy(p, 0, all, at, p.length);
      at += p.length;
    }
    Arrays.sort(all);
    return all;
  }

  /** The duplicated string ids, sorted (for {@link Arrays#binarySearch}). */
  String[] collectStrings() {
    checkDroppable();
    List<String[]> parts = repeated.keys().mapPartitions(it -> {
      List<String> a = new ArrayList<>();
      it.forEachRemaining(k -> a.add((String) k));
      return Collections.singletonList(a.toArray(new String[0])).iterator();
    }).collect();
    List<String> all = new ArrayList<>();
    for (String[] p : parts) {
      all.addAll(Arrays.asList(p));
    }
    String[] sorted = all.toArray(new String[0]);
    Arrays.sort(sorted);
    return sorted;
  }
}
