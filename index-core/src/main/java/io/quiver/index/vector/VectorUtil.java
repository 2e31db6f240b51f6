package io.quiver.index.vector;

import java.util.Locale;

/**
 * The entry point to Quiver's distance kernels. At class initialisation it picks the Panama
 * (SIMD) implementation when the {@code jdk.incubator.vector} module is present and the scalar
 * reference otherwise; the system property {@code quiver.vectorization=scalar|panama|auto}
 * (default {@code auto}) forces one. Forcing {@code panama} on a JVM started without
 * {@code --add-modules=jdk.incubator.vector} fails with an error that says so.
 *
 * <p>See {@link VectorUtilSupport} for the shapes of each kernel. Every method is thread-safe.
 */
public final class VectorUtil {

  /** System property that forces an implementation: {@code scalar}, {@code panama} or {@code auto}. */
  public static final String PROPERTY = "quiver.vectorization";

  private static final VectorUtilSupport IMPL;
  private static final String DESCRIPTION;

  static {
    String wanted = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
    VectorUtilSupport chosen;
    String description;
    switch (wanted) {
      case "scalar":
        chosen = new ScalarVectorUtilSupport();
        description = "scalar";
        break;
      case "panama":
        chosen = loadPanama();
        if (chosen == null) {
          throw new IllegalStateException("-D" + PROPERTY + "=panama needs the Vector API: start the JVM with "
              + "--add-modules=jdk.incubator.vector (see index-core/target/jvm.options)");
        }
        description = "panama(" + panamaBits() + "-bit)";
        break;
      case "auto":
      case "":
        chosen = loadPanama();
        if (chosen == null) {
          chosen = new ScalarVectorUtilSupport();
          description = "scalar (jdk.incubator.vector not present)";
        } else {
          description = "panama(" + panamaBits() + "-bit)";
        }
        break;
      default:
        throw new IllegalArgumentException("-D" + PROPERTY + "=" + wanted + " is not valid; use scalar, panama or auto");
    }
    IMPL = chosen;
    DESCRIPTION = description;
  }

  private VectorUtil() {}

