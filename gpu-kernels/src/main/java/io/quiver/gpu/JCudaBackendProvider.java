package io.quiver.gpu;

import io.quiver.index.spi.ComputeBackend;
import io.quiver.index.spi.ComputeBackendProvider;

/**
 * Offers {@link JCudaBackend} to index-core's {@link io.quiver.index.spi.ComputeBackends}. The
 * probe runs once per JVM and its answer is kept: JCuda's native library throws
 * {@link UnsatisfiedLinkError} on its first load where there is no driver, and
 * {@link NoClassDefFoundError} on every later call.
 *
 * <p>The device is {@code -Dquiver.gpu.device=N} (default 0); a Spark executor sets it from the GPU
 * address Spark assigned it.
 */
public final class JCudaBackendProvider implements ComputeBackendProvider {

  /** The system property naming the CUDA device ordinal. */
  public static final String DEVICE_PROPERTY = "quiver.gpu.device";

  private static final java.util.regex.Pattern MISSING_LIBRARY =
      java.util.regex.Pattern.compile("(lib[\\w.+-]+\\.so[\\w.]*): cannot open shared object file");

  private static Probe probed;

  @Override
  public String kind() {
    return "gpu";
  }

  @Override
  public Probe probe(ComputeBackend reference) {
    synchronized (JCudaBackendProvider.class) {
      if (probed == null) {
        probed = probeOnce(reference);
      }
      return probed;
    }
  }

  private static Probe probeOnce(ComputeBackend reference) {
    String prop = System.getProperty(DEVICE_PROPERTY, "0");
    int ordinal;
    try {
      ordinal = Integer.parseInt(prop.trim());
    } catch (NumberFormatException e) {
      return Probe.unavailable(DEVICE_PROPERTY + "=" + prop + " is not a device number (0, 1, ...)");
    }
    try {
      return Probe.available(JCudaBackend.open(ordinal, reference));
    } catch (UnsatisfiedLinkError e) {
      java.util.regex.Matcher m = MISSING_LIBRARY.matcher(String.valueOf(e.getMessage()));
      return Probe.unavailable(m.find()
          ? "no CUDA driver: " + m.group(1) + " is not installed (JCuda's native library needs it)"
          : "no CUDA driver: JCuda's native library did not load (" + firstLine(e) + ")");
    } catch (NoClassDefFoundError e) {
      return Probe.unavailable("JCuda is not usable in this JVM (" + firstLine(e) + ")");
    } catch (GpuUnavailableException e) {
      return Probe.unavailable(e.getMessage());
    } catch (RuntimeException e) {
      return Probe.unavailable("CUDA initialisation failed: " + e.getClass().getSimpleName() + ": " + firstLine(e));
    }
  }

  /** The first line of a throwable's message (JCuda's load errors list every path it tried). */
  static String firstLine(Throwable e) {
    String m = String.valueOf(e.getMessage()).strip();
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl).strip();
  }
}
