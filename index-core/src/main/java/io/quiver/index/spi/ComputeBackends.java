package io.quiver.index.spi;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;

/**
 * Chooses the {@link ComputeBackend} of this JVM, once, on first use.
 *
 * <p>The choice follows the {@code quiver.backend} system property, or {@link #configure}:
 * <ul>
 *   <li>{@code auto} (default): the first {@link ComputeBackendProvider} whose probe finds a device
 *       (a GPU with a working driver), else the CPU;
 *   <li>{@code cpu}: the CPU reference, without probing;
 *   <li>{@code gpu}: a GPU provider's backend; when none is usable {@link #current()} throws an
 *       {@link IllegalStateException} that gives each provider's reason (no provider on the class
 *       path, no driver, no device).
 * </ul>
 * The choice is logged in one line (logger {@code io.quiver.index.spi.ComputeBackends}, INFO), with
 * the reason when {@code auto} falls back to the CPU. Providers are found with
 * {@link ServiceLoader}, through the thread's context class loader and then this class's.
 */
public final class ComputeBackends {

  /** The system property that chooses the backend: {@code auto}, {@code cpu} or {@code gpu}. */
  public static final String PROPERTY = "quiver.backend";

  private static final Logger LOG = System.getLogger(ComputeBackends.class.getName());

  /** How the backend is chosen. */
  public enum Mode {
    AUTO, CPU, GPU;

    /** The mode named by {@code value} ({@code auto}, {@code cpu}, {@code gpu}, any case). */
    public static Mode parse(String value) {
      if (value != null) {
        switch (value.trim().toLowerCase(Locale.ROOT)) {
          case "auto":
            return AUTO;
          case "cpu":
            return CPU;
          case "gpu":
            return GPU;
          default:
            break;
        }
      }
      throw new IllegalArgumentException("unknown compute backend '" + value + "'; valid: auto, cpu, gpu");
    }

    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private static Mode configured;
  private static volatile ComputeBackend current;
  private static String reason = "";

  private ComputeBackends() {}

  /** The backend of this JVM, chosen on the first call (see the class comment). */
  public static ComputeBackend current() {
    ComputeBackend b = current;
    return b != null ? b : select();
  }

  /**
   * Sets the mode, overriding {@code quiver.backend}; the next {@link #current()} chooses again
   * when the mode changed. For a CLI's {@code --backend} and a Spark executor's start-up.
   *
   * @throws IllegalArgumentException for a name other than auto, cpu, gpu
   */
  public static synchronized void configure(String mode) {
    Mode m = Mode.parse(mode);
    if (m != mode()) {
      current = null;
    }
    configured = m;
  }

  /** The mode in force: the one configured, else {@code quiver.backend}, else auto. */
  public static synchronized Mode mode() {
    if (configured != null) {
      return configured;
    }
    String prop = System.getProperty(PROPERTY);
    try {
      return prop == null || prop.isBlank() ? Mode.AUTO : Mode.parse(prop);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("system property " + PROPERTY + "=" + prop + ": " + e.getMessage(), e);
    }
  }

  /** One line: the backend, the mode, and why auto chose the CPU. Chooses first if needed. */
  public static String describe() {
    ComputeBackend b = current();
    synchronized (ComputeBackends.class) {
      return b.name() + " (" + PROPERTY + "=" + mode() + (reason.isEmpty() ? "" : "; " + reason) + ")";
    }
  }

  /** Forgets the choice and the configured mode: the next {@link #current()} probes again. */
  public static synchronized void reset() {
    current = null;
    configured = null;
    reason = "";
  }

  /** Makes {@code backend} the current one until the next {@link #reset} or {@link #configure} (tests). */
  static synchronized void useForTests(ComputeBackend backend) {
    current = backend;
    reason = "";
  }

  private static synchronized ComputeBackend select() {
    if (current != null) {
      return current;
    }
    Mode m = mode();
    ComputeBackend chosen;
    if (m == Mode.CPU) {
      chosen = CpuBackend.INSTANCE;
      reason = "";
    } else {
      List<String> reasons = new ArrayList<>();
      chosen = probeProviders(reasons);
      if (chosen == null) {
        String why = reasons.isEmpty()
            ? "no GPU backend on the class path (the gpu-kernels jar provides one)"
            : String.join("; ", reasons);
        if (m == Mode.GPU) {
          throw new IllegalStateException(PROPERTY + "=gpu but no GPU is usable: " + why
              + ". Use --backend auto (or -D" + PROPERTY + "=auto) to fall back to the CPU, or cpu.");
        }
        chosen = CpuBackend.INSTANCE;
        reason = "no GPU: " + why;
      } else {
        reason = "";
      }
    }
    LOG.log(Level.INFO, "quiver compute backend: " + chosen.name() + " (" + PROPERTY + "=" + m
        + (reason.isEmpty() ? "" : "; " + reason) + ")");
    current = chosen;
    return chosen;
  }

  private static ComputeBackend probeProviders(List<String> reasons) {
    List<ClassLoader> loaders = new ArrayList<>();
    ClassLoader context = Thread.currentThread().getContextClassLoader();
    if (context != null) {
      loaders.add(context);
    }
    if (!loaders.contains(ComputeBackends.class.getClassLoader())) {
      loaders.add(ComputeBackends.class.getClassLoader());
    }
    List<String> seen = new ArrayList<>();
    for (ClassLoader loader : loaders) {
      try {
        for (ComputeBackendProvider p : ServiceLoader.load(ComputeBackendProvider.class, loader)) {
          if (seen.contains(p.getClass().getName()) || !"gpu".equals(p.kind())) {
            continue;
          }
          seen.add(p.getClass().getName());
          ComputeBackendProvider.Probe probe;
          try {
            probe = p.probe(CpuBackend.INSTANCE);
          } catch (RuntimeException | LinkageError e) {
            probe = ComputeBackendProvider.Probe.unavailable(p.getClass().getSimpleName() + " failed: " + e);
          }
          if (probe.isAvailable()) {
            return probe.backend();
          }
          reasons.add(probe.reason());
        }
      } catch (ServiceConfigurationError e) {
        reasons.add("a compute backend provider could not be loaded: " + e.getMessage());
      }
    }
    return null;
  }
}
