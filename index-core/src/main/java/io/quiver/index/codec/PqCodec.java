package io.quiver.index.codec;

import io.quiver.index.quantize.ProductQuantizer;
import io.quiver.index.scan.Scans;
import io.quiver.index.spi.ComputeBackends;
import io.quiver.index.spi.IvfLists;
import io.quiver.index.util.Checks;
import io.quiver.index.store.ArrayKind;
import java.util.Arrays;

/**
 * Product-quantized codes ({@code PQ<m>[x<nbits>]}): {@code codeSize = ceil(m * nbits / 8)}
 * bytes per vector, scored by asymmetric distance computation (one lookup table per query, FAISS's
 * {@code ST_PQ} search).
 */
public final class PqCodec implements Codec<byte[]> {

  private final ProductQuantizer pq;

  public PqCodec(ProductQuantizer pq) {
    if (pq == null) {
      throw new IllegalArgumentException("pq is null");
    }
    this.pq = pq;
  }

  /** The product quantizer: configure it before training; read-only once trained. */
  public ProductQuantizer pq() {
    return pq;
  }

  @Override
  public int d() {
    return pq.d();
  }

  @Override
  public ArrayKind<byte[]> kind() {
    return ArrayKind.BYTES;
  }

  @Override
  public int unitsPerCode() {
    return pq.codeSize();
  }

  @Override
  public boolean isTrained() {
    return pq.isTrained();
  }

  @Override
  public boolean needsTraining() {
    return true;
  }

  @Override
  public long trainingSampleSize() {
    return (long) pq.maxPointsPerCentroid() * pq.ksub();
  }


  @Override
  public PqCodec untrainedCopy() {
    return new PqCodec(pq.untrainedCopy());
  }

  @Override
  public void train(float[] x) {
    pq.train(x);
  }

  /** On the {@link ComputeBackends#current() compute backend} when it takes the batch, else in Java. */
  @Override
  public byte[] encode(float[] x) {
    if (!pq.isTrained()) {
      throw new IllegalStateException("the product quantizer is not trained: call train() first");
    }
    int n = Checks.vectors("vectors", x, pq.d());
    byte[] sub = ComputeBackends.current().encode(describe(), pq.d(), x);
    if (sub == null) {
      return pq.encode(x);
    }
    return pq.nbits() == 8 ? sub : pq.packSubCodes(sub, n);
  }

  @Override
  public void decode(byte[] codes, int code, float[] out, int outOff) {
    pq.decode(codes, code * pq.codeSize(), out, outOff);
  }

  @Override
  public boolean sameAs(Codec<?> other) {
    if (!(other instanceof PqCodec o)) {
      return false;
    }
    ProductQuantizer p = o.pq;
    return p.d() == pq.d() && p.m() == pq.m() && p.nbits() == pq.nbits() && Arrays.equals(p.centroids(), pq.centroids());
  }

  @Override
  public long memoryBytes() {
    return pq.memoryBytes();
  }

  @Override
  public String factoryName() {
    return "PQ" + pq.m() + (pq.nbits() == 8 ? "" : "x" + pq.nbits());
  }

  @Override
  public IvfLists.Codec describe() {
    float[] codebooks = pq.centroids();
    return codebooks == null ? new IvfLists.Other("untrained PQ") : new IvfLists.Pq(pq.m(), pq.nbits(), codebooks);
  }

  @Override
  public Scorer<byte[]> scorer(boolean innerProduct) {
    float[] table = new float[pq.m() * pq.ksub()];
    int codeSize = pq.codeSize();
    return new Scorer<>() {
      @Override
      public void setQuery(float[] q, int qOff) {
        if (innerProduct) {
          // negation is exact, so the sum is exactly minus the inner-product sum
          pq.computeInnerProductTable(q, qOff, table);
          Scans.negate(table, 0, table.length);
        } else {
          pq.computeDistanceTable(q, qOff, table);
        }
      }

      @Override
      public void keys(byte[] codes, int from, int n, float[] out, int outOff) {
        pq.adcScan(table, codes, from * codeSize, n, out, outOff);
      }
    };
  }
}
