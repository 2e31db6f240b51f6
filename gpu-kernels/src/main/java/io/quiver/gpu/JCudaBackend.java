package io.quiver.gpu;

import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuDeviceTotalMem;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;

import io.quiver.index.IdSelector;
import io.quiver.index.SearchResult;
import io.quiver.index.spi.ComputeBackend;
import io.quiver.index.spi.IvfLists;
import io.quiver.index.spi.IvfSearchJob;
import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.locks.ReentrantLock;
import jcuda.CudaException;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

/**
 * The CUDA backend: index-core's hot loops as the kernels of {@code src/main/cuda/quiver_kernels.cu},
 * launched through JCuda's driver API on one device.
 *
 * <p>What it takes, and what it hands to the CPU reference:
 * <ul>
 *   <li>exact k-NN ({@code qv_gemm_keys} + {@code qv_select_rows}, survivors re-measured directly),
 *       for k up to {@link #MAX_K}, without per-query selectors;
 *   <li>PQ encoding (any nbits) and SQ8 encoding;
 *   <li>IVF scans of Flat, PQ (8-bit sub-codes) and SQ8 lists, one block per (query, probe) with the
 *       lookup table in shared memory, then a merge per query; the lists stay on the device between
 *       searches until the index changes ({@link ListCache}).
 * </ul>
 * Jobs smaller than {@code quiver.gpu.minWork} (multiply-adds, default 2^26) stay on the CPU, where
 * they are faster than the transfer. Work larger than the free device memory is cut into tiles
 * (queries, base rows, groups of lists). A CUDA error, a shortage of device memory or any other
 * failure on the device during a call is logged once, and the call runs on the CPU.
 *
 * <p>Thread-safe: one call at a time uses the device (a lock per JVM); several executors (JVMs)
 * may share one GPU, each checking the free memory before it allocates.
 */
public final class JCudaBackend implements ComputeBackend {

  /** The largest k the device selection handles (K2 <= 1024 entries in shared memory). */
  public static final int MAX_K = 1024;
  /** The system property: the smallest job, in multiply-adds, sent to the device. */
  public static final String MIN_WORK_PROPERTY = "quiver.gpu.minWork";

  static final String PTX_RESOURCE = "/io/quiver/gpu/quiver_kernels.ptx";
  /** CUDA 13.0: the shipped PTX is ISA 9.0. */
  static final int MIN_DRIVER_VERSION = 13000;

  private static final Logger LOG = System.getLogger(JCudaBackend.class.getName());

  private final Device device;
  private final ComputeBackend reference;
  private final ReentrantLock lock = new ReentrantLock();
  private final ListCache lists;
  private volatile boolean warned;

  private JCudaBackend(Device device, ComputeBackend reference) {
    this.device = device;
    this.reference = reference;
    this.lists = new ListCache(device);
  }

