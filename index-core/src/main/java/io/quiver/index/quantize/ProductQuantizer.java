package io.quiver.index.quantize;

import io.quiver.index.util.Checks;
import io.quiver.index.util.Parallel;
import io.quiver.index.vector.VectorUtil;
import java.lang.System.Logger.Level;
import java.lang.System.Logger;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Locale;

/**
 * A product quantizer with FAISS's {@code faiss/impl/ProductQuantizer.h} semantics.
 *
 * <p>A vector of dimension {@code d} is cut into {@code m} sub-vectors of {@code dsub = d / m}
 * components; sub-vector {@code j} is replaced by the number of its nearest centroid (squared L2,
 * ties to the smaller number) among the {@code ksub = 2^nbits} centroids of sub-quantizer
 * {@code j}. A code is those {@code m} numbers, bit-packed LSB-first exactly as FAISS's
 * {@code PQEncoderGeneric}: sub-code {@code j} occupies bits {@code [j*nbits, (j+1)*nbits)} of
 * the code, bit {@code b} of the code being bit {@code b % 8} of byte {@code b / 8}; unused high
 * bits of the last byte are zero. {@link #codeSize()} is {@code ceil(m * nbits / 8)} bytes, so
 * with {@code nbits = 8} a code is one byte per sub-quantizer (FAISS's {@code PQEncoder8}).
 *
 * <p>Codebook layout ({@link #centroids()}): {@code m * ksub * dsub} floats; centroid {@code c}
 * of sub-quantizer {@code j} starts at {@code (j * ksub + c) * dsub}.
 *
 * <p>Training ({@link #train}): one k-means of {@code ksub} centroids per sub-space, with
 * FAISS's PQ defaults: 25 iterations, at most 256 training points per centroid (a seeded
 * subsample beyond that; the same rows for every sub-space), a warning under 39 per centroid,
 * seed 1234. Every sub-space uses the <em>same</em> seed, as FAISS's {@code ProductQuantizer::train}
 * runs each sub-space's {@code Clustering} with the same {@code ClusteringParameters}. Training
 * is deterministic for a seed, whatever the thread count.
 *
 * <p>Asymmetric distance computation (ADC): a query is compared to codes through a table of
 * {@code m * ksub} floats, {@code table[j * ksub + c]} being the squared L2 distance
 * ({@link #computeDistanceTable}) or inner product ({@link #computeInnerProductTable}) between
 * query sub-vector {@code j} and centroid {@code c} of sub-quantizer {@code j}; the distance to a
 * code is the sum of {@code m} table entries ({@link #adc}, {@link #adcScan}). For L2, smaller is
 * closer; for inner product, larger is closer. {@link #adc} and {@link #adcScan} add the entries in
 * the same order, so they return bit-identical values.
 *
 * <p>Threading: configure ({@link #seed}, {@link #niter}, ...) and {@link #train} from one thread.
 * Once trained, every other method only reads the immutable codebook and is safe for any number
 * of concurrent callers. Retraining swaps the whole codebook at once; a call that overlaps it sees
 * either the old codebook or the new one, never a mix.
 */
public final class ProductQuantizer {

  private static final Logger LOG = System.getLogger(ProductQuantizer.class.getName());

  /** Smallest and largest {@code nbits} supported. */
  public static final int MIN_NBITS = 4;
  public static final int MAX_NBITS = 8;

  /** FAISS warns below this many training points per centroid. */
  private static final int MIN_POINTS_PER_CENTROID = 39;
  /** Four sub-codes of nbits = 8 in one load: byte j of the code is bits 8j..8j+7. */
  private static final VarHandle LE_INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
  /** Vectors per task of a parallel batch encode or decode. */
  private static final int ENCODE_CHUNK = 1024;

  private final int d;
  private final int m;
  private final int nbits;
  private final int ksub;
  private final int dsub;
  private final int codeSize;

  private long seed = 1234;
  private int niter = 25;
  private int maxPointsPerCentroid = 256;
  private int threads;

  /** {@code m * ksub * dsub} floats, or null before training. Never modified once published. */
  private volatile float[] centroids;
  /** The codebook transposed per sub-quantizer (component t of centroid c of sub-quantizer j at (j*dsub + t)*ksub + c), for encoding. */
  private volatile float[] centroidsT;
  /** |C_jc|^2 at [j * ksub + c], with the codebooks. */
  private volatile float[] centroidNorms;

  /**
   * An untrained product quantizer.
   *
   * @param d vector dimension, a multiple of {@code m}
   * @param m number of sub-quantizers (FAISS's {@code M})
   * @param nbits bits per sub-code, 4 to 8 ({@code ksub = 2^nbits} centroids per sub-quantizer)
   * @throws IllegalArgumentException when {@code d} is not a multiple of {@code m}, or nbits is out of range
   */
  public ProductQuantizer(int d, int m, int nbits) {
    Checks.atLeast("d", d, 1);
    Checks.atLeast("m", m, 1);
    if (d % m != 0) {
      throw new IllegalArgumentException("d=" + d + " is not a multiple of m=" + m
          + ": each of the m sub-quantizers takes d/m components; valid m for d=" + d + ": " + divisors(d));
    }
    if (nbits < MIN_NBITS || nbits > MAX_NBITS) {
      throw new IllegalArgumentException("nbits must be in [" + MIN_NBITS + ", " + MAX_NBITS + "] (ksub = 2^nbits centroids "
          + "per sub-quantizer), was " + nbits);
    }
    this.d = d;
    this.m = m;
    this.nbits = nbits;
    this.ksub = 1 << nbits;
    this.dsub = d / m;
    this.codeSize = (m * nbits + 7) / 8;
  }

  /**
   * An untrained quantizer of the same shape with the same training settings (seed, iterations,
   * points per centroid, threads): what a retraining trains, so that this one stays usable meanwhile.
   */
  public ProductQuantizer untrainedCopy() {
    return new ProductQuantizer(d, m, nbits).seed(seed).niter(niter).maxPointsPerCentroid(maxPointsPerCentroid)
        .threads(threads);
  }

