package io.quiver.index.tools;

import io.quiver.index.FlatIndex;
import io.quiver.index.IndexFactory;
import io.quiver.index.IvfCodesIndex;
import io.quiver.index.IvfIndex;
import io.quiver.index.IvfPqIndex;
import io.quiver.index.L2NormIndex;
import io.quiver.index.Metric;
import io.quiver.index.RefineIndex;
import io.quiver.index.SearchParams;
import io.quiver.index.SearchResult;
import io.quiver.index.VectorIndex;
import io.quiver.index.io.VecsIO;
import io.quiver.index.spi.ComputeBackends;
import io.quiver.index.util.Parallel;
import io.quiver.index.util.SyntheticData;
import io.quiver.index.vector.VectorUtil;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code quiver bench}: trains, adds and searches one index in one process and prints exactly
 * one JSON object on stdout; progress goes to stderr. Search is timed {@code --repeat} times
 * (default 3) and the median is reported, so that JIT warm-up does not count against small query
 * sets.
 */
final class Bench {

  static final String USAGE = String.join("\n",
      "usage: quiver bench --factory F --base B [--queries Q] [--ground-truth G.ivecs] [--metric l2|ip|cosine]",
      "                    [--k 10] [--nprobe N[,N...]] [--kfactor F[,F...]] [--ef-search E[,E...]]",
      "                    [--ef-construction C] [--threads T] [--seed S] [--repeat R]",
      "                    [--backend auto|cpu|gpu]",
      "",
      "  --factory F   index factory string: " + IndexFactory.GRAMMAR,
      "  --base B      base vectors: a .fvecs or .bvecs file, or generated:N:D[:clusters]",
      "                (seeded synthetic data of N vectors of dimension D, see SyntheticData)",
      "  --queries Q   query vectors: a .fvecs or .bvecs file, or generated:NQ (same distribution as a",
      "                generated base, other points); default generated:1000 for a generated base",
      "                (also --query, as the Spark commands spell it --queries)",
      "  --ground-truth G  ground truth .ivecs (row q: ids of the true neighbours of query q, nearest",
      "                first); without it the ground truth is computed exactly with a Flat index (also --gt)",
      "  --metric M    l2 (default), ip or cosine",
      "  --k K         neighbours per query (default 10)",
      "  --nprobe N    lists visited per query for IVF indexes (default 1, as FAISS); a comma-separated",
      "                list sweeps them on one trained index, one JSON line per value",
      "  --kfactor F   candidates per result re-ranked exactly by ,RFlat indexes (default 1, as FAISS);",
      "                a list sweeps them (with every nprobe)",
      "  --ef-search E candidates of an HNSW search (HNSW<M> indexes, and the coarse quantizer of",
      "                IVF<n>_HNSW<M>; default 16, as FAISS); a list sweeps them (with every nprobe)",
      "  --ef-construction C  candidates while linking an HNSW<M> index (default 40, as FAISS)",
      "  --threads T   threads for training, adding and searching (default: all cores)",
      "  --seed S      seed for generated data and k-means (default 1234)",
      "  --repeat R    timed searches; the median is reported (default 5). Untimed warm-up",
      "                searches run first until 1 s has passed (at least one), so that the JIT",
      "                has compiled the kernels",
      "  --backend B   compute backend: auto (default: a GPU when gpu-kernels, a driver and a device are",
      "                there, else the CPU), cpu, or gpu (fails without a usable GPU)",
      "  --use-precomputed-table M   IVF-PQ with L2: -1 (no per-list table), 0 (default: auto, tables",
      "                up to 2 MiB) or 1 (always, as FAISS); see IvfPqIndex",
      "",
      "Prints one JSON object with factory, metric, n, d, nq, k, nprobe, train_s, add_s, search_s,",
      "qps, recall_at_1 (share of queries whose true nearest neighbour is ranked first) and",
      "recall_at_k (|found top-k & true top-k| / k, averaged over queries).");

  private static final Set<String> OPTIONS = new LinkedHashSet<>(Arrays.asList(
      "factory", "base", "query", "gt", "metric", "k", "nprobe", "kfactor", "ef-search", "ef-construction", "threads", "seed", "repeat", "backend", "use-precomputed-table", "help"));

