package io.quiver.gpu;

import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;

import io.quiver.index.spi.IvfLists;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;

/**
 * Device copies of inverted lists, kept between searches: an entry is reused while the index's
 * {@link IvfLists#version()} and codec are unchanged, and rebuilt when they change. Entries are
 * held weakly by index and evicted least recently used first when the cache would exceed half of
 * the device's memory. Lists too large to fit at once are split into groups of lists that are
 * uploaded in turn during each search. Used under the backend's lock.
 */
final class ListCache {
  private static final int MAX_ENTRIES = 64;

  private final Device device;
  private final List<Entry> entries = new ArrayList<>();

  ListCache(Device device) {
    this.device = device;
  }

  /** One index's lists on the device. */
  static final class Entry implements AutoCloseable {
    final WeakReference<IvfLists> key;
    /** Float vectors (IVF-Flat) rather than byte codes. */
    final boolean flat;
    final long version;
    final int fingerprint;
    final int codeSize;
    /** nlist + 1 offsets of the lists in the concatenated storage. */
    final long[] offsets;
    /** The id of every entry of the concatenated storage. */
    final long[] ids;
    /** [list0, list1) of every group; one group covering every list when resident. */
    final List<int[]> groups;
    final boolean resident;
    final Device.Arena arena;
    CUdeviceptr dOffsets;
    CUdeviceptr dCentroids;
    CUdeviceptr dData;
    CUdeviceptr dCodebooks;
    CUdeviceptr dScale;
    CUdeviceptr dOffset;
    /** The group whose data is in dData now (-1: none yet). */
    int loadedGroup = -1;

    Entry(IvfLists lists, boolean flat, long version, int fingerprint, long[] offsets, long[] ids, List<int[]> groups,
          boolean resident, Device device) {
      this.key = new WeakReference<>(lists);
      this.flat = flat;
      this.version = version;
      this.fingerprint = fingerprint;
      this.codeSize = lists.codeSize();
      this.offsets = offsets;
      this.ids = ids;
      this.groups = groups;
      this.resident = resident;
      this.arena = new Device.Arena(device);
    }

    long bytes() {
      return arena.bytes();
    }

    @Override
    public void close() {
      arena.close();
    }
  }

  static int fingerprint(IvfLists lists, IvfLists.Codec c) {
    int h = Arrays.hashCode(lists.centroids());
    if (c instanceof IvfLists.Pq) {
      IvfLists.Pq pq = (IvfLists.Pq) c;
      h = 31 * h + Arrays.hashCode(pq.codebooks()) + 7 * pq.m() + pq.nbits();
    } else if (c instanceof IvfLists.Sq8) {
      IvfLists.Sq8 sq = (IvfLists.Sq8) c;
      h = 31 * h + Arrays.hashCode(sq.scale()) * 17 + Arrays.hashCode(sq.offset());
    }
    return h;
  }

  /** The device copy of {@code lists}, made or refreshed as needed; the current group's data is loaded by {@link #load}. */
  Entry get(IvfLists lists, IvfLists.Codec codec) {
    long version = lists.version();
    int fp = fingerprint(lists, codec);
    Entry found = null;
    for (Iterator<Entry> it = entries.iterator(); it.hasNext(); ) {
      Entry e = it.next();
      IvfLists k = e.key.get();
      if (k == null || (k == lists && (e.version != version || e.fingerprint != fp))) {
        e.close();
        it.remove();
      } else if (k == lists) {
        found = e;
      }
    }
    if (found != null) {
      entries.remove(found);
      entries.add(found);
      return found;
    }
    Entry e = build(lists, codec, version, fp);
    entries.add(e);
    return e;
  }

