package io.quiver.gpu;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuFuncSetAttribute;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUmodule;

/**
 * One CUDA device as {@link JCudaBackend} uses it: the primary context, the loaded kernel module,
 * memory that is checked against the free device memory before it is allocated, and launches.
 * Not thread-safe: the backend serialises its callers.
 */
final class Device {
  /** Threads per block of every launch (QV_THREADS in the kernels). */
  static final int THREADS = 256;
  /** Of the free device memory, the share one call may take (other executors may share the GPU). */
  static final double MEMORY_SHARE = 0.8;

  final int ordinal;
  final String name;
  final long totalBytes;
  final int maxSharedBytes;
  private final CUcontext context;
  private final CUmodule module;
  private final Map<String, CUfunction> functions = new HashMap<>();
  private final Map<String, Integer> sharedLimit = new HashMap<>();

  Device(int ordinal, String name, long totalBytes, int maxSharedBytes, CUcontext context, CUmodule module) {
    this.ordinal = ordinal;
    this.name = name;
    this.totalBytes = totalBytes;
    this.maxSharedBytes = maxSharedBytes;
    this.context = context;
    this.module = module;
  }

  /** Makes the context current on the calling thread (driver contexts are per thread). */
  void bind() {
    cuCtxSetCurrent(context);
  }

  /** Free device memory now, in bytes. */
  long freeBytes() {
    long[] free = new long[1];
    long[] total = new long[1];
    cuMemGetInfo(free, total);
    return free[0];
  }

  /** The system property capping what one call may allocate, in bytes (to share a GPU, or to test tiling). */
  static final String MAX_BYTES_PROPERTY = "quiver.gpu.maxBytes";

  /** Every kernel the backend launches; all are looked up when the device opens. */
  static final java.util.List<String> KERNELS = java.util.List.of("qv_square_norms", "qv_fill_topk", "qv_gemm_keys",
      "qv_select_rows", "qv_remeasure", "qv_pq_assign", "qv_sq8_encode", "qv_ivf_flat_scan", "qv_ivf_pq_scan",
      "qv_ivf_sq8_scan", "qv_merge_partials");

  /** What one call may allocate: a share of the free memory, at most {@code quiver.gpu.maxBytes}. */
  long budget() {
    long share = (long) (freeBytes() * MEMORY_SHARE);
    String cap = System.getProperty(MAX_BYTES_PROPERTY);
    return cap == null || cap.isBlank() ? share : Math.min(share, Long.parseLong(cap.trim()));
  }

  CUfunction function(String kernel) {
    return functions.computeIfAbsent(kernel, k -> {
      CUfunction f = new CUfunction();
      cuModuleGetFunction(f, module, k);
      return f;
    });
  }

  /** True when a launch of {@code kernel} may use {@code bytes} of dynamic shared memory (raising the limit if needed). */
  boolean allowShared(String kernel, int bytes) {
    if (bytes <= 48 * 1024) {
      return true;
    }
    if (bytes > maxSharedBytes) {
      return false;
    }
    Integer set = sharedLimit.get(kernel);
    if (set == null || set < bytes) {
      cuFuncSetAttribute(function(kernel), CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes);
      sharedLimit.put(kernel, bytes);
    }
    return true;
  }

  /**
   * Launches {@code kernel} on a {@code gridX x gridY} grid of {@link #THREADS}-thread blocks; each
   * argument is a {@link CUdeviceptr}, an Integer, a Long or a Float.
   */
  void launch(String kernel, long gridX, int gridY, int sharedBytes, Object... args) {
    if (gridX > Integer.MAX_VALUE || gridX <= 0 || gridY <= 0 || gridY > 65535) {
      throw new IllegalArgumentException(kernel + ": grid " + gridX + " x " + gridY + " is outside the device's limits");
    }
    Pointer[] params = new Pointer[args.length];
    for (int i = 0; i < args.length; i++) {
      Object a = args[i];
      if (a instanceof CUdeviceptr) {
        params[i] = Pointer.to((CUdeviceptr) a);
      } else if (a instanceof Integer) {
        params[i] = Pointer.to(new int[] {(Integer) a});
      } else if (a instanceof Long) {
        params[i] = Pointer.to(new long[] {(Long) a});
      } else if (a instanceof Float) {
        params[i] = Pointer.to(new float[] {(Float) a});
      } else {
        throw new IllegalArgumentException(kernel + ": argument " + i + " has unsupported type " + a);
      }
    }
    cuLaunchKernel(function(kernel), (int) gridX, gridY, 1, THREADS, 1, 1, sharedBytes, null, Pointer.to(params), null);
  }

  void synchronize() {
    cuCtxSynchronize();
  }

  static long blocks(long n) {
    return (n + THREADS - 1) / THREADS;
  }

  /** Device allocations freed together. */
  static final class Arena implements AutoCloseable {
    private final Device device;
    private final List<CUdeviceptr> owned = new ArrayList<>();
    private long bytes;

    Arena(Device device) {
      this.device = device;
    }

    /** Allocates {@code n} bytes, after checking that the device has them free. */
    CUdeviceptr alloc(long n, String what) {
      long free = device.freeBytes();
      if (n > free) {
        throw new DeviceMemoryException(what + " needs " + n + " bytes of device memory; " + free + " are free on "
            + device.name);
      }
      CUdeviceptr p = new CUdeviceptr();
      cuMemAlloc(p, Math.max(n, 4));
      owned.add(p);
      bytes += n;
      return p;
    }

    CUdeviceptr upload(float[] a, int from, long count, String what) {
      CUdeviceptr p = alloc(4 * count, what);
      cuMemcpyHtoD(p, Pointer.to(a).withByteOffset(4L * from), 4 * count);
      return p;
    }

    CUdeviceptr upload(long[] a, String what) {
      CUdeviceptr p = alloc(8L * a.length, what);
      cuMemcpyHtoD(p, Pointer.to(a), 8L * a.length);
      return p;
    }

    CUdeviceptr upload(byte[] a, String what) {
      CUdeviceptr p = alloc(a.length, what);
      cuMemcpyHtoD(p, Pointer.to(a), a.length);
      return p;
    }

    long bytes() {
      return bytes;
    }

    @Override
    public void close() {
      for (CUdeviceptr p : owned) {
        cuMemFree(p);
      }
      owned.clear();
      bytes = 0;
    }
  }

  static void download(CUdeviceptr src, float[] dst, long count) {
    cuMemcpyDtoH(Pointer.to(dst), src, 4 * count);
  }

  static void download(CUdeviceptr src, int[] dst, long count) {
    cuMemcpyDtoH(Pointer.to(dst), src, 4 * count);
  }

  static void download(CUdeviceptr src, byte[] dst, long count) {
    cuMemcpyDtoH(Pointer.to(dst), src, count);
  }

  static void upload(CUdeviceptr dst, float[] src, int from, long count) {
    cuMemcpyHtoD(dst, Pointer.to(src).withByteOffset(4L * from), 4 * count);
  }

  /** Not enough free device memory for a step: the call falls back to the CPU. */
  static final class DeviceMemoryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    DeviceMemoryException(String message) {
      super(message);
    }
  }
}
