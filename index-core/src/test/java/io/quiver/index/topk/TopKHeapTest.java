package io.quiver.index.topk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.IdSelector;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** {@link TopKHeap} against a full sort by (key, id); every random case prints its seed. */
class TopKHeapTest {

  record Entry(float key, long id, int payload) {}

  static final Comparator<Entry> ORDER = Comparator.comparingDouble((Entry e) -> e.key).thenComparingLong(e -> e.id);

  /** Offers all entries, drains, and compares with the first k of the sorted list. */
  static void check(String ctx, List<Entry> entries, int k) {
    check(ctx, entries, k, null);
  }

  /**
   * Offers all entries to a heap with {@code selector}, drains, and compares with the first k of
   * the sorted list of selected entries.
   */
  static void check(String ctx, List<Entry> entries, int k, IdSelector selector) {
    TopKHeap heap = new TopKHeap(k, selector);
    for (Entry e : entries) {
      boolean wouldAccept = heap.accepts(e.key, e.id);
      boolean kept = heap.offer(e.key, e.id, e.payload);
      assertEquals(wouldAccept, kept, ctx + ": accepts() and offer() disagree for " + e);
      assertTrue(heap.size() <= k, ctx + ": size above k");
    }
    List<Entry> sorted = new ArrayList<>();
    for (Entry e : entries) {
      if (selector == null || selector.isMember(e.id)) {
        sorted.add(e);
      }
    }
    sorted.sort(ORDER);
    int n = Math.min(k, sorted.size());
    assertEquals(n, heap.size(), ctx + ": size");
    if (n == k) {
      assertEquals(sorted.get(k - 1).key, heap.threshold(), ctx + ": threshold is the worst kept key");
    } else {
      assertEquals(Float.POSITIVE_INFINITY, heap.threshold(), ctx + ": threshold before the heap is full");
    }
    float[] keys = new float[k + 2];
    long[] ids = new long[k + 2];
    int[] payloads = new int[k + 2];
    Arrays.fill(keys, 42f);
    Arrays.fill(ids, 42L);
    heap.drainSorted(keys, ids, payloads, 1, Float.POSITIVE_INFINITY);
    assertEquals(0, heap.size(), ctx + ": drain empties the heap");
    assertEquals(42f, keys[0], ctx + ": wrote before the offset");
    assertEquals(42L, ids[k + 1], ctx + ": wrote past offset + k");
    for (int j = 0; j < k; j++) {
      if (j < n) {
        Entry e = sorted.get(j);
        assertEquals(e.key, keys[1 + j], ctx + ": key at rank " + j);
        assertEquals(e.id, ids[1 + j], ctx + ": id at rank " + j + " (ties broken by the smaller id)");
        assertEquals(e.payload, payloads[1 + j], ctx + ": payload at rank " + j);
      } else {
        assertEquals(-1L, ids[1 + j], ctx + ": padding id at rank " + j);
        assertEquals(Float.POSITIVE_INFINITY, keys[1 + j], ctx + ": padding key at rank " + j);
        assertEquals(-1, payloads[1 + j], ctx + ": padding payload at rank " + j);
      }
    }
  }

