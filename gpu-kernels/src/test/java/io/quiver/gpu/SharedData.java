package io.quiver.gpu;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.quiver.index.io.VecsIO;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The real datasets of {@code ../shared/datasets} for the GPU tests: the folder named by
 * {@code -Dquiver.datasets} (the build sets it), else {@code ../../shared/datasets}; a test that
 * needs a missing file is skipped.
 */
final class SharedData {
  private SharedData() {}

  /** A base set and its queries. */
  record Dataset(String name, float[] base, float[] queries, int d) {}

  static Dataset bigann10k() {
    return load("bigann10k", "bigann10k/bigann10k_base.fvecs", "bigann10k/siftsmall_query100.fvecs");
  }

  static Dataset glove25() {
    return load("glove25", "glove25/glove25_base.fvecs", "glove25/glove25_query.fvecs");
  }

  private static Dataset load(String name, String base, String queries) {
    String prop = System.getProperty("quiver.datasets");
    Path folder = Path.of(prop != null && !prop.isBlank() ? prop.trim() : "../../shared/datasets");
    Path b = folder.resolve(base);
    Path q = folder.resolve(queries);
    assumeTrue(Files.isRegularFile(b) && Files.isRegularFile(q), () -> "skipped: " + b + " or " + q + " is absent");
    try {
      VecsIO.FloatVectors bv = VecsIO.readFvecs(b);
      return new Dataset(name, bv.data(), VecsIO.readFvecs(q).data(), bv.d());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