  private static VectorUtilSupport loadPanama() {
    if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      return null;
    }
    try {
      return (VectorUtilSupport) Class.forName("io.quiver.index.vector.PanamaVectorUtilSupport")
          .getDeclaredConstructor().newInstance();
    } catch (ReflectiveOperationException | LinkageError e) {
      return null;
    }
  }

  private static int panamaBits() {
    return PanamaVectorUtilSupport.lanes() * Float.SIZE;
  }

  /** The implementation in use. */
  public static VectorUtilSupport support() {
    return IMPL;
  }

  /** A short description of the implementation in use, such as {@code panama(512-bit)}. */
  public static String implementationName() {
    return DESCRIPTION;
  }

  /** See {@link VectorUtilSupport#dotProduct}. */
  public static float dotProduct(float[] a, int aOff, float[] b, int bOff, int d) {
    return IMPL.dotProduct(a, aOff, b, bOff, d);
  }

  /** See {@link VectorUtilSupport#squareDistance}. */
  public static float squareDistance(float[] a, int aOff, float[] b, int bOff, int d) {
    return IMPL.squareDistance(a, aOff, b, bOff, d);
  }

  /** See {@link VectorUtilSupport#squareNorm}. */
  public static float squareNorm(float[] a, int aOff, int d) {
    return IMPL.squareNorm(a, aOff, d);
  }

  /** See {@link VectorUtilSupport#squareDistanceOneToMany}. */
  public static void squareDistanceOneToMany(float[] q, int qOff, float[] x, int xOff, int n, int d, float[] out, int outOff) {
    IMPL.squareDistanceOneToMany(q, qOff, x, xOff, n, d, out, outOff);
  }

  /** See {@link VectorUtilSupport#squareDistanceToTransposed}. */
  public static void squareDistanceToTransposed(float[] q, int qOff, float[] xT, int xOff, int n, int d, float[] out,
                                                int outOff) {
    IMPL.squareDistanceToTransposed(q, qOff, xT, xOff, n, d, out, outOff);
  }

  /** See {@link VectorUtilSupport#dotProductToTransposed}. */
  public static void dotProductToTransposed(float[] q, int qOff, float[] xT, int xOff, int n, int d, float[] out,
                                            int outOff) {
    IMPL.dotProductToTransposed(q, qOff, xT, xOff, n, d, out, outOff);
  }

  /** See {@link VectorUtilSupport#dotProductToTransposedAdd}. */
  public static void dotProductToTransposedAdd(float[] q, int qOff, float[] xT, int xOff, int n, int d, float[] add,
                                               int addOff, float[] out, int outOff) {
    IMPL.dotProductToTransposedAdd(q, qOff, xT, xOff, n, d, add, addOff, out, outOff);
  }

  /** See {@link VectorUtilSupport#dotProductOneToMany}. */
  public static void dotProductOneToMany(float[] q, int qOff, float[] x, int xOff, int n, int d, float[] out, int outOff) {
    IMPL.dotProductOneToMany(q, qOff, x, xOff, n, d, out, outOff);
  }

  /** See {@link VectorUtilSupport#queryLanes}. */
  public static int queryLanes() {
    return IMPL.queryLanes();
  }

  /** See {@link VectorUtilSupport#squareDistanceQueriesTransposed}. */
  public static void squareDistanceQueriesTransposed(float[] qT, int qOff, int lanes, float[] x, int xOff, int n, int d,
                                                     float[] out, int outOff) {
    IMPL.squareDistanceQueriesTransposed(qT, qOff, lanes, x, xOff, n, d, out, outOff);
  }

  /** See {@link VectorUtilSupport#dotProductQueriesTransposed}. */
  public static void dotProductQueriesTransposed(float[] qT, int qOff, int lanes, float[] x, int xOff, int n, int d,
                                                 float[] out, int outOff) {
    IMPL.dotProductQueriesTransposed(qT, qOff, lanes, x, xOff, n, d, out, outOff);
  }

  /** See {@link VectorUtilSupport#dotProductBlock}. */
  public static void dotProductBlock(float[] q, int qOff, int nq, float[] x, int xOff, int nx, int d,
                                     float[] out, int outOff, int outStride) {
    IMPL.dotProductBlock(q, qOff, nq, x, xOff, nx, d, out, outOff, outStride);
  }

  /** See {@link VectorUtilSupport#dotProductBlockScaled}. */
  public static void dotProductBlockScaled(float[] q, int qOff, int nq, float[] x, int xOff, int nx, int d,
                                           float scale, float[] bias, int biasOff, float[] out, int outOff, int outStride) {
    IMPL.dotProductBlockScaled(q, qOff, nq, x, xOff, nx, d, scale, bias, biasOff, out, outOff, outStride);
  }

  /** See {@link VectorUtilSupport#sq8SquareDistanceOneToMany}. */
  public static void sq8SquareDistanceOneToMany(float[] q, int qOff, byte[] codes, int codeOff, int n, int d,
                                                float[] scale, float[] offset, float[] out, int outOff) {
    IMPL.sq8SquareDistanceOneToMany(q, qOff, codes, codeOff, n, d, scale, offset, out, outOff);
  }

  /** See {@link VectorUtilSupport#sq8DotProductOneToMany}. */
  public static void sq8DotProductOneToMany(float[] q, int qOff, byte[] codes, int codeOff, int n, int d,
                                            float[] scale, float[] offset, float[] out, int outOff) {
    IMPL.sq8DotProductOneToMany(q, qOff, codes, codeOff, n, d, scale, offset, out, outOff);
  }

  /** See {@link VectorUtilSupport#sq4SquareDistanceOneToMany}. */
  public static void sq4SquareDistanceOneToMany(float[] q, int qOff, byte[] codes, int codeOff, int n, int d,
                                                float[] scale, float[] offset, float[] out, int outOff) {
    IMPL.sq4SquareDistanceOneToMany(q, qOff, codes, codeOff, n, d, scale, offset, out, outOff);
  }

  /** See {@link VectorUtilSupport#sq4DotProductOneToMany}. */
  public static void sq4DotProductOneToMany(float[] q, int qOff, byte[] codes, int codeOff, int n, int d,
                                            float[] scale, float[] offset, float[] out, int outOff) {
    IMPL.sq4DotProductOneToMany(q, qOff, codes, codeOff, n, d, scale, offset, out, outOff);
  }

  /** See {@link VectorUtilSupport#fp16SquareDistanceOneToMany}. */
  public static void fp16SquareDistanceOneToMany(float[] q, int qOff, byte[] codes, int codeOff, int n, int d,
                                                 float[] out, int outOff) {
    IMPL.fp16SquareDistanceOneToMany(q, qOff, codes, codeOff, n, d, out, outOff);
  }

  /** See {@link VectorUtilSupport#fp16DotProductOneToMany}. */
  public static void fp16DotProductOneToMany(float[] q, int qOff, byte[] codes, int codeOff, int n, int d,
                                             float[] out, int outOff) {
    IMPL.fp16DotProductOneToMany(q, qOff, codes, codeOff, n, d, out, outOff);
  }

  /** See {@link VectorUtilSupport#sq8Decode}. */
  public static void sq8Decode(byte[] codes, int codeOff, int n, int d, float[] scale, float[] offset, float[] out,
                               int outOff) {
    IMPL.sq8Decode(codes, codeOff, n, d, scale, offset, out, outOff);
  }

  /** See {@link VectorUtilSupport#sq4Decode}. */
  public static void sq4Decode(byte[] codes, int codeOff, int n, int d, float[] scale, float[] offset, float[] out,
                               int outOff) {
    IMPL.sq4Decode(codes, codeOff, n, d, scale, offset, out, outOff);
  }

  /** See {@link VectorUtilSupport#fp16Decode}. */
  public static void fp16Decode(byte[] codes, int codeOff, int n, int d, float[] out, int outOff) {
    IMPL.fp16Decode(codes, codeOff, n, d, out, outOff);
  }

  /** Converts IEEE 754 binary16 bits (the low 16 bits of {@code h}) to the float of equal value (exact). */
  public static float halfToFloat(int h) {
    return Half.toFloat(h);
  }

  /** The float value of the little-endian half at {@code codes[p], codes[p+1]} (exact). */
  public static float halfAt(byte[] codes, int p) {
    return Half.at(codes, p);
  }

  /** See {@link VectorUtilSupport#nextRowAtMost}. */
  public static int nextRowAtMost(float[] tile, int from, int to, int lanes, float[] thresholds) {
    return IMPL.nextRowAtMost(tile, from, to, lanes, thresholds);
  }

  /** See {@link VectorUtilSupport#add}. */
  public static void add(float[] a, int aOff, float[] b, int bOff, float[] out, int outOff, int n) {
    IMPL.add(a, aOff, b, bOff, out, outOff, n);
  }

  /** See {@link VectorUtilSupport#nextAtMost}. */
  public static int nextAtMost(float[] a, int from, int to, float threshold) {
    return IMPL.nextAtMost(a, from, to, threshold);
  }

  /**
   * Squared norms of {@code n} contiguous vectors: {@code out[j] = |x_j|^2}. Output: size {@code n}.
   */
  public static float[] squareNorms(float[] x, int n, int d) {
    float[] out = new float[n];
    for (int j = 0; j < n; j++) {
      out[j] = IMPL.squareNorm(x, j * d, d);
    }
    return out;
  }

  /**
   * Normalizes each of the {@code x.length / d} vectors in place to unit L2 norm, as FAISS's
   * {@code normalize_L2}. A zero vector stays zero.
   */
  public static void normalizeL2(float[] x, int d) {
    if (d <= 0 || x.length % d != 0) {
      throw new IllegalArgumentException("vectors.length " + x.length + " is not a multiple of d=" + d);
    }
    int n = x.length / d;
    for (int j = 0; j < n; j++) {
      normalizeL2(x, j * d, d);
    }
  }

  /** Normalizes the vector {@code x[off..off+d)} in place to unit L2 norm; a zero vector stays zero. */
  public static void normalizeL2(float[] x, int off, int d) {
    // in double: float squares overflow above ~1e19 and underflow below ~1e-23
    double sumSq = 0;
    for (int t = 0; t < d; t++) {
      double v = x[off + t];
      sumSq += v * v;
    }
    double norm = Math.sqrt(sumSq);
    if (norm > 0 && Double.isFinite(norm)) {
      for (int t = 0; t < d; t++) {
        x[off + t] = (float) (x[off + t] / norm);
      }
    }
  }
}
