package io.quiver.index.spi;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A "gpu" provider for the tests of backend selection and dispatch: usable only while the system
 * property {@code quiver.test.fakeGpu} is true, when it offers a {@link ViewBackend}.
 */
public final class TestGpuProvider implements ComputeBackendProvider {
  static final String SWITCH = "quiver.test.fakeGpu";
  static final AtomicInteger PROBES = new AtomicInteger();

  @Override
  public String kind() {
    return "gpu";
  }

  @Override
  public Probe probe(ComputeBackend reference) {
    PROBES.incrementAndGet();
    if (!Boolean.getBoolean(SWITCH)) {
      return Probe.unavailable("the test GPU is switched off");
    }
    return Probe.available(new ViewBackend(reference));
  }
}
