package io.quiver.spark.io;

import io.quiver.spark.shard.Manifest;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.NamedExpression;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.Project;
import org.apache.spark.sql.catalyst.plans.logical.SubqueryAlias;
import org.apache.spark.sql.execution.datasources.HadoopFsRelation;
import org.apache.spark.sql.execution.datasources.LogicalRelation;
import org.apache.spark.sql.sources.DataSourceRegister;
import org.apache.spark.sql.types.StructType;

/**
 * Reading the tables the jobs are given by path, and the input an index records: its fully
 * qualified path, format, reader options and columns, with a fingerprint (row count and schema)
 * that is checked whenever the index reads the table again (item columns, self-joins, exact
 * ground truth), so that neither the current directory nor a table replaced since the build can
 * make an index join the wrong rows by id.
 */
public final class Tables {
  private Tables() {}

  /** Internal column names (never shown to a user). */
  public static final String INTERNAL_PREFIX = "__quiver_";

  /**
   * {@code spark.read().format(format).options(options).load(path)}, after checking that the
   * path exists (a glob: that it matches something), so that a missing table fails with one line
   * naming it ({@code what}: "the queries", "the input", ...) instead of Spark's stack traces.
   */
  public static Dataset<Row> read(SparkSession spark, String path, String format, Map<String, String> options,
                                  String what) {
    checkExists(spark.sparkContext().hadoopConfiguration(), path, what);
    return spark.read().format(format).options(options == null ? Map.of() : options).load(path);
  }

