package io.quiver.gpu;

import io.quiver.index.vector.ExhaustiveSearch;
import io.quiver.index.vector.VectorUtil;
import jcuda.driver.CUdeviceptr;

/** Exact k-NN on the device: key tiles by {@code qv_gemm_keys}, running top-k by {@code qv_select_rows}. */
final class Knn {
  private static final int NONE = Integer.MAX_VALUE;

  private Knn() {}

  private static long tileBytes(long qt, long kw, int d, int k) {
    return 4 * qt * d + 4 * qt * kw + 12 * qt * k;
  }

  static void run(Device device, float[] queries, int nq, float[] base, int nb, float[] baseNorms, long[] labels, int d,
                  boolean ip, int k, float[] outDistances, long[] outIds) {
    int k2 = JCudaBackend.k2(k);
    long budget = device.budget();
    long baseBytes = 4L * nb * d + 4L * nb;
    boolean resident = baseBytes <= budget / 2;
    int kw = Math.min(nb, 32768);
    int qt = Math.min(nq, 4096);
    long avail = resident ? budget - baseBytes : budget - (4L * kw * d + 4L * kw);
    while (qt > 64 && tileBytes(qt, kw, d, k) > avail) {
      qt /= 2;
    }
    while (kw > 1024 && tileBytes(qt, kw, d, k) > avail) {
      kw /= 2;
      avail = resident ? budget - baseBytes : budget - (4L * kw * d + 4L * kw);
    }
    if (tileBytes(qt, kw, d, k) > avail) {
      throw new Device.DeviceMemoryException("k-NN tiles of " + qt + " queries x " + kw + " rows do not fit");
    }
    try (Device.Arena arena = new Device.Arena(device)) {
      CUdeviceptr dBase;
      CUdeviceptr dNorms;
      if (resident) {
        dBase = arena.upload(base, 0, (long) nb * d, "the base vectors");
        dNorms = arena.alloc(4L * nb, "the base norms");
        norms(device, dBase, dNorms, baseNorms, 0, nb, d, ip);
      } else {
        dBase = arena.alloc(4L * kw * d, "a base tile");
        dNorms = arena.alloc(4L * kw, "a base tile's norms");
      }
      CUdeviceptr dq = arena.alloc(4L * qt * d, "a query tile");
      CUdeviceptr dKeys = arena.alloc(4L * qt * kw, "a key tile");
      CUdeviceptr dTopK = arena.alloc(4L * qt * k, "the running top-k keys");
      CUdeviceptr dTopP = arena.alloc(4L * qt * k, "the running top-k rows");
      CUdeviceptr dExact = arena.alloc(4L * qt * k, "the re-measured distances");
      float[] exact = new float[qt * k];
      int[] pos = new int[qt * k];
      float[] keys = new float[k];
      long[] ids = new long[k];
      for (int q0 = 0; q0 < nq; q0 += qt) {
        int nqt = Math.min(qt, nq - q0);
        Device.upload(dq, queries, q0 * d, (long) nqt * d);
        device.launch("qv_fill_topk", Device.blocks((long) nqt * k), 1, 0, dTopK, dTopP, (long) nqt * k);
        for (int b0 = 0; b0 < nb; b0 += kw) {
          int nbt = Math.min(kw, nb - b0);
          CUdeviceptr x;
          CUdeviceptr xn;
          if (resident) {
            x = dBase.withByteOffset(4L * b0 * d);
            xn = dNorms.withByteOffset(4L * b0);
          } else {
            Device.upload(dBase, base, b0 * d, (long) nbt * d);
            norms(device, dBase, dNorms, baseNorms, b0, nbt, d, ip);
            x = dBase;
            xn = dNorms;
          }
          device.launch("qv_gemm_keys", (nbt + 63) / 64, (nqt + 63) / 64, 0, dq, nqt, x, nbt, d, xn, ip ? 1 : 0, dKeys,
              (long) nbt);
          device.launch("qv_select_rows", nqt, 1, JCudaBackend.selectBytes(k2), dKeys, (long) nbt, nbt, b0, k, k2,
              dTopK, dTopP);
        }
        if (resident) {
          device.launch("qv_remeasure", Device.blocks((long) nqt * k), 1, 0, dq, nqt, dBase, nb, 0, d, k, ip ? 1 : 0,
              dTopP, dExact);
          Device.download(dExact, exact, (long) nqt * k);
        }
        Device.download(dTopP, pos, (long) nqt * k);
        for (int i = 0; i < nqt; i++) {
          int qi = q0 + i;
          int n = 0;
          for (int j = 0; j < k; j++) {
            int p = pos[i * k + j];
            if (p == NONE) {
              break;
            }
            float e = resident ? exact[i * k + j]
                : ip ? VectorUtil.dotProduct(queries, qi * d, base, p * d, d)
                : VectorUtil.squareDistance(queries, qi * d, base, p * d, d);
            keys[n] = ip ? -e : e;
            ids[n] = labels == null ? p : labels[p];
            n++;
          }
          ExhaustiveSearch.insertionSort(keys, ids, n);
          int o = qi * k;
          for (int j = 0; j < k; j++) {
            if (j < n) {
              outIds[o + j] = ids[j];
              outDistances[o + j] = ip ? -keys[j] : keys[j];
            } else {
              outIds[o + j] = -1L;
              outDistances[o + j] = ip ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY;
            }
          }
        }
      }
    }
  }

  /** Norms of base rows [b0, b0 + n) into dNorms: the given ones, or computed on the device (L2 only). */
  private static void norms(Device device, CUdeviceptr dBase, CUdeviceptr dNorms, float[] baseNorms, int b0, int n, int d,
                            boolean ip) {
    if (ip) {
      return;
    }
    if (baseNorms != null) {
      Device.upload(dNorms, baseNorms, b0, n);
    } else {
      device.launch("qv_square_norms", Device.blocks(n), 1, 0, dBase, n, d, dNorms);
    }
  }
}