  private Entry build(IvfLists lists, IvfLists.Codec c, long version, int fp) {
    int nlist = lists.nlist();
    int d = lists.d();
    int codeSize = lists.codeSize();
    long[] offsets = new long[nlist + 1];
    for (int l = 0; l < nlist; l++) {
      offsets[l + 1] = offsets[l] + lists.listSize(l);
    }
    long total = offsets[nlist];
    if (total >= Integer.MAX_VALUE) {
      throw new Device.DeviceMemoryException(total + " entries: positions on the device are 32-bit");
    }
    long[] ids = new long[(int) total];
    for (int l = 0; l < nlist; l++) {
      System.arraycopy(lists.listIds(l), 0, ids, (int) offsets[l], (int) (offsets[l + 1] - offsets[l]));
    }
    long dataBytes = total * codeSize;
    long cap = device.totalBytes / 2;
    while (!entries.isEmpty() && (bytes() + dataBytes > cap || entries.size() >= MAX_ENTRIES)) {
      entries.remove(0).close();
    }
    long budget = device.budget();
    boolean resident = dataBytes <= Math.min(budget / 2, cap);
    List<int[]> groups = new ArrayList<>();
    if (resident) {
      groups.add(new int[] {0, nlist});
    } else {
      long groupBudget = budget / 4;
      int start = 0;
      long bytes = 0;
      for (int l = 0; l < nlist; l++) {
        long lb = (offsets[l + 1] - offsets[l]) * codeSize;
        if (lb > groupBudget) {
          throw new Device.DeviceMemoryException("inverted list " + l + " alone needs " + lb + " bytes");
        }
        if (bytes + lb > groupBudget) {
          groups.add(new int[] {start, l});
          start = l;
          bytes = 0;
        }
        bytes += lb;
      }
      groups.add(new int[] {start, nlist});
    }
    Entry e = new Entry(lists, c instanceof IvfLists.Flat, version, fp, offsets, ids, groups, resident, device);
    try {
      e.dOffsets = e.arena.upload(offsets, "the list offsets");
      float[] centroids = lists.centroids();
      e.dCentroids = e.arena.upload(centroids, 0, (long) nlist * d, "the coarse centroids");
      if (c instanceof IvfLists.Pq) {
        float[] cb = ((IvfLists.Pq) c).codebooks();
        e.dCodebooks = e.arena.upload(cb, 0, cb.length, "the PQ codebooks");
      } else if (c instanceof IvfLists.Sq8) {
        e.dScale = e.arena.upload(((IvfLists.Sq8) c).scale(), 0, d, "the SQ scales");
        e.dOffset = e.arena.upload(((IvfLists.Sq8) c).offset(), 0, d, "the SQ offsets");
      }
      long largest = 0;
      for (int[] g : groups) {
        largest = Math.max(largest, (offsets[g[1]] - offsets[g[0]]) * codeSize);
      }
      e.dData = e.arena.alloc(largest, "the inverted lists");
      if (resident) {
        load(e, lists, 0);
      }
    } catch (RuntimeException ex) {
      e.close();
      throw ex;
    }
    return e;
  }

  /** Makes group {@code g}'s lists the contents of {@code e.dData}. */
  static void load(Entry e, IvfLists lists, int g) {
    if (e.loadedGroup == g) {
      return;
    }
    int[] range = e.groups.get(g);
    long base = e.offsets[range[0]];
    for (int l = range[0]; l < range[1]; l++) {
      long n = e.offsets[l + 1] - e.offsets[l];
      if (n == 0) {
        continue;
      }
      CUdeviceptr dst = e.dData.withByteOffset((e.offsets[l] - base) * e.codeSize);
      Pointer src = e.flat ? Pointer.to(lists.listVectors(l)) : Pointer.to(lists.listCodes(l));
      cuMemcpyHtoD(dst, src, n * e.codeSize);
    }
    e.loadedGroup = g;
  }

  long bytes() {
    long b = 0;
    for (Entry e : entries) {
      b += e.bytes();
    }
    return b;
  }

  void clear() {
    for (Entry e : entries) {
      e.close();
    }
    entries.clear();
  }
}