  /** Fails, naming the table, when nothing exists at {@code path} (a glob: nothing matches). */
  public static void checkExists(Configuration conf, String path, String what) {
    if (path == null || path.isBlank()) {
      throw new IllegalArgumentException(what + ": no path given");
    }
    Path p;
    FileSystem fs;
    try {
      p = new Path(path);
      fs = p.getFileSystem(conf);
    } catch (IllegalArgumentException | IOException e) {
      return; // not a Hadoop path (or no file system for its scheme): Spark's data source decides
    }
    boolean exists;
    try {
      if (isGlob(path)) {
        FileStatus[] matched = fs.globStatus(p);
        exists = matched != null && matched.length > 0;
      } else {
        exists = fs.exists(p);
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(what + " " + path + ": cannot be read: " + e.getMessage(), e);
    }
    if (!exists) {
      String q = fs.makeQualified(p).toString();
      throw new IllegalArgumentException(what + " " + path + " " + (isGlob(path) ? "matches no file" : "does not exist")
          + (q.equals(path) ? "" : " (" + q + ")"));
    }
  }

  private static boolean isGlob(String path) {
    return path.indexOf('*') >= 0 || path.indexOf('?') >= 0 || path.indexOf('[') >= 0 || path.indexOf('{') >= 0;
  }

  /** The path made absolute, with scheme and authority, as the file system of its scheme sees it. */
  public static String qualify(Configuration conf, String path) {
    try {
      Path p = new Path(path);
      return p.getFileSystem(conf).makeQualified(p).toString();
    } catch (IllegalArgumentException | IOException e) {
      return path; // not a Hadoop path: kept as given
    }
  }

  /**
   * What an index records about the table at {@code path} it is built from: the qualified path,
   * format, options, columns and the schema; {@link Manifest.Input#rows} is filled in by the
   * build, which counts the rows.
   */
  public static Manifest.Input describe(SparkSession spark, String path, String format, Map<String, String> options,
                                        String idCol, String vectorCol, StructType schema) {
    Manifest.Input i = new Manifest.Input();
    i.path = qualify(spark.sparkContext().hadoopConfiguration(), path);
    i.format = format;
    i.options = options == null || options.isEmpty() ? null : new LinkedHashMap<>(options);
    i.idCol = idCol;
    i.vectorCol = vectorCol;
    i.schema = schema == null ? null : schema.simpleString();
    return i;
  }

  /**
   * The table a DataFrame reads, when it is a plain file-source read ({@code spark.read()...load(path)}
   * of one path, possibly with columns selected): what {@link #describe} records for it; null for
   * any other DataFrame (made in the program, filtered, joined, computed columns, several paths),
   * whose rows no path can give back.
   */
  public static Manifest.Input describe(Dataset<Row> df, String idCol, String vectorCol) {
    try {
      LogicalPlan plan = df.queryExecution().analyzed();
      while (true) {
        if (plan instanceof SubqueryAlias a) {
          plan = a.child();
        } else if (plan instanceof Project p && allAttributes(p)) {
          plan = p.child();
        } else {
          break;
        }
      }
      if (!(plan instanceof LogicalRelation lr) || !(lr.relation() instanceof HadoopFsRelation fsr)) {
        return null;
      }
      List<Path> roots = new ArrayList<>(scala.jdk.javaapi.CollectionConverters.asJava(fsr.location().rootPaths()));
      if (roots.size() != 1 || !(fsr.fileFormat() instanceof DataSourceRegister reg)) {
        return null;
      }
      Map<String, String> options = new LinkedHashMap<>();
      for (Map.Entry<String, String> e : scala.jdk.javaapi.CollectionConverters.asJava(fsr.options()).entrySet()) {
        String k = e.getKey().toLowerCase(java.util.Locale.ROOT);
        if (!k.equals("path") && !k.equals("paths")) {
          options.put(e.getKey(), e.getValue());
        }
      }
      String path = roots.get(0).toString();
      String format = reg.shortName();
      SparkSession spark = df.sparkSession();
      // the table as a plain read gives it back: what a later read compares with
      StructType schema = spark.read().format(format).options(options).load(path).schema();
      if (!schema.equals(fsr.schema())) {
        return null; // read with a schema of the user's: a plain read would not give these columns
      }
      return describe(spark, path, format, options, idCol, vectorCol, schema);
    } catch (RuntimeException e) {
      return null; // any plan this does not understand: nothing recorded
    }
  }

  private static boolean allAttributes(Project p) {
    for (NamedExpression e : scala.jdk.javaapi.CollectionConverters.asJava(p.projectList())) {
      if (!(e instanceof Attribute)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Reads the table an index recorded and checks that it is the one the index was built from:
   * same schema, same row count. {@code what} names the use ("the item table"), {@code index} the
   * index, {@code instead} what the caller can give instead (a CLI flag, or an API call).
   *
   * @throws IllegalArgumentException with one line naming the table, what differs and what to do
   */
  public static Dataset<Row> openRecorded(SparkSession spark, Manifest.Input in, String index, String what,
                                          String instead) {
    if (in == null || in.path == null) {
      throw new IllegalArgumentException(index + " records no input table (it was built from a DataFrame): "
          + instead);
    }
    String table = what + " " + in.path + " (the input recorded in " + index + ")";
    Dataset<Row> df;
    try {
      checkExists(spark.sparkContext().hadoopConfiguration(), in.path, table);
      df = spark.read().format(in.format).options(in.options == null ? Map.of() : in.options).load(in.path);
    } catch (IllegalArgumentException e) {
      // no cause: the CLI prints the innermost message, and this one says what to do
      throw new IllegalArgumentException(e.getMessage() + ": " + instead);
    }
    if (in.schema != null && !in.schema.equals(df.schema().simpleString())) {
      throw new IllegalArgumentException(table + " is not the table the index was built from: its schema is "
          + df.schema().simpleString() + ", the index recorded " + in.schema + "; " + instead
          + ", or rebuild the index");
    }
    if (in.rows != null) {
      long rows;
      try (io.quiver.spark.plan.Phase p = io.quiver.spark.plan.Phase.quiet(spark, "check",
          "count the rows of %s, the input of %s", in.path, index)) {
        rows = df.count();
      }
      if (rows != in.rows) {
        throw new IllegalArgumentException(table + " is not the table the index was built from: it has " + rows
            + " rows, the index recorded " + in.rows + "; " + instead + ", or rebuild the index");
      }
    }
    return df;
  }

  /** The user's column names of a schema, internal ones left out. */
  public static List<String> userColumns(String[] names) {
    List<String> out = new ArrayList<>();
    for (String n : names) {
      if (!n.startsWith(INTERNAL_PREFIX)) {
        out.add(n);
      }
    }
    return out;
  }
}