  /** The divisors of d, for error messages (the first 24). */
  private static String divisors(int d) {
    StringBuilder sb = new StringBuilder();
    int count = 0;
    for (int i = 1; i <= d && count < 24; i++) {
      if (d % i == 0) {
        sb.append(count++ == 0 ? "" : ", ").append(i);
      }
    }
    return sb.toString();
  }

  /**
   * A trained product quantizer from a stored codebook (index files): {@code centroids} holds
   * {@code m * ksub * dsub} finite floats in the layout of {@link #centroids()}. The array is copied.
   */
  public static ProductQuantizer fromCentroids(int d, int m, int nbits, float[] centroids) {
    ProductQuantizer pq = new ProductQuantizer(d, m, nbits);
    if (centroids == null) {
      throw new IllegalArgumentException("centroids is null");
    }
    long expected = (long) m * pq.ksub * pq.dsub;
    if (centroids.length != expected) {
      throw new IllegalArgumentException("centroids.length " + centroids.length + " != m " + m + " * ksub " + pq.ksub
          + " * dsub " + pq.dsub + " = " + expected);
    }
    Checks.vectors("centroids", centroids, pq.dsub);
    pq.setCentroids(centroids.clone());
    return pq;
  }

  /** The vector dimension. */
  public int d() {
    return d;
  }

  /** The number of sub-quantizers. */
  public int m() {
    return m;
  }

  /** Bits per sub-code. */
  public int nbits() {
    return nbits;
  }

  /** Centroids per sub-quantizer: {@code 2^nbits}. */
  public int ksub() {
    return ksub;
  }

  /** Components per sub-vector: {@code d / m}. */
  public int dsub() {
    return dsub;
  }

  /** Bytes per code: {@code ceil(m * nbits / 8)}. */
  public int codeSize() {
    return codeSize;
  }

  /** True once {@link #train} has run, or for a quantizer made by {@link #fromCentroids}. */
  public boolean isTrained() {
    return centroids != null;
  }

  /** The k-means seed of {@link #train} (default 1234), shared by all sub-spaces. */
  public ProductQuantizer seed(long seed) {
    this.seed = seed;
    return this;
  }

  /** k-means iterations per sub-space (default 25, FAISS's PQ setting); 0 keeps the initial centroids. */
  public ProductQuantizer niter(int niter) {
    this.niter = Checks.atLeast("niter", niter, 0);
    return this;
  }

  /** At most {@code ksub * max} training points are used (default 256); beyond that a seeded subsample. */
  public ProductQuantizer maxPointsPerCentroid(int max) {
    this.maxPointsPerCentroid = Checks.atLeast("maxPointsPerCentroid", max, 1);
    return this;
  }

  /** Threads for training and batch encoding/decoding; 0 (the default) means all cores. */
  public ProductQuantizer threads(int threads) {
    this.threads = Checks.atLeast("threads", threads, 0);
    return this;
  }

  public long seed() {
    return seed;
  }

  public int niter() {
    return niter;
  }

  public int maxPointsPerCentroid() {
    return maxPointsPerCentroid;
  }

  public int threads() {
    return threads;
  }

  /** A copy of the codebook ({@code m * ksub * dsub} floats, layout in the class comment), or null before training. */
  public float[] centroids() {
    float[] c = centroids;
    return c == null ? null : c.clone();
  }

  private float[] requireTrained() {
    float[] c = centroids;
    if (c == null) {
      throw new IllegalStateException("the product quantizer is not trained: call train() first");
    }
    return c;
  }

  // ------------------------------------------------------------------------------------ training

  /**
   * Trains the {@code m} sub-quantizers with k-means on {@code x} ({@code n * d} finite floats,
   * {@code n >= ksub}), replacing any previous codebook. Sub-spaces are trained in parallel when
   * there are at least as many of them as threads, else one after another with parallel k-means.
   *
   * @throws IllegalArgumentException for a bad length, a non-finite component, or fewer than ksub vectors
   */
  public void train(float[] x) {
    int n = Checks.vectors("training vectors", x, d);
    if (n < ksub) {
      throw new IllegalArgumentException("training needs at least ksub=" + ksub + " (2^nbits, nbits=" + nbits
          + ") vectors, got " + n + "; use more training vectors or a smaller nbits");
    }
    float[] data = x;
    long maxPoints = (long) ksub * maxPointsPerCentroid;
    if (n > maxPoints) {
      LOG.log(Level.INFO, String.format(Locale.ROOT,
          "PQ training: sampling %d of %d vectors for %d centroids per sub-quantizer (at most %d per centroid)",
          maxPoints, n, ksub, maxPointsPerCentroid));
      // the rows KMeans itself would pick with this seed, drawn once for all sub-spaces
      data = KMeans.subsample(x, n, (int) maxPoints, seed, d);
      n = (int) maxPoints;
    } else if (n < (long) ksub * MIN_POINTS_PER_CENTROID) {
      LOG.log(Level.WARNING, String.format(Locale.ROOT,
          "PQ training: %d training vectors for %d centroids per sub-quantizer; at least %d (%d per centroid) are advised",
          n, ksub, (long) ksub * MIN_POINTS_PER_CENTROID, MIN_POINTS_PER_CENTROID));
    }
    final float[] train = data;
    final int nt = n;
    int threadCount = Parallel.resolveThreads(threads);
    boolean acrossSubspaces = threadCount > 1 && m >= threadCount;
    float[] c = new float[m * ksub * dsub];
    Parallel.forEach(acrossSubspaces ? threadCount : 1, m, j -> {
      float[] sub = new float[nt * dsub];
      for (int i = 0; i < nt; i++) {
        System.arraycopy(train, i * d + j * dsub, sub, i * dsub, dsub);
      }
      KMeans km = new KMeans(dsub, ksub)
          .niter(niter)
          .seed(seed)
          .maxPointsPerCentroid(maxPointsPerCentroid)
          .minPointsPerCentroid(0) // warned once above, not once per sub-space
          .threads(acrossSubspaces ? 1 : threads);
      float[] cj = km.train(sub).centroids();
      System.arraycopy(cj, 0, c, j * ksub * dsub, ksub * dsub);
    });
    setCentroids(c);
  }

