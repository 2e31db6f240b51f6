package io.quiver.index;

import java.util.Arrays;

/** Chooses ids, for {@link VectorIndex#removeIds}. Implementations must be thread-safe. */
@FunctionalInterface
public interface IdSelector {

  /** True when {@code id} is selected. */
  boolean isMember(long id);

  /** Selects exactly the given ids. */
  static IdSelector batch(long... ids) {
    long[] sorted = ids.clone();
    Arrays.sort(sorted);
    return id -> Arrays.binarySearch(sorted, id) >= 0;
  }

  /** Selects ids in {@code [minInclusive, maxExclusive)}. */
  static IdSelector range(long minInclusive, long maxExclusive) {
    return id -> id >= minInclusive && id < maxExclusive;
  }
}
