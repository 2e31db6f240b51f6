package io.quiver.index.ivf;

import io.quiver.index.quantize.KMeans;
import io.quiver.index.util.Checks;
import io.quiver.index.vector.VectorUtil;

/**
 * The coarse quantizer of an inverted-file index: {@code nlist} centroids that split the space
 * into cells (FAISS's {@code Level1Quantizer}). Training, the published centroids, assignment and
 * residuals live here; how the nearest centroids of a query are found is the subclass's
 * ({@link #search}): {@link FlatCoarseQuantizer} compares with every centroid (FAISS's
 * {@code IndexFlat} quantizer), {@code io.quiver.index.hnsw.HnswCoarseQuantizer} walks an HNSW
 * graph over the centroids (FAISS's {@code IndexHNSWFlat} quantizer, {@code IVF<nlist>_HNSW<M>}).
 *
 * <p>Training mirrors FAISS's IVF: k-means with 10 iterations, at most 256 points per centroid,
 * seed 1234; for inner product the centroids are normalized (spherical k-means) and assignment
 * ranks by inner product.
 *
 * <p>Thread-safe: training builds new centroids and publishes them at once; assignment and probing
 * read whatever centroids are published.
 */
public abstract class CoarseQuantizer {

  /** k-means iterations used to train (FAISS's Level1Quantizer uses 10). */
  public static final int DEFAULT_NITER = 10;

  private final int d;
  private final int nlist;
  private final boolean innerProduct;
  private int niter = DEFAULT_NITER;
  private long seed = 1234;
  private int maxPointsPerCentroid = 256;

  /** centroids and their norms, published together. */
  private volatile float[][] state;

  /** The flat coarse quantizer (every centroid compared), FAISS's default. */
  public static CoarseQuantizer flat(int d, int nlist, boolean innerProduct) {
    return new FlatCoarseQuantizer(d, nlist, innerProduct);
  }

  protected CoarseQuantizer(int d, int nlist, boolean innerProduct) {
    this.d = Checks.atLeast("d", d, 1);
    this.nlist = Checks.atLeast("nlist", nlist, 1);
    this.innerProduct = innerProduct;
  }

  public int d() {
    return d;
  }

  public int nlist() {
    return nlist;
  }

  public boolean innerProduct() {
    return innerProduct;
  }

  public void setNiter(int niter) {
    this.niter = Checks.atLeast("niter", niter, 1);
  }

  public void setSeed(long seed) {
    this.seed = seed;
  }

  public void setMaxPointsPerCentroid(int max) {
    this.maxPointsPerCentroid = Checks.atLeast("maxPointsPerCentroid", max, 1);
  }

  public boolean isTrained() {
    return state != null;
  }

  /**
   * Runs k-means on {@code x} ({@code n >= nlist} checked vectors) and returns the centroids
   * without publishing them, so a caller can check its own state first.
   */
  public float[] computeCentroids(float[] x) {
    int n = x.length / d;
    if (n < nlist) {
      throw new IllegalArgumentException("training needs at least nlist=" + nlist + " points, got " + n);
    }
    return new KMeans(d, nlist)
        .niter(niter)
        .seed(seed)
        .maxPointsPerCentroid(maxPointsPerCentroid)
        .innerProduct(innerProduct)
        .spherical(innerProduct)
        .train(x)
        .centroids();
  }

  /** A quantizer of the same kind, shape and settings with no centroids ({@link #withCentroids} sets them). */
  protected abstract CoarseQuantizer newEmpty();

  /** Publishes centroids ({@code nlist * d} floats, taken as they are). */
  public void setCentroids(float[] centroids) {
    if (centroids.length != (long) nlist * d) {
      throw new IllegalArgumentException("centroids.length " + centroids.length + " != nlist " + nlist + " * d " + d);
    }
    state = new float[][] {centroids, VectorUtil.squareNorms(centroids, nlist, d)};
  }

  /** The centroids and their squared norms, as published together ({@code [0]}, {@code [1]}). */
  protected final float[][] trained() {
    float[][] s = state;
    if (s == null) {
      throw new IllegalStateException("the index is not trained: call train() before add() or search()");
    }
    return s;
  }

