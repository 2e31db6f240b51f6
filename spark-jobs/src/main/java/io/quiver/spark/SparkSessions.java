package io.quiver.spark;

import io.quiver.spark.kryo.QuiverKryoRegistrator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Option;

/**
 * The one place where Quiver's commands get their {@link SparkSession}.
 *
 * <p>Where the configuration comes from, first match wins:
 * <ol>
 *   <li>A session that already runs (the active or default one, e.g. in a notebook or a test) is
 *       returned as is; explicit {@code --conf} entries that are runtime SQL settings are applied
 *       to it, the others are reported and ignored, since a running context cannot change them.</li>
 *   <li>Otherwise the command line ({@code --master}, {@code --conf}) and the {@code spark.*}
 *       system properties that {@code spark-submit} sets (master, {@code --conf},
 *       {@code --properties-file}) configure a new session.</li>
 *   <li>When no master is set anywhere (a plain {@code java -cp ... QuiverCli}), the session runs
 *       in {@code local[*]} with {@link #quiverDefaults(int)}.</li>
 * </ol>
 * Wherever a master is local, {@code spark.sql.shuffle.partitions} (Spark's default of 200 is
 * meant for clusters) is sized to the cores when nothing sets it. Wherever the Kryo serializer is
 * configured, Quiver's registrator is added to {@code spark.kryo.registrator} if missing, so a
 * cluster configuration only has to choose Kryo. {@link QuiverPlugin} is added to
 * {@code spark.plugins}, so that every executor chooses its compute backend
 * ({@code spark.quiver.backend}).
 */
public final class SparkSessions {

  private static final Logger LOG = LoggerFactory.getLogger(SparkSessions.class);

  /** The Kryo serializer's class name. */
  public static final String KRYO_SERIALIZER = "org.apache.spark.serializer.KryoSerializer";

  private static final Pattern LOCAL = Pattern.compile("local(?:\\[(\\*|\\d+)(?:,\\s*\\d+)?])?");
  private static final Pattern LOCAL_CLUSTER =
      Pattern.compile("local-cluster\\[\\s*(\\d+)\\s*,\\s*(\\d+)\\s*,\\s*\\d+\\s*]");

  private SparkSessions() {}

