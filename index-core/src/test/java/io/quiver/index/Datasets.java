package io.quiver.index;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.quiver.index.io.VecsIO;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The real datasets of {@code ../shared/datasets} (see its README.md), for recall tests.
 *
 * <p>The folder comes from the system property {@code quiver.datasets} (the build passes
 * {@code -Dquiver.datasets=<repo>/../shared/datasets}), else {@code ../shared/datasets} or
 * {@code ../../shared/datasets} relative to the working directory. When it is absent, tests that
 * need it are skipped (JUnit assumptions), so a fresh clone without the data still passes.
 * Loaded files are cached for the life of the JVM.
 */
public final class Datasets {

  /** The system property naming the dataset folder. */
  public static final String PROPERTY = "quiver.datasets";

  /** bigann10k: 10,000 x 128 SIFT base, 100 queries, exact L2 top-100. */
  public static final String BIGANN_BASE = "bigann10k/bigann10k_base.fvecs";
  public static final String BIGANN_QUERIES = "bigann10k/siftsmall_query100.fvecs";
  public static final String BIGANN_GT = "bigann10k/bigann10k_siftsmallq100_gt100.ivecs";

  /** glove25: 10,925 x 25 GloVe base, 1,000 queries, exact cosine top-100. */
  public static final String GLOVE_BASE = "glove25/glove25_base.fvecs";
  public static final String GLOVE_QUERIES = "glove25/glove25_query.fvecs";
  public static final String GLOVE_GT = "glove25/glove25_gt100_angular.ivecs";

  private static final ConcurrentHashMap<String, Object> CACHE = new ConcurrentHashMap<>();

  private Datasets() {}

  /** A base set, its queries and their exact ground truth (row numbers into base, nearest first). */
  public record Dataset(String name, VecsIO.FloatVectors base, VecsIO.FloatVectors queries, VecsIO.IntVectors groundTruth) {
    public int d() {
      return base.d();
    }
  }

  /** The folders looked at, in order. */
  static List<Path> candidates() {
    List<Path> out = new ArrayList<>();
    String prop = System.getProperty(PROPERTY);
    if (prop != null && !prop.isBlank()) {
      out.add(Paths.get(prop.trim()));
    }
    out.add(Paths.get("../shared/datasets"));
    out.add(Paths.get("../../shared/datasets"));
    return out;
  }

  /** The dataset folder, or null when none of the candidates exists. */
  public static Path folderOrNull() {
    for (Path p : candidates()) {
      if (Files.isDirectory(p)) {
        return p.toAbsolutePath().normalize();
      }
    }
    return null;
  }

  /** The file {@code relative} inside the dataset folder; skips the calling test when absent. */
  public static Path require(String relative) {
    Path folder = folderOrNull();
    assumeTrue(folder != null, () -> "the dataset folder " + candidates() + " (-D" + PROPERTY + "="
        + System.getProperty(PROPERTY) + ") is absent, so this test is skipped");
    Path file = folder.resolve(relative);
    assumeTrue(Files.isRegularFile(file), () -> "the dataset file " + file + " is absent (dataset folder "
        + folder + "), so this test is skipped");
    return file;
  }

  /** An {@code .fvecs} file of the dataset folder (cached); skips the test when absent. */
  public static VecsIO.FloatVectors fvecs(String relative) {
    Path file = require(relative);
    return (VecsIO.FloatVectors) CACHE.computeIfAbsent(relative, r -> {
      try {
        return VecsIO.readFvecs(file);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
  }

  /** An {@code .ivecs} file of the dataset folder (cached); skips the test when absent. */
  public static VecsIO.IntVectors ivecs(String relative) {
    Path file = require(relative);
    return (VecsIO.IntVectors) CACHE.computeIfAbsent(relative, r -> {
      try {
        return VecsIO.readIvecs(file);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
  }

  /** bigann10k (L2); skips the test when absent. */
  public static Dataset bigann10k() {
    return new Dataset("bigann10k", fvecs(BIGANN_BASE), fvecs(BIGANN_QUERIES), ivecs(BIGANN_GT));
  }

  /** glove25 (cosine); skips the test when absent. */
  public static Dataset glove25() {
    return new Dataset("glove25", fvecs(GLOVE_BASE), fvecs(GLOVE_QUERIES), ivecs(GLOVE_GT));
  }
}