  @Test
  void randomOffersMatchFullSort() {
    long seed = 77_001L;
    SplittableRandom rng = new SplittableRandom(seed);
    for (int round = 0; round < 300; round++) {
      int k = 1 + rng.nextInt(40);
      int n = rng.nextInt(200);
      // few distinct keys, so that many ties are broken by id
      int distinctKeys = 1 + rng.nextInt(20);
      List<Long> idPool = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        idPool.add((long) i * 3 - 50);
      }
      Collections.shuffle(idPool, new Random(rng.nextLong()));
      List<Entry> entries = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        float key = rng.nextBoolean() ? rng.nextInt(distinctKeys) : (float) rng.nextGaussian();
        entries.add(new Entry(key, idPool.get(i), i));
      }
      check("seed " + seed + ", round " + round + ", k " + k + ", n " + n, entries, k);
    }
  }

  @Test
  void allEqualKeysKeepSmallestIds() {
    long seed = 77_002L;
    List<Entry> entries = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      entries.add(new Entry(1.5f, 1000 - i * 7L, i));
    }
    Collections.shuffle(entries, new Random(seed));
    check("seed " + seed + ", all keys equal", entries, 10);
  }

  @Test
  void orderOfOffersDoesNotMatter() {
    long seed = 77_003L;
    SplittableRandom rng = new SplittableRandom(seed);
    List<Entry> entries = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      entries.add(new Entry(rng.nextInt(30), rng.nextLong(1000), i));
    }
    float[] k0 = null;
    long[] i0 = null;
    for (int shuffle = 0; shuffle < 5; shuffle++) {
      Collections.shuffle(entries, new Random(seed + shuffle));
      TopKHeap heap = new TopKHeap(25);
      for (Entry e : entries) {
        heap.offer(e.key, e.id);
      }
      float[] keys = new float[25];
      long[] ids = new long[25];
      heap.drainSorted(keys, ids, null, 0, Float.POSITIVE_INFINITY);
      if (k0 == null) {
        k0 = keys;
        i0 = ids;
      } else {
        assertArrayEquals(k0, keys, "seed " + seed + ", shuffle " + shuffle);
        assertArrayEquals(i0, ids, "seed " + seed + ", shuffle " + shuffle);
      }
    }
  }

  @Test
  void fewerThanKArePaddedWithMinusOne() {
    TopKHeap heap = new TopKHeap(5);
    heap.offer(3f, 30);
    heap.offer(1f, 10);
    float[] keys = new float[5];
    long[] ids = new long[5];
    heap.drainSorted(keys, ids, null, 0, Float.NEGATIVE_INFINITY);
    assertArrayEquals(new long[] {10, 30, -1, -1, -1}, ids);
    assertArrayEquals(new float[] {1f, 3f, Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}, keys);

    // an empty heap pads everything
    heap.drainSorted(keys, ids, null, 0, Float.POSITIVE_INFINITY);
    assertArrayEquals(new long[] {-1, -1, -1, -1, -1}, ids);
  }

  @Test
  void resetMakesItReusable() {
    TopKHeap heap = new TopKHeap(2);
    heap.offer(1f, 1);
    heap.offer(2f, 2);
    assertFalse(heap.offer(3f, 3), "a worse entry is refused by a full heap");
    assertFalse(heap.offer(2f, 5), "an equal key with a larger id is refused");
    assertTrue(heap.offer(2f, 0), "an equal key with a smaller id is kept");
    heap.reset();
    assertEquals(0, heap.size());
    assertEquals(Float.POSITIVE_INFINITY, heap.threshold());
    heap.offer(9f, 9);
    float[] keys = new float[2];
    long[] ids = new long[2];
    heap.drainSorted(keys, ids, null, 0, Float.POSITIVE_INFINITY);
    assertArrayEquals(new long[] {9, -1}, ids);
    assertEquals(2, heap.capacity());
  }

  @Test
  void kBelowOneIsRejected() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new TopKHeap(0));
    assertTrue(e.getMessage().contains("k must be >= 1"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new TopKHeap(-3));
  }

  @Test
  void rangeCollectorSortsByKeyThenId() {
    long seed = 77_004L;
    SplittableRandom rng = new SplittableRandom(seed);
    RangeCollector c = new RangeCollector();
    List<Entry> entries = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      Entry e = new Entry(rng.nextInt(10), rng.nextLong(50), 0);
      entries.add(e);
      c.add(e.key, e.id);
    }
    c.sort();
    entries.sort(ORDER);
    assertEquals(100, c.size());
    for (int i = 0; i < 100; i++) {
      assertEquals(entries.get(i).key, c.key(i), "seed " + seed + ", position " + i);
      assertEquals(entries.get(i).id, c.id(i), "seed " + seed + ", position " + i);
    }
  }

  @Test
  void selectorKeepsOnlySelectedIds() {
    long seed = 77_005L;
    SplittableRandom rng = new SplittableRandom(seed);
    for (int round = 0; round < 300; round++) {
      int k = 1 + rng.nextInt(40);
      int n = rng.nextInt(300);
      int modulus = 2 + rng.nextInt(9);
      List<Entry> entries = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        float key = rng.nextBoolean() ? rng.nextInt(15) : (float) rng.nextGaussian();
        entries.add(new Entry(key, rng.nextLong(10_000) - 5_000, i));
      }
      check("seed " + seed + ", round " + round + ", k " + k + ", n " + n + ", ids % " + modulus + " == 1",
          entries, k, id -> Math.floorMod(id, modulus) == 1);
    }
  }

  @Test
  void selectorIsAskedOnlyAboutEntriesThatWouldEnter() {
    AtomicInteger asked = new AtomicInteger();
    TopKHeap heap = new TopKHeap(5, id -> {
      asked.incrementAndGet();
      return true;
    });
    for (int i = 0; i < 1000; i++) {
      heap.offer(i, i); // increasing keys: only the first 5 (keys 0..4) ever enter
    }
    assertEquals(5, asked.get(), "the selector must not be asked about entries the full heap refuses");
    assertFalse(heap.offer(4f, 100), "an equal key with a larger id is refused before the selector");
    assertEquals(5, asked.get());
    assertTrue(heap.offer(-1f, 7));
    assertEquals(6, asked.get());
  }

  @Test
  void rejectedIdsLeaveTheHeapAsItWas() {
    TopKHeap heap = new TopKHeap(2, id -> id != 4);
    assertTrue(heap.offer(5f, 1));
    assertFalse(heap.offer(0f, 4), "an unselected id is refused even while the heap has room");
    assertFalse(heap.accepts(0f, 4));
    assertEquals(1, heap.size());
    assertTrue(heap.offer(3f, 2));
    assertFalse(heap.offer(-9f, 4), "an unselected id is refused by a full heap too");
    assertEquals(5f, heap.threshold());
    float[] keys = new float[2];
    long[] ids = new long[2];
    heap.drainSorted(keys, ids, null, 0, Float.POSITIVE_INFINITY);
    assertArrayEquals(new long[] {2, 1}, ids);
  }

  @Test
  void rangeCollectorDropsUnselectedIds() {
    long seed = 77_006L;
    SplittableRandom rng = new SplittableRandom(seed);
    RangeCollector c = new RangeCollector(id -> id % 3 == 0);
    List<Entry> kept = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      Entry e = new Entry(rng.nextInt(10), rng.nextLong(90), 0);
      c.add(e.key, e.id);
      if (e.id % 3 == 0) {
        kept.add(e);
      }
    }
    c.sort();
    kept.sort(ORDER);
    assertEquals(kept.size(), c.size(), "seed " + seed);
    for (int i = 0; i < kept.size(); i++) {
      assertEquals(kept.get(i).key, c.key(i), "seed " + seed + ", position " + i);
      assertEquals(kept.get(i).id, c.id(i), "seed " + seed + ", position " + i);
    }
  }
}
