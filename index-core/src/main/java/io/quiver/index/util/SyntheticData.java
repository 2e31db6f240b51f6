package io.quiver.index.util;

import java.util.SplittableRandom;

/**
 * Seeded synthetic vectors that behave like real descriptors, after FAISS's
 * {@code SyntheticDataset}: points of a low-dimensional (10-d) latent Gaussian, optionally a
 * mixture of {@code clusters} components, mapped to {@code d} dimensions by a random linear map,
 * scaled per dimension and passed through a sine. Isotropic Gaussian blobs in {@code d}
 * dimensions are avoided on purpose: on them IVF and PQ behave unlike on real embeddings.
 *
 * <p>A generator fixes the map (from its seed); {@link #generate} then draws any number of points
 * from the same distribution with a stream seed, so base and query sets share the distribution
 * but no points.
 */
public final class SyntheticData {

  /** Dimension of the latent space. */
  public static final int LATENT_D = 10;

  private final int d;
  private final int clusters;
  private final float[] map;       // LATENT_D x d
  private final float[] scale;     // d
  private final float[] centers;   // clusters x LATENT_D

  /**
   * @param d output dimension
   * @param clusters mixture components in the latent space (0 for a single Gaussian)
   * @param seed fixes the map and the cluster centres
   */
  public SyntheticData(int d, int clusters, long seed) {
    this.d = Checks.atLeast("d", d, 1);
    this.clusters = Checks.atLeast("clusters", clusters, 0);
    SplittableRandom rng = new SplittableRandom(seed);
    map = new float[LATENT_D * d];
    for (int i = 0; i < map.length; i++) {
      map[i] = (float) rng.nextDouble();
    }
    scale = new float[d];
    for (int j = 0; j < d; j++) {
      scale[j] = (float) (rng.nextDouble() * 4 + 0.1) / (float) Math.sqrt(LATENT_D);
    }
    centers = new float[clusters * LATENT_D];
    for (int i = 0; i < centers.length; i++) {
      centers[i] = (float) (gaussian(rng) * 3.0);
    }
  }

  public int d() {
    return d;
  }

  /** {@code n} points ({@code n * d} floats), drawn with the given stream seed. */
  public float[] generate(int n, long streamSeed) {
    if ((long) n * d > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(n + " x " + d + " floats do not fit in one array");
    }
    float[] out = new float[n * d];
    int chunk = 8192;
    int chunks = (n + chunk - 1) / chunk;
    // each chunk has its own seeded stream, so the output does not depend on the thread count
    Parallel.forEach(0, chunks, c -> {
      SplittableRandom rng = new SplittableRandom(streamSeed * 0x9E3779B97F4A7C15L + c);
      float[] z = new float[LATENT_D];
      for (int i = c * chunk, end = Math.min(n, i + chunk); i < end; i++) {
        int comp = clusters == 0 ? -1 : rng.nextInt(clusters);
        for (int t = 0; t < LATENT_D; t++) {
          z[t] = (float) gaussian(rng) + (comp < 0 ? 0f : centers[comp * LATENT_D + t]);
        }
        int o = i * d;
        for (int j = 0; j < d; j++) {
          float s = 0;
          for (int t = 0; t < LATENT_D; t++) {
            s += z[t] * map[t * d + j];
          }
          out[o + j] = (float) Math.sin(s * scale[j]);
        }
      }
    });
    return out;
  }

  private static double gaussian(SplittableRandom rng) {
    // Box-Muller; SplittableRandom has no nextGaussian on Java 17
    double u1 = rng.nextDouble();
    double u2 = rng.nextDouble();
    return Math.sqrt(-2.0 * Math.log(1.0 - u1)) * Math.cos(2 * Math.PI * u2);
  }
}
