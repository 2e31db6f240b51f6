package io.quiver.index;

import java.util.Arrays;

/**
 * Chooses ids: which to remove ({@link VectorIndex#removeIds}) or which a search may return
 * ({@link SearchParams#withSelector}, {@link SearchParams#withQuerySelectors}; FAISS's
 * {@code IDSelector}). A search calls {@link #isMember} from its worker threads, once for each
 * scanned entry that is close enough to be a result, so implementations must be thread-safe and
 * should be cheap (a range test, a bitmap or hash lookup).
 */
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
