package io.quiver.index.spi;

/**
 * Offers a {@link ComputeBackend} to {@link ComputeBackends}, found with
 * {@link java.util.ServiceLoader} (a {@code META-INF/services/io.quiver.index.spi.ComputeBackendProvider}
 * entry in the providing jar). A provider must load even where its device or native library is
 * missing: it reports that from {@link #probe()} instead of throwing.
 */
public interface ComputeBackendProvider {

  /** What the probe found: a usable backend, or why there is none. */
  record Probe(ComputeBackend backend, String reason) {
    public static Probe available(ComputeBackend backend) {
      return new Probe(backend, null);
    }

    public static Probe unavailable(String reason) {
      return new Probe(null, reason);
    }

    public boolean isAvailable() {
      return backend != null;
    }
  }

  /** The kind of device, as {@code quiver.backend} names it: {@code gpu}. */
  String kind();

  /**
   * Looks for the device once (driver, device count, kernels) and returns a backend that hands
   * what it does not take to {@code reference}, or the reason there is none. Never throws for a
   * missing driver or device.
   */
  Probe probe(ComputeBackend reference);
}
