package io.quiver.spark.cli;

import io.quiver.index.spi.ComputeBackends;
import io.quiver.spark.QuiverPlugin;
import io.quiver.spark.SparkSessions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * The Spark options every command takes ({@code @Mixin SparkOptions spark;}): {@code --master}
 * and repeatable {@code --conf key=value}, with the meaning they have for {@code spark-submit}.
 * Under {@code spark-submit} (and {@code scripts/quiver}, which passes them to both) they are
 * redundant but harmless; with a plain {@code java -cp ... QuiverCli} they are the only way to
 * configure Spark besides {@code -Dspark.*} system properties.
 */
public final class SparkOptions {

  /** One {@code --conf} entry. */
  public record ConfEntry(String key, String value) {}

  /** Splits {@code key=value} at the first '='; the value may contain '=' and may be empty. */
  static final class ConfConverter implements ITypeConverter<ConfEntry> {
    @Override
    public ConfEntry convert(String arg) {
      int eq = arg.indexOf('=');
      if (eq < 0) {
        throw new TypeConversionException("'" + arg + "' has no '='; write --conf KEY=VALUE, e.g. --conf"
            + " spark.sql.shuffle.partitions=400");
      }
      String key = arg.substring(0, eq).trim();
      if (key.isEmpty()) {
        throw new TypeConversionException("'" + arg + "' has an empty key; write --conf KEY=VALUE");
      }
      return new ConfEntry(key, arg.substring(eq + 1));
    }
  }

  @Option(names = "--master", paramLabel = "URL",
      description = "Spark master URL, as for spark-submit (local[*], spark://host:7077, yarn, k8s://...). "
          + "Default: the one spark-submit sets, else local[*].")
  String master;

  @Option(names = "--conf", paramLabel = "KEY=VALUE", converter = ConfConverter.class,
      description = "Spark configuration property (repeatable), as for spark-submit.")
  List<ConfEntry> conf = new ArrayList<>();

  /** Parses {@code --backend}: auto, cpu or gpu. */
  static final class BackendConverter implements ITypeConverter<String> {
    @Override
    public String convert(String arg) {
      try {
        return ComputeBackends.Mode.parse(arg).toString();
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }
  }

  @Option(names = "--backend", paramLabel = "auto|cpu|gpu", converter = BackendConverter.class,
      description = "Compute backend of the driver and the executors (spark.quiver.backend): auto (default: a GPU "
          + "where a driver and a device are present, else the CPU), cpu, or gpu (fails where there is no usable GPU).")
  String backend;

  /** The {@code --backend} value, or null. */
  public String backend() {
    return backend;
  }

  /** The {@code --master} value, or null. */
  public String master() {
    return master;
  }

  /** The {@code --conf} entries in order; a key given twice keeps its last value. */
  public Map<String, String> conf() {
    Map<String, String> m = new LinkedHashMap<>();
    for (ConfEntry e : conf) {
      m.put(e.key(), e.value());
    }
    return Collections.unmodifiableMap(m);
  }

  private static volatile boolean sessionRequested;

  /** The session for a command, configured by these options (see {@link SparkSessions}). */
  public SparkSession session(String appName) {
    Map<String, String> settings = new LinkedHashMap<>(conf());
    if (backend != null) {
      settings.put(QuiverPlugin.BACKEND_CONF, backend);
      // the driver's own work (training) uses it too; gpu without a GPU fails here, before Spark starts
      ComputeBackends.Mode previous = ComputeBackends.mode();
      ComputeBackends.configure(backend);
      try {
        ComputeBackends.current();
      } catch (RuntimeException e) {
        ComputeBackends.configure(previous.toString());
        throw e;
      }
    }
    sessionRequested = true;
    SparkSession session = SparkSessions.getOrCreate(appName, master, settings);
    // the command's Spark jobs are one group named after it; each phase describes its own jobs
    // (io.quiver.spark.plan.Phase), the others read as the command
    session.sparkContext().setJobGroup(appName, appName, false);
    return session;
  }

  /** Whether a command of this JVM asked for a session (so that {@link QuiverCli#main} stops it). */
  static boolean sessionRequested() {
    return sessionRequested;
  }
}
