package io.quiver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.quiver.spark.kryo.QuiverKryoRegistrator;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/** The decisions of SparkSessions, without starting Spark. */
class SparkSessionsTest {

  static final String OURS = QuiverKryoRegistrator.class.getName();

  @Test
  void localCores() {
    int cores = Runtime.getRuntime().availableProcessors();
    assertEquals(1, SparkSessions.localCores("local"));
    assertEquals(4, SparkSessions.localCores("local[4]"));
    assertEquals(cores, SparkSessions.localCores("local[*]"));
    assertEquals(3, SparkSessions.localCores("local[3,2]"));
    assertEquals(6, SparkSessions.localCores("local-cluster[2, 3, 1024]"));
    assertEquals(-1, SparkSessions.localCores("yarn"));
    assertEquals(-1, SparkSessions.localCores("spark://host:7077"));
    assertEquals(-1, SparkSessions.localCores(null));
  }

  @Test
  void withoutAMasterQuiverRunsLocallyWithItsDefaults() {
    Map<String, String> s = SparkSessions.settings("quiver generate", null, Map.of(), new SparkConf(false));
    int cores = Runtime.getRuntime().availableProcessors();
    assertEquals("local[*]", s.get("spark.master"));
    assertEquals("quiver generate", s.get("spark.app.name"));
    assertEquals(SparkSessions.KRYO_SERIALIZER, s.get("spark.serializer"));
    assertEquals(OURS, s.get("spark.kryo.registrator"));
    assertEquals("true", s.get("spark.kryo.registrationRequired"));
    assertEquals("false", s.get("spark.ui.enabled"));
    assertEquals(Integer.toString(2 * cores), s.get("spark.sql.shuffle.partitions"));
    assertEquals(QuiverPlugin.class.getName(), s.get("spark.plugins"));
  }

  @Test
  void thePluginIsAddedToTheUsersPluginsOnce() {
    SparkConf submitted = new SparkConf(false).set("spark.master", "yarn").set("spark.plugins", "com.acme.P");
    assertEquals("com.acme.P," + QuiverPlugin.class.getName(),
        SparkSessions.settings("q", null, Map.of(), submitted).get("spark.plugins"));
    submitted.set("spark.plugins", "com.acme.P, " + QuiverPlugin.class.getName());
    assertFalse(SparkSessions.settings("q", null, Map.of(), submitted).containsKey("spark.plugins"));
  }

  @Test
  void commandLineConfWinsOverDefaults() {
    Map<String, String> s = SparkSessions.settings("q", null,
        Map.of("spark.sql.shuffle.partitions", "7", "spark.kryo.registrationRequired", "false"), new SparkConf(false));
    assertEquals("7", s.get("spark.sql.shuffle.partitions"));
    assertEquals("false", s.get("spark.kryo.registrationRequired"));
  }

  @Test
  void spark_submitSettingsAreKept() {
    // what spark-submit --master yarn --name nightly --conf spark.serializer=...Kryo... sets
    SparkConf submitted = new SparkConf(false).set("spark.master", "yarn").set("spark.app.name", "nightly")
        .set("spark.serializer", SparkSessions.KRYO_SERIALIZER).set("spark.kryo.registrator", "com.acme.Reg");
    Map<String, String> s = SparkSessions.settings("quiver generate", null, Map.of(), submitted);
    assertEquals("yarn", s.get("spark.master"));
    assertFalse(s.containsKey("spark.app.name"), "--name is kept");
    assertFalse(s.containsKey("spark.ui.enabled"), "no Quiver defaults on a cluster");
    assertFalse(s.containsKey("spark.sql.shuffle.partitions"));
    assertEquals("com.acme.Reg," + OURS, s.get("spark.kryo.registrator"));

    // spark-submit without --name: the main class name is replaced by the command's
    SparkConf unnamed = new SparkConf(false).set("spark.master", "local[2]")
        .set("spark.app.name", "io.quiver.spark.cli.QuiverCli");
    Map<String, String> u = SparkSessions.settings("quiver convert", null, Map.of(), unnamed);
    assertEquals("quiver convert", u.get("spark.app.name"));
    assertEquals("4", u.get("spark.sql.shuffle.partitions"), "a local master gets partitions for its cores");
    assertFalse(u.containsKey("spark.kryo.registrator"), "Java serialization: no registrator");
  }

  @Test
  void masterOptionWinsOverConfAndSubmit() {
    SparkConf submitted = new SparkConf(false).set("spark.master", "local[2]");
    Map<String, String> s = SparkSessions.settings("q", "local[3]", Map.of("spark.master", "local[5]"), submitted);
    assertEquals("local[3]", s.get("spark.master"));
    assertEquals("6", s.get("spark.sql.shuffle.partitions"));
  }
}
