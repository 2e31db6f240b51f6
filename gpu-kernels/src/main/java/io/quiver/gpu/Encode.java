package io.quiver.gpu;

import io.quiver.index.spi.IvfLists;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

/** PQ and SQ8 encoding on the device, in tiles of vectors that fit the free memory. */
final class Encode {
  private Encode() {}

  private static int tile(Device device, int n, long perVector, long fixed) {
    long avail = device.budget() - fixed;
    long t = Math.min(n, Math.min(1L << 20, avail / perVector));
    if (t < 1) {
      throw new Device.DeviceMemoryException("not even one vector's encoding fits");
    }
    return (int) t;
  }

  /** One byte per sub-code ({@code n * m} bytes, not packed). */
  static byte[] pq(Device device, IvfLists.Pq pq, int d, float[] x, int n) {
    int m = pq.m();
    int ksub = 1 << pq.nbits();
    float[] codebooks = pq.codebooks();
    byte[] sub = new byte[n * m];
    int t = tile(device, n, 4L * d + m, 4L * codebooks.length);
    try (Device.Arena arena = new Device.Arena(device)) {
      CUdeviceptr dCb = arena.upload(codebooks, 0, codebooks.length, "the PQ codebooks");
      CUdeviceptr dx = arena.alloc(4L * t * d, "a tile of vectors");
      CUdeviceptr dc = arena.alloc((long) t * m, "a tile of codes");
      for (int i0 = 0; i0 < n; i0 += t) {
        int nt = Math.min(t, n - i0);
        Device.upload(dx, x, i0 * d, (long) nt * d);
        device.launch("qv_pq_assign", Device.blocks((long) nt * m), 1, 0, dx, nt, d, m, ksub, dCb, dc);
        JCudaDriver.cuMemcpyDtoH(Pointer.to(sub).withByteOffset((long) i0 * m), dc, (long) nt * m);
      }
    }
    return sub;
  }

  static byte[] sq8(Device device, IvfLists.Sq8 sq, int d, float[] x, int n) {
    byte[] codes = new byte[n * d];
    int t = tile(device, n, 5L * d, 8L * d);
    try (Device.Arena arena = new Device.Arena(device)) {
      float[] vmin = sq.vmin();
      float[] vdiff = sq.vdiff();
      CUdeviceptr dMin = arena.upload(vmin, 0, d, "the SQ minima");
      CUdeviceptr dDiff = arena.upload(vdiff, 0, d, "the SQ ranges");
      CUdeviceptr dx = arena.alloc(4L * t * d, "a tile of vectors");
      CUdeviceptr dc = arena.alloc((long) t * d, "a tile of codes");
      for (int i0 = 0; i0 < n; i0 += t) {
        int nt = Math.min(t, n - i0);
        Device.upload(dx, x, i0 * d, (long) nt * d);
        device.launch("qv_sq8_encode", Device.blocks((long) nt * d), 1, 0, dx, (long) nt, d, dMin, dDiff, dc);
        JCudaDriver.cuMemcpyDtoH(Pointer.to(codes).withByteOffset((long) i0 * d), dc, (long) nt * d);
      }
    }
    return codes;
  }
}
