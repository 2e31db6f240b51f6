package io.quiver.spark.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.spark.SparkTestSessions;
import io.quiver.spark.ml.IvfKnnModel;
import io.quiver.spark.plan.SearchPlan;
import java.io.File;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code --k} and {@code --kfactor} are bounded, in the CLI and the Spark ML API, with named
 * errors: a k of 50,000,000 or a kFactor of 1e6 ran the JVM out of memory, a k of 2^31-1 or a
 * kFactor of 1e20 threw {@code NegativeArraySizeException}.
 */
class SearchBoundsTest {
  private static SparkSession spark;
  private static File work;
  private static String base;
  private static String index;

  @BeforeAll
  static void build() {
    spark = SparkTestSessions.local(2);
    work = new File(SparkTestSessions.targetDir(), "search-bounds-" + System.nanoTime());
    base = new File(work, "base.parquet").getPath();
    Cli.ok("generate", "--rows", "500", "--dim", "8", "--clusters", "4", "--seed", "3", "--output", base);
    index = new File(work, "idx").getPath();
    Cli.ok("index", "--input", base, "--output", index, "--factory", "IVF4,PQ4,RFlat", "--seed", "3");
  }

  private static String refused(String... options) {
    String out = new File(work, "out-" + System.nanoTime()).getPath();
    List<String> args = new java.util.ArrayList<>(List.of("search", "--index", index, "--queries", base, "--output",
        out, "--nprobe", "4"));
    args.addAll(List.of(options));
    Cli r = Cli.run(args.toArray(new String[0]));
    // a usage error: the bounds of --k and --kfactor are checked before Spark starts, k against
    // the index's vectors when the index is opened
    assertEquals(2, r.status(), String.join(" ", options) + ": " + r.err());
    assertTrue(!r.err().contains("OutOfMemoryError") && !r.err().contains("NegativeArraySize"), r.err());
    assertTrue(!new File(out).exists(), "nothing written");
    return String.join("\n", r.errLines());
  }

  @Test
  void kAndKFactorAreBoundedInTheCli() {
    for (String k : new String[] {"50000000", "2147483647"}) {
      String err = refused("--k", k);
      assertTrue(err.contains("--k " + k + " is more than a search returns: at most " + SearchPlan.MAX_K), err);
    }
    String err = refused("--k", "501");
    assertTrue(err.contains("--k 501 is more than the 500 vectors") && err.contains("k is at most the index's ntotal"),
        err);
    for (String kf : new String[] {"1e6", "1e20", "NaN"}) {
      String e = refused("--k", "10", "--kfactor", kf);
      assertTrue(e.contains("--kfactor must be a number in [1, 10000], was "), e);
    }
    // the largest kFactor re-ranks every vector of the probed lists: the same neighbours as a kFactor of 50
    // (10 x 50 = 500 candidates, the whole index)
    String a = new File(work, "kf-max").getPath();
    String b = new File(work, "kf-50").getPath();
    Cli.ok("search", "--index", index, "--queries", base, "--output", a, "--k", "10", "--nprobe", "4", "--kfactor",
        "10000");
    Cli.ok("search", "--index", index, "--queries", base, "--output", b, "--k", "10", "--nprobe", "4", "--kfactor",
        "50");
    List<Row> ra = spark.read().parquet(a).orderBy("id").collectAsList();
    List<Row> rb = spark.read().parquet(b).orderBy("id").collectAsList();
    assertEquals(500, ra.size());
    assertEquals(rb, ra);
  }

  @Test
  void kAndKFactorAreBoundedInTheSparkMlApi() {
    IvfKnnModel m = IvfKnnModel.load(index);
    assertThrows(IllegalArgumentException.class, () -> m.setK(50_000_000));
    assertThrows(IllegalArgumentException.class, () -> m.setK(Integer.MAX_VALUE));
    assertThrows(IllegalArgumentException.class, () -> m.setKFactor(1e20f));
    assertThrows(IllegalArgumentException.class, () -> m.setKFactor(1e6f));
    m.setK(501);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> m.transform(spark.read().parquet(base)).count());
    assertTrue(e.getMessage().contains("is more than the 500 vectors"), e.getMessage());
  }
}
