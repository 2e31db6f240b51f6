package io.quiver.index;

/**
 * Per-call search parameters, immutable. Values left at 0 mean "the index's own setting":
 * {@code nprobe} defaults to the index's {@code nprobe} (1 unless set, as in FAISS),
 * {@code kFactor} to the refine index's own (1 unless set, as in FAISS) and {@code threads} to
 * all cores.
 *
 * <pre>{@code index.search(queries, 10, SearchParams.defaults().withNprobe(8).withThreads(1));}</pre>
 */
public final class SearchParams {

  private static final SearchParams DEFAULTS = new SearchParams(0, 0, 0);

  private final int nprobe;
  private final int threads;
  private final float kFactor;

  private SearchParams(int nprobe, int threads, float kFactor) {
    this.nprobe = nprobe;
    this.threads = threads;
    this.kFactor = kFactor;
  }

  /** nprobe and threads from the index. */
  public static SearchParams defaults() {
    return DEFAULTS;
  }

  /** Inverted lists to visit per query (IVF indexes); must be >= 1. Values above nlist visit all lists. */
  public SearchParams withNprobe(int nprobe) {
    if (nprobe < 1) {
      throw new IllegalArgumentException("nprobe must be >= 1, was " + nprobe);
    }
    return new SearchParams(nprobe, threads, kFactor);
  }

  /**
   * For refined indexes ({@code ,RFlat}): candidates taken from the codes per wanted result,
   * re-ranked exactly (FAISS's {@code k_factor}); must be >= 1.
   */
  public SearchParams withKFactor(float kFactor) {
    if (!(kFactor >= 1f) || Float.isInfinite(kFactor)) {
      throw new IllegalArgumentException("kFactor must be a finite number >= 1, was " + kFactor);
    }
    return new SearchParams(nprobe, threads, kFactor);
  }

  /** Threads to search with; 0 means all cores. */
  public SearchParams withThreads(int threads) {
    if (threads < 0) {
      throw new IllegalArgumentException("threads must be >= 0 (0 = all cores), was " + threads);
    }
    return new SearchParams(nprobe, threads, kFactor);
  }

  /** The nprobe asked for, or 0 for the index's own. */
  public int nprobe() {
    return nprobe;
  }

  /** The threads asked for, or 0 for all cores. */
  public int threads() {
    return threads;
  }

  /** The kFactor asked for, or 0 for the index's own. */
  public float kFactor() {
    return kFactor;
  }

  @Override
  public String toString() {
    return "SearchParams{nprobe=" + (nprobe == 0 ? "index default" : nprobe)
        + ", threads=" + (threads == 0 ? "all" : threads)
        + ", kFactor=" + (kFactor == 0 ? "index default" : kFactor) + "}";
  }
}
