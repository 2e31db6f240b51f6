package io.quiver.index.tools;

import io.quiver.index.quantize.KMeans;
import io.quiver.index.util.Parallel;
import io.quiver.index.vector.VectorUtil;
import java.io.IOException;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code quiver kmeans}: runs k-means on a vector file and prints one JSON object with the time
 * and the objective per iteration; progress and per-iteration lines go to stderr.
 */
final class KMeansCommand {

  static final String USAGE = String.join("\n",
      "usage: quiver kmeans --base B --k K [--niter 25] [--nredo 1] [--seed 1234] [--threads T]",
      "                     [--max-points-per-centroid 256] [--spherical] [--ip] [--kmeans++] [--backend auto|cpu|gpu]",
      "",
      "  --base B    a .fvecs or .bvecs file, or generated:N:D[:clusters]",
      "  --k K       centroids",
      "  --niter N   iterations (default 25)",
      "  --nredo R   runs with different seeds; the best objective is kept (default 1)",
      "  --seed S    seed (default 1234)",
      "  --threads T threads (default: all cores)",
      "  --max-points-per-centroid M   subsample to k*M points (default 256)",
      "  --spherical       normalize the centroids after each update",
      "  --ip              assign by largest inner product",
      "  --kmeans++        k-means++ initialisation instead of k random points",
      "  --backend B       compute backend for the assignment steps: auto (default), cpu or gpu",
      "",
      "Prints one JSON object: n, d, k, niter, train_s, objective (final), objectives (per iteration).");

  private static final Set<String> OPTIONS = new LinkedHashSet<>(Arrays.asList(
      "base", "k", "niter", "nredo", "seed", "threads", "max-points-per-centroid", "spherical", "ip", "kmeans++", "backend", "help"));

  private KMeansCommand() {}

  static int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
    Args a = new Args("kmeans", argv, 0, OPTIONS, Set.of("help", "spherical", "ip", "kmeans++"));
    if (a.has("help")) {
      out.println(USAGE);
      return 0;
    }
    String baseSpec = a.require("base");
    a.require("k");
    int k = a.getInt("k", 1, 1);
    int threads = a.getInt("threads", 0, 0);
    long seed = a.getLong("seed", 1234);
    Parallel.setDefaultThreads(threads);
    String backend = Bench.configureBackend(a, "kmeans");
    Bench.Data base = Bench.loadBase(baseSpec, seed, err);
    KMeans km = new KMeans(base.d, k)
        .niter(a.getInt("niter", 25, 0))
        .nredo(a.getInt("nredo", 1, 1))
        .seed(seed)
        .threads(threads)
        .maxPointsPerCentroid(a.getInt("max-points-per-centroid", 256, 1))
        .spherical(a.has("spherical"))
        .innerProduct(a.has("ip"))
        .kmeansPlusPlus(a.has("kmeans++"))
        .verbose(true);
    err.printf(Locale.ROOT, "[quiver] k-means of %d x %d into %d, %d iterations, threads=%d kernels=%s%n",
        base.n, base.d, k, km.niter(), Parallel.resolveThreads(threads), VectorUtil.implementationName());
    long t0 = System.nanoTime();
    KMeans.Result r = km.train(base.data);
    double seconds = (System.nanoTime() - t0) / 1e9;
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("n", base.n);
    json.put("d", base.d);
    json.put("k", k);
    json.put("niter", km.niter());
    json.put("backend", backend);
    json.put("training_points", r.trainingPoints());
    json.put("train_s", Math.round(seconds * 1e6) / 1e6);
    json.put("objective", r.finalObjective());
    json.put("objectives", r.objectives());
    json.put("threads", Parallel.resolveThreads(threads));
    json.put("kernels", VectorUtil.implementationName());
    out.println(Json.object(json));
    return 0;
  }
}