  /**
   * Opens device {@code ordinal}: driver, device, primary context, kernels.
   *
   * @throws GpuUnavailableException when there is no usable device
   * @throws UnsatisfiedLinkError when the CUDA driver library is missing (JCuda's first load)
   */
  static JCudaBackend open(int ordinal, ComputeBackend reference) {
    JCudaDriver.setExceptionsEnabled(true);
    try {
      cuInit(0);
    } catch (CudaException e) {
      throw new GpuUnavailableException("the CUDA driver did not initialise: " + e.getMessage(), e);
    }
    int[] count = new int[1];
    cuDeviceGetCount(count);
    if (count[0] == 0) {
      throw new GpuUnavailableException("the CUDA driver sees no device");
    }
    if (ordinal < 0 || ordinal >= count[0]) {
      throw new GpuUnavailableException(JCudaBackendProvider.DEVICE_PROPERTY + "=" + ordinal + " but the driver sees "
          + count[0] + " device(s): valid 0.." + (count[0] - 1));
    }
    int[] version = new int[1];
    cuDriverGetVersion(version);
    if (version[0] < MIN_DRIVER_VERSION) {
      throw new GpuUnavailableException(String.format(Locale.ROOT,
          "the CUDA driver supports CUDA %d.%d; Quiver's kernels (PTX ISA 9.0) need CUDA 13.0 or newer",
          version[0] / 1000, version[0] % 1000 / 10));
    }
    CUdevice dev = new CUdevice();
    cuDeviceGet(dev, ordinal);
    byte[] nameBytes = new byte[256];
    cuDeviceGetName(nameBytes, nameBytes.length, dev);
    int len = 0;
    while (len < nameBytes.length && nameBytes[len] != 0) {
      len++;
    }
    String name = new String(nameBytes, 0, len, StandardCharsets.US_ASCII);
    int[] major = new int[1];
    int[] minor = new int[1];
    cuDeviceGetAttribute(major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
    cuDeviceGetAttribute(minor, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
    if (major[0] * 10 + minor[0] < 75) {
      throw new GpuUnavailableException(name + " has compute capability " + major[0] + "." + minor[0]
          + "; Quiver's kernels need 7.5 or newer");
    }
    int[] shared = new int[1];
    cuDeviceGetAttribute(shared, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, dev);
    long[] total = new long[1];
    cuDeviceTotalMem(total, dev);
    CUcontext context = new CUcontext();
    cuDevicePrimaryCtxRetain(context, dev);
    JCudaDriver.cuCtxSetCurrent(context);
    CUmodule module = new CUmodule();
    try {
      cuModuleLoadData(module, ptx());
    } catch (CudaException e) {
      throw new GpuUnavailableException("Quiver's kernels did not load on " + name + ": " + e.getMessage(), e);
    }
    Device device = new Device(ordinal, name, total[0], shared[0], context, module);
    for (String kernel : Device.KERNELS) {
      try {
        device.function(kernel);
      } catch (CudaException e) {
        throw new GpuUnavailableException("kernel " + kernel + " is missing from " + PTX_RESOURCE + ": " + e.getMessage(), e);
      }
    }
    return new JCudaBackend(device, reference);
  }

  /** The shipped (or freshly built) PTX, NUL-terminated as cuModuleLoadData wants it. */
  static byte[] ptx() {
    try (InputStream in = JCudaBackend.class.getResourceAsStream(PTX_RESOURCE)) {
      if (in == null) {
        throw new GpuUnavailableException("the kernels' PTX " + PTX_RESOURCE + " is missing from the gpu-kernels jar");
      }
      byte[] text = in.readAllBytes();
      return Arrays.copyOf(text, text.length + 1);
    } catch (IOException e) {
      throw new GpuUnavailableException("cannot read " + PTX_RESOURCE + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String name() {
    return String.format(Locale.ROOT, "gpu %d (%s, %.1f GiB)", device.ordinal, device.name,
        device.totalBytes / (double) (1L << 30));
  }

  @Override
  public boolean isAccelerator() {
    return true;
  }

  @Override
  public String toString() {
    return name();
  }

  /** Runs {@code onDevice} under the device lock; on a CUDA error or a memory shortage, logs once and runs {@code onCpu}. */
  private <T> T guarded(String what, java.util.function.Supplier<T> onDevice, java.util.function.Supplier<T> onCpu) {
    lock.lock();
    try {
      device.bind();
      return onDevice.get();
    } catch (RuntimeException e) { // CudaException, DeviceMemoryException, a launch the device refuses
      if (!warned) {
        warned = true;
        LOG.log(Level.WARNING, "quiver gpu: " + what + " failed on " + device.name + " (" + e.getMessage()
            + "); running it on the CPU (logged once)");
      }
    } finally {
      lock.unlock();
    }
    return onCpu.get();
  }

  static int k2(int k) {
    return Math.max(2 * Device.THREADS, Integer.highestOneBit(Math.max(1, k - 1)) << 1);
  }

  static int selectBytes(int k2) {
    return 2 * k2 * 8 + 16;
  }

  // ---------------------------------------------------------------------------------- exact k-NN

  @Override
  public void knn(float[] queries, int nq, float[] base, int nb, float[] baseNorms, long[] labels, int d,
                  boolean innerProduct, int k, int threads, IdSelector[] selectors, float[] outDistances,
                  long[] outIds) {
    if (selectors != null || k > MAX_K || nq == 0 || nb == 0 || (double) nq * nb * d < minWork()) {
      reference.knn(queries, nq, base, nb, baseNorms, labels, d, innerProduct, k, threads, selectors, outDistances,
          outIds);
      return;
    }
    guarded("k-NN of " + nq + " x " + nb, () -> {
      Knn.run(device, queries, nq, base, nb, baseNorms, labels, d, innerProduct, k, outDistances, outIds);
      return null;
    }, () -> {
      reference.knn(queries, nq, base, nb, baseNorms, labels, d, innerProduct, k, threads, null, outDistances, outIds);
      return null;
    });
  }

  // ------------------------------------------------------------------------------------ encoding

  /** PQ (any nbits; unpacked sub-codes) and SQ8 on the device; other codecs and small batches in Java. */
  @Override
  public byte[] encode(IvfLists.Codec codec, int d, float[] x) {
    int n = x.length / d;
    if (codec instanceof IvfLists.Pq pq) {
      if ((double) n * (1 << pq.nbits()) * d < minWork()) {
        return null;
      }
      return guarded("PQ encoding of " + n + " vectors", () -> Encode.pq(device, pq, d, x, n), () -> null);
    }
    if (codec instanceof IvfLists.Sq8 sq) {
      if ((double) n * d * 64 < minWork()) {
        return null;
      }
      return guarded("SQ8 encoding of " + n + " vectors", () -> Encode.sq8(device, sq, d, x, n), () -> null);
    }
    return null;
  }

  // ------------------------------------------------------------------------------------ IVF scans

  @Override
  public SearchResult ivfSearch(IvfSearchJob job) {
    IvfLists l = job.lists();
    IvfLists.Codec codec = l.codec();
    boolean supported = job.selectors() == null && job.k() <= MAX_K && job.nq() > 0
        && (codec instanceof IvfLists.Flat || codec instanceof IvfLists.Sq8
        || (codec instanceof IvfLists.Pq && ((IvfLists.Pq) codec).nbits() == 8));
    if (!supported || scanWork(job, codec) < minWork()) {
      return reference.ivfSearch(job);
    }
    return guarded("IVF scan of " + job.nq() + " queries", () -> IvfScan.run(device, lists, job, codec),
        () -> reference.ivfSearch(job));
  }

  private static double minWork() {
    return Double.parseDouble(System.getProperty(MIN_WORK_PROPERTY, String.valueOf(1L << 26)));
  }

  /** Multiply-adds of the scan: entries in the probed lists times the work per entry. */
  private static double scanWork(IvfSearchJob job, IvfLists.Codec c) {
    IvfLists l = job.lists();
    double entries = 0;
    for (long list : job.probes()) {
      if (list >= 0) {
        entries += l.listSize((int) list);
      }
    }
    int perEntry = c instanceof IvfLists.Pq ? ((IvfLists.Pq) c).m() : l.d();
    return entries * perEntry;
  }

  /** Releases the cached device copies of inverted lists. */
  public void clearCache() {
    lock.lock();
    try {
      device.bind();
      lists.clear();
    } finally {
      lock.unlock();
    }
  }

  /** Device memory held by cached lists, in bytes. */
  public long cachedBytes() {
    return lists.bytes();
  }

}
