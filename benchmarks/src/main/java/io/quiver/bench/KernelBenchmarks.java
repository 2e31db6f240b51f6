package io.quiver.bench;

import io.quiver.index.util.SyntheticData;
import io.quiver.index.vector.VectorUtil;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The distance kernels on one thread. Which implementation runs is chosen by
 * {@code -Dquiver.vectorization=scalar|panama} in the fork's JVM arguments (scripts/bench-kernels
 * runs both).
 *
 * <ul>
 *   <li>{@code scanOneToMany}: one query against {@code n} vectors of d=128 with the one-to-many
 *       L2 kernel, the single-query Flat scan: bytes/s = n * d * 4 / time.</li>
 *   <li>{@code blockKernel}: a 128-query by 512-vector block of dot products, the tile
 *       {@code ExhaustiveSearch} uses: FLOP/s = 2 * 128 * 512 * d / time.</li>
 *   <li>{@code queryBlockKernel}: {@code VectorUtil.queryLanes()} queries (16 with 512-bit lanes)
 *       stored transposed against {@code LIST} vectors, the query-block kernel of an IVF-Flat list
 *       scan ({@code QueryBlockScan}): distances/s = lanes * LIST / time.</li>
 *   <li>{@code queryBlockByOneToMany}: the same distances with one one-to-many call per query,
 *       what the scan did before.</li>
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g"})
public class KernelBenchmarks {

  @Param({"1000000"})
  public int n;

  @Param({"128"})
  public int d;

  private float[] base;
  private float[] query;
  private float[] out;
  private float[] blockQueries;
  private float[] blockOut;

  static final int BLOCK_NQ = 128;
  static final int BLOCK_NX = 512;
  /** Vectors of the query-block benchmarks: an inverted list of 1024 vectors (512 KiB at d=128). */
  static final int LIST = 1024;

  private float[] blockQueriesT;
  private float[] queryBlockOut;
  private int lanes;

  @Setup(Level.Trial)
  public void setup() {
    SyntheticData gen = new SyntheticData(d, 100, 42);
    base = gen.generate(n, 1);
    query = gen.generate(1, 2);
    out = new float[1024];
    blockQueries = gen.generate(BLOCK_NQ, 3);
    blockOut = new float[BLOCK_NQ * BLOCK_NX];
    lanes = VectorUtil.queryLanes();
    blockQueriesT = new float[d * lanes];
    for (int i = 0; i < lanes; i++) {
      for (int t = 0; t < d; t++) {
        blockQueriesT[t * lanes + i] = blockQueries[i * d + t];
      }
    }
    queryBlockOut = new float[LIST * lanes];
    System.err.println("kernels: " + VectorUtil.implementationName());
  }

  /** One query against all n vectors, in 1024-vector slices as the Flat and IVF scans do. */
  @Benchmark
  public void scanOneToMany(Blackhole bh) {
    float best = Float.MAX_VALUE;
    for (int b = 0; b < n; b += 1024) {
      int m = Math.min(1024, n - b);
      VectorUtil.squareDistanceOneToMany(query, 0, base, b * d, m, d, out, 0);
      for (int j = 0; j < m; j++) {
        best = Math.min(best, out[j]);
      }
    }
    bh.consume(best);
  }

  /** A 128 x 512 block of dot products over the first 512 base vectors. */
  @Benchmark
  public void blockKernel(Blackhole bh) {
    VectorUtil.dotProductBlock(blockQueries, 0, BLOCK_NQ, base, 0, BLOCK_NX, d, blockOut, 0, BLOCK_NX);
    bh.consume(blockOut[BLOCK_NQ * BLOCK_NX - 1]);
  }

  /** {@code lanes} transposed queries against the first LIST base vectors. */
  @Benchmark
  public void queryBlockKernel(Blackhole bh) {
    VectorUtil.squareDistanceQueriesTransposed(blockQueriesT, 0, lanes, base, 0, LIST, d, queryBlockOut, 0);
    bh.consume(queryBlockOut[LIST * lanes - 1]);
  }

  /** The same distances as {@link #queryBlockKernel}, one one-to-many call per query. */
  @Benchmark
  public void queryBlockByOneToMany(Blackhole bh) {
    for (int i = 0; i < lanes; i++) {
      VectorUtil.squareDistanceOneToMany(blockQueries, i * d, base, 0, LIST, d, queryBlockOut, i * LIST);
    }
    bh.consume(queryBlockOut[LIST * lanes - 1]);
  }
}