  private Bench() {}

  /** Applies {@code --backend} (if given) and returns the backend's name; probes the device now. */
  static String configureBackend(Args a, String command) {
    if (a.has("backend")) {
      try {
        ComputeBackends.configure(a.get("backend", "auto"));
      } catch (IllegalArgumentException e) {
        throw new Args.UsageException(command + ": --backend: " + e.getMessage());
      }
    }
    return ComputeBackends.current().name();
  }

  /** The spellings of the Spark commands, {@code --queries} and {@code --ground-truth}, for {@code --query} and {@code --gt}. */
  static String[] aliases(String[] argv) {
    String[] out = argv.clone();
    for (int i = 0; i < out.length; i++) {
      String a = out[i];
      if (a.equals("--queries") || a.startsWith("--queries=")) {
        out[i] = "--query" + a.substring("--queries".length());
      } else if (a.equals("--ground-truth") || a.startsWith("--ground-truth=")) {
        out[i] = "--gt" + a.substring("--ground-truth".length());
      }
      if (out[i].startsWith("--") && out[i].indexOf('=') < 0 && !out[i].equals("--help")) {
        i++; // the option's value, whatever it looks like
      }
    }
    return out;
  }

  static int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
    Args a = new Args("bench", aliases(argv), 0, OPTIONS);
    if (a.has("help")) {
      out.println(USAGE);
      return 0;
    }
    String factory = a.require("factory");
    String baseSpec = a.require("base");
    Metric metric = Metric.parse(a.get("metric", "l2"));
    int k = a.getInt("k", 10, 1);
    int threads = a.getInt("threads", 0, 0);
    long seed = a.getLong("seed", 1234);
    int repeat = a.getInt("repeat", 5, 1);
    List<Integer> nprobes = a.has("nprobe") ? intList(a.get("nprobe", null), "--nprobe") : null;
    List<Float> kFactors = a.has("kfactor") ? floatList(a.get("kfactor", null), "--kfactor") : null;
    List<Integer> efSearches = a.has("ef-search") ? intList(a.get("ef-search", null), "--ef-search") : null;
    Parallel.setDefaultThreads(threads);
    String backend = configureBackend(a, "bench");

    Data base = loadBase(baseSpec, seed, err);
    String querySpec = a.get("query", base.generator != null ? "generated:1000" : null);
    if (querySpec == null) {
      throw new Args.UsageException("bench: --queries is required when --base is a file");
    }
    Data queries = loadQueries(querySpec, base, seed, err);
    if (queries.d != base.d) {
      throw new IllegalArgumentException("queries have d=" + queries.d + " but the base has d=" + base.d + " (" + querySpec + ")");
    }

    VectorIndex index = IndexFactory.create(base.d, factory, metric);
    VectorIndex core = unwrap(index);
    Integer nlist = null;
    if (core instanceof IvfIndex) {
      ((IvfIndex) core).setTrainSeed(seed);
      nlist = ((IvfIndex) core).nlist();
    } else if (core instanceof IvfCodesIndex) {
      ((IvfCodesIndex) core).coarseQuantizer().setSeed(seed);
      nlist = ((IvfCodesIndex) core).nlist();
    }
    if (a.has("ef-construction")) {
      int efConstruction = a.getInt("ef-construction", 40, 1);
      if (core instanceof io.quiver.index.hnsw.HnswIndex<?> h) {
        h.setEfConstruction(efConstruction);
      } else if (core instanceof IvfCodesIndex<?> ivf
          && ivf.coarseQuantizer() instanceof io.quiver.index.hnsw.HnswCoarseQuantizer hq) {
        hq.setEfConstruction(efConstruction);
      } else {
        err.println("[quiver] note: --ef-construction has no effect on " + factory);
      }
    }
    if (a.has("use-precomputed-table")) {
      int mode = a.getInt("use-precomputed-table", IvfPqIndex.PRECOMPUTED_AUTO, IvfPqIndex.PRECOMPUTED_OFF);
      if (core instanceof IvfPqIndex) {
        try {
          ((IvfPqIndex) core).setUsePrecomputedTable(mode);
        } catch (IllegalArgumentException e) {
          throw new Args.UsageException("bench: --use-precomputed-table: " + e.getMessage());
        }
      } else {
        err.println("[quiver] note: --use-precomputed-table has no effect on " + factory + " (only on IVF-PQ)");
      }
    }
    if (nprobes != null && nlist == null) {
      err.println("[quiver] note: --nprobe has no effect on " + factory);
    }
    if (kFactors != null && !refines(index)) {
      err.println("[quiver] note: --kfactor has no effect on " + factory + " (only on ...,RFlat)");
    }

