package io.quiver.index.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.quiver.index.FlatIndex;
import io.quiver.index.InvertedFileIndex;
import io.quiver.index.IvfCodesIndex;
import io.quiver.index.IvfIndex;
import io.quiver.index.IvfPqIndex;
import io.quiver.index.IvfSqIndex;
import io.quiver.index.L2NormIndex;
import io.quiver.index.Metric;
import io.quiver.index.PqIndex;
import io.quiver.index.RefineIndex;
import io.quiver.index.SearchParams;
import io.quiver.index.SearchResult;
import io.quiver.index.SqIndex;
import io.quiver.index.VectorIndex;
import io.quiver.index.codec.FlatCodec;
import io.quiver.index.codec.PqCodec;
import io.quiver.index.codec.SqCodec;
import io.quiver.index.hnsw.Hnsw;
import io.quiver.index.hnsw.HnswCoarseQuantizer;
import io.quiver.index.hnsw.HnswIndex;
import io.quiver.index.quantize.ProductQuantizer;
import io.quiver.index.quantize.ScalarQuantizer;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Golden index files: tiny indexes built from hard-coded vectors, written once per released
 * format version under {@code src/test/resources/golden/v<version>/} and committed. Every file of
 * every version must keep loading with the content and search results hard-coded here, so a
 * reader change that breaks old files fails this test.
 *
 * <p>The quantized types ('PQ__', 'SQ__', 'IVPQ', 'IVSQ') and the wrappers ('RFLT', 'L2NM') joined format
 * version 1 as new file types (see {@link IndexFormat}), so their golden files sit in
 * {@code golden/v1/} beside the original 'FLAT' and 'IVFF' ones, whose bytes did not change. Their
 * quantizers are built from hard-coded numbers ({@code ProductQuantizer.fromCentroids},
 * {@code ScalarQuantizer.fromTrained}) with ranges that make decoding exact (a step of 1), so the
 * expected search results below are exact small numbers.
 *
 * <p>Regenerate from {@code index-core} (when a new file type or a new format version comes):
 * <pre>
 * mvn -pl index-core test -Dtest=GoldenFilesTest -Dquiver.golden.regenerate=true
 * </pre>
 * or run {@link #main} with the target directory as argument. Files are written to
 * {@code golden/v<VERSION_CURRENT>}: missing files are created, and an existing file is left as it
 * is when the writer reproduces it, while one the writer would change fails the regeneration (the
 * files of a released version never change; a layout change needs a new version). No randomness:
 * the same code writes the same bytes.
 */
class GoldenFilesTest {

  /** Ids of the Flat L2 file; 2^40 checks that ids are stored as int64. */
  static final long[] FLAT_L2_IDS = {10, 20, 30, 1L << 40, 7};
  static final float[] FLAT_L2_VECTORS = {
      0, 0, 0, 0,
      1, 0, 0, 0,
      0, 2, 0, 0,
      1, 1, 1, 1,
      -1, 0.5f, 0, 3};

  /** Already unit length: cosine files store normalized vectors. */
  static final float[] FLAT_COSINE_VECTORS = {
      1, 0, 0, 0,
      0, 1, 0, 0,
      0.6f, 0.8f, 0, 0,
      0.5f, 0.5f, 0.5f, 0.5f};

  static final float[] IVF_L2_CENTROIDS = {0, 0, 0, 0, 10, 10, 10, 10};
  static final long[][] IVF_L2_IDS = {{1, 2, 3}, {4, 5, 6}};
  static final float[][] IVF_L2_VECTORS = {
      {0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0},
      {10, 10, 10, 11, 9, 10, 10, 10, 10, 10, 10, 10}};

  static final float[] IVF_IP_CENTROIDS = {1, 0, 0, 0, 0, 1, 0, 0};
  static final long[][] IVF_IP_IDS = {{100, 101, 102}, {200, 201}};
  static final float[][] IVF_IP_VECTORS = {
      {2, 0, 0, 0, 1, 0.5f, 0, 0, 0.5f, 0, 1, 0},
      {0, 3, 0, 0, 0.25f, 1, 0, 1}};

  // ---- quantized types: hard-coded quantizers whose decoding is exact ----

  /** SQ8, d=4: step 1 in dims 0..2 (decoded value = code + offset), dim 3 constant (vdiff 0, value 2). */
  static final float[] SQ8_VMIN = {-0.5f, 9.5f, -0.5f, 2f};
  static final float[] SQ8_VDIFF = {255f, 255f, 255f, 0f};
  static final long[] SQ8_IDS = {10, 20, 1L << 40, 7};
  static final byte[] SQ8_CODES = {
      0, 0, 0, 0,                   // (0, 10, 0, 2)
      1, 2, 3, 9,                   // (1, 12, 3, 2)
      (byte) 255, 0, (byte) 128, 0, // (255, 10, 128, 2)
      2, 1, 0, 77};                 // (2, 11, 0, 2)

  /** SQ4, d=3 (odd: the last byte's high nibble is 0): decoded = (c0, c1, c2 - 8). */
  static final float[] SQ4_VMIN = {-0.5f, -0.5f, -8.5f};
  static final float[] SQ4_VDIFF = {15f, 15f, 15f};
  static final long[] SQ4_IDS = {100, 101, 102};
  static final byte[] SQ4_CODES = {
      0x21, 0x08,  // (1, 2, 0)
      0x0F, 0x00,  // (15, 0, -8)
      0x30, 0x0C}; // (0, 3, 4)

  /** SQfp16, d=4, cosine: unit vectors whose halves are exact (1 = 0x3C00, -1 = 0xBC00, 0.5 = 0x3800, -0.5 = 0xB800). */
  static final byte[] SQFP16_CODES = {
      0x00, 0x3C, 0, 0, 0, 0, 0, 0,                                               // (1, 0, 0, 0)
      0, 0, 0, 0, 0x00, (byte) 0xBC, 0, 0,                                        // (0, 0, -1, 0)
      0x00, 0x38, 0x00, 0x38, 0x00, 0x38, 0x00, 0x38,                             // (0.5, 0.5, 0.5, 0.5)
      0x00, 0x38, 0x00, (byte) 0xB8, 0x00, 0x38, 0x00, (byte) 0xB8};              // (0.5, -0.5, 0.5, -0.5)

  /**
   * IVF2,PQ2x4, d=4, L2: sub-quantizer 0's centroid c is (c, c), sub-quantizer 1's is (c, -c); a
   * code byte holds sub-code 0 in its low nibble.
   */
  static float[] ivfPqL2Codebook() {
    float[] c = new float[2 * 16 * 2];
    for (int j = 0; j < 2; j++) {
      for (int k = 0; k < 16; k++) {
        c[(j * 16 + k) * 2] = k;
        c[(j * 16 + k) * 2 + 1] = j == 0 ? k : -k;
      }
    }
    return c;
  }

  /** PQ2x4, d=4, L2, with the codebook of {@link #ivfPqL2Codebook}: vectors (0,0,1,-1), (1,1,2,-2), (3,3,3,-3). */
  static final long[] PQ_L2_IDS = {10, 20, 30};
  static final byte[] PQ_L2_CODES = {0x10, 0x21, 0x33};

  /** PQ2 (nbits 8), d=2, inner product, with the codebook of {@link #ivfPqIpCodebook}: (1, 0), (0, 2), (-1, 0.5). */
  static final long[] PQ_IP_IDS = {5, 6, 7};
  static final byte[] PQ_IP_CODES = {(byte) 132, (byte) 128, (byte) 128, (byte) 136, 124, (byte) 130};

  static final float[] IVFPQ_L2_CENTROIDS = {0, 0, 0, 0, 10, 10, 10, 10};
  static final long[][] IVFPQ_L2_IDS = {{1, 2, 3}, {4, 5}};
  /** Residuals (0,0,1,-1), (1,1,2,-2), (3,3,0,0) in list 0; (0,0,0,0), (1,1,1,-1) in list 1. */
  static final byte[][] IVFPQ_L2_CODES = {{0x10, 0x21, 0x03}, {0x00, 0x11}};

  /** IVF2,PQ2 (nbits 8), d=2, inner product: centroid c of either sub-quantizer is (c - 128) / 4. */
  static float[] ivfPqIpCodebook() {
    float[] c = new float[2 * 256];
    for (int j = 0; j < 2; j++) {
      for (int k = 0; k < 256; k++) {
        c[j * 256 + k] = (k - 128) * 0.25f;
      }
    }
    return c;
  }

  static final float[] IVFPQ_IP_CENTROIDS = {1, 0, 0, 1};
  static final long[][] IVFPQ_IP_IDS = {{100, 101}, {200}};
  /** Residuals (1, 0), (0, 2) in list 0 (vectors (2, 0), (1, 2)); (-1, 0) in list 1 (vector (-1, 1)). */
  static final byte[][] IVFPQ_IP_CODES = {{(byte) 132, (byte) 128, (byte) 128, (byte) 136}, {124, (byte) 128}};

  /** IVF2,SQ8, d=2, cosine: decoded residual = code - 1. */
  static final float[] IVFSQ8_VMIN = {-1.5f, -1.5f};
  static final float[] IVFSQ8_VDIFF = {255f, 255f};
  static final float[] IVFSQ8_CENTROIDS = {1, 0, 0, 1};
  static final long[][] IVFSQ8_IDS = {{1, 2}, {3, 4}};
  /** Vectors (1, 0), (0, -1) in list 0; (0, 1), (-1, 0) in list 1. */
  static final byte[][] IVFSQ8_CODES = {{1, 1, 0, 0}, {1, 1, 0, 0}};

  /** IVF2,SQ4, d=3, L2: decoded residual = (c0, c1, c2 - 7). */
  static final float[] IVFSQ4_VMIN = {-0.5f, -0.5f, -7.5f};
  static final float[] IVFSQ4_VDIFF = {15f, 15f, 15f};
  static final float[] IVFSQ4_CENTROIDS = {0, 0, 0, 100, 100, 100};
  static final long[][] IVFSQ4_IDS = {{11, 12}, {13}};
  /** Vectors (1, 2, 0), (0, 0, -7) in list 0; (103, 100, 107) in list 1. */
  static final byte[][] IVFSQ4_CODES = {{0x21, 0x07, 0x00, 0x00}, {0x03, 0x0E}};

  /** The raw vectors of the refine file, ids 1..5: ids 1 and 2 differ from their PQ codes, which reorders them. */
  static final float[] REFINE_VECTORS = {
      0.5f, 0, 1, -1,
      1, 1, 1.5f, -1,
      3, 3, 0, 0,
      10, 10, 10, 10,
      11, 11, 11, 9};

  /** L2norm,SQ8, d=2: decoded = code - 1, so codes (2, 1), (1, 2), (0, 1) are the unit vectors (1, 0), (0, 1), (-1, 0). */
  static final byte[] L2NORM_SQ8_CODES = {2, 1, 1, 2, 0, 1};

  // ---- HNSW types: hard-coded graphs ----

  /** HNSW2, d=2, L2: the corners of the unit square, ids 10, 20, 30, 40; node 1 (id 20) alone on level 1. */
  static final float[] HNSW_L2_VECTORS = {0, 0, 1, 0, 0, 1, 1, 1};
  static final long[] HNSW_L2_IDS = {10, 20, 30, 40};
  static final int[] HNSW_L2_LEVELS = {1, 2, 1, 1};
  /** Level 0: 2M = 4 slots per node; node 1 then has M = 2 (empty) slots on level 1. */
  static final int[] HNSW_L2_LINKS = {
      1, 2, -1, -1,
      0, 3, 2, -1, -1, -1,
      0, 1, 3, -1,
      1, 2, -1, -1};

  /** Three nodes of HNSW2 on level 0 only, each linked to the other two; entry point 0. */
  static final int[] HNSW_TRIANGLE_LINKS = {1, 2, -1, -1, 0, 2, -1, -1, 0, 1, -1, -1};

  /** The coarse graph of the IVF2_HNSW2 files: the two centroids linked to each other. */
  static HnswCoarseQuantizer coarseOfTwo(int d, boolean innerProduct) {
    HnswCoarseQuantizer q = new HnswCoarseQuantizer(d, 2, innerProduct, 2);
    q.restoreGraph(new Hnsw.Stored(new int[] {1, 1}, new int[] {1, -1, -1, -1, 0, -1, -1, -1}, 0));
    return q;
  }

  static SqIndex sq8L2() {
    return SqIndex.fromStorage(4, Metric.L2, ScalarQuantizer.fromTrained(4, ScalarQuantizer.Type.SQ8, SQ8_VMIN, SQ8_VDIFF),
        SQ8_IDS.clone(), SQ8_CODES.clone());
  }

  static IvfPqIndex ivfPqL2() {
    return IvfPqIndex.fromStorage(4, Metric.L2, 2, 1, IVFPQ_L2_CENTROIDS.clone(),
        ProductQuantizer.fromCentroids(4, 2, 4, ivfPqL2Codebook()), deepClone(IVFPQ_L2_IDS), deepClone(IVFPQ_L2_CODES));
  }

  /** The golden indexes by file name, built deterministically (no k-means, no randomness). */
  static Map<String, VectorIndex> goldenIndexes() {
    Map<String, VectorIndex> m = new LinkedHashMap<>();
    m.put("flat_l2.qvi", FlatIndex.fromStorage(4, Metric.L2, FLAT_L2_VECTORS.clone(), FLAT_L2_IDS.clone()));
    m.put("flat_cosine.qvi", FlatIndex.fromStorage(4, Metric.COSINE, FLAT_COSINE_VECTORS.clone(), new long[] {0, 1, 2, 3}));
    m.put("flat_ip_empty.qvi", FlatIndex.fromStorage(3, Metric.INNER_PRODUCT, new float[0], new long[0]));
    m.put("ivf_l2.qvi", IvfIndex.fromStorage(4, Metric.L2, 2, 1, IVF_L2_CENTROIDS.clone(), deepClone(IVF_L2_IDS),
        deepClone(IVF_L2_VECTORS)));
    m.put("ivf_ip.qvi", IvfIndex.fromStorage(4, Metric.INNER_PRODUCT, 2, 1, IVF_IP_CENTROIDS.clone(),
        deepClone(IVF_IP_IDS), deepClone(IVF_IP_VECTORS)));
    IvfIndex untrained = new IvfIndex(4, 2, Metric.COSINE);
    untrained.setNprobe(3);
    m.put("ivf_cosine_untrained.qvi", untrained);

    m.put("pq_l2.qvi", PqIndex.fromStorage(4, Metric.L2, ProductQuantizer.fromCentroids(4, 2, 4, ivfPqL2Codebook()),
        PQ_L2_IDS.clone(), PQ_L2_CODES.clone()));
    m.put("pq_ip.qvi", PqIndex.fromStorage(2, Metric.INNER_PRODUCT,
        ProductQuantizer.fromCentroids(2, 2, 8, ivfPqIpCodebook()), PQ_IP_IDS.clone(), PQ_IP_CODES.clone()));
    m.put("pq_cosine_untrained.qvi", new PqIndex(6, 3, 5, Metric.COSINE));
    m.put("sq8_l2.qvi", sq8L2());
    m.put("sq4_ip.qvi", SqIndex.fromStorage(3, Metric.INNER_PRODUCT,
        ScalarQuantizer.fromTrained(3, ScalarQuantizer.Type.SQ4, SQ4_VMIN, SQ4_VDIFF), SQ4_IDS.clone(), SQ4_CODES.clone()));
    m.put("sqfp16_cosine.qvi", SqIndex.fromStorage(4, Metric.COSINE,
        ScalarQuantizer.fromTrained(4, ScalarQuantizer.Type.SQFP16, null, null), new long[] {0, 1, 2, 3},
        SQFP16_CODES.clone()));
    m.put("sq8_ip_untrained.qvi", new SqIndex(2, ScalarQuantizer.Type.SQ8, Metric.INNER_PRODUCT));
    m.put("ivfpq_l2.qvi", ivfPqL2());
    m.put("ivfpq_ip.qvi", IvfPqIndex.fromStorage(2, Metric.INNER_PRODUCT, 2, 1, IVFPQ_IP_CENTROIDS.clone(),
        ProductQuantizer.fromCentroids(2, 2, 8, ivfPqIpCodebook()), deepClone(IVFPQ_IP_IDS), deepClone(IVFPQ_IP_CODES)));
    IvfPqIndex pqUntrained = new IvfPqIndex(4, 3, 2, 6, Metric.COSINE);
    pqUntrained.setNprobe(3);
    m.put("ivfpq_cosine_untrained.qvi", pqUntrained);
    m.put("ivfsq8_cosine.qvi", IvfSqIndex.fromStorage(2, Metric.COSINE, 2, 1, IVFSQ8_CENTROIDS.clone(),
        ScalarQuantizer.fromTrained(2, ScalarQuantizer.Type.SQ8, IVFSQ8_VMIN, IVFSQ8_VDIFF), deepClone(IVFSQ8_IDS),
        deepClone(IVFSQ8_CODES)));
    m.put("ivfsq4_l2.qvi", IvfSqIndex.fromStorage(3, Metric.L2, 2, 2, IVFSQ4_CENTROIDS.clone(),
        ScalarQuantizer.fromTrained(3, ScalarQuantizer.Type.SQ4, IVFSQ4_VMIN, IVFSQ4_VDIFF), deepClone(IVFSQ4_IDS),
        deepClone(IVFSQ4_CODES)));
    IvfSqIndex sqUntrained = new IvfSqIndex(3, 4, ScalarQuantizer.Type.SQFP16, Metric.INNER_PRODUCT);
    sqUntrained.setNprobe(2);
    m.put("ivfsqfp16_ip_untrained.qvi", sqUntrained);
    m.put("refine_ivfpq_l2.qvi", RefineIndex.fromParts(ivfPqL2(),
        FlatIndex.fromStorage(4, Metric.L2, REFINE_VECTORS.clone(), new long[] {1, 2, 3, 4, 5}), 2f));
    m.put("l2norm_sq8_l2.qvi", new L2NormIndex(SqIndex.fromStorage(2, Metric.L2,
        ScalarQuantizer.fromTrained(2, ScalarQuantizer.Type.SQ8, IVFSQ8_VMIN, IVFSQ8_VDIFF), new long[] {0, 1, 2},
        L2NORM_SQ8_CODES.clone())));
    m.put("hnsw_l2.qvi", HnswIndex.fromStorage(2, 2, Metric.L2, new FlatCodec(2), 40, 16, HNSW_L2_IDS.clone(),
        HNSW_L2_VECTORS.clone(), new Hnsw.Stored(HNSW_L2_LEVELS.clone(), HNSW_L2_LINKS.clone(), 1)));
    m.put("hnswpq_ip.qvi", HnswIndex.fromStorage(2, 2, Metric.INNER_PRODUCT,
        new PqCodec(ProductQuantizer.fromCentroids(2, 2, 8, ivfPqIpCodebook())), 12, 5, PQ_IP_IDS.clone(),
        PQ_IP_CODES.clone(), new Hnsw.Stored(new int[] {1, 1, 1}, HNSW_TRIANGLE_LINKS.clone(), 0)));
    m.put("hnswsq8_cosine_untrained.qvi", new HnswIndex<>(4, 3, Metric.COSINE,
        new SqCodec(new ScalarQuantizer(4, ScalarQuantizer.Type.SQ8))));
    m.put("ivfhnsw_l2.qvi", IvfIndex.fromStorage(4, Metric.L2, 2, 1, IVF_L2_CENTROIDS.clone(), deepClone(IVF_L2_IDS),
        deepClone(IVF_L2_VECTORS), coarseOfTwo(4, false)));
    m.put("ivfhnswpq_l2.qvi", IvfPqIndex.fromStorage(4, Metric.L2, 2, 1, IVFPQ_L2_CENTROIDS.clone(),
        ProductQuantizer.fromCentroids(4, 2, 4, ivfPqL2Codebook()), deepClone(IVFPQ_L2_IDS), deepClone(IVFPQ_L2_CODES),
        coarseOfTwo(4, false)));
    IvfSqIndex hnswSqUntrained = new IvfSqIndex(3, 4, ScalarQuantizer.Type.SQ8, Metric.INNER_PRODUCT,
        new HnswCoarseQuantizer(3, 4, true, 5));
    hnswSqUntrained.setNprobe(2);
    m.put("ivfhnswsq8_ip_untrained.qvi", hnswSqUntrained);
    return m;
  }

  private static long[][] deepClone(long[][] a) {
    return Stream.of(a).map(long[]::clone).toArray(long[][]::new);
  }

  private static float[][] deepClone(float[][] a) {
    return Stream.of(a).map(float[]::clone).toArray(float[][]::new);
  }

  private static byte[][] deepClone(byte[][] a) {
    return Stream.of(a).map(byte[]::clone).toArray(byte[][]::new);
  }

  // ---- expectations, independent of goldenIndexes() ----

  private static void checkFlatL2(VectorIndex index, String ctx) {
    FlatIndex f = assertInstanceOf(FlatIndex.class, index, ctx);
    assertHeader(f, 4, Metric.L2, 5, ctx);
    assertArrayEquals(FLAT_L2_IDS, f.ids(), ctx);
    assertArrayEquals(FLAT_L2_VECTORS, f.copyRows(0, 5), ctx);
    assertArrayEquals(new float[] {-1, 0.5f, 0, 3}, f.reconstruct(7), ctx);
    assertSearch(f, new float[] {1, 0, 0, 0.5f}, 3, SearchParams.defaults(),
        new long[] {20, 10, 1L << 40}, new float[] {0.25f, 1.25f, 2.25f}, ctx);
  }

  private static void checkFlatCosine(VectorIndex index, String ctx) {
    FlatIndex f = assertInstanceOf(FlatIndex.class, index, ctx);
    assertHeader(f, 4, Metric.COSINE, 4, ctx);
    assertArrayEquals(new long[] {0, 1, 2, 3}, f.ids(), ctx);
    assertArrayEquals(FLAT_COSINE_VECTORS, f.copyRows(0, 4), ctx);
    // k = 5 > ntotal: the last result is padding
    assertSearch(f, new float[] {2, 0, 0, 0}, 5, SearchParams.defaults(),
        new long[] {0, 2, 3, 1, -1}, new float[] {1, 0.6f, 0.5f, 0, Float.NEGATIVE_INFINITY}, ctx);
  }

  private static void checkFlatIpEmpty(VectorIndex index, String ctx) {
    FlatIndex f = assertInstanceOf(FlatIndex.class, index, ctx);
    assertHeader(f, 3, Metric.INNER_PRODUCT, 0, ctx);
    assertArrayEquals(new long[0], f.ids(), ctx);
    assertSearch(f, new float[] {1, 2, 3}, 2, SearchParams.defaults(),
        new long[] {-1, -1}, new float[] {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}, ctx);
  }

  private static void checkIvfL2(VectorIndex index, String ctx) {
    IvfIndex v = assertInstanceOf(IvfIndex.class, index, ctx);
    assertHeader(v, 4, Metric.L2, 6, ctx);
    assertIvfContent(v, 1, IVF_L2_CENTROIDS, IVF_L2_IDS, IVF_L2_VECTORS, ctx);
    // nprobe 1 (stored): only list 0 is scanned; ties broken by the smaller id
    assertSearch(v, new float[] {1, 1, 1, 1}, 3, SearchParams.defaults(),
        new long[] {3, 1, 2}, new float[] {2, 3, 3}, ctx);
    assertSearch(v, new float[] {1, 1, 1, 1}, 4, SearchParams.defaults().withNprobe(2),
        new long[] {3, 1, 2, 5}, new float[] {2, 3, 3, 307}, ctx);
    assertSearch(v, new float[] {10, 10, 10, 10.5f}, 3, SearchParams.defaults(),
        new long[] {4, 6, 5}, new float[] {0.25f, 0.25f, 1.25f}, ctx);
  }

  private static void checkIvfIp(VectorIndex index, String ctx) {
    IvfIndex v = assertInstanceOf(IvfIndex.class, index, ctx);
    assertHeader(v, 4, Metric.INNER_PRODUCT, 5, ctx);
    assertIvfContent(v, 1, IVF_IP_CENTROIDS, IVF_IP_IDS, IVF_IP_VECTORS, ctx);
    assertSearch(v, new float[] {1, 0, 0, 0}, 3, SearchParams.defaults(),
        new long[] {100, 101, 102}, new float[] {2, 1, 0.5f}, ctx);
    assertSearch(v, new float[] {1, 0, 0, 0}, 5, SearchParams.defaults().withNprobe(2),
        new long[] {100, 101, 102, 201, 200}, new float[] {2, 1, 0.5f, 0.25f, 0}, ctx);
    assertSearch(v, new float[] {0, 1, 0, 1}, 3, SearchParams.defaults(),
        new long[] {200, 201, -1}, new float[] {3, 2, Float.NEGATIVE_INFINITY}, ctx);
  }

  private static void checkIvfCosineUntrained(VectorIndex index, String ctx) {
    IvfIndex v = assertInstanceOf(IvfIndex.class, index, ctx);
    assertHeader(v, 4, Metric.COSINE, 0, ctx);
    assertFalse(v.isTrained(), ctx);
    assertEquals(2, v.nlist(), ctx);
    assertEquals(3, v.nprobe(), ctx);
    assertNull(v.centroids(), ctx);
  }

  private static void checkPqL2(VectorIndex index, String ctx) {
    PqIndex p = assertInstanceOf(PqIndex.class, index, ctx);
    assertHeader(p, 4, Metric.L2, 3, ctx);
    assertEquals("PQ2x4", p.factoryString(), ctx);
    assertArrayEquals(ivfPqL2Codebook(), p.pq().centroids(), ctx + ": codebook");
    assertArrayEquals(PQ_L2_IDS, p.ids(), ctx);
    assertArrayEquals(PQ_L2_CODES, p.codes(), ctx);
    assertArrayEquals(new float[] {3, 3, 3, -3}, p.reconstruct(30), ctx);
    assertSearch(p, new float[] {1, 1, 1, -1}, 4, SearchParams.defaults(),
        new long[] {10, 20, 30, -1}, new float[] {2, 2, 16, Float.POSITIVE_INFINITY}, ctx);
  }

  private static void checkPqIp(VectorIndex index, String ctx) {
    PqIndex p = assertInstanceOf(PqIndex.class, index, ctx);
    assertHeader(p, 2, Metric.INNER_PRODUCT, 3, ctx);
    assertEquals("PQ2", p.factoryString(), ctx);
    assertArrayEquals(ivfPqIpCodebook(), p.pq().centroids(), ctx + ": codebook");
    assertArrayEquals(PQ_IP_IDS, p.ids(), ctx);
    assertArrayEquals(PQ_IP_CODES, p.codes(), ctx);
    assertArrayEquals(new float[] {-1, 0.5f}, p.reconstruct(7), ctx);
    assertSearch(p, new float[] {1, 1}, 3, SearchParams.defaults(),
        new long[] {6, 5, 7}, new float[] {2, 1, -0.5f}, ctx);
  }

  private static void checkPqCosineUntrained(VectorIndex index, String ctx) {
    PqIndex p = assertInstanceOf(PqIndex.class, index, ctx);
    assertHeader(p, 6, Metric.COSINE, 0, ctx);
    assertFalse(p.isTrained(), ctx);
    assertEquals(3, p.m(), ctx);
    assertEquals(5, p.nbits(), ctx);
    assertNull(p.pq().centroids(), ctx);
  }

  private static void checkSq8L2(VectorIndex index, String ctx) {
    SqIndex s = assertInstanceOf(SqIndex.class, index, ctx);
    assertHeader(s, 4, Metric.L2, 4, ctx);
    assertEquals("SQ8", s.factoryString(), ctx);
    assertSq(s.sq(), ScalarQuantizer.Type.SQ8, SQ8_VMIN, SQ8_VDIFF, ctx);
    assertArrayEquals(SQ8_IDS, s.ids(), ctx);
    assertArrayEquals(SQ8_CODES, s.codes(), ctx);
    assertArrayEquals(new float[] {255, 10, 128, 2}, s.reconstruct(1L << 40), ctx);
    assertArrayEquals(new float[] {2, 11, 0, 2}, s.reconstruct(7), ctx);
    assertSearch(s, new float[] {1, 11, 0, 2}, 3, SearchParams.defaults(),
        new long[] {7, 10, 20}, new float[] {1, 2, 10}, ctx);
  }

  private static void checkSq4Ip(VectorIndex index, String ctx) {
    SqIndex s = assertInstanceOf(SqIndex.class, index, ctx);
    assertHeader(s, 3, Metric.INNER_PRODUCT, 3, ctx);
    assertEquals("SQ4", s.factoryString(), ctx);
    assertSq(s.sq(), ScalarQuantizer.Type.SQ4, SQ4_VMIN, SQ4_VDIFF, ctx);
    assertArrayEquals(SQ4_IDS, s.ids(), ctx);
    assertArrayEquals(SQ4_CODES, s.codes(), ctx);
    assertArrayEquals(new float[] {15, 0, -8}, s.reconstruct(101), ctx);
    // ties broken by the smaller id; k = 4 > ntotal pads
    assertSearch(s, new float[] {1, 1, 1}, 4, SearchParams.defaults(),
        new long[] {101, 102, 100, -1}, new float[] {7, 7, 3, Float.NEGATIVE_INFINITY}, ctx);
  }

  private static void checkSqfp16Cosine(VectorIndex index, String ctx) {
    SqIndex s = assertInstanceOf(SqIndex.class, index, ctx);
    assertHeader(s, 4, Metric.COSINE, 4, ctx);
    assertEquals("SQfp16", s.factoryString(), ctx);
    assertSq(s.sq(), ScalarQuantizer.Type.SQFP16, new float[0], new float[0], ctx);
    assertArrayEquals(SQFP16_CODES, s.codes(), ctx);
    assertArrayEquals(new float[] {0.5f, -0.5f, 0.5f, -0.5f}, s.reconstruct(3), ctx);
    assertSearch(s, new float[] {2, 0, 0, 0}, 5, SearchParams.defaults(),
        new long[] {0, 2, 3, 1, -1}, new float[] {1, 0.5f, 0.5f, 0, Float.NEGATIVE_INFINITY}, ctx);
  }

  private static void checkSq8IpUntrained(VectorIndex index, String ctx) {
    SqIndex s = assertInstanceOf(SqIndex.class, index, ctx);
    assertHeader(s, 2, Metric.INNER_PRODUCT, 0, ctx);
    assertEquals(ScalarQuantizer.Type.SQ8, s.type(), ctx);
    assertFalse(s.isTrained(), ctx);
    assertNull(s.sq().vmin(), ctx);
  }

  private static void checkIvfPqL2(VectorIndex index, String ctx) {
    IvfPqIndex v = assertInstanceOf(IvfPqIndex.class, index, ctx);
    assertHeader(v, 4, Metric.L2, 5, ctx);
    assertEquals("IVF2,PQ2x4", v.factoryString(), ctx);
    assertEquals(2, v.pq().m(), ctx);
    assertEquals(4, v.pq().nbits(), ctx);
    assertArrayEquals(ivfPqL2Codebook(), v.pq().centroids(), ctx + ": codebook");
    assertIvfCodesContent(v, 1, IVFPQ_L2_CENTROIDS, IVFPQ_L2_IDS, IVFPQ_L2_CODES, ctx);
    assertArrayEquals(new float[] {1, 1, 2, -2}, v.reconstruct(2), ctx);
    assertArrayEquals(new float[] {11, 11, 11, 9}, v.reconstruct(5), ctx);
    assertSearch(v, new float[] {1, 1, 1, -1}, 3, SearchParams.defaults(),
        new long[] {1, 2, 3}, new float[] {2, 2, 10}, ctx);
    assertSearch(v, new float[] {1, 1, 1, -1}, 5, SearchParams.defaults().withNprobe(2),
        new long[] {1, 2, 3, 4, 5}, new float[] {2, 2, 10, 364, 400}, ctx);
  }

  private static void checkIvfPqIp(VectorIndex index, String ctx) {
    IvfPqIndex v = assertInstanceOf(IvfPqIndex.class, index, ctx);
    assertHeader(v, 2, Metric.INNER_PRODUCT, 3, ctx);
    assertEquals("IVF2,PQ2", v.factoryString(), ctx);
    assertArrayEquals(ivfPqIpCodebook(), v.pq().centroids(), ctx + ": codebook");
    assertIvfCodesContent(v, 1, IVFPQ_IP_CENTROIDS, IVFPQ_IP_IDS, IVFPQ_IP_CODES, ctx);
    assertArrayEquals(new float[] {1, 2}, v.reconstruct(101), ctx);
    assertSearch(v, new float[] {1, 0}, 3, SearchParams.defaults(),
        new long[] {100, 101, -1}, new float[] {2, 1, Float.NEGATIVE_INFINITY}, ctx);
    assertSearch(v, new float[] {1, 0}, 3, SearchParams.defaults().withNprobe(2),
        new long[] {100, 101, 200}, new float[] {2, 1, -1}, ctx);
    assertSearch(v, new float[] {0, 1}, 2, SearchParams.defaults(),
        new long[] {200, -1}, new float[] {1, Float.NEGATIVE_INFINITY}, ctx);
  }

  private static void checkIvfPqCosineUntrained(VectorIndex index, String ctx) {
    IvfPqIndex v = assertInstanceOf(IvfPqIndex.class, index, ctx);
    assertHeader(v, 4, Metric.COSINE, 0, ctx);
    assertFalse(v.isTrained(), ctx);
    assertEquals(3, v.nlist(), ctx);
    assertEquals(3, v.nprobe(), ctx);
    assertEquals(2, v.pq().m(), ctx);
    assertEquals(6, v.pq().nbits(), ctx);
    assertFalse(v.pq().isTrained(), ctx);
    assertNull(v.centroids(), ctx);
  }

  private static void checkIvfSq8Cosine(VectorIndex index, String ctx) {
    IvfSqIndex v = assertInstanceOf(IvfSqIndex.class, index, ctx);
    assertHeader(v, 2, Metric.COSINE, 4, ctx);
    assertEquals("IVF2,SQ8", v.factoryString(), ctx);
    assertSq(v.sq(), ScalarQuantizer.Type.SQ8, IVFSQ8_VMIN, IVFSQ8_VDIFF, ctx);
    assertIvfCodesContent(v, 1, IVFSQ8_CENTROIDS, IVFSQ8_IDS, IVFSQ8_CODES, ctx);
    assertArrayEquals(new float[] {-1, 0}, v.reconstruct(4), ctx);
    // the query (3, 4) is normalized to (0.6, 0.8): list 1 is nearer
    assertSearch(v, new float[] {3, 4}, 2, SearchParams.defaults(),
        new long[] {3, 4}, new float[] {0.8f, -0.6f}, ctx);
    assertSearch(v, new float[] {3, 4}, 4, SearchParams.defaults().withNprobe(2),
        new long[] {3, 1, 4, 2}, new float[] {0.8f, 0.6f, -0.6f, -0.8f}, ctx);
  }

  private static void checkIvfSq4L2(VectorIndex index, String ctx) {
    IvfSqIndex v = assertInstanceOf(IvfSqIndex.class, index, ctx);
    assertHeader(v, 3, Metric.L2, 3, ctx);
    assertEquals("IVF2,SQ4", v.factoryString(), ctx);
    assertSq(v.sq(), ScalarQuantizer.Type.SQ4, IVFSQ4_VMIN, IVFSQ4_VDIFF, ctx);
    assertIvfCodesContent(v, 2, IVFSQ4_CENTROIDS, IVFSQ4_IDS, IVFSQ4_CODES, ctx);
    assertArrayEquals(new float[] {103, 100, 107}, v.reconstruct(13), ctx);
    assertSearch(v, new float[] {1, 2, 1}, 3, SearchParams.defaults(),
        new long[] {11, 12, 13}, new float[] {1, 69, 31244}, ctx);
    assertSearch(v, new float[] {1, 2, 1}, 3, SearchParams.defaults().withNprobe(1),
        new long[] {11, 12, -1}, new float[] {1, 69, Float.POSITIVE_INFINITY}, ctx);
  }

  private static void checkIvfSqfp16IpUntrained(VectorIndex index, String ctx) {
    IvfSqIndex v = assertInstanceOf(IvfSqIndex.class, index, ctx);
    assertHeader(v, 3, Metric.INNER_PRODUCT, 0, ctx);
    assertFalse(v.isTrained(), ctx);
    assertEquals(4, v.nlist(), ctx);
    assertEquals(2, v.nprobe(), ctx);
    assertEquals(ScalarQuantizer.Type.SQFP16, v.sq().type(), ctx);
    assertNull(v.centroids(), ctx);
  }

  private static void checkRefineIvfPqL2(VectorIndex index, String ctx) {
    RefineIndex r = assertInstanceOf(RefineIndex.class, index, ctx);
    assertHeader(r, 4, Metric.L2, 5, ctx);
    assertEquals("IVF2,PQ2x4,RFlat", r.factoryString(), ctx);
    assertEquals(2f, r.kFactor(), ctx);
    checkIvfPqL2(r.base(), ctx + ", base");
    assertArrayEquals(new long[] {1, 2, 3, 4, 5}, r.refine().ids(), ctx);
    assertArrayEquals(REFINE_VECTORS, r.refine().copyRows(0, 5), ctx);
    assertArrayEquals(new float[] {0.5f, 0, 1, -1}, r.reconstruct(1), ctx);
    // the PQ distances rank 1 before 2 (a tie at 2); the raw vectors put 2 first
    assertSearch(r, new float[] {1, 1, 1, -1}, 2, SearchParams.defaults(),
        new long[] {2, 1}, new float[] {0.25f, 1.25f}, ctx);
    assertSearch(r, new float[] {1, 1, 1, -1}, 4, SearchParams.defaults().withNprobe(2),
        new long[] {2, 1, 3, 4}, new float[] {0.25f, 1.25f, 10, 364}, ctx);
  }

  private static void checkL2NormSq8L2(VectorIndex index, String ctx) {
    L2NormIndex n = assertInstanceOf(L2NormIndex.class, index, ctx);
    assertHeader(n, 2, Metric.L2, 3, ctx);
    assertEquals("L2norm,SQ8", n.factoryString(), ctx);
    SqIndex s = assertInstanceOf(SqIndex.class, n.inner(), ctx);
    assertSq(s.sq(), ScalarQuantizer.Type.SQ8, IVFSQ8_VMIN, IVFSQ8_VDIFF, ctx);
    assertArrayEquals(L2NORM_SQ8_CODES, s.codes(), ctx);
    assertArrayEquals(new float[] {-1, 0}, n.reconstruct(2), ctx);
    // the query (3, 4) is normalized to (0.6, 0.8); squared distances are 2 - 2 cos
    assertSearch(n, new float[] {3, 4}, 3, SearchParams.defaults(),
        new long[] {1, 0, 2}, new float[] {0.4f, 0.8f, 3.2f}, ctx);
  }

  private static final Map<String, Checker> EXPECTED = Map.ofEntries(
      Map.entry("flat_l2.qvi", GoldenFilesTest::checkFlatL2),
      Map.entry("flat_cosine.qvi", GoldenFilesTest::checkFlatCosine),
      Map.entry("flat_ip_empty.qvi", GoldenFilesTest::checkFlatIpEmpty),
      Map.entry("ivf_l2.qvi", GoldenFilesTest::checkIvfL2),
      Map.entry("ivf_ip.qvi", GoldenFilesTest::checkIvfIp),
      Map.entry("ivf_cosine_untrained.qvi", GoldenFilesTest::checkIvfCosineUntrained),
      Map.entry("pq_l2.qvi", GoldenFilesTest::checkPqL2),
      Map.entry("pq_ip.qvi", GoldenFilesTest::checkPqIp),
      Map.entry("pq_cosine_untrained.qvi", GoldenFilesTest::checkPqCosineUntrained),
      Map.entry("sq8_l2.qvi", GoldenFilesTest::checkSq8L2),
      Map.entry("sq4_ip.qvi", GoldenFilesTest::checkSq4Ip),
      Map.entry("sqfp16_cosine.qvi", GoldenFilesTest::checkSqfp16Cosine),
      Map.entry("sq8_ip_untrained.qvi", GoldenFilesTest::checkSq8IpUntrained),
      Map.entry("ivfpq_l2.qvi", GoldenFilesTest::checkIvfPqL2),
      Map.entry("ivfpq_ip.qvi", GoldenFilesTest::checkIvfPqIp),
      Map.entry("ivfpq_cosine_untrained.qvi", GoldenFilesTest::checkIvfPqCosineUntrained),
      Map.entry("ivfsq8_cosine.qvi", GoldenFilesTest::checkIvfSq8Cosine),
      Map.entry("ivfsq4_l2.qvi", GoldenFilesTest::checkIvfSq4L2),
      Map.entry("ivfsqfp16_ip_untrained.qvi", GoldenFilesTest::checkIvfSqfp16IpUntrained),
      Map.entry("refine_ivfpq_l2.qvi", GoldenFilesTest::checkRefineIvfPqL2),
      Map.entry("l2norm_sq8_l2.qvi", GoldenFilesTest::checkL2NormSq8L2),
      Map.entry("hnsw_l2.qvi", GoldenFilesTest::checkHnswL2),
      Map.entry("hnswpq_ip.qvi", GoldenFilesTest::checkHnswPqIp),
      Map.entry("hnswsq8_cosine_untrained.qvi", GoldenFilesTest::checkHnswSq8CosineUntrained),
      Map.entry("ivfhnsw_l2.qvi", GoldenFilesTest::checkIvfHnswL2),
      Map.entry("ivfhnswpq_l2.qvi", GoldenFilesTest::checkIvfHnswPqL2),
      Map.entry("ivfhnswsq8_ip_untrained.qvi", GoldenFilesTest::checkIvfHnswSq8IpUntrained));

  private static void checkHnswL2(VectorIndex index, String ctx) {
    HnswIndex<?> h = assertInstanceOf(HnswIndex.class, index, ctx);
    assertHeader(h, 2, Metric.L2, 4, ctx);
    assertEquals("HNSW2", h.factoryString(), ctx);
    assertEquals(40, h.efConstruction(), ctx);
    assertEquals(16, h.efSearch(), ctx);
    HnswIndex.GraphState g = h.graphState();
    assertArrayEquals(HNSW_L2_IDS, g.ids(), ctx);
    assertArrayEquals(HNSW_L2_LEVELS, g.graph().levels(), ctx);
    assertArrayEquals(HNSW_L2_LINKS, g.graph().links(), ctx);
    assertEquals(1, g.graph().entryPoint(), ctx);
    assertArrayEquals(new float[] {0, 1}, h.reconstruct(30), ctx);
    // ties broken by the smaller id; k = 5 > ntotal pads
    assertSearch(h, new float[] {1, 0.5f}, 5, SearchParams.defaults(),
        new long[] {20, 40, 10, 30, -1}, new float[] {0.25f, 0.25f, 1.25f, 1.25f, Float.POSITIVE_INFINITY}, ctx);
  }

  private static void checkHnswPqIp(VectorIndex index, String ctx) {
    HnswIndex<?> h = assertInstanceOf(HnswIndex.class, index, ctx);
    assertHeader(h, 2, Metric.INNER_PRODUCT, 3, ctx);
    assertEquals("HNSW2,PQ2", h.factoryString(), ctx);
    assertEquals(12, h.efConstruction(), ctx);
    assertEquals(5, h.efSearch(), ctx);
    assertArrayEquals(ivfPqIpCodebook(), ((PqCodec) h.codec()).pq().centroids(), ctx + ": codebook");
    assertArrayEquals(HNSW_TRIANGLE_LINKS, h.graphState().graph().links(), ctx);
    assertArrayEquals(PQ_IP_CODES, (byte[]) h.copyCodes(0, 3), ctx);
    assertArrayEquals(new float[] {-1, 0.5f}, h.reconstruct(7), ctx);
    assertSearch(h, new float[] {1, 1}, 3, SearchParams.defaults(),
        new long[] {6, 5, 7}, new float[] {2, 1, -0.5f}, ctx);
  }

  private static void checkHnswSq8CosineUntrained(VectorIndex index, String ctx) {
    HnswIndex<?> h = assertInstanceOf(HnswIndex.class, index, ctx);
    assertHeader(h, 4, Metric.COSINE, 0, ctx);
    assertEquals("HNSW3,SQ8", h.factoryString(), ctx);
    assertFalse(h.isTrained(), ctx);
    assertEquals(-1, h.graphState().graph().entryPoint(), ctx);
  }

  private static void assertCoarseOfTwo(InvertedFileIndex v, String ctx) {
    HnswCoarseQuantizer q = assertInstanceOf(HnswCoarseQuantizer.class, v.coarseQuantizer(), ctx);
    assertEquals(2, q.m(), ctx);
    assertArrayEquals(new int[] {1, -1, -1, -1, 0, -1, -1, -1}, q.storedGraph().links(), ctx);
  }

  private static void checkIvfHnswL2(VectorIndex index, String ctx) {
    IvfIndex v = assertInstanceOf(IvfIndex.class, index, ctx);
    assertHeader(v, 4, Metric.L2, 6, ctx);
    assertEquals("IVF2_HNSW2,Flat", v.factoryString(), ctx);
    assertCoarseOfTwo(v, ctx);
    assertIvfContent(v, 1, IVF_L2_CENTROIDS, IVF_L2_IDS, IVF_L2_VECTORS, ctx);
    assertSearch(v, new float[] {1, 1, 1, 1}, 4, SearchParams.defaults().withNprobe(2),
        new long[] {3, 1, 2, 5}, new float[] {2, 3, 3, 307}, ctx);
    assertSearch(v, new float[] {10, 10, 10, 10.5f}, 3, SearchParams.defaults(),
        new long[] {4, 6, 5}, new float[] {0.25f, 0.25f, 1.25f}, ctx);
  }

  private static void checkIvfHnswPqL2(VectorIndex index, String ctx) {
    IvfPqIndex v = assertInstanceOf(IvfPqIndex.class, index, ctx);
    assertHeader(v, 4, Metric.L2, 5, ctx);
    assertEquals("IVF2_HNSW2,PQ2x4", v.factoryString(), ctx);
    assertCoarseOfTwo(v, ctx);
    assertIvfCodesContent(v, 1, IVFPQ_L2_CENTROIDS, IVFPQ_L2_IDS, IVFPQ_L2_CODES, ctx);
    assertSearch(v, new float[] {1, 1, 1, -1}, 5, SearchParams.defaults().withNprobe(2),
        new long[] {1, 2, 3, 4, 5}, new float[] {2, 2, 10, 364, 400}, ctx);
  }

  private static void checkIvfHnswSq8IpUntrained(VectorIndex index, String ctx) {
    IvfSqIndex v = assertInstanceOf(IvfSqIndex.class, index, ctx);
    assertHeader(v, 3, Metric.INNER_PRODUCT, 0, ctx);
    assertEquals("IVF4_HNSW5,SQ8", v.factoryString(), ctx);
    assertFalse(v.isTrained(), ctx);
    assertEquals(2, v.nprobe(), ctx);
    assertInstanceOf(HnswCoarseQuantizer.class, v.coarseQuantizer(), ctx);
  }

  @FunctionalInterface
  private interface Checker {
    void check(VectorIndex index, String ctx);
  }

  private static void assertHeader(VectorIndex index, int d, Metric metric, long ntotal, String ctx) {
    assertEquals(d, index.d(), ctx + ": d");
    assertEquals(metric, index.metric(), ctx + ": metric");
    assertEquals(ntotal, index.ntotal(), ctx + ": ntotal");
  }

  private static void assertIvfContent(IvfIndex v, int nprobe, float[] centroids, long[][] ids, float[][] vectors,
                                       String ctx) {
    assertTrue(v.isTrained(), ctx);
    assertEquals(ids.length, v.nlist(), ctx + ": nlist");
    assertEquals(nprobe, v.nprobe(), ctx + ": nprobe");
    assertArrayEquals(centroids, v.centroids(), ctx + ": centroids");
    for (int l = 0; l < ids.length; l++) {
      assertArrayEquals(ids[l], v.listIds(l), ctx + ": ids of list " + l);
      assertArrayEquals(vectors[l], v.listVectors(l), ctx + ": vectors of list " + l);
    }
  }

  private static void assertSq(ScalarQuantizer sq, ScalarQuantizer.Type type, float[] vmin, float[] vdiff, String ctx) {
    assertEquals(type, sq.type(), ctx + ": SQ type");
    assertTrue(sq.isTrained(), ctx);
    assertArrayEquals(vmin, sq.vmin(), ctx + ": vmin");
    assertArrayEquals(vdiff, sq.vdiff(), ctx + ": vdiff");
  }

  private static void assertIvfCodesContent(IvfCodesIndex v, int nprobe, float[] centroids, long[][] ids, byte[][] codes,
                                            String ctx) {
    assertTrue(v.isTrained(), ctx);
    assertEquals(ids.length, v.nlist(), ctx + ": nlist");
    assertEquals(nprobe, v.nprobe(), ctx + ": nprobe");
    assertArrayEquals(centroids, v.centroids(), ctx + ": centroids");
    for (int l = 0; l < ids.length; l++) {
      assertArrayEquals(ids[l], v.listIds(l), ctx + ": ids of list " + l);
      assertArrayEquals(codes[l], v.listCodes(l), ctx + ": codes of list " + l);
    }
  }

  private static void assertSearch(VectorIndex index, float[] query, int k, SearchParams p, long[] ids, float[] dist,
                                   String ctx) {
    SearchResult r = index.search(query, k, p.withThreads(1));
    assertArrayEquals(ids, r.ids(), ctx + ": ids of search " + java.util.Arrays.toString(query) + " " + p);
    assertArrayEquals(dist, r.distances(), 1e-6f, ctx + ": distances of search " + java.util.Arrays.toString(query));
  }

  // ---- the golden directories ----

  /** The {@code golden/v<N>} directories on the test class path. */
  static List<Path> versionDirs() throws IOException, URISyntaxException {
    URL root = GoldenFilesTest.class.getResource("/golden");
    assertNotNull(root, "src/test/resources/golden is missing from the test class path");
    try (Stream<Path> s = Files.list(Paths.get(root.toURI()))) {
      return s.filter(p -> p.getFileName().toString().matches("v\\d+")).sorted().collect(Collectors.toList());
    }
  }

  /**
   * The golden index files ({@value IndexFormat#FILE_EXTENSION}) of a version; golden shard files
   * ({@value IndexFormat#SHARD_FILE_EXTENSION}) need their quantizer and are checked by
   * {@code InvertedFileIndexTest}.
   */
  static List<Path> filesOf(Path versionDir) throws IOException {
    try (Stream<Path> s = Files.list(versionDir)) {
      return s.filter(Files::isRegularFile)
          .filter(p -> !p.getFileName().toString().endsWith(IndexFormat.SHARD_FILE_EXTENSION))
          .sorted().collect(Collectors.toList());
    }
  }

  @Test
  void theCurrentVersionHasGoldenFiles() throws Exception {
    List<String> versions = new ArrayList<>();
    for (Path p : versionDirs()) {
      versions.add(p.getFileName().toString());
    }
    assertTrue(versions.contains("v" + IndexFormat.VERSION_CURRENT), "no golden files for VERSION_CURRENT="
        + IndexFormat.VERSION_CURRENT + " (found " + versions + "): regenerate them, see GoldenFilesTest's Javadoc");
  }

  @Test
  void everyGoldenDirectoryHoldsExactlyTheExpectedFiles() throws Exception {
    for (Path vdir : versionDirs()) {
      List<String> names = filesOf(vdir).stream().map(p -> p.getFileName().toString()).sorted()
          .collect(Collectors.toList());
      List<String> expected = EXPECTED.keySet().stream().sorted().collect(Collectors.toList());
      assertEquals(expected, names, "files in " + vdir);
    }
  }

  @Test
  void everyGoldenFileLoadsWithItsExpectedContentAndResults() throws Exception {
    int checked = 0;
    for (Path vdir : versionDirs()) {
      for (Path file : filesOf(vdir)) {
        String name = file.getFileName().toString();
        Checker checker = EXPECTED.get(name);
        assertNotNull(checker, "no expectations for golden file " + file);
        String ctx = vdir.getFileName() + "/" + name;
        checker.check(IndexIO.read(file), ctx + " (path)");
        try (InputStream in = Files.newInputStream(file)) {
          checker.check(IndexIO.read(in, file.toString()), ctx + " (stream)");
          assertEquals(-1, in.read(), ctx + ": the reader consumes the whole file");
        }
        checked++;
      }
    }
    assertTrue(checked >= EXPECTED.size(), "checked " + checked + " golden files");
  }

  /** The builders here match the expectations (so regenerated files will pass). */
  @Test
  void theGoldenIndexesMatchTheExpectations() {
    goldenIndexes().forEach((name, index) -> EXPECTED.get(name).check(index, "built " + name));
  }

  /**
   * While the current version is the one the golden files were written with, the writer must
   * reproduce them byte for byte: a layout change without a new version number fails here.
   */
  @Test
  void theWriterReproducesTheGoldenBytesOfTheCurrentVersion() throws Exception {
    Path current = versionDirs().stream().filter(p -> p.getFileName().toString().equals("v" + IndexFormat.VERSION_CURRENT))
        .findFirst().orElse(null);
    assumeTrue(current != null, "no golden files for the current version");
    for (Map.Entry<String, VectorIndex> e : goldenIndexes().entrySet()) {
      byte[] golden = Files.readAllBytes(current.resolve(e.getKey()));
      assertArrayEquals(golden, IndexFiles.bytesOf(e.getValue()), "bytes of " + e.getKey()
          + ": the writer changed the layout without a new format version");
    }
  }

  /** Writes the golden files for the current version (off unless -Dquiver.golden.regenerate=true). */
  @Test
  @EnabledIfSystemProperty(named = "quiver.golden.regenerate", matches = "true")
  void regenerate() throws IOException {
    Path dir = Paths.get(System.getProperty("quiver.golden.dir",
        "src/test/resources/golden/v" + IndexFormat.VERSION_CURRENT));
    write(dir);
  }

  /** Writes the golden files into {@code args[0]} (default {@code src/test/resources/golden/v<current>}). */
  public static void main(String[] args) throws IOException {
    write(Paths.get(args.length > 0 ? args[0] : "src/test/resources/golden/v" + IndexFormat.VERSION_CURRENT));
  }

  /**
   * Writes the golden files that {@code dir} lacks. An existing file must be exactly what the
   * writer produces now (it is then left untouched): golden files of a released version never
   * change, so a difference means the layout changed without a new format version.
   */
  private static void write(Path dir) throws IOException {
    Files.createDirectories(dir);
    List<String> changed = new ArrayList<>();
    for (Map.Entry<String, VectorIndex> e : goldenIndexes().entrySet()) {
      Path file = dir.resolve(e.getKey());
      byte[] bytes = IndexFiles.bytesOf(e.getValue());
      if (Files.exists(file)) {
        boolean same = Arrays.equals(bytes, Files.readAllBytes(file));
        if (!same) {
          changed.add(e.getKey());
        }
        System.out.println((same ? "unchanged " : "DIFFERS, left as it is: ") + file.toAbsolutePath());
        continue;
      }
      IndexIO.write(e.getValue(), file);
      System.out.println("wrote " + file.toAbsolutePath() + " (" + Files.size(file) + " bytes)");
    }
    if (!changed.isEmpty()) {
      throw new IllegalStateException("the writer no longer reproduces the golden files " + changed + " in " + dir
          + "; golden files never change: a layout change needs a new format version (see IndexFormat)");
    }
  }
}
