package io.quiver.spark.io;

import io.quiver.index.util.SyntheticData;
import java.io.Serializable;
import java.util.Collections;
import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;

/**
 * Seeded synthetic vectors ({@link SyntheticData}) as a DataFrame of {@code (id long, vector
 * array<float>)}, generated inside the executors.
 *
 * <p><b>Determinism.</b> Row {@code i} (the absolute row number, which is also its {@code id})
 * depends only on {@code (d, clusters, seed, i)}, never on the partitioning or on which rows are
 * asked for: rows come in fixed blocks of {@link #BLOCK_ROWS}, and block {@code b} is drawn from
 * its own random stream. A slice {@code [firstRow, firstRow + rows)} is the same slice of the
 * rows {@code [0, firstRow + rows)}; so base vectors {@code [0, n)} and query vectors
 * {@code [n, n + nq)} come from one distribution and share no point.
 *
 * <p><b>Same vectors as index-core.</b> Block {@code b} uses the stream that
 * {@code SyntheticData.generate(n, seed)} uses for its chunk {@code b} (it draws chunks of 8192
 * rows from seeds {@code streamSeed * G + chunk}; {@link #streamSeed} inverts that), so rows
 * {@code [0, n)} equal {@code new SyntheticData(d, clusters, seed).generate(n, seed)}: the data of
 * {@code quiver generate-vecs --n N --seed S} and of {@code quiver bench --base generated:N:D:C
 * --seed S}. The tests check this, so a change of the chunking in index-core shows up.
 */
public final class SyntheticVectors implements Serializable {

  private static final long serialVersionUID = 1L;

  /** Rows per block: the unit of determinism (SyntheticData's chunk size). */
  public static final int BLOCK_ROWS = 8192;

  /** SyntheticData's per-chunk seed multiplier (the golden ratio constant, odd). */
  private static final long G = 0x9E3779B97F4A7C15L;
  /** The inverse of {@link #G} modulo 2^64. */
  private static final long G_INVERSE = inverse(G);

  private final int d;
  private final int clusters;
  private final long seed;

  /**
   * @param d dimension
   * @param clusters mixture components in SyntheticData's latent space (0: one Gaussian)
   * @param seed fixes the distribution (the map) and, with the row number, every row
   */
  public SyntheticVectors(int d, int clusters, long seed) {
    if (d < 1) {
      throw new IllegalArgumentException("dimension must be at least 1, was " + d);
    }
    if (clusters < 0) {
      throw new IllegalArgumentException("clusters must be 0 (one Gaussian) or more, was " + clusters);
    }
    this.d = d;
    this.clusters = clusters;
    this.seed = seed;
  }

  public int d() {
    return d;
  }

  /**
   * The stream seed that makes {@code SyntheticData.generate(k, s)} draw block {@code block}:
   * its chunk 0 then uses {@code s * G = seed * G + block}, as chunk {@code block} of
   * {@code generate(n, seed)} does.
   */
  static long streamSeed(long seed, long block) {
    return seed + block * G_INVERSE;
  }

  private static long inverse(long odd) {
    long x = odd; // correct to 3 bits for any odd number; each Newton step doubles the bits
    for (int i = 0; i < 5; i++) {
      x *= 2 - odd * x;
    }
    if (odd * x != 1) {
      throw new AssertionError("no inverse");
    }
    return x;
  }

  /**
   * Rows {@code [from, to)} as one flat array, {@code (to - from) * d} floats, row-major; for
   * tests and small slices on the driver.
   */
  public float[] rows(long from, long to) {
    checkRange(from, to);
    long n = to - from;
    if (n * d > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException((to - from) + " x " + d + " floats do not fit in one array");
    }
    float[] out = new float[(int) (n * d)];
    RowIterator it = new RowIterator(from, to);
    for (int i = 0; it.hasNext(); i++) {
      Row r = it.next();
      System.arraycopy((float[]) r.get(1), 0, out, i * d, d);
    }
    return out;
  }

  /** Rows {@code [from, to)} as {@code (id, vector)} rows, generated one block at a time. */
  public Iterator<Row> rowIterator(long from, long to) {
    checkRange(from, to);
    return new RowIterator(from, to);
  }

  /**
   * Rows {@code [firstRow, firstRow + rows)} as a DataFrame of {@link VectorRows#SCHEMA} in
   * {@code partitions} partitions of consecutive rows; the executors generate them.
   */
  public Dataset<Row> dataFrame(SparkSession spark, long firstRow, long rows, int partitions) {
    checkRange(firstRow, firstRow + rows);
    if (partitions < 1) {
      throw new IllegalArgumentException("partitions must be at least 1, was " + partitions);
    }
    SyntheticVectors gen = this;
    // one element per partition: the partition's index, from which it computes its row range
    return spark.range(0, partitions, 1, partitions)
        .mapPartitions((MapPartitionsFunction<Long, Row>) parts -> {
          if (!parts.hasNext()) {
            return Collections.emptyIterator();
          }
          long p = parts.next();
          long lo = firstRow + slice(rows, p, partitions);
          long hi = firstRow + slice(rows, p + 1, partitions);
          return gen.rowIterator(lo, hi);
        }, Encoders.row(VectorRows.SCHEMA));
  }

  /** {@code floor(rows * p / parts)} without overflow. */
  static long slice(long rows, long p, long parts) {
    return rows / parts * p + rows % parts * p / parts;
  }

  private static void checkRange(long from, long to) {
    if (from < 0 || to < from) {
      throw new IllegalArgumentException("bad row range [" + from + ", " + to + ")");
    }
  }

  /** Generates the blocks overlapping {@code [from, to)} one at a time, and yields the rows inside. */
  private final class RowIterator implements Iterator<Row> {
    private final long to;
    private long next;
    private SyntheticData data;
    private float[] block;
    private long blockStart = -1;

    RowIterator(long from, long to) {
      this.next = from;
      this.to = to;
    }

    @Override
    public boolean hasNext() {
      return next < to;
    }

    @Override
    public Row next() {
      if (next >= to) {
        throw new NoSuchElementException();
      }
      long b = next / BLOCK_ROWS;
      if (blockStart != b * BLOCK_ROWS) {
        if (data == null) {
          data = new SyntheticData(d, clusters, seed);
        }
        blockStart = b * BLOCK_ROWS;
        // rows of a block are drawn in sequence: generate from the block's start up to what is needed
        int count = (int) Math.min(BLOCK_ROWS, to - blockStart);
        block = data.generate(count, streamSeed(seed, b));
      }
      int i = (int) (next - blockStart);
      float[] v = new float[d];
      System.arraycopy(block, i * d, v, 0, d);
      Row row = RowFactory.create(next, v);
      next++;
      return row;
    }
  }
}
