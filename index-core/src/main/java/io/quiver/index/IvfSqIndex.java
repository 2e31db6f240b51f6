package io.quiver.index;

import io.quiver.index.quantize.ScalarQuantizer;
import io.quiver.index.spi.IvfLists;
import io.quiver.index.topk.RangeCollector;
import io.quiver.index.topk.TopKHeap;
import io.quiver.index.vector.VectorUtil;
import java.util.Arrays;

/**
 * An inverted file with scalar-quantized residuals: FAISS's {@code IndexIVFScalarQuantizer}
 * ({@code IVF<nlist>,SQ8|SQ4|SQfp16}), with {@code by_residual} on. The scalar quantizer's ranges
 * are trained on the residuals. For L2 a probed list is scanned with the query's residual to the
 * list's centroid; for inner product the value is {@code <q, c> + <q, r>}. Distances are computed
 * on the codes, without decoding them to vectors first.
 */
public final class IvfSqIndex extends IvfCodesIndex {

  private static final int SCAN_BLOCK = 256;

  private final ScalarQuantizer sq;

  public IvfSqIndex(int d, int nlist, ScalarQuantizer.Type type, Metric metric) {
    this(d, nlist, new ScalarQuantizer(d, type), metric);
  }

  private IvfSqIndex(int d, int nlist, ScalarQuantizer sq, Metric metric) {
    super(d, nlist, metric, sq.codeSize());
    this.sq = sq;
  }

  /** Restores a trained index from storage (index files). */
  public static IvfSqIndex fromStorage(int d, Metric metric, int nlist, int nprobe, float[] centroids, ScalarQuantizer sq,
                                       long[][] listIds, byte[][] listCodes) {
    IvfSqIndex index = new IvfSqIndex(d, nlist, sq, metric);
    index.restore(centroids, nprobe, listIds, listCodes);
    return index;
  }

  /** The scalar quantizer of the residuals. */
  public ScalarQuantizer sq() {
    return sq;
  }

  @Override
  public String factoryString() {
    return "IVF" + nlist + "," + sq.type().factoryName();
  }

  @Override
  protected IvfCodesIndex newSharingCodec() {
    return new IvfSqIndex(d, nlist, sq, metric);
  }

  @Override
  protected boolean codecTrained() {
    return sq.isTrained();
  }

  @Override
  protected void trainCodec(float[] residuals) {
    sq.train(residuals);
  }

  @Override
  protected long codecMemoryBytes() {
    return 8L * d;
  }

  @Override
  protected byte[] encode(float[] residuals) {
    return sq.encode(residuals);
  }

  @Override
  protected void decode(byte[] codes, int codeOff, float[] out, int outOff) {
    sq.decode(codes, codeOff, out, outOff);
  }

  @Override
  protected boolean sameCodec(IvfCodesIndex other) {
    ScalarQuantizer o = ((IvfSqIndex) other).sq;
    return o.type() == sq.type() && Arrays.equals(o.vmin(), sq.vmin()) && Arrays.equals(o.vdiff(), sq.vdiff());
  }

  @Override
  protected IvfLists.Codec listsCodec() {
    if (sq.type() != ScalarQuantizer.Type.SQ8 || !sq.isTrained()) {
      return new IvfLists.Other(sq.type().factoryName());
    }
    return new IvfLists.Sq8(sq.decodeScale(), sq.decodeOffset());
  }

  @Override
  protected ListScan newScan(float[] q, int qOff) {
    boolean ip = metric.higherIsCloser();
    float[] residual = new float[d];
    float[] buf = new float[SCAN_BLOCK];
    return new ListScan() {
      /** Fills buf with keys of entries b .. b+n of the list. */
      private void keys(int list, float coarseValue, byte[] codes, int b, int n) {
        int codeOff = b * lists.codeSize();
        if (ip) {
          sq.dotProductOneToMany(q, qOff, codes, codeOff, n, buf, 0);
          for (int j = 0; j < n; j++) {
            buf[j] = -(coarseValue + buf[j]);
          }
        } else {
          sq.squareDistanceOneToMany(residual, 0, codes, codeOff, n, buf, 0);
        }
      }

      @Override
      public void scan(int list, float coarseValue, TopKHeap heap) {
        int size = lists.size(list);
        if (size == 0) {
          return;
        }
        if (!ip) {
          coarse.residual(q, qOff, list, residual, 0);
        }
        byte[] codes = lists.codes(list);
        long[] ids = lists.ids(list);
        for (int b = 0; b < size; b += SCAN_BLOCK) {
          int n = Math.min(SCAN_BLOCK, size - b);
          keys(list, coarseValue, codes, b, n);
          float threshold = heap.threshold();
          for (int j = VectorUtil.nextAtMost(buf, 0, n, threshold); j < n;
               j = VectorUtil.nextAtMost(buf, j + 1, n, threshold)) {
            if (heap.offer(buf[j], ids[b + j])) {
              threshold = heap.threshold();
            }
          }
        }
      }

      @Override
      public void range(int list, float coarseValue, float keyBound, RangeCollector out) {
        int size = lists.size(list);
        if (size == 0) {
          return;
        }
        if (!ip) {
          coarse.residual(q, qOff, list, residual, 0);
        }
        byte[] codes = lists.codes(list);
        long[] ids = lists.ids(list);
        for (int b = 0; b < size; b += SCAN_BLOCK) {
          int n = Math.min(SCAN_BLOCK, size - b);
          keys(list, coarseValue, codes, b, n);
          for (int j = 0; j < n; j++) {
            if (buf[j] < keyBound) {
              out.add(buf[j], ids[b + j]);
            }
          }
        }
      }
    };
  }
}
