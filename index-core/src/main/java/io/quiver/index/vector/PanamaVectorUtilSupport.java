package io.quiver.index.vector;

import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The kernels on the JDK Vector API ({@code jdk.incubator.vector}), using the widest species the
 * CPU offers. This is the only file in Quiver that imports the Vector API.
 *
 * <p>Reductions keep four independent accumulators so that consecutive fused multiply-adds do not
 * wait on each other; tails shorter than a full vector use a half-width species, then scalar code.
 * The one-to-many kernels compute four vectors at a time for the same reason.
 * The query-block kernels ({@link #squareDistanceQueriesTransposed}) give each of 16 queries (8
 * without 512-bit lanes) a lane and broadcast one vector component at a time, eight vectors at once: no horizontal sums,
 * which on JDK 17 are strictly ordered scalar chains ({@code reduceLanes(ADD)} on floats) and cost
 * about as much as the multiply-adds of a 128-dimensional distance.
 * The block kernel packs the database block into panels of {@code 2 * lanes} vectors stored
 * dimension-major, then runs a 4 x (2 * lanes) register-blocked micro-kernel: per dimension it
 * loads two panel vectors and broadcasts four query components, for eight FMAs and no horizontal
 * reductions.
 */
final class PanamaVectorUtilSupport implements VectorUtilSupport {

  static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
  private static final int L = SPECIES.length();
  /** A species half as wide, for tails; null when the preferred species is already 128 bits. */
  private static final VectorSpecies<Float> HALF =
      L >= 8 ? VectorSpecies.of(float.class, jdk.incubator.vector.VectorShape.forBitSize(SPECIES.vectorBitSize() / 2)) : null;
  private static final int HL = HALF == null ? Integer.MAX_VALUE : HALF.length();

  /**
   * The species of the one-to-many kernels: 256 bits where the CPU has them. These kernels run
   * four vectors at once, so four independent FMA chains and reductions overlap; measured here,
   * 256-bit lanes beat 512-bit ones at d <= 128, where the reductions dominate.
   */
  private static final VectorSpecies<Float> MANY = L >= 8 ? FloatVector.SPECIES_256 : SPECIES;
  private static final int ML = MANY.length();

  /** Query rows per micro-kernel tile. */
  private static final int MR = 4;
  /** Database vectors per packed panel. */
  private static final int NR = 2 * L;

  /** Per-thread scratch: the packed panels, an edge row, and the padded bias. */
  private static final ThreadLocal<float[][]> SCRATCH =
      ThreadLocal.withInitial(() -> new float[][] {new float[0], new float[NR], new float[0]});

  /** The number of float lanes in the species used, for logs and benchmarks. */
  static int lanes() {
    return L;
  }

  @Override
  public float dotProduct(float[] a, int aOff, float[] b, int bOff, int d) {
    int i = 0;
    float sum = 0;
    if (d >= L) {
      FloatVector acc0 = FloatVector.zero(SPECIES);
      FloatVector acc1 = FloatVector.zero(SPECIES);
      FloatVector acc2 = FloatVector.zero(SPECIES);
      FloatVector acc3 = FloatVector.zero(SPECIES);
      for (int bound = d - 4 * L; i <= bound; i += 4 * L) {
        acc0 = FloatVector.fromArray(SPECIES, a, aOff + i).fma(FloatVector.fromArray(SPECIES, b, bOff + i), acc0);
        acc1 = FloatVector.fromArray(SPECIES, a, aOff + i + L).fma(FloatVector.fromArray(SPECIES, b, bOff + i + L), acc1);
        acc2 = FloatVector.fromArray(SPECIES, a, aOff + i + 2 * L).fma(FloatVector.fromArray(SPECIES, b, bOff + i + 2 * L), acc2);
        acc3 = FloatVector.fromArray(SPECIES, a, aOff + i + 3 * L).fma(FloatVector.fromArray(SPECIES, b, bOff + i + 3 * L), acc3);
      }
      for (int bound = d - L; i <= bound; i += L) {
        acc0 = FloatVector.fromArray(SPECIES, a, aOff + i).fma(FloatVector.fromArray(SPECIES, b, bOff + i), acc0);
      }
      sum = acc0.add(acc1).add(acc2.add(acc3)).reduceLanes(VectorOperators.ADD);
    }
    if (d - i >= HL) {
      FloatVector h = FloatVector.fromArray(HALF, a, aOff + i).mul(FloatVector.fromArray(HALF, b, bOff + i));
      sum += h.reduceLanes(VectorOperators.ADD);
      i += HL;
    }
    for (; i < d; i++) {
      sum += a[aOff + i] * b[bOff + i];
    }
    return sum;
  }

  @Override
  public float squareDistance(float[] a, int aOff, float[] b, int bOff, int d) {
    int i = 0;
    float sum = 0;
    if (d >= L) {
      FloatVector acc0 = FloatVector.zero(SPECIES);
      FloatVector acc1 = FloatVector.zero(SPECIES);
      FloatVector acc2 = FloatVector.zero(SPECIES);
      FloatVector acc3 = FloatVector.zero(SPECIES);
      for (int bound = d - 4 * L; i <= bound; i += 4 * L) {
        FloatVector t0 = FloatVector.fromArray(SPECIES, a, aOff + i).sub(FloatVector.fromArray(SPECIES, b, bOff + i));
        FloatVector t1 = FloatVector.fromArray(SPECIES, a, aOff + i + L).sub(FloatVector.fromArray(SPECIES, b, bOff + i + L));
        FloatVector t2 = FloatVector.fromArray(SPECIES, a, aOff + i + 2 * L).sub(FloatVector.fromArray(SPECIES, b, bOff + i + 2 * L));
        FloatVector t3 = FloatVector.fromArray(SPECIES, a, aOff + i + 3 * L).sub(FloatVector.fromArray(SPECIES, b, bOff + i + 3 * L));
        acc0 = t0.fma(t0, acc0);
        acc1 = t1.fma(t1, acc1);
        acc2 = t2.fma(t2, acc2);
        acc3 = t3.fma(t3, acc3);
      }
      for (int bound = d - L; i <= bound; i += L) {
        FloatVector t = FloatVector.fromArray(SPECIES, a, aOff + i).sub(FloatVector.fromArray(SPECIES, b, bOff + i));
        acc0 = t.fma(t, acc0);
      }
      sum = acc0.add(acc1).add(acc2.add(acc3)).reduceLanes(VectorOperators.ADD);
    }
    if (d - i >= HL) {
      FloatVector t = FloatVector.fromArray(HALF, a, aOff + i).sub(FloatVector.fromArray(HALF, b, bOff + i));
      sum += t.mul(t).reduceLanes(VectorOperators.ADD);
      i += HL;
    }
    for (; i < d; i++) {
      float t = a[aOff + i] - b[bOff + i];
      sum += t * t;
    }
    return sum;
  }




  @Override
  public void dotProductOneToMany(float[] q, int qOff, float[] x, int xOff, int n, int d, float[] out, int outOff) {
    int j = 0;
    for (; j + 4 <= n; j += 4) {
      int b0 = xOff + j * d;
      int b1 = b0 + d;
      int b2 = b1 + d;
      int b3 = b2 + d;
      FloatVector a0 = FloatVector.zero(MANY);
      FloatVector a1 = FloatVector.zero(MANY);
      FloatVector a2 = FloatVector.zero(MANY);
      FloatVector a3 = FloatVector.zero(MANY);
      int i = 0;
      for (int bound = d - ML; i <= bound; i += ML) {
        FloatVector qv = FloatVector.fromArray(MANY, q, qOff + i);
        a0 = qv.fma(FloatVector.fromArray(MANY, x, b0 + i), a0);
        a1 = qv.fma(FloatVector.fromArray(MANY, x, b1 + i), a1);
        a2 = qv.fma(FloatVector.fromArray(MANY, x, b2 + i), a2);
        a3 = qv.fma(FloatVector.fromArray(MANY, x, b3 + i), a3);
      }
      float s0 = a0.reduceLanes(VectorOperators.ADD);
      float s1 = a1.reduceLanes(VectorOperators.ADD);
      float s2 = a2.reduceLanes(VectorOperators.ADD);
      float s3 = a3.reduceLanes(VectorOperators.ADD);
      for (; i < d; i++) {
        float qi = q[qOff + i];
        s0 += qi * x[b0 + i];
        s1 += qi * x[b1 + i];
        s2 += qi * x[b2 + i];
        s3 += qi * x[b3 + i];
      }
      out[outOff + j] = s0;
      out[outOff + j + 1] = s1;
      out[outOff + j + 2] = s2;
      out[outOff + j + 3] = s3;
    }
    for (; j < n; j++) {
      out[outOff + j] = dotProduct(q, qOff, x, xOff + j * d, d);
    }
  }

  @Override
  public void squareDistanceToTransposed(float[] q, int qOff, float[] xT, int xOff, int n, int d, float[] out,
                                         int outOff) {
    int j = 0;
    for (int bound = n - L; j <= bound; j += L) {
      FloatVector acc = FloatVector.zero(SPECIES);
      for (int t = 0; t < d; t++) {
        FloatVector diff = FloatVector.fromArray(SPECIES, xT, xOff + t * n + j).sub(q[qOff + t]);
        acc = diff.fma(diff, acc);
      }
      acc.intoArray(out, outOff + j);
    }
    for (; j < n; j++) {
      float s = 0;
      for (int t = 0; t < d; t++) {
        float diff = q[qOff + t] - xT[xOff + t * n + j];
        s = Math.fma(diff, diff, s);
      }
      out[outOff + j] = s;
    }
  }

  @Override
  public void dotProductToTransposed(float[] q, int qOff, float[] xT, int xOff, int n, int d, float[] out, int outOff) {
    int j = 0;
    for (int bound = n - L; j <= bound; j += L) {
      FloatVector acc = FloatVector.zero(SPECIES);
      for (int t = 0; t < d; t++) {
        acc = FloatVector.fromArray(SPECIES, xT, xOff + t * n + j).fma(FloatVector.broadcast(SPECIES, q[qOff + t]), acc);
      }
      acc.intoArray(out, outOff + j);
    }
    for (; j < n; j++) {
      float s = 0;
      for (int t = 0; t < d; t++) {
        s = Math.fma(q[qOff + t], xT[xOff + t * n + j], s);
      }
      out[outOff + j] = s;
    }
  }

  @Override
  public void dotProductToTransposedAdd(float[] q, int qOff, float[] xT, int xOff, int n, int d, float[] add,
                                        int addOff, float[] out, int outOff) {
    int j = 0;
    for (int bound = n - L; j <= bound; j += L) {
      FloatVector acc = FloatVector.fromArray(SPECIES, add, addOff + j);
      for (int t = 0; t < d; t++) {
        acc = FloatVector.fromArray(SPECIES, xT, xOff + t * n + j).fma(FloatVector.broadcast(SPECIES, q[qOff + t]), acc);
      }
      acc.intoArray(out, outOff + j);
    }
    for (; j < n; j++) {
      float s = add[addOff + j];
      for (int t = 0; t < d; t++) {
        s = Math.fma(q[qOff + t], xT[xOff + t * n + j], s);
      }
      out[outOff + j] = s;
    }
  }

  @Override
  public void squareDistanceOneToMany(float[] q, int qOff, float[] x, int xOff, int n, int d, float[] out, int outOff) {
    int j = 0;
    for (; j + 4 <= n; j += 4) {
      int b0 = xOff + j * d;
      int b1 = b0 + d;
      int b2 = b1 + d;
      int b3 = b2 + d;
      FloatVector a0 = FloatVector.zero(MANY);
      FloatVector a1 = FloatVector.zero(MANY);
      FloatVector a2 = FloatVector.zero(MANY);
      FloatVector a3 = FloatVector.zero(MANY);
      int i = 0;
      for (int bound = d - ML; i <= bound; i += ML) {
        FloatVector qv = FloatVector.fromArray(MANY, q, qOff + i);
        FloatVector t0 = FloatVector.fromArray(MANY, x, b0 + i).sub(qv);
        FloatVector t1 = FloatVector.fromArray(MANY, x, b1 + i).sub(qv);
        FloatVector t2 = FloatVector.fromArray(MANY, x, b2 + i).sub(qv);
        FloatVector t3 = FloatVector.fromArray(MANY, x, b3 + i).sub(qv);
        a0 = t0.fma(t0, a0);
        a1 = t1.fma(t1, a1);
        a2 = t2.fma(t2, a2);
        a3 = t3.fma(t3, a3);
      }
      float s0 = a0.reduceLanes(VectorOperators.ADD);
      float s1 = a1.reduceLanes(VectorOperators.ADD);
      float s2 = a2.reduceLanes(VectorOperators.ADD);
      float s3 = a3.reduceLanes(VectorOperators.ADD);
      for (; i < d; i++) {
        float qi = q[qOff + i];
        float t0 = x[b0 + i] - qi;
        float t1 = x[b1 + i] - qi;
        float t2 = x[b2 + i] - qi;
        float t3 = x[b3 + i] - qi;
        s0 += t0 * t0;
        s1 += t1 * t1;
        s2 += t2 * t2;
        s3 += t3 * t3;
      }
      out[outOff + j] = s0;
      out[outOff + j + 1] = s1;
      out[outOff + j + 2] = s2;
      out[outOff + j + 3] = s3;
    }
    for (; j < n; j++) {
      out[outOff + j] = squareDistance(q, qOff, x, xOff + j * d, d);
    }
  }

  /** SQ8 kernels take 8 code bytes per step, widened to 8 ints, then 8 floats (256-bit lanes only). */
  private static final VectorSpecies<Byte> MANY_BYTES = ByteVector.SPECIES_64;
  private static final VectorSpecies<Integer> MANY_INTS = IntVector.SPECIES_256;

  /** {@code ML} codes bytes from {@code p}, as floats 0..255. */
  private static FloatVector unsignedBytes(byte[] codes, int p) {
    IntVector wide = (IntVector) ByteVector.fromArray(MANY_BYTES, codes, p).convertShape(VectorOperators.B2I, MANY_INTS, 0);
    return (FloatVector) wide.and(0xFF).convertShape(VectorOperators.I2F, MANY, 0);
  }

  @Override
  public void sq8SquareDistanceOneToMany(float[] q, int qOff, byte[] codes, int codeOff, int n, int d,
                                         float[] scale, float[] offset, float[] out, int outOff) {
    if (ML != 8) {
      VectorUtilSupport.super.sq8SquareDistanceOneToMany(q, qOff, codes, codeOff, n, d, scale, offset, out, outOff);
      return;
    }
    int j = 0;
    for (; j + 4 <= n; j += 4) {
      int p0 = codeOff + j * d;
      int p1 = p0 + d;
      int p2 = p1 + d;
      int p3 = p2 + d;
      FloatVector a0 = FloatVector.zero(MANY);
      FloatVector a1 = FloatVector.zero(MANY);
      FloatVector a2 = FloatVector.zero(MANY);
      FloatVector a3 = FloatVector.zero(MANY);
      int t = 0;
      for (int bound = d - ML; t <= bound; t += ML) {
        FloatVector qv = FloatVector.fromArray(MANY, q, qOff + t);
        FloatVector sv = FloatVector.fromArray(MANY, scale, t);
        FloatVector ov = FloatVector.fromArray(MANY, offset, t);
        FloatVector e0 = qv.sub(unsignedBytes(codes, p0 + t).fma(sv, ov));
        FloatVector e1 = qv.sub(unsignedBytes(codes, p1 + t).fma(sv, ov));
        FloatVector e2 = qv.sub(unsignedBytes(codes, p2 + t).fma(sv, ov));
        FloatVector e3 = qv.sub(unsignedBytes(codes, p3 + t).fma(sv, ov));
        a0 = e0.fma(e0, a0);
        a1 = e1.fma(e1, a1);
        a2 = e2.fma(e2, a2);
        a3 = e3.fma(e3, a3);
      }
      float s0 = a0.reduceLanes(VectorOperators.ADD);
      float s1 = a1.reduceLanes(VectorOperators.ADD);
      float s2 = a2.reduceLanes(VectorOperators.ADD);
      float s3 = a3.reduceLanes(VectorOperators.ADD);
      for (; t < d; t++) {
        float qt = q[qOff + t];
        float e0 = qt - Math.fma((float) (codes[p0 + t] & 0xFF), scale[t], offset[t]);
        float e1 = qt - Math.fma((float) (codes[p1 + t] & 0xFF), scale[t], offset[t]);
        float e2 = qt - Math.fma((float) (codes[p2 + t] & 0xFF), scale[t], offset[t]);
        float e3 = qt - Math.fma((float) (codes[p3 + t] & 0xFF), scale[t], offset[t]);
        s0 += e0 * e0;
        s1 += e1 * e1;
        s2 += e2 * e2;
        s3 += e3 * e3;
      }
      out[outOff + j] = s0;
      out[outOff + j + 1] = s1;
      out[outOff + j + 2] = s2;
      out[outOff + j + 3] = s3;
    }
    for (; j < n; j++) {
      // one code alone takes the same per-code order as in the blocks above
      int p = codeOff + j * d;
      FloatVector a = FloatVector.zero(MANY);
      int t = 0;
      for (int bound = d - ML; t <= bound; t += ML) {
        FloatVector e = FloatVector.fromArray(MANY, q, qOff + t)
            .sub(unsignedBytes(codes, p + t).fma(FloatVector.fromArray(MANY, scale, t), FloatVector.fromArray(MANY, offset, t)));
        a = e.fma(e, a);
      }
      float s = a.reduceLanes(VectorOperators.ADD);
      for (; t < d; t++) {
        float e = q[qOff + t] - Math.fma((float) (codes[p + t] & 0xFF), scale[t], offset[t]);
        s += e * e;
      }
      out[outOff + j] = s;
    }
  }

  @Override
  public void sq8DotProductOneToMany(float[] q, int qOff, byte[] codes, int codeOff, int n, int d,
                                     float[] scale, float[] offset, float[] out, int outOff) {
    if (ML != 8) {
      VectorUtilSupport.super.sq8DotProductOneToMany(q, qOff, codes, codeOff, n, d, scale, offset, out, outOff);
      return;
    }
    for (int j = 0; j < n; j++) {
      int p = codeOff + j * d;
      FloatVector a = FloatVector.zero(MANY);
      int t = 0;
      for (int bound = d - ML; t <= bound; t += ML) {
        FloatVector x = unsignedBytes(codes, p + t).fma(FloatVector.fromArray(MANY, scale, t), FloatVector.fromArray(MANY, offset, t));
        a = FloatVector.fromArray(MANY, q, qOff + t).fma(x, a);
      }
      float s = a.reduceLanes(VectorOperators.ADD);
      for (; t < d; t++) {
        s += q[qOff + t] * Math.fma((float) (codes[p + t] & 0xFF), scale[t], offset[t]);
      }
      out[outOff + j] = s;
    }
  }

  /** Per-thread scratch of the SQ4 and SQfp16 one-to-many kernels: one decoded code. */
  private static final ThreadLocal<float[]> DECODED = ThreadLocal.withInitial(() -> new float[0]);

  private static float[] decodedScratch(int d) {
    float[] x = DECODED.get();
    if (x.length < d) {
      x = new float[d];
      DECODED.set(x);
    }
    return x;
  }

  private static float sq4Level(byte[] codes, int p, int t) {
    return (float) (((codes[p + (t >> 1)] & 0xff) >>> ((t & 1) << 2)) & 0xf);
  }

  // The SQ4 and SQfp16 one-to-many kernels decode a code (SQ4 with the SIMD decode kernel, SQfp16
  // with the table of halves), then take the SIMD pair kernel: no vector crosses a method boundary
  // (C2 on JDK 17 boxes vectors passed to or returned from a helper that it did not inline, and
  // whether it inlines one depends on the order of compilations: measured here, a decode helper
  // made the same run 4x slower one time in three), and each code's value does not depend on its
  // neighbours, as the reference kernels promise.
  //
  // SQfp16 has no SIMD decode: every formulation tried (16-bit lanes widened to ints; two halves
  // per int lane; the special cases by masks or by integer arithmetic) decodes at about 30 ns per
  // 128 components on its own, but made C2 compile the query-block kernel that follows it in an
  // IVF scan into boxed code in one run out of two to all runs (15,000 against 65,000 QPS on
  // bigann10k, IVF100,SQfp16, nprobe 8), while the table decode runs at 46,000 every time.

  @Override
  public void sq4SquareDistanceOneToMany(float[] q, int qOff, byte[] codes, int codeOff, int n, int d,
                                         float[] scale, float[] offset, float[] out, int outOff) {
    decodedOneToMany(false, false, q, qOff, codes, codeOff, n, d, scale, offset, out, outOff);
  }

  @Override
  public void sq4DotProductOneToMany(float[] q, int qOff, byte[] codes, int codeOff, int n, int d,
                                     float[] scale, float[] offset, float[] out, int outOff) {
    decodedOneToMany(false, true, q, qOff, codes, codeOff, n, d, scale, offset, out, outOff);
  }

  @Override
  public void fp16SquareDistanceOneToMany(float[] q, int qOff, byte[] codes, int codeOff, int n, int d, float[] out,
                                          int outOff) {
    decodedOneToMany(true, false, q, qOff, codes, codeOff, n, d, null, null, out, outOff);
  }

  @Override
  public void fp16DotProductOneToMany(float[] q, int qOff, byte[] codes, int codeOff, int n, int d, float[] out,
                                      int outOff) {
    decodedOneToMany(true, true, q, qOff, codes, codeOff, n, d, null, null, out, outOff);
  }

  /** SQfp16 ({@code fp16}) or SQ4 codes, each decoded on its own, against the query with the pair kernel. */
  private void decodedOneToMany(boolean fp16, boolean ip, float[] q, int qOff, byte[] codes, int codeOff, int n, int d,
                                float[] scale, float[] offset, float[] out, int outOff) {
    float[] x = decodedScratch(d);
    int cs = fp16 ? 2 * d : (d + 1) / 2;
    for (int j = 0; j < n; j++) {
      if (fp16) {
        fp16Decode(codes, codeOff + j * cs, 1, d, x, 0);
      } else {
        sq4Decode(codes, codeOff + j * cs, 1, d, scale, offset, x, 0);
      }
      out[outOff + j] = ip ? dotProduct(q, qOff, x, 0, d) : squareDistance(q, qOff, x, 0, d);
    }
  }

  /**
   * SQ8 decode on 512-bit lanes (16 components per step). The decode kernels use the lane width of
   * the query-block kernel they feed: C2 on JDK 17 boxes the vectors of a loop nest that mixes
   * 256-bit and 512-bit species (measured: a 256-bit decode ahead of the 512-bit query-block kernel
   * ran the IVF-SQ8 scan 3.5x slower).
   */
  @Override
  public void sq8Decode(byte[] codes, int codeOff, int n, int d, float[] scale, float[] offset, float[] out, int outOff) {
    if (L != 16) {
      VectorUtilSupport.super.sq8Decode(codes, codeOff, n, d, scale, offset, out, outOff);
      return;
    }
    int d16 = d & ~15;
    for (int j = 0; j < n; j++) {
      int p = codeOff + j * d;
      int o = outOff + j * d;
      for (int t = 0; t < d16; t += 16) {
        IntVector levels = ((IntVector) ByteVector.fromArray(ByteVector.SPECIES_128, codes, p + t)
            .convertShape(VectorOperators.B2I, IntVector.SPECIES_512, 0)).and(0xFF);
        ((FloatVector) levels.convertShape(VectorOperators.I2F, SPECIES, 0))
            .fma(FloatVector.fromArray(SPECIES, scale, t), FloatVector.fromArray(SPECIES, offset, t))
            .intoArray(out, o + t);
      }
      for (int t = d16; t < d; t++) {
        out[o + t] = Math.fma((float) (codes[p + t] & 0xff), scale[t], offset[t]);
      }
    }
  }

  /**
   * SQ4 decode on 512-bit lanes, 16 components from 8 bytes in component order: each byte widened
   * to 16 bits holds its low nibble in its low byte and its high nibble in its high byte, so the
   * 16-bit lanes read as bytes are the levels in order.
   */
  @Override
  public void sq4Decode(byte[] codes, int codeOff, int n, int d, float[] scale, float[] offset, float[] out, int outOff) {
    if (L != 16) {
      VectorUtilSupport.super.sq4Decode(codes, codeOff, n, d, scale, offset, out, outOff);
      return;
    }
    int cs = (d + 1) / 2;
    int d16 = d & ~15;
    for (int j = 0; j < n; j++) {
      int p = codeOff + j * cs;
      int o = outOff + j * d;
      for (int t = 0; t < d16; t += 16) {
        ShortVector w = (ShortVector) ByteVector.fromArray(ByteVector.SPECIES_64, codes, p + (t >> 1))
            .convertShape(VectorOperators.B2S, ShortVector.SPECIES_128, 0);
        ShortVector pairs = w.and((short) 0x0f).or(w.and((short) 0xf0).lanewise(VectorOperators.LSHL, 4));
        IntVector levels = (IntVector) pairs.reinterpretAsBytes().convertShape(VectorOperators.B2I, IntVector.SPECIES_512, 0);
        ((FloatVector) levels.convertShape(VectorOperators.I2F, SPECIES, 0))
            .fma(FloatVector.fromArray(SPECIES, scale, t), FloatVector.fromArray(SPECIES, offset, t))
            .intoArray(out, o + t);
      }
      for (int t = d16; t < d; t++) {
        out[o + t] = Math.fma(sq4Level(codes, p, t), scale[t], offset[t]);
      }
    }
  }

  /**
   * The species of the query-block kernels: 16 query slots on 512-bit lanes, else 8 on 256-bit
   * lanes. One width only: C2 on JDK 17 compiled both widths used in one JVM (shared profiles of the
   * Vector API's scalar-broadcast paths) with boxed vectors, ten times slower than either alone.
   */
  private static final VectorSpecies<Float> QUERIES = L >= 16 ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
  private static final int QL = L >= 8 ? QUERIES.length() : 0;

  @Override
  public int queryLanes() {
    return L >= 8 ? QL : 8;
  }

  @Override
  public void squareDistanceQueriesTransposed(float[] qT, int qOff, int lanes, float[] x, int xOff, int n, int d,
                                              float[] out, int outOff) {
    if (n <= 0) {
      return;
    }
    if (lanes == QL) {
      squareDistanceQueries(qT, qOff, x, xOff, n, d, out, outOff);
    } else {
      VectorUtilSupport.super.squareDistanceQueriesTransposed(qT, qOff, lanes, x, xOff, n, d, out, outOff);
    }
  }

  @Override
  public void dotProductQueriesTransposed(float[] qT, int qOff, int lanes, float[] x, int xOff, int n, int d,
                                          float[] out, int outOff) {
    if (n <= 0) {
      return;
    }
    if (lanes == QL) {
      dotProductQueries(qT, qOff, x, xOff, n, d, out, outOff);
    } else {
      VectorUtilSupport.super.dotProductQueriesTransposed(qT, qOff, lanes, x, xOff, n, d, out, outOff);
    }
  }

  private static void squareDistanceQueries(float[] qT, int qOff, float[] x, int xOff, int n, int d, float[] out, int outOff) {
    // eight vectors at a time: eight independent FMA chains; the last block repeats the last
    // vector in its missing slots (computed, not stored)
    int last = xOff + (n - 1) * d;
    for (int j = 0; j < n; j += 8) {
      int b0 = xOff + j * d;
      int b1 = Math.min(b0 + d, last);
      int b2 = Math.min(b0 + 2 * d, last);
      int b3 = Math.min(b0 + 3 * d, last);
      int b4 = Math.min(b0 + 4 * d, last);
      int b5 = Math.min(b0 + 5 * d, last);
      int b6 = Math.min(b0 + 6 * d, last);
      int b7 = Math.min(b0 + 7 * d, last);
      FloatVector a0 = FloatVector.zero(QUERIES);
      FloatVector a1 = a0;
      FloatVector a2 = a0;
      FloatVector a3 = a0;
      FloatVector a4 = a0;
      FloatVector a5 = a0;
      FloatVector a6 = a0;
      FloatVector a7 = a0;
      for (int t = 0, qt = qOff; t < d; t++, qt += QL) {
        FloatVector qv = FloatVector.fromArray(QUERIES, qT, qt);
        FloatVector e0 = qv.sub(x[b0 + t]);
        a0 = e0.fma(e0, a0);
        FloatVector e1 = qv.sub(x[b1 + t]);
        a1 = e1.fma(e1, a1);
        FloatVector e2 = qv.sub(x[b2 + t]);
        a2 = e2.fma(e2, a2);
        FloatVector e3 = qv.sub(x[b3 + t]);
        a3 = e3.fma(e3, a3);
        FloatVector e4 = qv.sub(x[b4 + t]);
        a4 = e4.fma(e4, a4);
        FloatVector e5 = qv.sub(x[b5 + t]);
        a5 = e5.fma(e5, a5);
        FloatVector e6 = qv.sub(x[b6 + t]);
        a6 = e6.fma(e6, a6);
        FloatVector e7 = qv.sub(x[b7 + t]);
        a7 = e7.fma(e7, a7);
      }
      int o = outOff + j * QL;
      a0.intoArray(out, o);
      int left = n - j;
      if (left > 1) {
        a1.intoArray(out, o + 1 * QL);
      }
      if (left > 2) {
        a2.intoArray(out, o + 2 * QL);
      }
      if (left > 3) {
        a3.intoArray(out, o + 3 * QL);
      }
      if (left > 4) {
        a4.intoArray(out, o + 4 * QL);
      }
      if (left > 5) {
        a5.intoArray(out, o + 5 * QL);
      }
      if (left > 6) {
        a6.intoArray(out, o + 6 * QL);
      }
      if (left > 7) {
        a7.intoArray(out, o + 7 * QL);
      }
    }
  }

  private static void dotProductQueries(float[] qT, int qOff, float[] x, int xOff, int n, int d, float[] out, int outOff) {
    // eight vectors at a time: eight independent FMA chains; the last block repeats the last
    // vector in its missing slots (computed, not stored)
    int last = xOff + (n - 1) * d;
    for (int j = 0; j < n; j += 8) {
      int b0 = xOff + j * d;
      int b1 = Math.min(b0 + d, last);
      int b2 = Math.min(b0 + 2 * d, last);
      int b3 = Math.min(b0 + 3 * d, last);
      int b4 = Math.min(b0 + 4 * d, last);
      int b5 = Math.min(b0 + 5 * d, last);
      int b6 = Math.min(b0 + 6 * d, last);
      int b7 = Math.min(b0 + 7 * d, last);
      FloatVector a0 = FloatVector.zero(QUERIES);
      FloatVector a1 = a0;
      FloatVector a2 = a0;
      FloatVector a3 = a0;
      FloatVector a4 = a0;
      FloatVector a5 = a0;
      FloatVector a6 = a0;
      FloatVector a7 = a0;
      for (int t = 0, qt = qOff; t < d; t++, qt += QL) {
        FloatVector qv = FloatVector.fromArray(QUERIES, qT, qt);
        a0 = qv.fma(qv.broadcast(x[b0 + t]), a0);
        a1 = qv.fma(qv.broadcast(x[b1 + t]), a1);
        a2 = qv.fma(qv.broadcast(x[b2 + t]), a2);
        a3 = qv.fma(qv.broadcast(x[b3 + t]), a3);
        a4 = qv.fma(qv.broadcast(x[b4 + t]), a4);
        a5 = qv.fma(qv.broadcast(x[b5 + t]), a5);
        a6 = qv.fma(qv.broadcast(x[b6 + t]), a6);
        a7 = qv.fma(qv.broadcast(x[b7 + t]), a7);
      }
      int o = outOff + j * QL;
      a0.intoArray(out, o);
      int left = n - j;
      if (left > 1) {
        a1.intoArray(out, o + 1 * QL);
      }
      if (left > 2) {
        a2.intoArray(out, o + 2 * QL);
      }
      if (left > 3) {
        a3.intoArray(out, o + 3 * QL);
      }
      if (left > 4) {
        a4.intoArray(out, o + 4 * QL);
      }
      if (left > 5) {
        a5.intoArray(out, o + 5 * QL);
      }
      if (left > 6) {
        a6.intoArray(out, o + 6 * QL);
      }
      if (left > 7) {
        a7.intoArray(out, o + 7 * QL);
      }
    }
  }

  @Override
  public void dotProductBlock(float[] q, int qOff, int nq, float[] x, int xOff, int nx, int d,
                              float[] out, int outOff, int outStride) {
    block(q, qOff, nq, x, xOff, nx, d, 1f, null, 0, out, outOff, outStride);
  }

  @Override
  public void dotProductBlockScaled(float[] q, int qOff, int nq, float[] x, int xOff, int nx, int d,
                                    float scale, float[] bias, int biasOff, float[] out, int outOff, int outStride) {
    block(q, qOff, nq, x, xOff, nx, d, scale, bias, biasOff, out, outOff, outStride);
  }

  @Override
  public int nextRowAtMost(float[] tile, int from, int to, int lanes, float[] thresholds) {
    if (lanes != QL) {
      return VectorUtilSupport.super.nextRowAtMost(tile, from, to, lanes, thresholds);
    }
    FloatVector t = FloatVector.fromArray(QUERIES, thresholds, 0);
    for (int j = from; j < to; j++) {
      if (FloatVector.fromArray(QUERIES, tile, j * QL).compare(VectorOperators.LE, t).anyTrue()) {
        return j;
      }
    }
    return to;
  }

  @Override
  public int nextAtMost(float[] a, int from, int to, float threshold) {
    int i = from;
    FloatVector t = FloatVector.broadcast(SPECIES, threshold);
    for (int bound = to - L; i <= bound; i += L) {
      // anyTrue is an intrinsic on JDK 17, firstTrue is not (it boxes the mask): find the lane by hand
      if (FloatVector.fromArray(SPECIES, a, i).compare(VectorOperators.LE, t).anyTrue()) {
        while (!(a[i] <= threshold)) {
          i++;
        }
        return i;
      }
    }
    for (; i < to; i++) {
      if (a[i] <= threshold) {
        return i;
      }
    }
    return to;
  }

  @Override
  public void add(float[] a, int aOff, float[] b, int bOff, float[] out, int outOff, int n) {
    int i = 0;
    for (int bound = n - L; i <= bound; i += L) {
      FloatVector.fromArray(SPECIES, a, aOff + i).add(FloatVector.fromArray(SPECIES, b, bOff + i))
          .intoArray(out, outOff + i);
    }
    for (; i < n; i++) {
      out[outOff + i] = a[aOff + i] + b[bOff + i];
    }
  }

  private void block(float[] q, int qOff, int nq, float[] x, int xOff, int nx, int d,
                     float scale, float[] bias, int biasOff, float[] out, int outOff, int outStride) {
    if (nq <= 0 || nx <= 0) {
      return;
    }
    int panels = (nx + NR - 1) / NR;
    float[][] scratch = SCRATCH.get();
    int packedSize = panels * NR * d;
    if (scratch[0].length < packedSize) {
      scratch[0] = new float[packedSize];
    }
    float[] packed = scratch[0];
    float[] edge = scratch[1];
    pack(x, xOff, nx, d, panels, packed);
    // the epilogue computes bias + scale * dot; a padded copy of the bias lets it load whole vectors
    boolean affine = bias != null || scale != 1f;
    if (scratch[2].length < panels * NR) {
      scratch[2] = new float[panels * NR];
    }
    float[] paddedBias = scratch[2];
    if (bias != null) {
      System.arraycopy(bias, biasOff, paddedBias, 0, nx);
    } else {
      java.util.Arrays.fill(paddedBias, 0, panels * NR, 0f);
    }
    FloatVector scaleV = FloatVector.broadcast(SPECIES, scale);

    for (int p = 0; p < panels; p++) {
      int pb = p * NR * d;
      int col = p * NR;
      int width = Math.min(NR, nx - col);
      FloatVector bias0 = FloatVector.fromArray(SPECIES, paddedBias, col);
      FloatVector bias1 = FloatVector.fromArray(SPECIES, paddedBias, col + L);
      int i = 0;
      for (; i + MR <= nq; i += MR) {
        int q0 = qOff + i * d;
        int q1 = q0 + d;
        int q2 = q1 + d;
        int q3 = q2 + d;
        FloatVector a00 = FloatVector.zero(SPECIES);
        FloatVector a01 = FloatVector.zero(SPECIES);
        FloatVector a10 = FloatVector.zero(SPECIES);
        FloatVector a11 = FloatVector.zero(SPECIES);
        FloatVector a20 = FloatVector.zero(SPECIES);
        FloatVector a21 = FloatVector.zero(SPECIES);
        FloatVector a30 = FloatVector.zero(SPECIES);
        FloatVector a31 = FloatVector.zero(SPECIES);
        for (int t = 0, pk = pb; t < d; t++, pk += NR) {
          FloatVector x0 = FloatVector.fromArray(SPECIES, packed, pk);
          FloatVector x1 = FloatVector.fromArray(SPECIES, packed, pk + L);
          FloatVector b0 = FloatVector.broadcast(SPECIES, q[q0 + t]);
          a00 = x0.fma(b0, a00);
          a01 = x1.fma(b0, a01);
          FloatVector b1 = FloatVector.broadcast(SPECIES, q[q1 + t]);
          a10 = x0.fma(b1, a10);
          a11 = x1.fma(b1, a11);
          FloatVector b2 = FloatVector.broadcast(SPECIES, q[q2 + t]);
          a20 = x0.fma(b2, a20);
          a21 = x1.fma(b2, a21);
          FloatVector b3 = FloatVector.broadcast(SPECIES, q[q3 + t]);
          a30 = x0.fma(b3, a30);
          a31 = x1.fma(b3, a31);
        }
        int o = outOff + i * outStride + col;
        if (affine) {
          a00 = a00.fma(scaleV, bias0);
          a01 = a01.fma(scaleV, bias1);
          a10 = a10.fma(scaleV, bias0);
          a11 = a11.fma(scaleV, bias1);
          a20 = a20.fma(scaleV, bias0);
          a21 = a21.fma(scaleV, bias1);
          a30 = a30.fma(scaleV, bias0);
          a31 = a31.fma(scaleV, bias1);
        }
        store(a00, a01, out, o, width, edge);
        store(a10, a11, out, o + outStride, width, edge);
        store(a20, a21, out, o + 2 * outStride, width, edge);
        store(a30, a31, out, o + 3 * outStride, width, edge);
      }
      for (; i < nq; i++) {
        int q0 = qOff + i * d;
        FloatVector a00 = FloatVector.zero(SPECIES);
        FloatVector a01 = FloatVector.zero(SPECIES);
        for (int t = 0, pk = pb; t < d; t++, pk += NR) {
          FloatVector b0 = FloatVector.broadcast(SPECIES, q[q0 + t]);
          a00 = FloatVector.fromArray(SPECIES, packed, pk).fma(b0, a00);
          a01 = FloatVector.fromArray(SPECIES, packed, pk + L).fma(b0, a01);
        }
        if (affine) {
          a00 = a00.fma(scaleV, bias0);
          a01 = a01.fma(scaleV, bias1);
        }
        store(a00, a01, out, outOff + i * outStride + col, width, edge);
      }
    }
  }

  /** Copies {@code nx} vectors into dimension-major panels of {@link #NR}, zero-padding the last. */
  private static void pack(float[] x, int xOff, int nx, int d, int panels, float[] packed) {
    for (int p = 0; p < panels; p++) {
      int pb = p * NR * d;
      for (int c = 0; c < NR; c++) {
        int j = p * NR + c;
        if (j < nx) {
          int src = xOff + j * d;
          for (int t = 0; t < d; t++) {
            packed[pb + t * NR + c] = x[src + t];
          }
        } else {
          for (int t = 0; t < d; t++) {
            packed[pb + t * NR + c] = 0f;
          }
        }
      }
    }
  }

  private static void store(FloatVector v0, FloatVector v1, float[] out, int o, int width, float[] edge) {
    if (width == NR) {
      v0.intoArray(out, o);
      v1.intoArray(out, o + L);
    } else {
      v0.intoArray(edge, 0);
      v1.intoArray(edge, L);
      System.arraycopy(edge, 0, out, o, width);
    }
  }
}
