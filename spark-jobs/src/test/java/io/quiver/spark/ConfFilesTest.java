package io.quiver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** conf/ holds what scripts/quiver runs with: it must agree with the build and the code. */
class ConfFilesTest {

  static Path conf() {
    Path module = SparkTestSessions.targetDir().toPath().getParent();
    return module.resolveSibling("conf");
  }

  static Properties load(String name) throws IOException {
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(conf().resolve(name))) {
      p.load(r); // spark-defaults.conf is whitespace-separated, which Properties reads too
    }
    return p;
  }

  @Test
  void sparkDefaultsCarryTheJvmFlagsAndQuiversDefaults() throws IOException {
    Properties p = load("spark-defaults.conf");
    String flags = System.getProperty("quiver.jvm.flags");
    assertNotNull(flags, "surefire passes quiver.jvm.flags");
    assertEquals(flags, p.getProperty("spark.driver.extraJavaOptions"), "copy of the parent's quiver.jvm.flags");
    assertEquals(flags, p.getProperty("spark.executor.extraJavaOptions"), "copy of the parent's quiver.jvm.flags");
    for (Map.Entry<String, String> e : SparkSessions.quiverDefaults().entrySet()) {
      assertEquals(e.getValue(), p.getProperty(e.getKey()), e.getKey());
    }
  }

  @Test
  void exampleJobConfParsesAndLog4jConfigExists() throws IOException {
    Properties example = load("example-job.conf");
    assertTrue(example.containsKey("spark.executor.memory"), "example-job.conf sets executor memory");
    assertEquals(SparkSessions.quiverDefaults().get("spark.kryo.registrator"),
        example.getProperty("spark.kryo.registrator"));
    Properties log = load("log4j2.properties");
    assertEquals("info", log.getProperty("logger.quiver.level"));
  }
}
