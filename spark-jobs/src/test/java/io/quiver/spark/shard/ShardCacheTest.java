package io.quiver.spark.shard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.quiver.index.FlatIndex;
import io.quiver.index.Metric;
import io.quiver.index.VectorIndex;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The per-executor shard cache: bounded in bytes, least recently used out first. */
class ShardCacheTest {

  /** A Flat index of n vectors of d=4: n * (16 + 8) bytes in the cache's accounting. */
  private static FlatIndex flat(int n) {
    FlatIndex f = new FlatIndex(4, Metric.L2);
    f.add(new float[n * 4]);
    return f;
  }

  @Test
  void evictsTheLeastRecentlyUsedBeyondTheBound() throws Exception {
    ShardStore.ShardCache cache = new ShardStore.ShardCache();
    List<String> loads = new ArrayList<>();
    long limit = 250 * 24; // room for 250 vectors
    VectorIndex a = cache.get("a", limit, () -> { loads.add("a"); return flat(100); });
    cache.get("b", limit, () -> { loads.add("b"); return flat(100); });
    assertSame(a, cache.get("a", limit, () -> { loads.add("a again"); return flat(100); }), "a is cached");
    cache.get("c", limit, () -> { loads.add("c"); return flat(100); }); // evicts b, used least recently
    cache.get("a", limit, () -> { loads.add("a again"); return flat(100); });
    cache.get("b", limit, () -> { loads.add("b again"); return flat(100); });
    assertEquals(List.of("a", "b", "c", "b again"), loads);
    // a shard larger than the bound is still served (and alone in the cache)
    cache.get("big", limit, () -> { loads.add("big"); return flat(1000); });
    cache.get("a", limit, () -> { loads.add("a after big"); return flat(100); });
    assertEquals(List.of("a", "b", "c", "b again", "big", "a after big"), loads);
    ShardStore.CacheStats stats = cache.stats();
    assertEquals(6, stats.loads());
    assertEquals(2, stats.hits());
    // out went b (for c), c (for b again), a and b (for big), and big (for a)
    assertEquals(5, stats.evictions(), stats.toString());
    assertEquals(1, stats.entries());
    assertEquals(100 * 24, stats.bytes());
    assertEquals(ShardStore.DEFAULT_CACHE_BYTES, ShardStore.cacheLimit(0));
    assertEquals(123, ShardStore.cacheLimit(123));
  }
}