  /**
   * Quiver's defaults for a session of its own, without a shuffle partition count: the Kryo
   * serializer with {@link QuiverKryoRegistrator} and {@code registrationRequired=true} (so an
   * unregistered class fails in tests rather than being written with its full name on every
   * record), and no web UI. {@code conf/spark-defaults.conf} sets the same values for
   * {@code scripts/quiver}.
   */
  public static Map<String, String> quiverDefaults() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("spark.serializer", KRYO_SERIALIZER);
    m.put("spark.kryo.registrator", QuiverKryoRegistrator.class.getName());
    m.put("spark.kryo.registrationRequired", "true");
    m.put("spark.ui.enabled", "false");
    m.put("spark.sql.adaptive.enabled", "true");
    return m;
  }

  /**
   * {@link #quiverDefaults()} plus {@code spark.sql.shuffle.partitions} sized for {@code cores}
   * cores ({@link #shufflePartitionsFor(int)}).
   */
  public static Map<String, String> quiverDefaults(int cores) {
    Map<String, String> m = quiverDefaults();
    m.put("spark.sql.shuffle.partitions", Integer.toString(shufflePartitionsFor(cores)));
    return m;
  }

  /** Shuffle partitions for a session with {@code cores} cores: two tasks per core. */
  public static int shufflePartitionsFor(int cores) {
    return Math.max(2, 2 * cores);
  }

  /**
   * The cores a local master runs tasks on: {@code local} 1, {@code local[N]} and
   * {@code local[N,F]} N, {@code local[*]} the machine's cores, {@code local-cluster[W,C,M]}
   * W * C; -1 for any other (non-local) master.
   */
  public static int localCores(String master) {
    if (master == null) {
      return -1;
    }
    String m = master.trim();
    Matcher local = LOCAL.matcher(m);
    if (local.matches()) {
      String n = local.group(1);
      if (n == null) {
        return 1;
      }
      return n.equals("*") ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(n);
    }
    Matcher cluster = LOCAL_CLUSTER.matcher(m);
    if (cluster.matches()) {
      return Integer.parseInt(cluster.group(1)) * Integer.parseInt(cluster.group(2));
    }
    return -1;
  }

  /** The session for a command with no command-line Spark settings. */
  public static SparkSession getOrCreate(String appName) {
    return getOrCreate(appName, null, Map.of());
  }

  /**
   * The session for a command.
   *
   * @param appName the application name, used unless {@code spark-submit --name} set one
   * @param master the {@code --master} given on Quiver's command line, or null
   * @param conf the {@code --conf} entries given on Quiver's command line (they win over every
   *     other source)
   */
  public static SparkSession getOrCreate(String appName, String master, Map<String, String> conf) {
    SparkSession running = running();
    if (running != null) {
      applyToRunning(running, master, conf);
      return running;
    }
    SparkSession created = builder(appName, master, conf, new SparkConf()).getOrCreate();
    Option<String> ui = created.sparkContext().uiWebUrl();
    if (ui.isDefined()) {
      LOG.info("the Spark UI of this run: {} (its jobs are named after Quiver's phases)", ui.get());
    }
    return created;
  }

  /**
   * The builder {@link #getOrCreate(String, String, Map)} uses for a new session; {@code base}
   * stands for what {@code new SparkConf()} reads from the {@code spark.*} system properties.
   * Visible for tests.
   */
  static SparkSession.Builder builder(String appName, String master, Map<String, String> conf, SparkConf base) {
    Map<String, String> settings = settings(appName, master, conf, base);
    SparkSession.Builder b = SparkSession.builder();
    settings.forEach(b::config);
    return b;
  }

  /**
   * The settings a new session gets on top of {@code base} (which Spark reads by itself): the
   * decisions of {@link #getOrCreate(String, String, Map)} as a map. Visible for tests.
   */
  static Map<String, String> settings(String appName, String master, Map<String, String> conf, SparkConf base) {
    Map<String, String> out = new LinkedHashMap<>();
    String appNow = conf.getOrDefault("spark.app.name", base.get("spark.app.name", null));
    // spark-submit names an application after its main class unless --name is given
    if (appName != null && (appNow == null || appNow.equals("io.quiver.spark.cli.QuiverCli"))) {
      out.put("spark.app.name", appName);
    }
    String effectiveMaster = master != null ? master : conf.getOrDefault("spark.master", base.get("spark.master", null));
    boolean ownDefaults = effectiveMaster == null;
    if (ownDefaults) {
      effectiveMaster = "local[*]";
      out.put("spark.master", effectiveMaster);
      int cores = localCores(effectiveMaster);
      for (Map.Entry<String, String> e : quiverDefaults(cores).entrySet()) {
        if (!base.contains(e.getKey())) {
          out.put(e.getKey(), e.getValue());
        }
      }
    } else {
      out.put("spark.master", effectiveMaster);
      int cores = localCores(effectiveMaster);
      if (cores > 0 && !base.contains("spark.sql.shuffle.partitions") && !conf.containsKey("spark.sql.shuffle.partitions")) {
        out.put("spark.sql.shuffle.partitions", Integer.toString(shufflePartitionsFor(cores)));
      }
    }
    // the command line wins over spark-submit's properties and Quiver's defaults
    for (Map.Entry<String, String> e : conf.entrySet()) {
      if (!e.getKey().equals("spark.master") || master == null) {
        out.put(e.getKey(), e.getValue());
      }
    }
    // the plugin that chooses the compute backend (CPU or GPU) in the driver and every executor
    String plugins = out.getOrDefault("spark.plugins", base.get("spark.plugins", ""));
    String plugin = QuiverPlugin.class.getName();
    if (!(',' + plugins.replace(" ", "") + ',').contains(',' + plugin + ',')) {
      out.put("spark.plugins", plugins.isBlank() ? plugin : plugins + "," + plugin);
    }
    String serializer = out.getOrDefault("spark.serializer", base.get("spark.serializer", ""));
    if (serializer.equals(KRYO_SERIALIZER)) {
      String registrators = out.getOrDefault("spark.kryo.registrator", base.get("spark.kryo.registrator", ""));
      String ours = QuiverKryoRegistrator.class.getName();
      if (!(',' + registrators.replace(" ", "") + ',').contains(',' + ours + ',')) {
        out.put("spark.kryo.registrator", registrators.isBlank() ? ours : registrators + "," + ours);
      }
    }
    return out;
  }

  /** The active session of this thread, else the default one, if it still runs; else null. */
  public static SparkSession running() {
    Option<SparkSession> s = SparkSession.getActiveSession();
    if (s.isEmpty()) {
      s = SparkSession.getDefaultSession();
    }
    if (s.isEmpty() || s.get().sparkContext().isStopped()) {
      return null;
    }
    return s.get();
  }

  /** Stops the running session, if any (the CLI does this once its command has returned). */
  public static void stopRunning() {
    SparkSession s = running();
    if (s != null) {
      s.stop();
    }
  }

  private static void applyToRunning(SparkSession session, String master, Map<String, String> conf) {
    if (master != null && !master.equals(session.sparkContext().master())) {
      LOG.warn("--master {} is ignored: this JVM already runs a Spark session with master {}",
          master, session.sparkContext().master());
    }
    for (Map.Entry<String, String> e : conf.entrySet()) {
      if (session.conf().isModifiable(e.getKey())) {
        session.conf().set(e.getKey(), e.getValue());
      } else if (!e.getValue().equals(session.sparkContext().getConf().get(e.getKey(), null))) {
        LOG.warn("--conf {}={} is ignored: this JVM already runs a Spark session, and that setting can only be made"
            + " when a session starts", e.getKey(), e.getValue());
      }
    }
  }
}