  /** Publishes a codebook with its transposed copy. */
  private void setCentroids(float[] c) {
    float[] t = new float[c.length];
    for (int j = 0; j < m; j++) {
      int base = j * ksub * dsub;
      for (int k = 0; k < ksub; k++) {
        for (int u = 0; u < dsub; u++) {
          t[base + u * ksub + k] = c[base + k * dsub + u];
        }
      }
    }
    centroidNorms = VectorUtil.squareNorms(c, m * ksub, dsub);
    centroidsT = t;
    centroids = c;
  }

  // ------------------------------------------------------------------------------------ encoding

  /**
   * Encodes one vector, {@code x[xOff .. xOff + d)}, into {@code codes[codeOff .. codeOff + codeSize)}.
   *
   * @throws IllegalStateException before training
   * @throws IllegalArgumentException for a non-finite component
   */
  public void encode(float[] x, int xOff, byte[] codes, int codeOff) {
    float[] c = requireTrained();
    checkRange("x", x == null ? -1 : x.length, xOff, d);
    checkRange("codes", codes == null ? -1 : codes.length, codeOff, codeSize);
    for (int i = 0; i < d; i++) {
      if (!Float.isFinite(x[xOff + i])) {
        throw new IllegalArgumentException("x component " + i + " (x[" + (xOff + i) + "]) is " + x[xOff + i]
            + "; every component must be a finite float");
      }
    }
    encodeOne(centroidsT, x, xOff, codes, codeOff, new float[ksub]);
  }

  /**
   * Encodes {@code n} vectors ({@code n * d} finite floats) into {@code n * codeSize} bytes, code
   * {@code i} at {@code i * codeSize}: the reference every compute backend matches. Large batches are split
   * across threads; the result does not depend on the thread count.
   */
  public byte[] encode(float[] x) {
    requireTrained();
    float[] ct = centroidsT;
    int n = Checks.vectors("vectors", x, d);
    if ((long) n * codeSize > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(n + " codes of " + codeSize + " bytes do not fit in one array; encode in batches");
    }
    byte[] codes = new byte[n * codeSize];
    int chunks = (n + ENCODE_CHUNK - 1) / ENCODE_CHUNK;
    Parallel.forEach(chunks > 1 ? threads : 1, chunks, t -> {
      float[] buf = new float[ksub];
      for (int i = t * ENCODE_CHUNK, end = Math.min(n, i + ENCODE_CHUNK); i < end; i++) {
        encodeOne(ct, x, i * d, codes, i * codeSize, buf);
      }
    });
    return codes;
  }

  /**
   * Nearest centroid per sub-space, packed; {@code ct} is the transposed codebook
   * ({@link #centroidsT}) and {@code buf} holds ksub floats of scratch.
   */
  private void encodeOne(float[] ct, float[] x, int xOff, byte[] codes, int codeOff, float[] buf) {
    if (nbits != 8) {
      // sub-codes are OR-ed in below
      for (int b = 0; b < codeSize; b++) {
        codes[codeOff + b] = 0;
      }
    }
    for (int j = 0; j < m; j++) {
      VectorUtil.squareDistanceToTransposed(x, xOff + j * dsub, ct, j * ksub * dsub, ksub, dsub, buf, 0);
      int best = 0;
      float bestDist = buf[0];
      for (int k = 1; k < ksub; k++) {
        if (buf[k] < bestDist) { // strict: ties go to the smaller centroid number
          bestDist = buf[k];
          best = k;
        }
      }
      putSubCode(codes, codeOff, j, best);
    }
  }

  /** ORs sub-code {@code j} into the code at {@code codeOff} (whose bytes start at 0 for nbits < 8). */
  private void putSubCode(byte[] codes, int codeOff, int j, int subCode) {
    if (nbits == 8) {
      codes[codeOff + j] = (byte) subCode;
    } else {
      int bit = j * nbits;
      int p = codeOff + (bit >>> 3);
      int shift = bit & 7;
      codes[p] |= (byte) (subCode << shift);
      if (shift + nbits > 8) {
        codes[p + 1] |= (byte) (subCode >>> (8 - shift));
      }
    }
  }