  /**
   * A detached quantizer with the same settings and these centroids: what a training assigns
   * and computes residuals with before it publishes the centroids.
   */
  public CoarseQuantizer withCentroids(float[] centroids) {
    CoarseQuantizer q = newEmpty();
    q.niter = niter;
    q.seed = seed;
    q.maxPointsPerCentroid = maxPointsPerCentroid;
    q.setCentroids(centroids);
    return q;
  }

  /** The live centroids ({@code nlist * d}); callers must not modify them. Null before training. */
  public float[] centroids() {
    float[][] s = state;
    return s == null ? null : s[0];
  }

  /**
   * The {@code np} nearest lists of each of {@code nq} queries, nearest first: {@code lists} and
   * {@code distances} of size {@code nq * np} (squared L2, or inner products).
   */
  public abstract void search(float[] q, int nq, int np, int threads, float[] distances, long[] lists);

  /**
   * {@link #search} with a search-time parameter of graph quantizers: {@code efSearch} > 0
   * overrides an HNSW quantizer's own (0 keeps it); quantizers that compare every centroid ignore it.
   */
  public void search(float[] q, int nq, int np, int efSearch, int threads, float[] distances, long[] lists) {
    search(q, nq, np, threads, distances, lists);
  }

  /** What this quantizer adds to an IVF factory string after {@code IVF<nlist>}: "" for flat, {@code _HNSW32} for HNSW. */
  public String factorySuffix() {
    return "";
  }

  /**
   * {@link #search} for an index's {@code probe}: checks {@code 1 <= nprobe <= nlist} first.
   */
  public void probe(float[] q, int nprobe, int threads, float[] distances, long[] lists) {
    Checks.atLeast("nprobe", nprobe, 1);
    if (nprobe > nlist) {
      throw new IllegalArgumentException("nprobe " + nprobe + " exceeds nlist " + nlist);
    }
    search(q, q.length / d, nprobe, threads, distances, lists);
  }

  /**
   * The nearest list of each vector, also written to {@code listsOut} (which must hold one entry
   * per vector), for an index's {@code assignAndEncode}.
   */
  public long[] assignInto(float[] x, int[] listsOut, int threads) {
    int n = x.length / d;
    if (listsOut == null || listsOut.length < n) {
      throw new IllegalArgumentException("listsOut must hold " + n + " list numbers, has "
          + (listsOut == null ? "null" : listsOut.length));
    }
    long[] assign = assign(x, threads);
    for (int i = 0; i < n; i++) {
      listsOut[i] = (int) assign[i];
    }
    return assign;
  }

  /** Checks centroids given for training: {@code nlist * d} finite floats. */
  public void checkCentroids(float[] centroids) {
    if (centroids == null || centroids.length != (long) nlist * d) {
      throw new IllegalArgumentException("centroids must hold nlist * d = " + nlist + " * " + d + " floats, has "
          + (centroids == null ? "null" : centroids.length));
    }
    Checks.prepareVectors("centroids", centroids, d, false);
  }

  /** The nearest list of each of the {@code x.length / d} vectors. */
  public long[] assign(float[] x, int threads) {
    int n = x.length / d;
    long[] lists = new long[n];
    search(x, n, 1, threads, new float[n], lists);
    return lists;
  }

  /** {@code out[outOff..] = x[xOff..] - centroid(list)}: the residual FAISS's by_residual encodes. */
  public void residual(float[] x, int xOff, int list, float[] out, int outOff) {
    float[] c = trained()[0];
    int co = list * d;
    for (int t = 0; t < d; t++) {
      out[outOff + t] = x[xOff + t] - c[co + t];
    }
  }

  /** Residuals of {@code n} vectors to their lists' centroids, {@code n * d} floats. */
  public float[] residuals(float[] x, long[] lists) {
    float[] out = new float[x.length];
    for (int i = 0; i < lists.length; i++) {
      residual(x, i * d, (int) lists[i], out, i * d);
    }
    return out;
  }
}
