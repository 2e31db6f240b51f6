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

  /**
   * A missing table made Spark's FileStreamSink log a stack trace of ~90 lines before the
   * command's one line: the logger the configuration quiets must be the class that logs it.
   */
  @Test
  void log4jQuietsTheStackTraceOfAMissingPath() throws Exception {
    Properties log = load("log4j2.properties");
    String name = log.getProperty("logger.filestreamsink.name");
    assertNotNull(name);
    Class.forName(name);
    assertEquals("error", log.getProperty("logger.filestreamsink.level"));
  }

  /** {@code scripts/quiver --ui}: the Spark UI on, for spark-submit and the command, and kept up after it. */
  @Test
  void theLaunchersUiFlagTurnsOnTheSparkUi() throws Exception {
    Path script = conf().resolveSibling("scripts").resolve("quiver");
    ProcessBuilder pb = new ProcessBuilder("bash", script.toString(), "search", "--ui", "--index", "x", "--k", "3");
    pb.environment().put("QUIVER_DRY_RUN", "1");
    pb.redirectErrorStream(true);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), out);
    java.util.List<String> lines = out.lines().toList();
    assertEquals("keep-ui=true", lines.get(0), out);
    assertTrue(!lines.contains("--ui"), "the launcher's flag is not the command's: " + out);
    int jar = lines.indexOf("io.quiver.spark.cli.QuiverCli") + 1;
    java.util.List<String> submit = lines.subList(1, jar);
    java.util.List<String> command = lines.subList(jar + 1, lines.size());
    assertTrue(String.join(" ", submit).contains("--conf spark.ui.enabled=true"), out);
    assertTrue(String.join(" ", command).contains("search --index x --k 3 --conf spark.ui.enabled=true"), out);

    ProcessBuilder plain = new ProcessBuilder("bash", script.toString(), "search", "--index", "x");
    plain.environment().put("QUIVER_DRY_RUN", "1");
    Process q = plain.start();
    String o = new String(q.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(0, q.waitFor());
    assertTrue(o.startsWith("keep-ui=false") && !o.contains("spark.ui.enabled"), o);
  }

  /** What the README says of the CUDA kernels is in the tree: the source and the PTX the jar loads. */
  @Test
  void theReadmesCudaKernelsAreInTheTree() throws IOException {
    Path root = conf().getParent();
    String readme = Files.readString(root.resolve("README.md"));
    assertTrue(readme.contains("gpu-kernels/   CUDA kernels (src/main/cuda, PTX in the jar)"), "README's layout");
    assertTrue(!readme.toLowerCase(java.util.Locale.ROOT).contains("not in the tree"), "README says they are absent");
    assertTrue(Files.isRegularFile(root.resolve("gpu-kernels/src/main/cuda/quiver_kernels.cu")));
    assertTrue(Files.isRegularFile(root.resolve("gpu-kernels/src/main/resources/io/quiver/gpu/quiver_kernels.ptx")));
  }
}
