package io.quiver.index.util;

/**
 * An open-addressing hash map from long keys to long values, with no boxing: the direct map
 * behind {@code reconstruct} (id to storage position). Not thread-safe for writes; safe for
 * concurrent reads once built.
 */
public final class LongLongMap {
  private long[] keys;
  private long[] values;
  private boolean[] used;
  private int size;
  private int mask;

  /** A map sized for about {@code expected} entries. */
  public LongLongMap(int expected) {
    int cap = Integer.highestOneBit(Math.max(4, (int) Math.min(1 << 30, (long) expected * 2)) - 1) << 1;
    keys = new long[cap];
    values = new long[cap];
    used = new boolean[cap];
    mask = cap - 1;
  }

  public int size() {
    return size;
  }

  private static int hash(long key) {
    long h = key * 0x9E3779B97F4A7C15L;
    return (int) (h ^ (h >>> 32));
  }

  /** Stores the value and returns true, or returns false and keeps the old value if the key exists. */
  public boolean putIfAbsent(long key, long value) {
    if ((size + 1) * 2 > keys.length) {
      grow();
    }
    int i = hash(key) & mask;
    while (used[i]) {
      if (keys[i] == key) {
        return false;
      }
      i = (i + 1) & mask;
    }
    used[i] = true;
    keys[i] = key;
    values[i] = value;
    size++;
    return true;
  }

  /** The value of the key, or {@code missing} when absent. */
  public long get(long key, long missing) {
    int i = hash(key) & mask;
    while (used[i]) {
      if (keys[i] == key) {
        return values[i];
      }
      i = (i + 1) & mask;
    }
    return missing;
  }

  private void grow() {
    long[] oldKeys = keys;
    long[] oldValues = values;
    boolean[] oldUsed = used;
    int cap = oldKeys.length * 2;
    keys = new long[cap];
    values = new long[cap];
    used = new boolean[cap];
    mask = cap - 1;
    size = 0;
    for (int i = 0; i < oldKeys.length; i++) {
      if (oldUsed[i]) {
        putIfAbsent(oldKeys[i], oldValues[i]);
      }
    }
  }
}
