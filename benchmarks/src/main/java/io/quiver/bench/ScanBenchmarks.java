package io.quiver.bench;

import io.quiver.index.quantize.ProductQuantizer;
import io.quiver.index.topk.TopKHeap;
import io.quiver.index.util.SyntheticData;
import java.util.SplittableRandom;
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
 * The two halves of an IVF-PQ list scan on one thread: the ADC look-up-table sums and the
 * top-k selection over their results. A class of its own (not {@link KernelBenchmarks}) so that
 * scripts running {@code KernelBenchmarks} keep their output; run it with
 * {@code java -jar benchmarks/target/benchmarks.jar ScanBenchmarks}.
 *
 * <ul>
 *   <li>{@code adcScan}: {@link ProductQuantizer#adcScan} of {@code n} PQ codes (d=128,
 *       {@code m} sub-quantizers of nbits=8, ksub=256, trained on seeded synthetic data) with one
 *       query's L2 table: codes/s = n / time. The table is computed once, in the setup.</li>
 *   <li>{@code topK}: {@link TopKHeap#offer} of {@code n} seeded uniform random keys (ids 0..n-1)
 *       into an emptied heap of size {@code k}: offers/s = n / time. Random order is the usual
 *       case of a list scan: after the first few hundred keys nearly every offer is rejected by
 *       the threshold test.</li>
 * </ul>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g"})
public class ScanBenchmarks {

  /** A trained PQ, n codes of seeded synthetic vectors and one query's distance table. */
  @State(Scope.Benchmark)
  public static class AdcState {
    @Param({"100000"})
    public int n;

    @Param({"128"})
    public int d;

    /** FAISS's {@code M}; with nbits = 8 also the code size in bytes. */
    @Param({"16"})
    public int m;

    static final int NBITS = 8;
    static final int NTRAIN = 20_000;

    ProductQuantizer pq;
    byte[] codes;
    float[] table;
    float[] out;

    @Setup(Level.Trial)
    public void setup() {
      SyntheticData gen = new SyntheticData(d, 100, 42);
      pq = new ProductQuantizer(d, m, NBITS).seed(1234);
      pq.train(gen.generate(NTRAIN, 1));
      codes = pq.encode(gen.generate(n, 2));
      table = new float[m * pq.ksub()];
      pq.computeDistanceTable(gen.generate(1, 3), 0, table);
      out = new float[n];
    }
  }

  /** n seeded uniform random keys and a heap of size k. */
  @State(Scope.Benchmark)
  public static class TopKState {
    @Param({"100000"})
    public int n;

    @Param({"10", "100"})
    public int k;

    float[] keys;
    TopKHeap heap;

    @Setup(Level.Trial)
    public void setup() {
      SplittableRandom rng = new SplittableRandom(4242);
      keys = new float[n];
      for (int i = 0; i < n; i++) {
        keys[i] = (float) rng.nextDouble();
      }
      heap = new TopKHeap(k);
    }
  }

  /** ADC values of all n codes into one output array (the scan before top-k selection). */
  @Benchmark
  public void adcScan(AdcState s, Blackhole bh) {
    s.pq.adcScan(s.table, s.codes, 0, s.n, s.out, 0);
    bh.consume(s.out[s.n - 1]);
  }

  /** All n keys offered to an emptied heap; the kept threshold is consumed. */
  @Benchmark
  public void topK(TopKState s, Blackhole bh) {
    TopKHeap heap = s.heap;
    float[] keys = s.keys;
    heap.reset();
    for (int i = 0; i < keys.length; i++) {
      heap.offer(keys[i], i);
    }
    bh.consume(heap.threshold());
  }
}
