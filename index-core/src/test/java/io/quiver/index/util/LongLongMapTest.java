package io.quiver.index.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** {@link LongLongMap} against {@link HashMap}, with growth from a tiny initial size. */
class LongLongMapTest {

  @Test
  void matchesHashMap() {
    long seed = 5001L;
    SplittableRandom rng = new SplittableRandom(seed);
    for (int expected : new int[] {0, 1, 10, 5000}) {
      LongLongMap map = new LongLongMap(expected);
      Map<Long, Long> ref = new HashMap<>();
      for (int i = 0; i < 20_000; i++) {
        // a mix of small, negative, huge and clustered keys
        long key = switch (i % 4) {
          case 0 -> rng.nextLong();
          case 1 -> rng.nextInt(1000) - 500;
          case 2 -> ((long) rng.nextInt(1 << 10)) << 32;
          default -> Long.MIN_VALUE + rng.nextInt(100);
        };
        long value = rng.nextLong();
        boolean added = map.putIfAbsent(key, value);
        assertEquals(!ref.containsKey(key), added, "seed " + seed + ", expected " + expected + ", put " + i + " key " + key);
        ref.putIfAbsent(key, value);
      }
      assertEquals(ref.size(), map.size(), "seed " + seed + ": size");
      for (Map.Entry<Long, Long> e : ref.entrySet()) {
        assertEquals((long) e.getValue(), map.get(e.getKey(), -1), "seed " + seed + ": get " + e.getKey());
      }
      for (int i = 0; i < 1000; i++) {
        long key = rng.nextLong();
        if (!ref.containsKey(key)) {
          assertEquals(-7L, map.get(key, -7L), "seed " + seed + ": absent key " + key);
        }
      }
    }
  }

  @Test
  void keepsTheFirstValue() {
    LongLongMap map = new LongLongMap(2);
    assertTrue(map.putIfAbsent(0L, 5L));
    assertFalse(map.putIfAbsent(0L, 6L));
    assertEquals(5L, map.get(0L, -1L));
    assertEquals(-1L, map.get(1L, -1L));
    assertEquals(1, map.size());
  }
}