    err.printf(Locale.ROOT, "[quiver] %s %s: n=%d d=%d nq=%d k=%d threads=%d kernels=%s%n",
        factory, metric.name().toLowerCase(Locale.ROOT), base.n, base.d, queries.n, k,
        Parallel.resolveThreads(threads), VectorUtil.implementationName());
    long t0 = System.nanoTime();
    index.train(base.data);
    double trainS = seconds(t0);
    err.printf(Locale.ROOT, "[quiver] trained in %.3f s%n", trainS);
    t0 = System.nanoTime();
    index.add(base.data);
    double addS = seconds(t0);
    err.printf(Locale.ROOT, "[quiver] added %d vectors in %.3f s%n", index.ntotal(), addS);

    int[] gt;
    int gtK;
    if (a.has("gt")) {
      Path gtPath = Path.of(a.get("gt", null));
      VecsIO.IntVectors g = VecsIO.readIvecs(gtPath);
      if (g.n() != queries.n) {
        throw new IllegalArgumentException(gtPath + " has " + g.n() + " rows but there are " + queries.n + " queries");
      }
      if (g.d() < k) {
        throw new IllegalArgumentException(gtPath + " has " + g.d() + " neighbours per query, fewer than k=" + k);
      }
      gt = g.data();
      gtK = g.d();
    } else {
      err.println("[quiver] computing exact ground truth with a Flat index");
      FlatIndex exact = new FlatIndex(base.d, metric);
      exact.add(base.data);
      long[] ids = exact.search(queries.data, k, SearchParams.defaults().withThreads(threads)).ids();
      gt = new int[ids.length];
      for (int i = 0; i < ids.length; i++) {
        gt[i] = (int) ids[i];
      }
      gtK = k;
    }
    Integer lists = nlist;
    for (Integer nprobe : nprobes != null ? nprobes : java.util.Collections.<Integer>singletonList(null)) {
      for (Float kFactor : kFactors != null ? kFactors : java.util.Collections.<Float>singletonList(null)) {
        for (Integer efSearch : efSearches != null ? efSearches : java.util.Collections.<Integer>singletonList(null)) {
          SearchParams params = SearchParams.defaults().withThreads(threads);
          if (efSearch != null) {
            params = params.withEfSearch(efSearch);
          }
          if (nprobe != null) {
            params = params.withNprobe(nprobe);
          }
          if (kFactor != null) {
            params = params.withKFactor(kFactor);
          }
          out.println(searchPoint(index, queries, k, params, repeat, gt, gtK, err, json -> {
            json.put("factory", factory);
            json.put("metric", metric.name().toLowerCase(Locale.ROOT));
            json.put("n", base.n);
            json.put("d", base.d);
            json.put("nq", queries.n);
            json.put("k", k);
            json.put("nprobe", lists == null ? null : (Object) Math.min(nprobe != null ? nprobe : 1, lists));
            json.put("train_s", round(trainS));
            json.put("add_s", round(addS));
          }, json -> {
            if (kFactor != null) {
              json.put("kfactor", (double) kFactor);
            }
            if (efSearch != null) {
              json.put("ef_search", efSearch);
            }
            long bytes = index.memoryBytes();
            if (bytes >= 0) {
              json.put("index_bytes", bytes);
              json.put("bytes_per_vector", round((double) bytes / Math.max(1, index.ntotal())));
            }
            if (core instanceof IvfCodesIndex) {
              json.put("list_bytes_per_vector",
                  round((double) ((IvfCodesIndex) core).listMemoryBytes() / Math.max(1, core.ntotal())));
            }
            if (core instanceof IvfPqIndex) {
              json.put("precomputed_table", ((IvfPqIndex) core).usesPrecomputedTable());
            }
            json.put("threads", Parallel.resolveThreads(threads));
            json.put("kernels", VectorUtil.implementationName());
            json.put("backend", backend);
            json.put("base", baseSpec);
            json.put("query", querySpec);
          }));
        }
      }
    }
    return 0;
  }

  /**
   * Times one search setting (untimed warm-up searches for about a second, then {@code repeat}
   * timed ones, median) and measures its recall; returns the point's JSON.
   */
  private static String searchPoint(VectorIndex index, Data queries, int k, SearchParams params, int repeat, int[] gt,
                                    int gtK, PrintStream err, java.util.function.Consumer<Map<String, Object>> head,
                                    java.util.function.Consumer<Map<String, Object>> tail) {
    long t0;
    SearchResult result = null;
    int warmups = 0;
    long warmStart = System.nanoTime();
    do {
      result = index.search(queries.data, k, params);
      warmups++;
    } while (System.nanoTime() - warmStart < 1_000_000_000L && warmups < 100_000);
    double[] times = new double[repeat];
    for (int r = 0; r < repeat; r++) {
      t0 = System.nanoTime();
      result = index.search(queries.data, k, params);
      times[r] = seconds(t0);
    }
    Arrays.sort(times);
    double searchS = times[repeat / 2];
    err.printf(Locale.ROOT, "[quiver] searched %d queries: median %.4f s of %d runs after %d warm-up runs%n",
        queries.n, searchS, repeat, warmups);

    double[] recall = recall(result, gt, gtK, k);
    Map<String, Object> json = new LinkedHashMap<>();
    head.accept(json);
    json.put("search_s", round(searchS));
    json.put("qps", round(queries.n / searchS));
    json.put("recall_at_1", round(recall[0]));
    json.put("recall_at_k", round(recall[1]));
    tail.accept(json);
    return Json.object(json);
  }

  private static List<Integer> intList(String v, String option) {
    List<Integer> out = new java.util.ArrayList<>();
    for (String p : v.split(",")) {
      try {
        int x = Integer.parseInt(p.trim());
        if (x < 1) {
          throw new NumberFormatException();
        }
        out.add(x);
      } catch (NumberFormatException e) {
        throw new Args.UsageException("bench: " + option + " takes integers >= 1, comma-separated; got '" + v + "'");
      }
    }
    return out;
  }

  private static List<Float> floatList(String v, String option) {
    List<Float> out = new java.util.ArrayList<>();
    for (String p : v.split(",")) {
      try {
        float x = Float.parseFloat(p.trim());
        if (!(x >= 1f) || Float.isInfinite(x)) {
          throw new NumberFormatException();
        }
        out.add(x);
      } catch (NumberFormatException e) {
        throw new Args.UsageException("bench: " + option + " takes finite numbers >= 1, comma-separated; got '" + v + "'");
      }
    }
    return out;
  }

  /** The index that does the work, inside {@code L2norm,} and {@code ,RFlat} wrappers. */
  static VectorIndex unwrap(VectorIndex index) {
    VectorIndex i = index;
    while (i != unwrapOnce(i)) {
      i = unwrapOnce(i);
    }
    return i;
  }

  private static boolean refines(VectorIndex index) {
    for (VectorIndex i = index; ; i = unwrapOnce(i)) {
      if (i instanceof RefineIndex) {
        return true;
      }
      if (i == unwrapOnce(i)) {
        return false;
      }
    }
  }

  private static VectorIndex unwrapOnce(VectorIndex index) {
    if (index instanceof L2NormIndex) {
      return ((L2NormIndex) index).inner();
    }
    if (index instanceof RefineIndex) {
      return ((RefineIndex) index).base();
    }
    return index;
  }

  /** {recall@1, recall@k}: see the usage text. */
  static double[] recall(SearchResult r, int[] gt, int gtK, int k) {
    int nq = r.nq();
    double r1 = 0;
    double rk = 0;
    for (int q = 0; q < nq; q++) {
      if (r.id(q, 0) == gt[q * gtK]) {
        r1++;
      }
      int hit = 0;
      for (int j = 0; j < k; j++) {
        long id = r.id(q, j);
        if (id < 0) {
          continue;
        }
        for (int t = 0; t < k; t++) {
          if (gt[q * gtK + t] == id) {
            hit++;
            break;
          }
        }
      }
      rk += (double) hit / k;
    }
    return new double[] {r1 / nq, rk / nq};
  }

  private static double seconds(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }

  private static double round(double v) {
    return Math.round(v * 1e6) / 1e6;
  }

  /** Loaded vectors; {@code generator} is set for generated data. */
  static final class Data {
    final int n;
    final int d;
    final float[] data;
    final SyntheticData generator;

    Data(int n, int d, float[] data, SyntheticData generator) {
      this.n = n;
      this.d = d;
      this.data = data;
      this.generator = generator;
    }
  }

  static Data loadBase(String spec, long seed, PrintStream err) throws IOException {
    if (spec.startsWith("generated:")) {
      String[] p = spec.split(":");
      if (p.length < 3 || p.length > 4) {
        throw new Args.UsageException("bench: --base " + spec + " is not of the form generated:N:D[:clusters]");
      }
      int n = parsePositive(p[1], "N", spec);
      int d = parsePositive(p[2], "D", spec);
      int clusters = p.length == 4 ? parseNonNegative(p[3], "clusters", spec) : 0;
      SyntheticData gen = new SyntheticData(d, clusters, seed);
      err.printf(Locale.ROOT, "[quiver] generating %d x %d vectors (seed %d, %d clusters)%n", n, d, seed, clusters);
      return new Data(n, d, gen.generate(n, seed), gen);
    }
    return readFile(spec, err);
  }

  private static Data loadQueries(String spec, Data base, long seed, PrintStream err) throws IOException {
    if (spec.startsWith("generated:")) {
      if (base.generator == null) {
        throw new Args.UsageException("bench: --query generated:NQ needs a generated --base");
      }
      String[] p = spec.split(":");
      if (p.length != 2) {
        throw new Args.UsageException("bench: --query " + spec + " is not of the form generated:NQ");
      }
      int nq = parsePositive(p[1], "NQ", spec);
      return new Data(nq, base.d, base.generator.generate(nq, seed + 1), null);
    }
    return readFile(spec, err);
  }

  private static Data readFile(String spec, PrintStream err) throws IOException {
    Path path = Path.of(spec);
    if (!Files.isRegularFile(path)) {
      throw new IllegalArgumentException("no such file: " + spec + " (expected a .fvecs or .bvecs file, or generated:...)");
    }
    VecsIO.FloatVectors v;
    if (spec.endsWith(".bvecs")) {
      v = VecsIO.readBvecs(path, Integer.MAX_VALUE);
    } else if (spec.endsWith(".fvecs")) {
      v = VecsIO.readFvecs(path);
    } else {
      throw new IllegalArgumentException(spec + ": unknown file type; expected .fvecs or .bvecs");
    }
    err.printf(Locale.ROOT, "[quiver] read %d x %d vectors from %s%n", v.n(), v.d(), spec);
    return new Data(v.n(), v.d(), v.data(), null);
  }

  private static int parsePositive(String s, String what, String spec) {
    int v = parseNonNegative(s, what, spec);
    if (v < 1) {
      throw new Args.UsageException("bench: " + what + " in " + spec + " must be >= 1");
    }
    return v;
  }

  private static int parseNonNegative(String s, String what, String spec) {
    try {
      int v = Integer.parseInt(s);
      if (v < 0) {
        throw new NumberFormatException();
      }
      return v;
    } catch (NumberFormatException e) {
      throw new Args.UsageException("bench: " + what + " in " + spec + " must be a non-negative integer, was '" + s + "'");
    }
  }
}
