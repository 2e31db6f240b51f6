package io.quiver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.quiver.index.spi.ComputeBackends;
import io.quiver.index.spi.CpuBackend;
import io.quiver.spark.cli.Cli;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.resource.ResourceInformation;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link QuiverPlugin} and the CLI's {@code --backend}: how a driver or executor chooses its compute backend. */
class QuiverPluginTest {

  @BeforeAll
  static void start() {
    SparkTestSessions.local(2);
  }

  @AfterEach
  void reset() {
    System.clearProperty("quiver.gpu.device");
    ComputeBackends.reset();
  }

  private static boolean hasGpu() {
    ComputeBackends.reset();
    boolean gpu = ComputeBackends.current().isAccelerator();
    ComputeBackends.reset();
    return gpu;
  }

  @Test
  void theExecutorTakesTheModeAndItsAssignedGpu() {
    SparkConf conf = new SparkConf(false).set(QuiverPlugin.BACKEND_CONF, "cpu");
    ResourceInformation gpus = new ResourceInformation("gpu", new String[] {"3", "5"});
    QuiverPlugin.configure(conf, Map.of("gpu", gpus), "executor 1");
    assertEquals("3", System.getProperty("quiver.gpu.device"), "the first GPU Spark assigned");
    assertEquals(ComputeBackends.Mode.CPU, ComputeBackends.mode());
    assertSame(CpuBackend.INSTANCE, ComputeBackends.current());
  }

  @Test
  void gpuModeWithoutAGpuStopsTheJvmFromStarting() {
    assumeFalse(hasGpu(), "this machine has a GPU");
    SparkConf conf = new SparkConf(false).set(QuiverPlugin.BACKEND_CONF, "gpu");
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> QuiverPlugin.configure(conf, Map.of(), "executor 2"));
    assertTrue(e.getMessage().contains("no GPU is usable"), e.getMessage());
  }

  @Test
  void theCliChecksBackendBeforeStartingAJob() {
    Cli bad = Cli.run("generate", "--rows", "10", "--dim", "4", "--output", new java.io.File(SparkTestSessions.targetDir(), "backend-test-x").getPath(), "--backend", "tpu");
    assertEquals(2, bad.status(), bad.err());
    assertTrue(bad.err().contains("unknown compute backend 'tpu'; valid: auto, cpu, gpu"), bad.err());
    if (!hasGpu()) {
      Cli gpu = Cli.run("generate", "--rows", "10", "--dim", "4", "--output", new java.io.File(SparkTestSessions.targetDir(), "backend-test-y").getPath(), "--backend", "gpu");
      assertEquals(1, gpu.status(), gpu.err());
      assertTrue(gpu.err().contains("quiver.backend=gpu but no GPU is usable: no CUDA driver"), gpu.err());
      assertEquals(ComputeBackends.Mode.AUTO, ComputeBackends.mode(), "a failed --backend gpu leaves the mode as it was");
    }
    Cli.ok("generate", "--rows", "10", "--dim", "4", "--output", new java.io.File(SparkTestSessions.targetDir(), "backend-test-z").getPath(), "--overwrite", "--backend",
        "cpu");
    assertEquals("cpu (quiver.backend=cpu)", ComputeBackends.describe());
  }
}
