package io.quiver.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.vector.VectorUtil;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Filtered search ({@link SearchParams#withSelector}, {@link SearchParams#withQuerySelectors}) on
 * every index type.
 *
 * <p>The oracle is the same index restricted to the selected entries: built from the index's own
 * storage (its rows, or its codes with the same trained quantizers, in the same lists), and
 * searched without a selector. It is brute force over the selected subset with the index's own
 * distances, and for IVF it probes the same lists. The data puts every selected vector 12 units
 * away from its cluster centre and the others within noise of it, so near a centre the
 * unfiltered top-k holds no selected vector at all: a post-filtered top-k would come back empty,
 * a selector evaluated during the scan returns k results.
 */
class FilteredSearchTest {

  private static final long SEED = 8101;
  private static final int D = 16;
  private static final int N = 4000;
  /** Coprime with 10, so every cluster holds about N / 330 = 12 vectors whose id ends in 3. */
  private static final int NCLUSTERS = 33;
  private static final int NQ = 40;
  private static final int K = 10;
  private static final int NPROBE = 2;
  /** Exhaustive for the IVF32 indexes of this test. */
  private static final int ALL_LISTS = 32;
  private static final IdSelector ENDS_IN_3 = id -> id % 10 == 3;

  private static final Data DATA = data(SEED);
  private static final Map<String, VectorIndex> BUILT = new ConcurrentHashMap<>();

  /** Row i's id: not its row number, so the kernels' row-to-id mapping is exercised. */
  static long idOf(int row) {
    return 7L * row + 1;
  }

  record Data(float[] base, long[] ids, float[] queries) {}

  /**
   * {@link #NCLUSTERS} blobs with centres 10 x standard normal. Vectors whose id ends in 3 sit 12
   * units from their centre in a random direction, the others at their centre plus 0.3 x
   * standard normal noise; queries are centres (query i: cluster i) plus the same noise.
   */
  static Data data(long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    double[] centres = new double[NCLUSTERS * D];
    for (int i = 0; i < centres.length; i++) {
      centres[i] = 10 * TestData.nextGaussian(rng);
    }
    float[] base = new float[N * D];
    long[] ids = new long[N];
    double[] dir = new double[D];
    for (int i = 0; i < N; i++) {
      int c = i % NCLUSTERS;
      ids[i] = idOf(i);
      double norm = 0;
      for (int j = 0; j < D; j++) {
        dir[j] = TestData.nextGaussian(rng);
        norm += dir[j] * dir[j];
      }
      double offset = ENDS_IN_3.isMember(ids[i]) ? 12 / Math.sqrt(norm) : 0;
      for (int j = 0; j < D; j++) {
        base[i * D + j] = (float) (centres[c * D + j] + offset * dir[j] + 0.3 * TestData.nextGaussian(rng));
      }
    }
    float[] queries = new float[NQ * D];
    for (int i = 0; i < NQ; i++) {
      int c = i % NCLUSTERS;
      for (int j = 0; j < D; j++) {
        queries[i * D + j] = (float) (centres[c * D + j] + 0.3 * TestData.nextGaussian(rng));
      }
    }
    return new Data(base, ids, queries);
  }

  private static VectorIndex index(String factory, Metric metric) {
    return BUILT.computeIfAbsent(factory + " " + metric, key -> {
      VectorIndex index = IndexFactory.create(D, factory, metric);
      index.train(DATA.base);
      index.addWithIds(DATA.base, DATA.ids);
      return index;
    });
  }

  // ---- the oracle --------------------------------------------------------------------------

  /** The entries of {@code index} whose ids {@code sel} chooses, in an index of the same kind and training. */
  static VectorIndex restrictedTo(VectorIndex index, IdSelector sel) {
    if (index instanceof FlatIndex f) {
      long[] ids = f.ids();
      float[] rows = f.copyRows(0, ids.length);
      int d = f.d();
      int n = 0;
      for (int i = 0; i < ids.length; i++) {
        if (sel.isMember(ids[i])) {
          ids[n] = ids[i];
          System.arraycopy(rows, i * d, rows, n * d, d);
          n++;
        }
      }
      return FlatIndex.fromStorage(d, f.metric(), Arrays.copyOf(rows, n * d), Arrays.copyOf(ids, n));
    }
    if (index instanceof PqIndex p) {
      long[] ids = p.ids();
      byte[] codes = p.codes();
      int n = keep(ids, codes, p.codeSize(), sel);
      return PqIndex.fromStorage(p.d(), p.metric(), p.pq(), Arrays.copyOf(ids, n), Arrays.copyOf(codes, n * p.codeSize()));
    }
    if (index instanceof SqIndex s) {
      long[] ids = s.ids();
      byte[] codes = s.codes();
      int cs = s.sq().codeSize();
      int n = keep(ids, codes, cs, sel);
      return SqIndex.fromStorage(s.d(), s.metric(), s.sq(), Arrays.copyOf(ids, n), Arrays.copyOf(codes, n * cs));
    }
    if (index instanceof InvertedFileIndex ivf) {
      InvertedFileIndex copy = ivf.emptyCopy();
      int cs = ivf.codeSize();
      for (int l = 0; l < ivf.nlist(); l++) {
        long[] ids = ivf.listIds(l);
        byte[] codes = ivf.listCodes(l);
        int n = keep(ids, codes, cs, sel);
        copy.addPreassigned(l, ids, 0, codes, 0, n);
      }
      return copy;
    }
    if (index instanceof L2NormIndex n) {
      return new L2NormIndex(restrictedTo(n.inner(), sel));
    }
    if (index instanceof RefineIndex r) {
      return RefineIndex.fromParts(restrictedTo(r.base(), sel), (FlatIndex) restrictedTo(r.refine(), sel), r.kFactor());
    }
    throw new AssertionError("no oracle for " + index.getClass());
  }

  /** Moves the selected (id, code) pairs to the front, in order; returns how many. */
  private static int keep(long[] ids, byte[] codes, int codeSize, IdSelector sel) {
    int n = 0;
    for (int i = 0; i < ids.length; i++) {
      if (sel.isMember(ids[i])) {
        ids[n] = ids[i];
        System.arraycopy(codes, i * codeSize, codes, n * codeSize, codeSize);
        n++;
      }
    }
    return n;
  }

  /** The inverted-file index inside {@code index} (under L2norm or RFlat), or null. */
  private static InvertedFileIndex ivfOf(VectorIndex index) {
    if (index instanceof InvertedFileIndex ivf) {
      return ivf;
    }
    if (index instanceof L2NormIndex n) {
      return ivfOf(n.inner());
    }
    if (index instanceof RefineIndex r) {
      return ivfOf(r.base());
    }
    return null;
  }

  private static float tolerance(float expected) {
    return (float) (TestData.REL_TOL * Math.max(1, Math.abs(expected)));
  }

  /**
   * Asserts {@code got} equals {@code expected}: ids equal except ties (the same distance within
   * tolerance), distances within 1e-5 relative, padding where the oracle pads.
   */
  static void assertSameResult(String ctx, SearchResult expected, SearchResult got) {
    assertEquals(expected.nq(), got.nq(), ctx + ": nq");
    assertEquals(expected.k(), got.k(), ctx + ": k");
    int ties = 0;
    for (int qi = 0; qi < expected.nq(); qi++) {
      for (int j = 0; j < expected.k(); j++) {
        String where = ctx + ", query " + qi + ", rank " + j;
        long e = expected.id(qi, j);
        float ed = expected.distance(qi, j);
        if (e < 0) {
          assertEquals(-1L, got.id(qi, j), where + ": the oracle has no result here");
          assertEquals(ed, got.distance(qi, j), where + ": padding");
          continue;
        }
        assertEquals(ed, got.distance(qi, j), tolerance(ed), where + ": distance");
        if (got.id(qi, j) != e) {
          ties++;
        }
      }
    }
    assertTrue(ties <= expected.nq() * expected.k() / 10 + 1, ctx + ": " + ties + " rank mismatches explained as ties is too many");
  }

  /** Asserts the same ids in each query's range result, distances within tolerance, except entries at the radius. */
  static void assertSameRange(String ctx, RangeSearchResult expected, RangeSearchResult got, float radius) {
    assertEquals(expected.nq(), got.nq(), ctx + ": nq");
    for (int qi = 0; qi < expected.nq(); qi++) {
      Map<Long, Float> e = rangeOf(expected, qi);
      Map<Long, Float> g = rangeOf(got, qi);
      for (Map.Entry<Long, Float> entry : g.entrySet()) {
        Float ed = e.get(entry.getKey());
        String where = ctx + ", query " + qi + ", id " + entry.getKey();
        if (ed == null) {
          assertEquals(radius, entry.getValue(), tolerance(radius), where + ": returned, not in the oracle, not at the radius");
        } else {
          assertEquals(ed, entry.getValue(), tolerance(ed), where + ": distance");
        }
      }
      for (Map.Entry<Long, Float> entry : e.entrySet()) {
        if (!g.containsKey(entry.getKey())) {
          assertEquals(radius, entry.getValue(), tolerance(radius),
              ctx + ", query " + qi + ", id " + entry.getKey() + ": in the oracle, not returned, not at the radius");
        }
      }
    }
  }

  private static Map<Long, Float> rangeOf(RangeSearchResult r, int qi) {
    Map<Long, Float> out = new HashMap<>();
    for (long i = r.lims()[qi]; i < r.lims()[qi + 1]; i++) {
      out.put(r.ids()[(int) i], r.distances()[(int) i]);
    }
    return out;
  }

  private static void assertOnlySelected(String ctx, SearchResult r, IntFunction<IdSelector> sel) {
    for (int qi = 0; qi < r.nq(); qi++) {
      for (int j = 0; j < r.k(); j++) {
        long id = r.id(qi, j);
        assertTrue(id == -1 || sel.apply(qi).isMember(id), ctx + ", query " + qi + ", rank " + j + ": id " + id + " is not selected");
      }
    }
  }

  private static int found(SearchResult r, int qi) {
    int n = 0;
    for (int j = 0; j < r.k(); j++) {
      n += r.id(qi, j) >= 0 ? 1 : 0;
    }
    return n;
  }

  /** A copy of {@code x} with every row L2-normalized, as the L2norm prefix does. */
  private static float[] normalized(float[] x, int d) {
    float[] out = x.clone();
    VectorUtil.normalizeL2(out, d);
    return out;
  }

  /** Queries rows {@code qi % 3 == rest}. */
  private static float[] queriesWithRest(float[] q, int rest) {
    int nq = q.length / D;
    float[] out = new float[((nq - rest + 2) / 3) * D];
    for (int qi = rest, o = 0; qi < nq; qi += 3, o++) {
      System.arraycopy(q, qi * D, out, o * D, D);
    }
    return out;
  }

  // ---- the tests ---------------------------------------------------------------------------

  @ParameterizedTest
  @CsvSource({"Flat, L2", "Flat, INNER_PRODUCT", "Flat, COSINE", "'IVF32,Flat', L2", "'IVF32,Flat', INNER_PRODUCT",
      "'IVF32,PQ8', L2", "'IVF32,PQ8', COSINE", "'IVF32,SQ8', L2", "'IVF32,SQ8', INNER_PRODUCT", "PQ8, L2",
      "PQ8, INNER_PRODUCT", "SQ8, L2", "SQ8, COSINE", "'IVF32,PQ8,RFlat', L2", "'L2norm,Flat', L2",
      "'L2norm,IVF32,Flat', L2"})
  void selectedIdsOnlyAndAsManyAsTheScannedListsHold(String factory, Metric metric) {
    VectorIndex index = index(factory, metric);
    VectorIndex oracle = restrictedTo(index, ENDS_IN_3);
    assertEquals(N / 10, oracle.ntotal(), "one id in 10 ends in 3");
    float[] q = DATA.queries;
    InvertedFileIndex ivf = ivfOf(index);
    for (int nprobe : ivf == null ? new int[] {ALL_LISTS} : new int[] {ALL_LISTS, NPROBE}) {
      String ctx = "seed " + SEED + ", " + factory + " " + metric + ", nprobe " + nprobe;
      SearchParams plain = SearchParams.defaults().withNprobe(nprobe).withKFactor(4).withThreads(2);
      SearchParams filtered = plain.withSelector(ENDS_IN_3);
      SearchResult got = index.search(q, K, filtered);
      assertOnlySelected(ctx, got, qi -> ENDS_IN_3);
      assertSameResult(ctx + " vs the selected subset", oracle.search(q, K, plain), got);

      // k results whenever k selected vectors lie in the scanned lists
      int[] selectedInScan = new int[NQ];
      if (ivf == null || nprobe == ALL_LISTS) {
        Arrays.fill(selectedInScan, N / 10);
      } else {
        float[] pq = index instanceof L2NormIndex ? normalized(q, D) : q;
        long[] lists = new long[NQ * nprobe];
        ivf.probe(pq, nprobe, 1, new float[NQ * nprobe], lists);
        for (int qi = 0; qi < NQ; qi++) {
          for (int p = 0; p < nprobe; p++) {
            for (long id : ivf.listIds((int) lists[qi * nprobe + p])) {
              selectedInScan[qi] += ENDS_IN_3.isMember(id) ? 1 : 0;
            }
          }
        }
      }
      int full = 0;
      for (int qi = 0; qi < NQ; qi++) {
        assertEquals(Math.min(K, selectedInScan[qi]), found(got, qi), ctx + ", query " + qi + ": results found");
        full += selectedInScan[qi] >= K ? 1 : 0;
      }
      assertTrue(full >= NQ / 2, ctx + ": only " + full + " queries have " + K + " selected vectors in their lists");

      // the case a post-filter fails: the unfiltered top-k holds no selected id (PQ's error on
      // the residuals of a list that spans two clusters lets a few selected vectors in)
      if (metric != Metric.INNER_PRODUCT) {
        SearchResult unfiltered = index.search(q, K, plain);
        int noneSelected = 0;
        for (int qi = 0; qi < NQ; qi++) {
          boolean none = true;
          for (int j = 0; j < K; j++) {
            none &= !ENDS_IN_3.isMember(unfiltered.id(qi, j));
          }
          noneSelected += none ? 1 : 0;
        }
        assertTrue(noneSelected >= NQ - NQ / 10, ctx + ": the unfiltered top-" + K + " of only " + noneSelected + " of "
            + NQ + " queries holds no selected id; the data should keep selected ids out of it");
      }

      if (ivf == index) {
        // searchPreassigned with the probes of probe() filters the same way
        long[] lists = new long[NQ * nprobe];
        float[] coarse = new float[NQ * nprobe];
        ivf.probe(q, nprobe, 1, coarse, lists);
        assertSameResult(ctx + ", searchPreassigned", got, ivf.searchPreassigned(q, K, nprobe, lists, coarse, filtered));
      }
    }
  }

  /** Exact indexes: Flat, IVF-Flat with every list probed, and RFlat re-ranking every selected vector. */
  @ParameterizedTest
  @CsvSource({"Flat, L2", "Flat, INNER_PRODUCT", "Flat, COSINE", "'IVF32,Flat', L2", "'IVF32,Flat', INNER_PRODUCT",
      "'IVF32,PQ8,RFlat', L2", "'L2norm,Flat', L2", "'L2norm,IVF32,Flat', L2"})
  void exactSearchesEqualTheFloat64ReferenceOverTheSubset(String factory, Metric metric) {
    VectorIndex index = index(factory, metric);
    long[] ids = new long[N / 10];
    float[] rows = new float[N / 10 * D];
    int n = 0;
    for (int i = 0; i < N; i++) {
      if (ENDS_IN_3.isMember(DATA.ids[i])) {
        ids[n] = DATA.ids[i];
        System.arraycopy(DATA.base, i * D, rows, n * D, D);
        n++;
      }
    }
    boolean normalize = factory.startsWith("L2norm");
    TestData.Reference ref = new TestData.Reference(metric, normalize ? normalized(rows, D) : rows, ids, D);
    float[] q = normalize ? normalized(DATA.queries, D) : DATA.queries;
    // kFactor 40: the refine index re-ranks all 400 selected vectors, so its result is exact
    SearchParams p = SearchParams.defaults().withNprobe(ALL_LISTS).withKFactor(40).withSelector(ENDS_IN_3);
    ref.assertSearchMatches("seed " + SEED + ", " + factory + " " + metric, q, index.search(DATA.queries, K, p), K);
  }

  @ParameterizedTest
  @CsvSource({"Flat, L2", "'IVF32,Flat', INNER_PRODUCT", "'IVF32,PQ8', COSINE", "'IVF32,SQ8', L2", "PQ8, L2",
      "SQ8, INNER_PRODUCT", "'IVF32,PQ8,RFlat', L2", "'L2norm,Flat', L2"})
  void perQuerySelectorsApplyToTheirQueryOnly(String factory, Metric metric) {
    VectorIndex index = index(factory, metric);
    float[] q = DATA.queries;
    IntFunction<IdSelector> byQuery = qi -> id -> id % 3 == qi % 3;
    for (int nprobe : new int[] {NPROBE, ALL_LISTS}) {
      for (boolean withGlobal : new boolean[] {false, true}) {
        String ctx = "seed " + SEED + ", " + factory + " " + metric + ", nprobe " + nprobe + (withGlobal ? ", and ids ending in 3" : "");
        SearchParams plain = SearchParams.defaults().withNprobe(nprobe).withKFactor(4).withThreads(2);
        SearchParams p = plain.withQuerySelectors(byQuery);
        if (withGlobal) {
          p = p.withSelector(ENDS_IN_3);
        }
        SearchResult got = index.search(q, K, p);
        IntFunction<IdSelector> both = withGlobal ? qi -> id -> id % 3 == qi % 3 && ENDS_IN_3.isMember(id) : byQuery;
        assertOnlySelected(ctx, got, both);
        for (int rest = 0; rest < 3; rest++) {
          VectorIndex oracle = restrictedTo(index, both.apply(rest));
          SearchResult expected = oracle.search(queriesWithRest(q, rest), K, plain);
          long[] gotIds = new long[expected.nq() * K];
          float[] gotDist = new float[expected.nq() * K];
          for (int qi = rest, o = 0; qi < NQ; qi += 3, o++) {
            System.arraycopy(got.ids(qi), 0, gotIds, o * K, K);
            System.arraycopy(got.distances(qi), 0, gotDist, o * K, K);
          }
          assertSameResult(ctx + ", queries " + rest + " mod 3", expected, new SearchResult(expected.nq(), K, gotIds, gotDist));
        }
        InvertedFileIndex ivf = ivfOf(index);
        if (ivf == index) {
          long[] lists = new long[NQ * nprobe];
          float[] coarse = new float[NQ * nprobe];
          ivf.probe(q, nprobe, 1, coarse, lists);
          assertSameResult(ctx + ", searchPreassigned", got, ivf.searchPreassigned(q, K, nprobe, lists, coarse, p));
        }
      }
    }
  }

  @ParameterizedTest
  @CsvSource({"Flat, L2", "Flat, INNER_PRODUCT", "'IVF32,Flat', L2", "'IVF32,PQ8', L2", "'IVF32,PQ8', COSINE",
      "'IVF32,SQ8', INNER_PRODUCT", "PQ8, L2", "SQ8, COSINE", "'IVF32,PQ8,RFlat', L2", "'L2norm,IVF32,Flat', L2"})
  void rangeSearchReturnsTheSelectedPartOfTheRange(String factory, Metric metric) {
    VectorIndex index = index(factory, metric);
    float[] q = DATA.queries;
    // a radius around one cluster's size: the 120th neighbour of query 0 (its cluster holds 121)
    float radius = index.search(q, 120, SearchParams.defaults().withNprobe(ALL_LISTS).withKFactor(1)).distance(0, 119);
    for (int nprobe : new int[] {NPROBE, ALL_LISTS}) {
      String ctx = "seed " + SEED + ", " + factory + " " + metric + ", radius " + radius + ", nprobe " + nprobe;
      SearchParams plain = SearchParams.defaults().withNprobe(nprobe).withThreads(2);
      RangeSearchResult got = index.rangeSearch(q, radius, plain.withSelector(ENDS_IN_3));
      for (long id : got.ids()) {
        assertTrue(ENDS_IN_3.isMember(id), ctx + ": id " + id + " is not selected");
      }
      assertTrue(got.ids().length >= NQ, ctx + ": only " + got.ids().length + " results; the test needs a larger radius");
      assertSameRange(ctx + " vs the selected subset", restrictedTo(index, ENDS_IN_3).rangeSearch(q, radius, plain), got, radius);

      // per query: id % 3 == query % 3
      RangeSearchResult perQuery = index.rangeSearch(q, radius, plain.withQuerySelectors(qi -> id -> id % 3 == qi % 3));
      RangeSearchResult all = index.rangeSearch(q, radius, plain);
      for (int qi = 0; qi < NQ; qi++) {
        int rest = qi % 3;
        Map<Long, Float> expected = new HashMap<>();
        rangeOf(all, qi).forEach((id, dist) -> {
          if (id % 3 == rest) {
            expected.put(id, dist);
          }
        });
        assertEquals(expected, rangeOf(perQuery, qi), ctx + ", query " + qi + ": per-query selector id % 3 == " + rest);
      }
    }
  }

  @Test
  void flatRangeSearchWithASelectorMatchesTheFloat64Reference() {
    VectorIndex index = index("Flat", Metric.L2);
    long[] ids = new long[N / 10];
    float[] rows = new float[N / 10 * D];
    for (int i = 0, n = 0; i < N; i++) {
      if (ENDS_IN_3.isMember(DATA.ids[i])) {
        ids[n] = DATA.ids[i];
        System.arraycopy(DATA.base, i * D, rows, n * D, D);
        n++;
      }
    }
    TestData.Reference ref = new TestData.Reference(Metric.L2, rows, ids, D);
    float radius = 25f;
    ref.assertRangeMatches("seed " + SEED + ", Flat L2, radius " + radius, DATA.queries, radius,
        index.rangeSearch(DATA.queries, radius, SearchParams.defaults().withSelector(ENDS_IN_3)));
  }

  /**
   * The paths that split one query's scan into chunks and merge their heaps (exhaustive Flat and
   * PQ with few queries and 2 threads over more than 64K vectors), with a selector so rare that
   * the unfiltered top-k holds none of its ids.
   */
  @Test
  void chunkedScansHonourSelectors() {
    long seed = 8102;
    int d = 8;
    int n = 70_000;
    float[] x = TestData.gaussian(seed, n, d);
    IdSelector rare = id -> id % 1000 == 3;
    for (String factory : new String[] {"Flat", "PQ4x4", "SQ8", "IVF16,Flat"}) {
      VectorIndex index = IndexFactory.create(d, factory, Metric.L2);
      index.train(x);
      index.add(x); // ids 0..n-1: the kernels report row numbers
      VectorIndex oracle = restrictedTo(index, rare);
      assertEquals(70, oracle.ntotal());
      for (int nq : new int[] {1, 3, 25}) {
        String ctx = "seed " + seed + ", " + factory + ", nq " + nq;
        float[] q = TestData.gaussian(seed + nq, nq, d);
        SearchParams plain = SearchParams.defaults().withThreads(2).withNprobe(16);
        SearchResult got = index.search(q, K, plain.withSelector(rare));
        assertOnlySelected(ctx, got, qi -> rare);
        for (int qi = 0; qi < nq; qi++) {
          assertEquals(K, found(got, qi), ctx + ", query " + qi + ": results found");
        }
        assertSameResult(ctx, oracle.search(q, K, plain), got);
      }
    }
  }
}
