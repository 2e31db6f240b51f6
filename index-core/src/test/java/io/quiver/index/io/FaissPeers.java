package io.quiver.index.io;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.quiver.index.Datasets;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The FAISS builds the interoperability tests run against, through {@code /usr/bin/python3}
 * (property {@code quiver.python}): FAISS 1.15 from {@code ../shared/peers/faiss-1.15} (property
 * {@code quiver.faiss}, else {@code <quiver.datasets>/../peers/faiss-1.15}, else that folder
 * relative to the working directory or its parent), put on {@code PYTHONPATH}, and Debian's
 * {@code python3-faiss} 1.7.3 (the system's {@code import faiss}, without {@code PYTHONPATH}).
 * A test that needs one that is absent is skipped, saying which and where it looked.
 */
final class FaissPeers {

  /** One FAISS build: the {@code PYTHONPATH} that selects it (null: the system's) and its version. */
  record Peer(String label, String pythonPath, String version) {}

  static final String PYTHON_PROPERTY = "quiver.python";
  static final String FAISS_PROPERTY = "quiver.faiss";

  private static final Map<String, Object> PROBED = new ConcurrentHashMap<>();

  private FaissPeers() {}

  static String python() {
    String p = System.getProperty(PYTHON_PROPERTY);
    return p == null || p.isBlank() ? "/usr/bin/python3" : p.trim();
  }

  /** The folders looked at for FAISS 1.15, in order. */
  static List<Path> candidates115() {
    List<Path> out = new ArrayList<>();
    String prop = System.getProperty(FAISS_PROPERTY);
    if (prop != null && !prop.isBlank()) {
      out.add(Paths.get(prop.trim()));
    }
    String datasets = System.getProperty(Datasets.PROPERTY);
    if (datasets != null && !datasets.isBlank()) {
      out.add(Paths.get(datasets.trim()).resolve("../peers/faiss-1.15"));
    }
    out.add(Paths.get("../shared/peers/faiss-1.15"));
    out.add(Paths.get("../../shared/peers/faiss-1.15"));
    return out;
  }

  /** FAISS 1.15, or skips the calling test. */
  static Peer require115() {
    Object p = PROBED.computeIfAbsent("1.15", key -> {
      for (Path c : candidates115()) {
        if (Files.isDirectory(c.resolve("faiss"))) {
          String path = c.toAbsolutePath().normalize().toString();
          String v = version(path);
          return v != null && v.startsWith("1.15") ? new Peer("FAISS " + v, path, v)
              : "FAISS in " + path + " does not load with " + python() + " (version " + v + ")";
        }
      }
      return "no FAISS 1.15 in " + candidates115() + " (-D" + FAISS_PROPERTY + ")";
    });
    assumeTrue(p instanceof Peer, () -> p + ", so this test is skipped");
    return (Peer) p;
  }

  /** Debian's FAISS 1.7.3 (the system's {@code import faiss}), or skips the calling test. */
  static Peer require173() {
    Object p = PROBED.computeIfAbsent("1.7.3", key -> {
      String v = version(null);
      return v != null && v.startsWith("1.7") ? new Peer("FAISS " + v + " (Debian)", null, v)
          : "the system's " + python() + " has no FAISS 1.7 (import faiss gave version " + v + ")";
    });
    assumeTrue(p instanceof Peer, () -> p + ", so this test is skipped");
    return (Peer) p;
  }

  /** {@code faiss.__version__} with this PYTHONPATH, or null when it does not import. */
  private static String version(String pythonPath) {
    try {
      Result r = run(pythonPath, 120, "-c", "import faiss; print(faiss.__version__)");
      return r.rc == 0 ? r.stdout.trim() : null;
    } catch (IOException e) {
      return null;
    }
  }

  record Result(int rc, String stdout, String stderr) {}

  /** Runs python with {@code args}, one thread, the given PYTHONPATH (null: none). */
  static Result run(String pythonPath, long timeoutSeconds, String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(python());
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    Map<String, String> env = pb.environment();
    env.put("OMP_NUM_THREADS", "1");
    env.put("OPENBLAS_NUM_THREADS", "1");
    if (pythonPath == null) {
      env.remove("PYTHONPATH");
    } else {
      env.put("PYTHONPATH", pythonPath);
    }
    Path err = Files.createTempFile("faiss-peer", ".err");
    pb.redirectError(err.toFile());
    Process proc;
    try {
      proc = pb.start();
    } catch (IOException e) {
      Files.deleteIfExists(err);
      throw e;
    }
    try (InputStream out = proc.getInputStream()) {
      String stdout = new String(out.readAllBytes(), StandardCharsets.UTF_8);
      if (!proc.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        proc.destroyForcibly();
        throw new IOException(cmd + " ran longer than " + timeoutSeconds + " s");
      }
      return new Result(proc.exitValue(), stdout, Files.readString(err));
    } catch (InterruptedException e) {
      proc.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException(e);
    } finally {
      Files.deleteIfExists(err);
    }
  }
}