  /**
   * Packs {@code n} codes given as one sub-code per byte ({@code subCodes[i * m + j]}, 0..ksub-1)
   * into {@code n * codeSize} bytes, as {@link #encode} packs them; for a backend that finds the
   * nearest sub-centroids itself.
   */
  public byte[] packSubCodes(byte[] subCodes, int n) {
    if (subCodes == null || (long) n * m > subCodes.length) {
      throw new IllegalArgumentException("subCodes must hold n * m = " + n + " * " + m + " bytes, has "
          + (subCodes == null ? "null" : subCodes.length));
    }
    if (nbits == 8) {
      return java.util.Arrays.copyOf(subCodes, n * m);
    }
    byte[] codes = new byte[n * codeSize];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < m; j++) {
        putSubCode(codes, i * codeSize, j, subCodes[i * m + j] & 0xff);
      }
    }
    return codes;
  }

  /** Sub-code {@code j} (0..ksub-1) of the code at {@code codes[codeOff]}. */
  public int code(byte[] codes, int codeOff, int j) {
    if (j < 0 || j >= m) {
      throw new IndexOutOfBoundsException("sub-quantizer j=" + j + " outside [0, m=" + m + ")");
    }
    checkRange("codes", codes == null ? -1 : codes.length, codeOff, codeSize);
    return subCode(codes, codeOff, j);
  }

  private int subCode(byte[] codes, int codeOff, int j) {
    if (nbits == 8) {
      return codes[codeOff + j] & 0xff;
    }
    int bit = j * nbits;
    int p = codeOff + (bit >>> 3);
    int shift = bit & 7;
    int v = (codes[p] & 0xff) >>> shift;
    if (shift + nbits > 8) {
      v |= (codes[p + 1] & 0xff) << (8 - shift);
    }
    return v & (ksub - 1);
  }

  /** Decodes the code at {@code codes[codeOff]} into {@code out[outOff .. outOff + d)}: the concatenated centroids. */
  public void decode(byte[] codes, int codeOff, float[] out, int outOff) {
    float[] c = requireTrained();
    checkRange("codes", codes == null ? -1 : codes.length, codeOff, codeSize);
    checkRange("out", out == null ? -1 : out.length, outOff, d);
    decodeOne(c, codes, codeOff, out, outOff);
  }

  private void decodeOne(float[] c, byte[] codes, int codeOff, float[] out, int outOff) {
    for (int j = 0; j < m; j++) {
      System.arraycopy(c, (j * ksub + subCode(codes, codeOff, j)) * dsub, out, outOff + j * dsub, dsub);
    }
  }

  /** Decodes the first {@code n} codes of {@code codes} into {@code n * d} floats. */
  public float[] decode(byte[] codes, int n) {
    float[] c = requireTrained();
    Checks.atLeast("n", n, 0);
    if (codes == null) {
      throw new IllegalArgumentException("codes is null");
    }
    if ((long) n * codeSize > codes.length) {
      throw new IllegalArgumentException("codes.length " + codes.length + " < n " + n + " * codeSize " + codeSize);
    }
    if ((long) n * d > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(n + " vectors of d=" + d + " do not fit in one array; decode in batches");
    }
    float[] out = new float[n * d];
    int chunks = (n + ENCODE_CHUNK - 1) / ENCODE_CHUNK;
    Parallel.forEach(chunks > 1 ? threads : 1, chunks, t -> {
      for (int i = t * ENCODE_CHUNK, end = Math.min(n, i + ENCODE_CHUNK); i < end; i++) {
        decodeOne(c, codes, i * codeSize, out, i * d);
      }
    });
    return out;
  }

  // ------------------------------------------------------------------------------------ ADC

  /**
   * Fills the L2 table of the query {@code q[qOff .. qOff + d)}:
   * {@code table[j * ksub + c] = |q_j - C_jc|^2}, size at least {@code m * ksub}. The ADC sum is
   * the squared L2 distance between the query and the decoded code (smaller is closer).
   */
  public void computeDistanceTable(float[] q, int qOff, float[] table) {
    requireTrained();
    float[] ct = centroidsT;
    checkTable(q, qOff, table);
    for (int j = 0; j < m; j++) {
      VectorUtil.squareDistanceToTransposed(q, qOff + j * dsub, ct, j * ksub * dsub, ksub, dsub, table, j * ksub);
    }
  }

  /** Bytes held once trained: the codebooks, their transposed copy and the centroids' squared norms. */
  public long memoryBytes() {
    return centroids == null ? 0 : 2L * Float.BYTES * m * ksub * dsub + (long) Float.BYTES * m * ksub;
  }

  /** {@code |C_jc|^2} at {@code [j * ksub + c]} (a copy), or null before training. */
  public float[] centroidNorms() {
    float[] n = centroidNorms;
    return n == null ? null : n.clone();
  }

  /**
   * Fills the distance table of {@code q[qOff .. qOff + d)} less the query's squared norm:
   * {@code table[j * ksub + c] = |C_jc|^2 - 2 <q_j, C_jc> = |q_j - C_jc|^2 - |q_j|^2}, so that
   * {@code |q|^2} plus the ADC sum is the squared distance to the decoded code. One fused
   * multiply-add per entry and sub-dimension (half the work of {@link #computeDistanceTable}); IVF-PQ
   * uses it on residuals, whose squared norm the coarse search already gives.
   *
   * @param scratch at least {@code d} floats, overwritten
   */
  public void computeDistanceTableLessNorm(float[] q, int qOff, float[] table, float[] scratch) {
    requireTrained();
    float[] ct = centroidsT;
    float[] norms = centroidNorms;
    checkTable(q, qOff, table);
    if (scratch == null || scratch.length < d) {
      throw new IllegalArgumentException("scratch must hold d = " + d + " floats, has "
          + (scratch == null ? "null" : scratch.length));
    }
    for (int t = 0; t < d; t++) {
      scratch[t] = -2f * q[qOff + t];
    }
    for (int j = 0; j < m; j++) {
      VectorUtil.dotProductToTransposedAdd(scratch, j * dsub, ct, j * ksub * dsub, ksub, dsub, norms, j * ksub, table,
          j * ksub);
    }
  }

  /**
   * Fills the inner-product table of the query {@code q[qOff .. qOff + d)}:
   * {@code table[j * ksub + c] = <q_j, C_jc>}, size at least {@code m * ksub}. The ADC sum is the
   * inner product between the query and the decoded code (larger is closer).
   */
  public void computeInnerProductTable(float[] q, int qOff, float[] table) {
    requireTrained();
    float[] ct = centroidsT;
    checkTable(q, qOff, table);
    // the transposed codebook puts ksub centroids in the SIMD lanes: no horizontal sums for short sub-vectors
    for (int j = 0; j < m; j++) {
      VectorUtil.dotProductToTransposed(q, qOff + j * dsub, ct, j * ksub * dsub, ksub, dsub, table, j * ksub);
    }
  }

  private void checkTable(float[] q, int qOff, float[] table) {
    checkRange("q", q == null ? -1 : q.length, qOff, d);
    if (table == null || table.length < m * ksub) {
      throw new IllegalArgumentException("table must hold m * ksub = " + (m * ksub) + " floats, has "
          + (table == null ? "null" : table.length));
    }
  }

  /** The ADC value of one code: {@code sum_j table[j * ksub + code_j]}, bit-identical to {@link #adcScan}. */
  public float adc(float[] table, byte[] codes, int codeOff) {
    float[] out = new float[1];
    adcScan(table, codes, codeOff, 1, out, 0);
    return out[0];
  }

  /**
   * The ADC values of {@code n} consecutive codes from {@code codes[codeOff]}:
   * {@code out[outOff + i] = sum_j table[j * ksub + code_j(i)]}, code {@code i} starting at
   * {@code codeOff + i * codeSize}. The hot loop of PQ search: arguments are checked once per
   * call, nothing is allocated. Codes with {@code nbits = 8} or {@code 4} and the common {@code m}
   * (4, 5, 8, 16, 32, 64 and 8, 16, 32) go through unrolled kernels; {@code m = 16, nbits = 8}
   * runs at about 300 M codes/s on one core of the development machine (AMD EPYC, Zen 5).
   *
   * <p>Each code's entries are added in four independent partial sums (sub-quantizers
   * {@code j ≡ 0, 1, 2, 3 mod 4}, a remainder going to the first), combined as
   * {@code (s0 + s1) + (s2 + s3)}, so that the additions of one code do not wait on each other.
   */
  public void adcScan(float[] table, byte[] codes, int codeOff, int n, float[] out, int outOff) {
    if (table == null || table.length < m * ksub) {
      throw new IllegalArgumentException("table must hold m * ksub = " + (m * ksub) + " floats, has "
          + (table == null ? "null" : table.length));
    }
    if (n < 0) {
      throw new IllegalArgumentException("n must be >= 0, was " + n);
    }
    checkRange("codes", codes == null ? -1 : codes.length, codeOff, (long) n * codeSize);
    checkRange("out", out == null ? -1 : out.length, outOff, n);
    if (nbits == 8) {
      scan8(table, codes, codeOff, n, m, out, outOff);
    } else if (nbits == 4) {
      scan4(table, codes, codeOff, n, m, codeSize, out, outOff);
    } else {
      scanGeneric(table, codes, codeOff, n, out, outOff);
    }
  }

  /**
   * nbits = 8: one byte per sub-code, table rows of 256. The common m have fully unrolled
   * kernels: with constant table offsets the JIT compiles them about twice as fast as the looped
   * form (m = 16: about 300 M codes/s against 120-160 M on one core of the development machine).
   * Other m take the looped form, reading four sub-codes per load.
   */
  private static void scan8(float[] t, byte[] codes, int codeOff, int n, int m, float[] out, int outOff) {
    switch (m) {
      case 4:
        scan8m4(t, codes, codeOff, n, out, outOff);
        break;
      case 5:
        scan8m5(t, codes, codeOff, n, out, outOff);
        break;
      case 8:
        scan8m8(t, codes, codeOff, n, out, outOff);
        break;
      case 16:
        scan8m16(t, codes, codeOff, n, out, outOff);
        break;
      case 32:
        scan8m32(t, codes, codeOff, n, out, outOff);
        break;
      case 64:
        scan8m64(t, codes, codeOff, n, out, outOff);
        break;
      default:
        scan8Looped(t, codes, codeOff, n, m, out, outOff);
    }
  }

  private static void scan8Looped(float[] t, byte[] codes, int codeOff, int n, int m, float[] out, int outOff) {
    int m4 = m & ~3;
    for (int i = 0, p = codeOff; i < n; i++, p += m) {
      float s0 = 0;
      float s1 = 0;
      float s2 = 0;
      float s3 = 0;
      int j = 0;
      for (; j < m4; j += 4) {
        int w = (int) LE_INT.get(codes, p + j);
        int tb = j << 8; // a multiple of 1024, so OR adds the row offset and the sub-code
        s0 += t[tb | (w & 0xff)];
        s1 += t[tb | 256 | ((w >>> 8) & 0xff)];
        s2 += t[tb | 512 | ((w >>> 16) & 0xff)];
        s3 += t[tb | 768 | (w >>> 24)];
      }
      for (; j < m; j++) {
        s0 += t[(j << 8) + (codes[p + j] & 0xff)];
      }
      out[outOff + i] = (s0 + s1) + (s2 + s3);
    }
  }

  /** nbits = 8, m = 4, unrolled (see {@link #scan8}). */
  private static void scan8m4(float[] t, byte[] codes, int codeOff, int n, float[] out, int outOff) {
    for (int i = 0, p = codeOff; i < n; i++, p += 4) {
      float s0 = t[(codes[p] & 0xff)];
      float s1 = t[256 + (codes[p + 1] & 0xff)];
      float s2 = t[512 + (codes[p + 2] & 0xff)];
      float s3 = t[768 + (codes[p + 3] & 0xff)];
      out[outOff + i] = (s0 + s1) + (s2 + s3);
    }
  }

  /** nbits = 8, m = 5 (d = 25, e.g. GloVe-25 with dsub = 5), unrolled (see {@link #scan8}). */
  private static void scan8m5(float[] t, byte[] codes, int codeOff, int n, float[] out, int outOff) {
    for (int i = 0, p = codeOff; i < n; i++, p += 5) {
      float s0 = t[(codes[p] & 0xff)];
      float s1 = t[256 + (codes[p + 1] & 0xff)];
      float s2 = t[512 + (codes[p + 2] & 0xff)];
      float s3 = t[768 + (codes[p + 3] & 0xff)];
      s0 += t[1024 + (codes[p + 4] & 0xff)];
      out[outOff + i] = (s0 + s1) + (s2 + s3);
    }
  }

  /** nbits = 8, m = 8, unrolled (see {@link #scan8}). */
  private static void scan8m8(float[] t, byte[] codes, int codeOff, int n, float[] out, int outOff) {
    for (int i = 0, p = codeOff; i < n; i++, p += 8) {
      float s0 = t[(codes[p] & 0xff)];
      float s1 = t[256 + (codes[p + 1] & 0xff)];
      float s2 = t[512 + (codes[p + 2] & 0xff)];
      float s3 = t[768 + (codes[p + 3] & 0xff)];
      s0 += t[1024 + (codes[p + 4] & 0xff)];
      s1 += t[1280 + (codes[p + 5] & 0xff)];
      s2 += t[1536 + (codes[p + 6] & 0xff)];
      s3 += t[1792 + (codes[p + 7] & 0xff)];
      out[outOff + i] = (s0 + s1) + (s2 + s3);
    }
  }

  /** nbits = 8, m = 16, unrolled (see {@link #scan8}). */
  private static void scan8m16(float[] t, byte[] codes, int codeOff, int n, float[] out, int outOff) {
    for (int i = 0, p = codeOff; i < n; i++, p += 16) {
      float s0 = t[(codes[p] & 0xff)];
      float s1 = t[256 + (codes[p + 1] & 0xff)];
      float s2 = t[512 + (codes[p + 2] & 0xff)];
      float s3 = t[768 + (codes[p + 3] & 0xff)];
      s0 += t[1024 + (codes[p + 4] & 0xff)];
      s1 += t[1280 + (codes[p + 5] & 0xff)];
      s2 += t[1536 + (codes[p + 6] & 0xff)];
      s3 += t[1792 + (codes[p + 7] & 0xff)];
      s0 += t[2048 + (codes[p + 8] & 0xff)];
      s1 += t[2304 + (codes[p + 9] & 0xff)];
      s2 += t[2560 + (codes[p + 10] & 0xff)];
      s3 += t[2816 + (codes[p + 11] & 0xff)];
      s0 += t[3072 + (codes[p + 12] & 0xff)];
      s1 += t[3328 + (codes[p + 13] & 0xff)];
      s2 += t[3584 + (codes[p + 14] & 0xff)];
      s3 += t[3840 + (codes[p + 15] & 0xff)];
      out[outOff + i] = (s0 + s1) + (s2 + s3);
    }
  }

  /** nbits = 8, m = 32, unrolled (see {@link #scan8}). */
  private static void scan8m32(float[] t, byte[] codes, int codeOff, int n, float[] out, int outOff) {
    for (int i = 0, p = codeOff; i < n; i++, p += 32) {
      float s0 = t[(codes[p] & 0xff)];
      float s1 = t[256 + (codes[p + 1] & 0xff)];
      float s2 = t[512 + (codes[p + 2] & 0xff)];
      float s3 = t[768 + (codes[p + 3] & 0xff)];
      s0 += t[1024 + (codes[p + 4] & 0xff)];
      s1 += t[1280 + (codes[p + 5] & 0xff)];
      s2 += t[1536 + (codes[p + 6] & 0xff)];
      s3 += t[1792 + (codes[p + 7] & 0xff)];
      s0 += t[2048 + (codes[p + 8] & 0xff)];
      s1 += t[2304 + (codes[p + 9] & 0xff)];
      s2 += t[2560 + (codes[p + 10] & 0xff)];
      s3 += t[2816 + (codes[p + 11] & 0xff)];
      s0 += t[3072 + (codes[p + 12] & 0xff)];
      s1 += t[3328 + (codes[p + 13] & 0xff)];
      s2 += t[3584 + (codes[p + 14] & 0xff)];
      s3 += t[3840 + (codes[p + 15] & 0xff)];
      s0 += t[4096 + (codes[p + 16] & 0xff)];
      s1 += t[4352 + (codes[p + 17] & 0xff)];
      s2 += t[4608 + (codes[p + 18] & 0xff)];
      s3 += t[4864 + (codes[p + 19] & 0xff)];
      s0 += t[5120 + (codes[p + 20] & 0xff)];
      s1 += t[5376 + (codes[p + 21] & 0xff)];
      s2 += t[5632 + (codes[p + 22] & 0xff)];
      s3 += t[5888 + (codes[p + 23] & 0xff)];
      s0 += t[6144 + (codes[p + 24] & 0xff)];
      s1 += t[6400 + (codes[p + 25] & 0xff)];
      s2 += t[6656 + (codes[p + 26] & 0xff)];
      s3 += t[6912 + (codes[p + 27] & 0xff)];
      s0 += t[7168 + (codes[p + 28] & 0xff)];
      s1 += t[7424 + (codes[p + 29] & 0xff)];
      s2 += t[7680 + (codes[p + 30] & 0xff)];
      s3 += t[7936 + (codes[p + 31] & 0xff)];
      out[outOff + i] = (s0 + s1) + (s2 + s3);
    }
  }

  /** nbits = 8, m = 64, unrolled (see {@link #scan8}). */
  private static void scan8m64(float[] t, byte[] codes, int codeOff, int n, float[] out, int outOff) {
    for (int i = 0, p = codeOff; i < n; i++, p += 64) {
      float s0 = t[(codes[p] & 0xff)];
      float s1 = t[256 + (codes[p + 1] & 0xff)];
      float s2 = t[512 + (codes[p + 2] & 0xff)];
      float s3 = t[768 + (codes[p + 3] & 0xff)];
      s0 += t[1024 + (codes[p + 4] & 0xff)];
      s1 += t[1280 + (codes[p + 5] & 0xff)];
      s2 += t[1536 + (codes[p + 6] & 0xff)];
      s3 += t[1792 + (codes[p + 7] & 0xff)];
      s0 += t[2048 + (codes[p + 8] & 0xff)];
      s1 += t[2304 + (codes[p + 9] & 0xff)];
      s2 += t[2560 + (codes[p + 10] & 0xff)];
      s3 += t[2816 + (codes[p + 11] & 0xff)];
      s0 += t[3072 + (codes[p + 12] & 0xff)];
      s1 += t[3328 + (codes[p + 13] & 0xff)];
      s2 += t[3584 + (codes[p + 14] & 0xff)];
      s3 += t[3840 + (codes[p + 15] & 0xff)];
      s0 += t[4096 + (codes[p + 16] & 0xff)];
      s1 += t[4352 + (codes[p + 17] & 0xff)];
      s2 += t[4608 + (codes[p + 18] & 0xff)];
      s3 += t[4864 + (codes[p + 19] & 0xff)];
      s0 += t[5120 + (codes[p + 20] & 0xff)];
      s1 += t[5376 + (codes[p + 21] & 0xff)];
      s2 += t[5632 + (codes[p + 22] & 0xff)];
      s3 += t[5888 + (codes[p + 23] & 0xff)];
      s0 += t[6144 + (codes[p + 24] & 0xff)];
      s1 += t[6400 + (codes[p + 25] & 0xff)];
      s2 += t[6656 + (codes[p + 26] & 0xff)];
      s3 += t[6912 + (codes[p + 27] & 0xff)];
      s0 += t[7168 + (codes[p + 28] & 0xff)];
      s1 += t[7424 + (codes[p + 29] & 0xff)];
      s2 += t[7680 + (codes[p + 30] & 0xff)];
      s3 += t[7936 + (codes[p + 31] & 0xff)];
      s0 += t[8192 + (codes[p + 32] & 0xff)];
      s1 += t[8448 + (codes[p + 33] & 0xff)];
      s2 += t[8704 + (codes[p + 34] & 0xff)];
      s3 += t[8960 + (codes[p + 35] & 0xff)];
      s0 += t[9216 + (codes[p + 36] & 0xff)];
      s1 += t[9472 + (codes[p + 37] & 0xff)];
      s2 += t[9728 + (codes[p + 38] & 0xff)];
      s3 += t[9984 + (codes[p + 39] & 0xff)];
      s0 += t[10240 + (codes[p + 40] & 0xff)];
      s1 += t[10496 + (codes[p + 41] & 0xff)];
      s2 += t[10752 + (codes[p + 42] & 0xff)];
      s3 += t[11008 + (codes[p + 43] & 0xff)];
      s0 += t[11264 + (codes[p + 44] & 0xff)];
      s1 += t[11520 + (codes[p + 45] & 0xff)];
      s2 += t[11776 + (codes[p + 46] & 0xff)];
      s3 += t[12032 + (codes[p + 47] & 0xff)];
      s0 += t[12288 + (codes[p + 48] & 0xff)];
      s1 += t[12544 + (codes[p + 49] & 0xff)];
      s2 += t[12800 + (codes[p + 50] & 0xff)];
      s3 += t[13056 + (codes[p + 51] & 0xff)];
      s0 += t[13312 + (codes[p + 52] & 0xff)];
      s1 += t[13568 + (codes[p + 53] & 0xff)];
      s2 += t[13824 + (codes[p + 54] & 0xff)];
      s3 += t[14080 + (codes[p + 55] & 0xff)];
      s0 += t[14336 + (codes[p + 56] & 0xff)];
      s1 += t[14592 + (codes[p + 57] & 0xff)];
      s2 += t[14848 + (codes[p + 58] & 0xff)];
      s3 += t[15104 + (codes[p + 59] & 0xff)];
      s0 += t[15360 + (codes[p + 60] & 0xff)];
      s1 += t[15616 + (codes[p + 61] & 0xff)];
      s2 += t[15872 + (codes[p + 62] & 0xff)];
      s3 += t[16128 + (codes[p + 63] & 0xff)];
      out[outOff + i] = (s0 + s1) + (s2 + s3);
    }
  }

  /**
   * nbits = 4: two sub-codes per byte, the even one in the low nibble; table rows of 16. As for
   * {@link #scan8}, the common m have unrolled kernels.
   */
  private static void scan4(float[] t, byte[] codes, int codeOff, int n, int m, int codeSize, float[] out, int outOff) {
    switch (m) {
      case 8:
        scan4m8(t, codes, codeOff, n, out, outOff);
        return;
      case 16:
        scan4m16(t, codes, codeOff, n, out, outOff);
        return;
      case 32:
        scan4m32(t, codes, codeOff, n, out, outOff);
        return;
      default:
        break;
    }
    int m4 = m & ~3;
    for (int i = 0, p = codeOff; i < n; i++, p += codeSize) {
      float s0 = 0;
      float s1 = 0;
      float s2 = 0;
      float s3 = 0;
      int j = 0;
      for (int tb = 0, b = p; j < m4; j += 4, tb += 64, b += 2) {
        int c01 = codes[b] & 0xff;
        int c23 = codes[b + 1] & 0xff;
        s0 += t[tb + (c01 & 15)];
        s1 += t[tb + 16 + (c01 >>> 4)];
        s2 += t[tb + 32 + (c23 & 15)];
        s3 += t[tb + 48 + (c23 >>> 4)];
      }
      for (; j < m; j++) {
        int c = ((codes[p + (j >>> 1)] & 0xff) >>> ((j & 1) << 2)) & 15;
        s0 += t[(j << 4) + c];
      }
      out[outOff + i] = (s0 + s1) + (s2 + s3);
    }
  }

  /** nbits = 4, m = 8, unrolled (see {@link #scan4}). */
  private static void scan4m8(float[] t, byte[] codes, int codeOff, int n, float[] out, int outOff) {
    for (int i = 0, p = codeOff; i < n; i++, p += 4) {
      int b0 = codes[p] & 0xff;
      int b1 = codes[p + 1] & 0xff;
      int b2 = codes[p + 2] & 0xff;
      int b3 = codes[p + 3] & 0xff;
      float s0 = t[(b0 & 15)];
      float s1 = t[16 + (b0 >>> 4)];
      float s2 = t[32 + (b1 & 15)];
      float s3 = t[48 + (b1 >>> 4)];
      s0 += t[64 + (b2 & 15)];
      s1 += t[80 + (b2 >>> 4)];
      s2 += t[96 + (b3 & 15)];
      s3 += t[112 + (b3 >>> 4)];
      out[outOff + i] = (s0 + s1) + (s2 + s3);
    }
  }

  /** nbits = 4, m = 16, unrolled (see {@link #scan4}). */
  private static void scan4m16(float[] t, byte[] codes, int codeOff, int n, float[] out, int outOff) {
    for (int i = 0, p = codeOff; i < n; i++, p += 8) {
      int b0 = codes[p] & 0xff;
      int b1 = codes[p + 1] & 0xff;
      int b2 = codes[p + 2] & 0xff;
      int b3 = codes[p + 3] & 0xff;
      int b4 = codes[p + 4] & 0xff;
      int b5 = codes[p + 5] & 0xff;
      int b6 = codes[p + 6] & 0xff;
      int b7 = codes[p + 7] & 0xff;
      float s0 = t[(b0 & 15)];
      float s1 = t[16 + (b0 >>> 4)];
      float s2 = t[32 + (b1 & 15)];
      float s3 = t[48 + (b1 >>> 4)];
      s0 += t[64 + (b2 & 15)];
      s1 += t[80 + (b2 >>> 4)];
      s2 += t[96 + (b3 & 15)];
      s3 += t[112 + (b3 >>> 4)];
      s0 += t[128 + (b4 & 15)];
      s1 += t[144 + (b4 >>> 4)];
      s2 += t[160 + (b5 & 15)];
      s3 += t[176 + (b5 >>> 4)];
      s0 += t[192 + (b6 & 15)];
      s1 += t[208 + (b6 >>> 4)];
      s2 += t[224 + (b7 & 15)];
      s3 += t[240 + (b7 >>> 4)];
      out[outOff + i] = (s0 + s1) + (s2 + s3);
    }
  }

  /** nbits = 4, m = 32, unrolled (see {@link #scan4}). */
  private static void scan4m32(float[] t, byte[] codes, int codeOff, int n, float[] out, int outOff) {
    for (int i = 0, p = codeOff; i < n; i++, p += 16) {
      int b0 = codes[p] & 0xff;
      int b1 = codes[p + 1] & 0xff;
      int b2 = codes[p + 2] & 0xff;
      int b3 = codes[p + 3] & 0xff;
      int b4 = codes[p + 4] & 0xff;
      int b5 = codes[p + 5] & 0xff;
      int b6 = codes[p + 6] & 0xff;
      int b7 = codes[p + 7] & 0xff;
      int b8 = codes[p + 8] & 0xff;
      int b9 = codes[p + 9] & 0xff;
      int b10 = codes[p + 10] & 0xff;
      int b11 = codes[p + 11] & 0xff;
      int b12 = codes[p + 12] & 0xff;
      int b13 = codes[p + 13] & 0xff;
      int b14 = codes[p + 14] & 0xff;
      int b15 = codes[p + 15] & 0xff;
      float s0 = t[(b0 & 15)];
      float s1 = t[16 + (b0 >>> 4)];
      float s2 = t[32 + (b1 & 15)];
      float s3 = t[48 + (b1 >>> 4)];
      s0 += t[64 + (b2 & 15)];
      s1 += t[80 + (b2 >>> 4)];
      s2 += t[96 + (b3 & 15)];
      s3 += t[112 + (b3 >>> 4)];
      s0 += t[128 + (b4 & 15)];
      s1 += t[144 + (b4 >>> 4)];
      s2 += t[160 + (b5 & 15)];
      s3 += t[176 + (b5 >>> 4)];
      s0 += t[192 + (b6 & 15)];
      s1 += t[208 + (b6 >>> 4)];
      s2 += t[224 + (b7 & 15)];
      s3 += t[240 + (b7 >>> 4)];
      s0 += t[256 + (b8 & 15)];
      s1 += t[272 + (b8 >>> 4)];
      s2 += t[288 + (b9 & 15)];
      s3 += t[304 + (b9 >>> 4)];
      s0 += t[320 + (b10 & 15)];
      s1 += t[336 + (b10 >>> 4)];
      s2 += t[352 + (b11 & 15)];
      s3 += t[368 + (b11 >>> 4)];
      s0 += t[384 + (b12 & 15)];
      s1 += t[400 + (b12 >>> 4)];
      s2 += t[416 + (b13 & 15)];
      s3 += t[432 + (b13 >>> 4)];
      s0 += t[448 + (b14 & 15)];
      s1 += t[464 + (b14 >>> 4)];
      s2 += t[480 + (b15 & 15)];
      s3 += t[496 + (b15 >>> 4)];
      out[outOff + i] = (s0 + s1) + (s2 + s3);
    }
  }

  /** Any nbits: unpacks each sub-code from one or two bytes. Same summation order as the specialised paths. */
  private void scanGeneric(float[] t, byte[] codes, int codeOff, int n, float[] out, int outOff) {
    int m4 = m & ~3;
    for (int i = 0, p = codeOff; i < n; i++, p += codeSize) {
      float s0 = 0;
      float s1 = 0;
      float s2 = 0;
      float s3 = 0;
      int j = 0;
      for (; j < m4; j += 4) {
        s0 += t[j * ksub + subCode(codes, p, j)];
        s1 += t[(j + 1) * ksub + subCode(codes, p, j + 1)];
        s2 += t[(j + 2) * ksub + subCode(codes, p, j + 2)];
        s3 += t[(j + 3) * ksub + subCode(codes, p, j + 3)];
      }
      for (; j < m; j++) {
        s0 += t[j * ksub + subCode(codes, p, j)];
      }
      out[outOff + i] = (s0 + s1) + (s2 + s3);
    }
  }

  /** Checks that {@code [off, off + len)} lies inside an array of {@code length} (-1: null). */
  private static void checkRange(String name, int length, int off, long len) {
    if (length < 0) {
      throw new IllegalArgumentException(name + " is null");
    }
    if (off < 0 || off + len > length) {
      throw new IndexOutOfBoundsException(name + " range [" + off + ", " + (off + len) + ") is outside [0, " + length + ")");
    }
  }

  @Override
  public String toString() {
    return "ProductQuantizer{d=" + d + ", m=" + m + ", nbits=" + nbits + ", ksub=" + ksub + ", dsub=" + dsub
        + ", codeSize=" + codeSize + (isTrained() ? ", trained" : ", untrained") + "}";
  }
}
