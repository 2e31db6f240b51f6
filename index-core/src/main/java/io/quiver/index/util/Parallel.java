package io.quiver.index.util;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.RecursiveAction;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * Runs independent tasks {@code 0 .. n-1} on up to {@code threads} threads of one shared pool
 * (sized to the machine's cores, daemon threads); the calling thread waits for them. Calls made
 * from inside a pool task run serially, so nesting never deadlocks. The first exception thrown
 * by a task is rethrown to the caller after all workers stop.
 */
public final class Parallel {

  private static final ForkJoinPool POOL = new ForkJoinPool(
      Math.max(1, Runtime.getRuntime().availableProcessors()),
      pool -> {
        ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
        t.setName("quiver-worker-" + t.getPoolIndex());
        t.setDaemon(true);
        return t;
      },
      null, false);

  private Parallel() {}

  /** The number of threads used when a caller asks for 0 ("all cores"). */
  public static int defaultThreads() {
    return Math.max(1, Runtime.getRuntime().availableProcessors());
  }

  /** Resolves a requested thread count: 0 or less means all cores. */
  public static int resolveThreads(int requested) {
    return requested <= 0 ? defaultThreads() : requested;
  }

  /** Runs {@code body.accept(i)} for every {@code i} in {@code [0, n)} on up to {@code threads} threads. */
  public static void forEach(int threads, int n, IntConsumer body) {
    int workers = Math.min(resolveThreads(threads), n);
    if (workers <= 1 || Thread.currentThread() instanceof ForkJoinWorkerThread) {
      for (int i = 0; i < n; i++) {
        body.accept(i);
      }
      return;
    }
    AtomicInteger next = new AtomicInteger();
    List<ForkJoinTask<?>> tasks = new ArrayList<>(workers);
    for (int w = 0; w < workers; w++) {
      tasks.add(new RecursiveAction() {
        @Override
        protected void compute() {
          for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
            body.accept(i);
          }
        }
      });
    }
    POOL.invoke(new RecursiveAction() {
      @Override
      protected void compute() {
        invokeAll(tasks);
      }
    });
  }
}
