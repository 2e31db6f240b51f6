package io.quiver.index.util;

import java.util.concurrent.locks.ReentrantReadWriteLock;

/** Lock helpers shared by the indexes. */
public final class Locks {
  private Locks() {}

  /**
   * Runs {@code action} holding the write locks of two indexes, taken in a fixed order (by
   * identity hash) so that two opposite merges cannot deadlock.
   */
  public static void withBothWriteLocks(Object ownerA, ReentrantReadWriteLock a, Object ownerB, ReentrantReadWriteLock b,
                                        Runnable action) {
    boolean aFirst = System.identityHashCode(ownerA) <= System.identityHashCode(ownerB);
    ReentrantReadWriteLock first = aFirst ? a : b;
    ReentrantReadWriteLock second = aFirst ? b : a;
    first.writeLock().lock();
    second.writeLock().lock();
    try {
      action.run();
    } finally {
      second.writeLock().unlock();
      first.writeLock().unlock();
    }
  }
}
