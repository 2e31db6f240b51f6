package io.quiver.spark.kryo;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.serializer.KryoRegistrator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registers with Kryo every class that Quiver's jobs ship between JVMs through
 * {@code spark.serializer} (broadcasts, task results, cached and shuffled RDD records), so that
 * Quiver runs with {@code spark.kryo.registrationRequired=true}: an unregistered class then fails
 * loudly in the tests instead of being written with its full class name on every record.
 *
 * <p><b>Adding a class.</b> Put one line in the matching group below:
 * <ul>
 *   <li>{@link #QUIVER_CLASSES}: a class literal, for classes the code can name (Quiver's own,
 *       arrays, JDK classes);</li>
 *   <li>{@link #SPARK_AND_SCALA_CLASS_NAMES}: a binary name, for Spark and Scala classes that
 *       are private to their packages, Scala singletons ({@code ...$}) or version-specific;</li>
 *   <li>{@link #JAVA_SERIALIZED_CLASS_NAMES}: a binary name, for classes whose object graph is
 *       better written by Java serialization (nothing inside them then needs registering).</li>
 * </ul>
 * Every JVM registers the same list in the same order (it is code), so the registration ids
 * agree. The tests run real jobs with {@code registrationRequired=true} in {@code local[N]} and in
 * {@code local-cluster} (executors in separate JVMs), and {@code QuiverKryoRegistratorTest} checks
 * that every name resolves. A name that does not resolve at run time (another Spark version) is
 * skipped with a warning. User code can add classes without touching this file through Spark's
 * {@code spark.kryo.classesToRegister}.
 *
 * <p>Closures (the functions passed to {@code mapPartitions} and the like) are not affected: Spark
 * always serializes them with Java serialization.
 */
public class QuiverKryoRegistrator implements KryoRegistrator {

  private static final Logger LOG = LoggerFactory.getLogger(QuiverKryoRegistrator.class);

  /** Classes that Quiver's own code ships (vectors, ids, codes, partial results), one per line. */
  static final List<Class<?>> QUIVER_CLASSES = List.of(
      // ---- arrays: vectors, ids, codes, distances
      float[].class,
      float[][].class,
      double[].class,
      long[].class,
      long[][].class,
      int[].class,
      int[][].class,
      byte[].class,
      byte[][].class,
      boolean[].class,
      String[].class,
      Object[].class,
      // ---- java.util inside Quiver's records
      java.util.ArrayList.class,
      java.util.List[].class,
      // ---- spark-jobs (io.quiver.spark...): build records, search probes and partial top-k, manifests
      io.quiver.spark.plan.Encoded.class,
      io.quiver.spark.plan.Probe.class,
      io.quiver.spark.plan.ProbedQueries.class,
      io.quiver.spark.plan.Partial.class,
      io.quiver.spark.plan.SearchPlan.Query.class,
      io.quiver.spark.plan.QueryFilter.Sets.class,
      io.quiver.spark.plan.DistributedKMeans.Stats.class,
      io.quiver.spark.plan.Duplicates.Summary.class,
      io.quiver.spark.shard.Manifest.Shard.class,
      io.quiver.spark.shard.Manifest.FileEntry.class
      );

  /**
   * Spark, Spark SQL and Scala classes that show up in Quiver's jobs with
   * {@code registrationRequired=true} and that Spark does not register itself, by binary name,
   * one per line; registered with Kryo's default serializers.
   */
  static final List<String> SPARK_AND_SCALA_CLASS_NAMES = List.of(
      // ---- Spark SQL: rows collected to the driver
      "org.apache.spark.sql.catalyst.InternalRow",
      "[Lorg.apache.spark.sql.catalyst.InternalRow;",
      "org.apache.spark.sql.catalyst.expressions.UnsafeRow",
      "[Lorg.apache.spark.sql.catalyst.expressions.UnsafeRow;",
      "org.apache.spark.sql.catalyst.expressions.GenericInternalRow",
      // ---- Spark SQL: results of write tasks (DataFrameWriter.save)
      "org.apache.spark.sql.execution.datasources.WriteTaskResult",
      "org.apache.spark.sql.execution.datasources.BasicWriteTaskStats",
      "org.apache.spark.sql.execution.datasources.ExecutedWriteSummary",
      "org.apache.spark.internal.io.FileCommitProtocol$TaskCommitMessage",
      // ---- Spark SQL: schemas inferred by tasks (the elements are in JAVA_SERIALIZED_CLASS_NAMES)
      "[Lorg.apache.spark.sql.types.StructType;",
      "[Lorg.apache.spark.sql.types.StructField;",
      // ---- Scala: empty collections and class tags inside those results
      "scala.collection.immutable.Map$EmptyMap$",
      "scala.collection.immutable.Set$EmptySet$",
      "scala.collection.immutable.Nil$",
      "scala.reflect.ClassTag$GenericClassTag"
      );

  /**
   * Classes written with Java serialization inside Kryo ({@link JavaSerializer}), by binary name,
   * one per line: Spark SQL schemas, whose object graphs reach every {@code DataType} singleton and
   * the Scala maps of their metadata. They travel as task results when Spark infers the schema of
   * Parquet or ORC files; Java serialization keeps this list short and independent of the column
   * types of a user's table.
   */
  static final List<String> JAVA_SERIALIZED_CLASS_NAMES = List.of(
      "org.apache.spark.sql.types.StructType",
      "org.apache.spark.sql.types.StructField",
      "org.apache.spark.sql.types.ArrayType",
      "org.apache.spark.sql.types.MapType",
      "org.apache.spark.sql.types.Metadata"
      );

  /** Resolved once per JVM: Spark creates many Kryo instances. */
  private static volatile List<Class<?>> resolved;
  private static volatile List<Class<?>> resolvedJava;
  private static final Set<String> WARNED = ConcurrentHashMap.newKeySet();

  /** The classes registered with Kryo's default serializers, in registration order (resolvable ones). */
  public static List<Class<?>> classes() {
    List<Class<?>> r = resolved;
    if (r == null) {
      List<Class<?>> all = new ArrayList<>(QUIVER_CLASSES);
      all.addAll(load(SPARK_AND_SCALA_CLASS_NAMES));
      resolved = r = Collections.unmodifiableList(all);
    }
    return r;
  }

  /** The classes registered with Java serialization, in registration order (resolvable ones). */
  public static List<Class<?>> javaSerializedClasses() {
    List<Class<?>> r = resolvedJava;
    if (r == null) {
      resolvedJava = r = Collections.unmodifiableList(load(JAVA_SERIALIZED_CLASS_NAMES));
    }
    return r;
  }

  @Override
  public void registerClasses(Kryo kryo) {
    for (Class<?> c : classes()) {
      kryo.register(c);
    }
    JavaSerializer java = new JavaSerializer();
    for (Class<?> c : javaSerializedClasses()) {
      kryo.register(c, java);
    }
  }

  private static List<Class<?>> load(List<String> names) {
    List<Class<?>> out = new ArrayList<>(names.size());
    ClassLoader cl = Thread.currentThread().getContextClassLoader();
    if (cl == null) {
      cl = QuiverKryoRegistrator.class.getClassLoader();
    }
    for (String name : names) {
      try {
        out.add(Class.forName(name, false, cl));
      } catch (ClassNotFoundException e) {
        // another Spark or Scala version than the one Quiver is built with: skip the class rather
        // than fail every job; with registrationRequired a job that needs it names it
        if (WARNED.add(name)) {
          LOG.warn("Kryo registration skips {}: no such class in this Spark runtime", name);
        }
      }
    }
    return out;
  }
}
