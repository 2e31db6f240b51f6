package io.quiver.index.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/** {@link Parallel#forEach}: every index once, nesting, and exceptions. */
class ParallelTest {

  @Test
  void everyIndexRunsExactlyOnce() {
    for (int threads : new int[] {0, 1, 2, 3, 8}) {
      for (int n : new int[] {0, 1, 2, 7, 1000}) {
        AtomicIntegerArray hits = new AtomicIntegerArray(n);
        Parallel.forEach(threads, n, hits::incrementAndGet);
        for (int i = 0; i < n; i++) {
          assertEquals(1, hits.get(i), "threads " + threads + ", n " + n + ": index " + i);
        }
      }
    }
  }

  @Test
  void nestedCallsDoNotDeadlock() {
    AtomicIntegerArray hits = new AtomicIntegerArray(64);
    Parallel.forEach(4, 8, i -> Parallel.forEach(4, 8, j -> hits.incrementAndGet(i * 8 + j)));
    for (int i = 0; i < 64; i++) {
      assertEquals(1, hits.get(i), "index " + i);
    }
  }

  @Test
  void anExceptionReachesTheCaller() {
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> Parallel.forEach(2, 100, i -> {
      if (i == 37) {
        throw new IllegalStateException("task 37 failed");
      }
    }));
    assertTrue(e.getMessage().contains("task 37 failed") || (e.getCause() != null && e.getCause().getMessage().contains("task 37")),
        String.valueOf(e));
  }

  /** Worker threads are named quiver-worker-N with distinct N, so that thread dumps tell them apart. */
  @Test
  void workerThreadsHaveDistinctNames() {
    assumeTrue(Parallel.defaultThreads() >= 2, "one core: the pool has a single worker");
    String[] names = new String[2];
    long[] ids = new long[2];
    CountDownLatch bothRunning = new CountDownLatch(2);
    Parallel.forEach(2, 2, i -> {
      names[i] = Thread.currentThread().getName();
      ids[i] = Thread.currentThread().getId();
      bothRunning.countDown();
      try {
        bothRunning.await(2, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    assumeTrue(ids[0] != ids[1], "both tasks ran on one worker; nothing to compare");
    assertTrue(names[0].startsWith("quiver-worker-"), names[0]);
    assertNotEquals(names[0], names[1], "two pool threads (ids " + ids[0] + ", " + ids[1] + ") share the name " + names[0]);
  }

  /**
   * The class promises that the first exception is rethrown "after all workers stop": callers
   * such as searches hold a read lock around forEach, so a worker still running after the call
   * returned reads index storage without the lock. One worker fails as soon as another is busy
   * with a slow index; the call must not return before that slow index is done. The race is
   * timing dependent, so the scenario is repeated.
   */
  @Test
  void exceptionIsRethrownOnlyAfterAllWorkersStop() throws InterruptedException {
    for (int rep = 0; rep < 30; rep++) {
      CountDownLatch slowStarted = new CountDownLatch(1);
      AtomicBoolean slowDone = new AtomicBoolean();
      try {
        Parallel.forEach(2, 2, i -> {
          try {
            if (i == 0) {
              slowStarted.await(2, TimeUnit.SECONDS);
              throw new IllegalStateException("fails while another worker is busy");
            }
            slowStarted.countDown();
            Thread.sleep(30);
            slowDone.set(true);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
        fail("the exception was not rethrown");
      } catch (IllegalStateException expected) {
        if (!slowDone.get()) {
          fail("repetition " + rep + ": forEach rethrew while another worker was still running its task");
        }
      }
    }
  }
}
