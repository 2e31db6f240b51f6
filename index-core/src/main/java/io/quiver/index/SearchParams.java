package io.quiver.index;

import io.quiver.index.util.Checks;
import java.util.function.IntFunction;

/**
 * Per-call search parameters, immutable. Values left at 0 mean "the index's own setting":
 * {@code nprobe} defaults to the index's {@code nprobe} (1 unless set, as in FAISS),
 * {@code efSearch} to the HNSW index's or coarse quantizer's (16 unless set, as in FAISS),
 * {@code kFactor} to the refine index's own (1 unless set, as in FAISS) and {@code threads} to
 * all cores.
 *
 * <p>Id selectors (FAISS's {@code SearchParameters.sel}) restrict a search to some ids:
 * {@link #withSelector} for every query of the call, {@link #withQuerySelectors} for each query
 * on its own; {@link #selector(int)} says which one a query uses. They apply to {@code search} and
 * {@code rangeSearch} of every index and to {@code searchPreassigned} and
 * {@code rangeSearchPreassigned} of the inverted-file indexes, and are evaluated while the
 * lists or codes are scanned, not by filtering a finished top-k: a search returns {@code k}
 * results whenever at least {@code k} selected vectors lie in what it scans (the probed lists of
 * an IVF index, the whole of a Flat, PQ or SQ index).
 *
 * <pre>{@code index.search(queries, 10, SearchParams.defaults().withNprobe(8).withThreads(1));
 * index.search(queries, 10, SearchParams.defaults().withSelector(IdSelector.range(0, 1000)));}</pre>
 */
public final class SearchParams {

  private static final SearchParams DEFAULTS = new SearchParams(0, 0, 0, 0, null, null);

  private final int nprobe;
  private final int efSearch;
  private final int threads;
  private final float kFactor;
  private final IdSelector selector;
  private final IntFunction<IdSelector> querySelectors;

  private SearchParams(int nprobe, int efSearch, int threads, float kFactor, IdSelector selector,
                       IntFunction<IdSelector> querySelectors) {
    this.nprobe = nprobe;
    this.efSearch = efSearch;
    this.threads = threads;
    this.kFactor = kFactor;
    this.selector = selector;
    this.querySelectors = querySelectors;
  }

  /** nprobe and threads from the index, no selector. */
  public static SearchParams defaults() {
    return DEFAULTS;
  }

  /** Inverted lists to visit per query (IVF indexes); must be >= 1. Values above nlist visit all lists. */
  public SearchParams withNprobe(int nprobe) {
    if (nprobe < 1) {
      throw new IllegalArgumentException("nprobe must be >= 1, was " + nprobe);
    }
    return new SearchParams(nprobe, efSearch, threads, kFactor, selector, querySelectors);
  }

  /**
   * Candidates an HNSW graph search keeps (FAISS's {@code efSearch}; HNSW indexes, and the HNSW
   * coarse quantizer of {@code IVF<nlist>_HNSW<M>} indexes); must be >= 1. A search keeps at
   * least k (or nprobe, when probing) candidates whatever this says.
   */
  public SearchParams withEfSearch(int efSearch) {
    if (efSearch < 1) {
      throw new IllegalArgumentException("efSearch must be >= 1, was " + efSearch);
    }
    return new SearchParams(nprobe, efSearch, threads, kFactor, selector, querySelectors);
  }

  /**
   * For refined indexes ({@code ,RFlat}): candidates taken from the codes per wanted result,
   * re-ranked exactly (FAISS's {@code k_factor}); must be >= 1.
   */
  public SearchParams withKFactor(float kFactor) {
    Checks.kFactor(kFactor);
    return new SearchParams(nprobe, efSearch, threads, kFactor, selector, querySelectors);
  }

  /** Threads to search with; 0 means all cores. */
  public SearchParams withThreads(int threads) {
    if (threads < 0) {
      throw new IllegalArgumentException("threads must be >= 0 (0 = all cores), was " + threads);
    }
    return new SearchParams(nprobe, efSearch, threads, kFactor, selector, querySelectors);
  }

  /**
   * Every query sees only the ids for which {@code selector.isMember(id)} is true; null removes
   * the selector. The selector is called from the search threads, so it must be thread-safe.
   */
  public SearchParams withSelector(IdSelector selector) {
    return new SearchParams(nprobe, efSearch, threads, kFactor, selector, querySelectors);
  }

  /**
   * A selector per query: {@code perQuery.apply(i)} is the selector of query {@code i} of the
   * call (the 0-based row of the queries array), or null for all ids; a null function removes
   * the per-query selectors. Combined with {@link #withSelector}, an id must pass both. The
   * function is called once per query, on the calling thread, before the scan starts; the
   * selectors it returns are called from the search threads.
   */
  public SearchParams withQuerySelectors(IntFunction<IdSelector> perQuery) {
    return new SearchParams(nprobe, efSearch, threads, kFactor, selector, perQuery);
  }

  /** The nprobe asked for, or 0 for the index's own. */
  public int nprobe() {
    return nprobe;
  }

  /** The efSearch asked for, or 0 for the index's own. */
  public int efSearch() {
    return efSearch;
  }

  /** The threads asked for, or 0 for all cores. */
  public int threads() {
    return threads;
  }

  /** The kFactor asked for, or 0 for the index's own. */
  public float kFactor() {
    return kFactor;
  }

  /**
   * The selector that query {@code query} uses: its per-query selector when one is set (the
   * function may return null), else the global one, else null (every id). When both a
   * per-query and a global selector apply, the result selects the ids that pass both.
   */
  public IdSelector selector(int query) {
    IdSelector own = querySelectors == null ? null : querySelectors.apply(query);
    if (own == null) {
      return selector;
    }
    if (selector == null) {
      return own;
    }
    IdSelector global = selector;
    return id -> global.isMember(id) && own.isMember(id);
  }

  /** True when a selector of either kind is set. */
  boolean hasSelectors() {
    return selector != null || querySelectors != null;
  }

  /**
   * The selector of each of {@code nq} queries, resolved once on the calling thread, or null
   * when no query has one (the search then runs without any selector check).
   */
  IdSelector[] selectors(int nq) {
    if (!hasSelectors()) {
      return null;
    }
    IdSelector[] out = new IdSelector[nq];
    boolean any = false;
    for (int i = 0; i < nq; i++) {
      out[i] = selector(i);
      any |= out[i] != null;
    }
    return any ? out : null;
  }

  @Override
  public String toString() {
    return "SearchParams{nprobe=" + (nprobe == 0 ? "index default" : nprobe)
        + ", efSearch=" + (efSearch == 0 ? "index default" : efSearch)
        + ", threads=" + (threads == 0 ? "all" : threads)
        + ", kFactor=" + (kFactor == 0 ? "index default" : kFactor)
        + ", selector=" + (selector == null ? "none" : "set")
        + ", querySelectors=" + (querySelectors == null ? "none" : "set") + "}";
  }
}
