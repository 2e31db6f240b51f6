package io.quiver.index.tools;

import io.quiver.index.io.VecsIO;
import io.quiver.index.util.SyntheticData;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;

/**
 * {@code quiver generate}: writes the seeded synthetic vectors that {@code bench --base
 * generated:N:D[:clusters]} uses to {@code .fvecs} files, so that other systems can be measured
 * on the very same data. Base vectors come from stream {@code seed}, queries from stream
 * {@code seed + 1}, exactly as in {@code bench}.
 */
final class Generate {

  static final String USAGE = String.join("\n",
      "usage: quiver generate-vecs --n N --d D [--clusters C] [--seed S] --out BASE.fvecs [--nq NQ --query-out Q.fvecs]",
      "       (index-core's 'generate': java -jar index-core.jar generate ...)",
      "",
      "  --n N          base vectors to write",
      "  --d D          dimension",
      "  --clusters C   mixture components of the latent space (default 0: one Gaussian)",
      "  --seed S       seed (default 1234); same data as bench --base generated:N:D:C --seed S",
      "  --out F        base vectors file (.fvecs)",
      "  --nq NQ        query vectors to write (same as bench --queries generated:NQ)",
      "  --query-out F  query vectors file (.fvecs)");

  private static final Set<String> OPTIONS = new LinkedHashSet<>(Arrays.asList(
      "n", "d", "clusters", "seed", "out", "nq", "query-out", "help"));

  private Generate() {}

  static int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
    Args a = new Args("generate", argv, 0, OPTIONS);
    if (a.has("help")) {
      out.println(USAGE);
      return 0;
    }
    a.require("n");
    a.require("d");
    int n = a.getInt("n", 0, 1);
    int d = a.getInt("d", 0, 1);
    int clusters = a.getInt("clusters", 0, 0);
    long seed = a.getLong("seed", 1234);
    Path basePath = Path.of(a.require("out"));
    if (a.has("nq") != a.has("query-out")) {
      throw new Args.UsageException("generate: --nq and --query-out go together");
    }
    SyntheticData gen = new SyntheticData(d, clusters, seed);
    VecsIO.writeFvecs(basePath, gen.generate(n, seed), d);
    err.printf(Locale.ROOT, "[quiver] wrote %d x %d vectors to %s%n", n, d, basePath);
    if (a.has("nq")) {
      int nq = a.getInt("nq", 1, 1);
      Path queryPath = Path.of(a.require("query-out"));
      VecsIO.writeFvecs(queryPath, gen.generate(nq, seed + 1), d);
      err.printf(Locale.ROOT, "[quiver] wrote %d x %d queries to %s%n", nq, d, queryPath);
    }
    return 0;
  }
}
