package io.quiver.index.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.quiver.index.io.VecsIO;
import io.quiver.index.util.Parallel;
import io.quiver.index.util.SyntheticData;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code quiver} commands run in-process: output format, recall, and usage errors. */
class QuiverToolTest {

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @AfterEach
  void restoreThreads() {
    Parallel.setDefaultThreads(0);
  }

  private int run(String... args) {
    out.reset();
    err.reset();
    return QuiverTool.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private String stdout() {
    return out.toString(StandardCharsets.UTF_8);
  }

  private String stderr() {
    return err.toString(StandardCharsets.UTF_8);
  }

  private static double number(String json, String key) {
    Matcher m = Pattern.compile("\"" + key + "\": ([-0-9.eE]+)").matcher(json);
    assertTrue(m.find(), "no numeric key " + key + " in " + json);
    return Double.parseDouble(m.group(1));
  }

  @Test
  void benchPrintsExactlyOneJsonObjectWithTheDocumentedKeys() {
    int rc = run("bench", "--factory", "IVF16,Flat", "--base", "generated:3000:16:20", "--query", "generated:50",
        "--nprobe", "16", "--threads", "1", "--repeat", "1");
    assertEquals(0, rc, stderr());
    String json = stdout().trim();
    assertEquals(1, json.lines().count(), "exactly one line on stdout: " + json);
    assertTrue(json.startsWith("{") && json.endsWith("}"), json);
    for (String key : new String[] {"factory", "metric", "n", "d", "nq", "k", "nprobe", "train_s", "add_s", "search_s",
        "qps", "recall_at_1", "recall_at_k"}) {
      assertTrue(json.contains("\"" + key + "\": "), "missing " + key + " in " + json);
    }
    assertEquals(3000, number(json, "n"));
    assertEquals(16, number(json, "d"));
    assertEquals(50, number(json, "nq"));
    assertEquals(16, number(json, "nprobe"));
    // nprobe = nlist visits every list: exact
    assertEquals(1.0, number(json, "recall_at_k"), 1e-9, json);
    assertEquals(1.0, number(json, "recall_at_1"), 1e-9, json);
    assertTrue(stderr().contains("[quiver]"), "progress goes to stderr: " + stderr());
  }

  @Test
  void benchSweepsNprobeAndKFactorListsOnOneTrainedIndex() {
    int rc = run("bench", "--factory", "IVF16,PQ4,RFlat", "--base", "generated:3000:16:20", "--query", "generated:50",
        "--nprobe", "1,4,16", "--kfactor", "1,4", "--threads", "1", "--repeat", "1");
    assertEquals(0, rc, stderr());
    List<String> lines = stdout().trim().lines().toList();
    assertEquals(6, lines.size(), "one line per (nprobe, kfactor): " + lines);
    assertEquals(1, number(lines.get(0), "nprobe"));
    assertEquals(1, number(lines.get(0), "kfactor"));
    assertEquals(4, number(lines.get(1), "kfactor"));
    assertEquals(16, number(lines.get(5), "nprobe"));
    // one training for the whole sweep
    assertEquals(1, lines.stream().map(l -> number(l, "train_s")).distinct().count());
    // more lists and more re-ranked candidates find more true neighbours
    assertTrue(number(lines.get(5), "recall_at_k") >= number(lines.get(0), "recall_at_k"), lines.toString());
    assertEquals(2, run("bench", "--factory", "IVF16,Flat", "--base", "generated:300:16:20", "--nprobe", "4,x"));
    assertTrue(stderr().contains("--nprobe takes integers"), stderr());
  }

  @Test
  void benchSetsUsePrecomputedTableOnIvfPq() {
    for (String mode : new String[] {"-1", "0", "1"}) {
      assertEquals(0, run("bench", "--factory", "IVF16,PQ4", "--base", "generated:3000:16:20", "--query", "generated:50",
          "--nprobe", "4", "--threads", "1", "--repeat", "1", "--use-precomputed-table", mode), stderr());
      // 16 lists * 4 * 256 floats = 64 KiB: auto keeps the table
      assertEquals(!mode.equals("-1"), stdout().contains("\"precomputed_table\": true"), mode + ": " + stdout());
    }
    assertEquals(2, run("bench", "--factory", "IVF16,PQ4", "--base", "generated:300:16:20", "--use-precomputed-table", "2"));
    assertTrue(stderr().contains("-1 (off), 0 (auto"), stderr());
    assertEquals(0, run("bench", "--factory", "IVF16,Flat", "--base", "generated:300:16:20", "--query", "generated:5",
        "--repeat", "1", "--use-precomputed-table", "1"), stderr());
    assertTrue(stderr().contains("--use-precomputed-table has no effect on IVF16,Flat"), stderr());
  }

  @Test
  void benchReadsFilesAndGroundTruth(@TempDir Path dir) throws Exception {
    SyntheticData gen = new SyntheticData(8, 10, 7);
    float[] base = gen.generate(500, 7);
    float[] queries = gen.generate(20, 8);
    Path b = dir.resolve("b.fvecs");
    Path q = dir.resolve("q.fvecs");
    VecsIO.writeFvecs(b, base, 8);
    VecsIO.writeFvecs(q, queries, 8);
    // exact ground truth from a brute-force double-precision scan
    int k = 5;
    int[] gt = new int[20 * k];
    for (int i = 0; i < 20; i++) {
      double[] dist = new double[500];
      Integer[] order = new Integer[500];
      for (int j = 0; j < 500; j++) {
        double s = 0;
        for (int t = 0; t < 8; t++) {
          double x = queries[i * 8 + t] - base[j * 8 + t];
          s += x * x;
        }
        dist[j] = s;
        order[j] = j;
      }
      java.util.Arrays.sort(order, (x, y) -> Double.compare(dist[x], dist[y]));
      for (int r = 0; r < k; r++) {
        gt[i * k + r] = order[r];
      }
    }
    Path g = dir.resolve("gt.ivecs");
    VecsIO.writeIvecs(g, gt, k);
    assertEquals(0, run("bench", "--factory", "Flat", "--base", b.toString(), "--query", q.toString(), "--gt", g.toString(),
        "--k", "5", "--repeat", "1"), stderr());
    assertEquals(1.0, number(stdout(), "recall_at_k"), 1e-9, stdout());
    // the Spark commands' spellings, --queries and --ground-truth (also as --name=value), mean the same
    assertEquals(0, run("bench", "--factory", "Flat", "--base", b.toString(), "--queries", q.toString(),
        "--ground-truth=" + g, "--k", "5", "--repeat", "1"), stderr());
    assertEquals(1.0, number(stdout(), "recall_at_k"), 1e-9, stdout());
    // k larger than the ground truth's width is refused, naming the file
    assertEquals(1, run("bench", "--factory", "Flat", "--base", b.toString(), "--query", q.toString(), "--gt", g.toString(),
        "--k", "10", "--repeat", "1"));
    assertTrue(stderr().contains("gt.ivecs") && stderr().contains("k=10"), stderr());
  }

  @Test
  void benchOnBigann10kMeetsFaissRecall() throws Exception {
    Path dir = datasets().resolve("bigann10k");
    assumeTrue(Files.isDirectory(dir), "dataset folder " + dir + " is absent, so this test is skipped");
    assertEquals(0, run("bench", "--factory", "IVF100,Flat", "--nprobe", "8", "--threads", "1", "--repeat", "1",
        "--base", dir.resolve("bigann10k_base.fvecs").toString(),
        "--query", dir.resolve("siftsmall_query100.fvecs").toString(),
        "--gt", dir.resolve("bigann10k_siftsmallq100_gt100.ivecs").toString()), stderr());
    double recall = number(stdout(), "recall_at_k");
    // FAISS 1.15 gives 0.805 on the same data and parameters (faiss-recalls.tsv)
    assertTrue(recall >= 0.78, "IVF100,Flat nprobe 8 recall@10 " + recall + " < 0.78");
  }

  @Test
  void usageMistakesExitWithStatus2AndSayWhatIsValid() {
    assertEquals(2, run("bench", "--factory", "Flat"));
    assertTrue(stderr().contains("--base is required"), stderr());
    assertEquals(2, run("bench", "--factory", "Flat", "--base", "generated:100:8", "--bogus", "1"));
    assertTrue(stderr().contains("unknown option --bogus") && stderr().contains("--nprobe"), stderr());
    assertEquals(2, run("bench", "--factory", "Flat", "--base", "generated:100:8", "--k", "0"));
    assertTrue(stderr().contains("--k must be >= 1"), stderr());
    assertEquals(2, run("bench", "--factory", "Flat", "--base", "generated:x:8"));
    assertTrue(stderr().contains("generated:x:8"), stderr());
    assertEquals(2, run("frobnicate"));
    assertTrue(stderr().contains("unknown command 'frobnicate'"), stderr());
    assertEquals(1, run("bench", "--factory", "OPQ16,IVF256,PQ16", "--base", "generated:100:8", "--repeat", "1"));
    assertTrue(stderr().contains(io.quiver.index.IndexFactory.GRAMMAR), stderr());
    assertEquals(1, run("bench", "--factory", "Flat", "--base", "/no/such/file.fvecs", "--query", "/no/q.fvecs"));
    assertTrue(stderr().contains("/no/such/file.fvecs"), stderr());
    assertEquals(0, run("bench", "--help"));
    assertTrue(stdout().contains("recall_at_k"), stdout());
    assertTrue(stdout().contains("--queries Q") && stdout().contains("--ground-truth G"), stdout());
    // scripts/quiver runs index-core's generate as generate-vecs: its help says so
    assertEquals(0, run("generate", "--help"));
    assertTrue(stdout().startsWith("usage: quiver generate-vecs --n N --d D"), stdout());
  }

  @Test
  void generateWritesTheSameDataBenchGenerates(@TempDir Path dir) throws Exception {
    Path b = dir.resolve("b.fvecs");
    Path q = dir.resolve("q.fvecs");
    assertEquals(0, run("generate", "--n", "300", "--d", "12", "--clusters", "5", "--seed", "9", "--out", b.toString(),
        "--nq", "7", "--query-out", q.toString()), stderr());
    VecsIO.FloatVectors vb = VecsIO.readFvecs(b);
    VecsIO.FloatVectors vq = VecsIO.readFvecs(q);
    SyntheticData gen = new SyntheticData(12, 5, 9);
    assertEquals(300, vb.n());
    assertEquals(7, vq.n());
    org.junit.jupiter.api.Assertions.assertArrayEquals(gen.generate(300, 9), vb.data());
    org.junit.jupiter.api.Assertions.assertArrayEquals(gen.generate(7, 10), vq.data());
  }

  @Test
  void kmeansReportsObjectivePerIteration() {
    assertEquals(0, run("kmeans", "--base", "generated:2000:8:10", "--k", "16", "--niter", "6", "--threads", "1"), stderr());
    String json = stdout();
    Matcher m = Pattern.compile("\"objectives\": \\[([^\\]]*)\\]").matcher(json);
    assertTrue(m.find(), json);
    assertEquals(6, m.group(1).split(",").length, json);
    assertTrue(number(json, "objective") > 0, json);
  }

  private static Path datasets() {
    String p = System.getProperty("quiver.datasets");
    return p != null ? Path.of(p) : Path.of("..", "shared", "datasets");
  }
}
