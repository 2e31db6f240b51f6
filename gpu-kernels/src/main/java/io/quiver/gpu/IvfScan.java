package io.quiver.gpu;

import io.quiver.index.SearchResult;
import io.quiver.index.spi.IvfLists;
import io.quiver.index.spi.IvfSearchJob;
import java.util.Arrays;
import jcuda.driver.CUdeviceptr;

/**
 * IVF scans on the device: one block per (query, probe) keeps that list's best k
 * ({@code qv_ivf_flat_scan}, {@code qv_ivf_pq_scan}, {@code qv_ivf_sq8_scan}), then
 * {@code qv_merge_partials} keeps each query's best k of its probes. Queries go in tiles that fit
 * the free memory; lists that do not fit at once are scanned group by group.
 */
final class IvfScan {
  private static final int NONE = Integer.MAX_VALUE;

  private IvfScan() {}

  /** {@code codec} is {@code job.lists().codec()}, read once by the caller (it copies the codebooks). */
  static SearchResult run(Device device, ListCache cache, IvfSearchJob job, IvfLists.Codec codec) {
    IvfLists lists = job.lists();
    int d = lists.d();
    int k = job.k();
    int np = job.nprobe();
    int nq = job.nq();
    boolean ip = lists.innerProduct();
    int k2 = JCudaBackend.k2(k);
    String kernel;
    int extra;
    if (codec instanceof IvfLists.Flat) {
      kernel = "qv_ivf_flat_scan";
      extra = 4 * d;
    } else if (codec instanceof IvfLists.Pq) {
      kernel = "qv_ivf_pq_scan";
      extra = 4 * (d + 256 * ((IvfLists.Pq) codec).m());
    } else {
      kernel = "qv_ivf_sq8_scan";
      extra = 12 * d;
    }
    int shared = JCudaBackend.selectBytes(k2) + extra;
    if (!device.allowShared(kernel, shared)) {
      throw new Device.DeviceMemoryException(kernel + " needs " + shared + " bytes of shared memory per block; "
          + device.name + " allows " + device.maxSharedBytes);
    }
    ListCache.Entry e = cache.get(lists, codec);
    long perQuery = 4L * d + 12L * np + 8L * np * k + 8L * k;
    long qt = Math.min(Math.min(nq, 65535), device.budget() / perQuery);
    if (qt < 1) {
      throw new Device.DeviceMemoryException("the scan state of one query does not fit");
    }
    long[] outIds = new long[nq * k];
    float[] outDist = new float[nq * k];
    float pad = ip ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY;
    try (Device.Arena arena = new Device.Arena(device)) {
      CUdeviceptr dq = arena.alloc(4L * qt * d, "a query tile");
      CUdeviceptr dProbes = arena.alloc(8L * qt * np, "the probes of a query tile");
      CUdeviceptr dCoarse = arena.alloc(4L * qt * np, "the coarse values of a query tile");
      CUdeviceptr dPartK = arena.alloc(4L * qt * np * k, "the per-list top-k keys");
      CUdeviceptr dPartP = arena.alloc(4L * qt * np * k, "the per-list top-k positions");
      CUdeviceptr dOutK = arena.alloc(4L * qt * k, "the top-k keys");
      CUdeviceptr dOutP = arena.alloc(4L * qt * k, "the top-k positions");
      float[] keys = new float[(int) qt * k];
      int[] pos = new int[(int) qt * k];
      for (int q0 = 0; q0 < nq; q0 += (int) qt) {
        int nqt = (int) Math.min(qt, nq - q0);
        Device.upload(dq, job.queries(), q0 * d, (long) nqt * d);
        long[] probes = Arrays.copyOfRange(job.probes(), q0 * np, (q0 + nqt) * np);
        jcuda.driver.JCudaDriver.cuMemcpyHtoD(dProbes, jcuda.Pointer.to(probes), 8L * probes.length);
        Device.upload(dCoarse, job.coarseValues(), q0 * np, (long) nqt * np);
        device.launch("qv_fill_topk", Device.blocks((long) nqt * np * k), 1, 0, dPartK, dPartP, (long) nqt * np * k);
        for (int g = 0; g < e.groups.size(); g++) {
          int[] range = e.groups.get(g);
          ListCache.load(e, lists, g);
          long dataBase = e.offsets[range[0]];
          if (codec instanceof IvfLists.Flat) {
            device.launch(kernel, np, nqt, shared, dq, d, dProbes, np, dCoarse, range[0], range[1], e.dOffsets, dataBase,
                e.dData, ip ? 1 : 0, k, k2, dPartK, dPartP);
          } else if (codec instanceof IvfLists.Pq) {
            device.launch(kernel, np, nqt, shared, dq, d, dProbes, np, dCoarse, range[0], range[1], e.dOffsets, dataBase,
                e.dData, e.dCentroids, e.dCodebooks, ((IvfLists.Pq) codec).m(), ip ? 1 : 0, k, k2, dPartK, dPartP);
          } else {
            device.launch(kernel, np, nqt, shared, dq, d, dProbes, np, dCoarse, range[0], range[1], e.dOffsets, dataBase,
                e.dData, e.dCentroids, e.dScale, e.dOffset, ip ? 1 : 0, k, k2, dPartK, dPartP);
          }
        }
        device.launch("qv_merge_partials", nqt, 1, JCudaBackend.selectBytes(k2), dPartK, dPartP, np * k, k, k2, dOutK,
            dOutP);
        Device.download(dOutK, keys, (long) nqt * k);
        Device.download(dOutP, pos, (long) nqt * k);
        for (int i = 0; i < nqt * k; i++) {
          int o = q0 * k + i;
          if (pos[i] == NONE) {
            outIds[o] = -1L;
            outDist[o] = pad;
          } else {
            outIds[o] = e.ids[pos[i]];
            outDist[o] = ip ? -keys[i] : keys[i];
          }
        }
      }
    }
    return new SearchResult(nq, k, outIds, outDist);
  }
}
