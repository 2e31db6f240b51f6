package io.quiver.gpu;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.quiver.index.spi.ComputeBackendProvider;
import io.quiver.index.spi.ComputeBackends;
import io.quiver.index.spi.CpuBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * How the CUDA backend is found and chosen. On a machine without a GPU (CI) the probe must fail
 * softly with a reason, auto must choose the CPU and say why, and gpu must fail clearly; on a
 * machine with one, auto must choose it.
 */
class BackendSelectionTest {

  @AfterEach
  void reset() {
    ComputeBackends.reset();
  }

  private static ComputeBackendProvider.Probe probe() {
    return new JCudaBackendProvider().probe(CpuBackend.INSTANCE);
  }

  @Test
  void theProbeAnswersWithoutThrowingAndKeepsItsAnswer() {
    ComputeBackendProvider.Probe first = probe();
    ComputeBackendProvider.Probe second = probe();
    assertTrue(first == second, "the probe runs once per JVM");
    if (!first.isAvailable()) {
      assertNotNull(first.reason());
      assertFalse(first.reason().isBlank());
      System.out.println("no GPU here: " + first.reason());
    } else {
      assertInstanceOf(JCudaBackend.class, first.backend());
      assertTrue(first.backend().name().startsWith("gpu "), first.backend().name());
    }
  }

  @Test
  void autoChoosesTheGpuWhenThereIsOneElseTheCpuWithTheReason() {
    ComputeBackends.configure("auto");
    ComputeBackendProvider.Probe p = probe();
    if (p.isAvailable()) {
      assertTrue(ComputeBackends.current().isAccelerator());
    } else {
      assertTrue(ComputeBackends.current() == CpuBackend.INSTANCE);
      String line = ComputeBackends.describe();
      assertTrue(line.startsWith("cpu (quiver.backend=auto; no GPU: "), line);
      assertTrue(line.contains(p.reason()), line);
    }
  }

  @Test
  void gpuWithoutAGpuFailsWithTheReason() {
    ComputeBackendProvider.Probe p = probe();
    assumeFalse(p.isAvailable(), "this machine has a GPU: " + (p.isAvailable() ? p.backend().name() : ""));
    ComputeBackends.configure("gpu");
    IllegalStateException e = assertThrows(IllegalStateException.class, ComputeBackends::current);
    assertTrue(e.getMessage().startsWith("quiver.backend=gpu but no GPU is usable: "), e.getMessage());
    assertTrue(e.getMessage().contains(p.reason()), e.getMessage());
  }
}
