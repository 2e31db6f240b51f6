package io.quiver.index.util;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.RecursiveAction;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntConsumer;

/**
 * Runs independent tasks {@code 0 .. n-1} on up to {@code threads} threads of one shared pool
 * (sized to the machine's cores, daemon threads); the calling thread waits for them. Calls made
 * from inside a pool task run serially, so nesting never deadlocks. When a task throws, the
 * workers stop taking new tasks, every worker finishes, and then the first exception is rethrown
 * to the caller, so no task is still running when {@link #forEach} returns or throws.
 */
public final class Parallel {

  private static final AtomicInteger THREAD_NUMBER = new AtomicInteger();

  private static final ForkJoinPool POOL = new ForkJoinPool(
      Math.max(1, Runtime.getRuntime().availableProcessors()),
      pool -> {
        ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
        t.setName("quiver-worker-" + THREAD_NUMBER.getAndIncrement());
        t.setDaemon(true);
        return t;
      },
      null, false);

  private static volatile int defaultThreads = 0;

  private Parallel() {}

  /** The number of threads used when a caller asks for 0: all cores unless set. */
  public static int defaultThreads() {
    int t = defaultThreads;
    return t > 0 ? t : Math.max(1, Runtime.getRuntime().availableProcessors());
  }

  /**
   * Sets the process-wide thread count used where a caller asks for 0 threads (like
   * {@code omp_set_num_threads} in FAISS); 0 restores "all cores".
   */
  public static void setDefaultThreads(int threads) {
    if (threads < 0) {
      throw new IllegalArgumentException("threads must be >= 0 (0 = all cores), was " + threads);
    }
    defaultThreads = threads;
  }

  /** Resolves a requested thread count: 0 or less means the default. */
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
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<ForkJoinTask<?>> tasks = new ArrayList<>(workers);
    for (int w = 0; w < workers; w++) {
      tasks.add(new RecursiveAction() {
        @Override
        protected void compute() {
          try {
            for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
              body.accept(i);
            }
          } catch (Throwable t) {
            failure.compareAndSet(null, t);
            next.set(n); // the other workers stop after their current task
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
    Throwable t = failure.get();
    if (t instanceof RuntimeException) {
      throw (RuntimeException) t;
    }
    if (t instanceof Error) {
      throw (Error) t;
    }
    if (t != null) {
      throw new IllegalStateException(t);
    }
  }
}
