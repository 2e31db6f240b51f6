package io.quiver.index;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.quantize.KMeans;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Invalid arguments to Flat and IVF indexes: each throws {@link IllegalArgumentException} (or
 * {@link IllegalStateException} for an untrained index) with a message that names the argument,
 * the row and the component, and leaves the index unchanged: same ntotal, same search results.
 */
class BadInputTest {

  static final int D = 8;
  static final long SEED = 4001L;
  static final int ROW = 3;
  static final int COMPONENT = 5;

  static Stream<Arguments> indexes() {
    return Stream.of(
        Arguments.of("Flat", Metric.L2), Arguments.of("Flat", Metric.INNER_PRODUCT), Arguments.of("Flat", Metric.COSINE),
        Arguments.of("IVF8,Flat", Metric.L2), Arguments.of("IVF8,Flat", Metric.COSINE));
  }

  static Stream<Arguments> indexesAndBadValues() {
    return indexes().flatMap(a -> Stream.of(Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY)
        .map(v -> Arguments.of(a.get()[0], a.get()[1], v)));
  }

  /** A trained index holding 300 vectors, and the state it must keep. */
  static final class Fixture {
    final VectorIndex index;
    final float[] queries = TestData.gaussian(SEED + 1, 25, D);
    final float[] base = TestData.clustered(SEED, 300, D, 8, 2.0);
    final SearchResult before;
    final long ntotal;

    Fixture(String factory, Metric metric) {
      index = IndexFactory.create(D, factory, metric);
      index.train(base);
      index.add(base);
      before = search();
      ntotal = index.ntotal();
    }

    SearchResult search() {
      return index.search(queries, 5, SearchParams.defaults().withNprobe(3));
    }

    void assertUnchanged(String ctx) {
      assertEquals(ntotal, index.ntotal(), ctx + ": ntotal changed after a failed call");
      assertTrue(index.isTrained(), ctx + ": the index lost its training");
      SearchResult after = search();
      assertArrayEquals(before.ids(), after.ids(), ctx + ": search ids changed after a failed call");
      assertArrayEquals(before.distances(), after.distances(), ctx + ": search distances changed after a failed call");
    }
  }

  static float[] withBadValue(float[] x, float bad) {
    float[] y = x.clone();
    y[ROW * D + COMPONENT] = bad;
    return y;
  }

  static void assertNamesRowAndComponent(IllegalArgumentException e, String argument, float bad) {
    String m = e.getMessage();
    assertNotNull(m, "no message");
    assertTrue(m.contains(argument), "message does not name the argument '" + argument + "': " + m);
    assertTrue(m.contains("row " + ROW), "message does not name row " + ROW + ": " + m);
    assertTrue(m.contains("component " + COMPONENT), "message does not name component " + COMPONENT + ": " + m);
    assertTrue(m.contains(String.valueOf(bad)), "message does not show the value " + bad + ": " + m);
  }

  @ParameterizedTest(name = "{0} {1} {2}")
  @MethodSource("indexesAndBadValues")
  void nonFiniteComponentsAreRejected(String factory, Metric metric, float bad) {
    Fixture f = new Fixture(factory, metric);
    String ctx = factory + " " + metric + " value " + bad;
    float[] vectors = withBadValue(TestData.gaussian(SEED + 2, 10, D), bad);

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.index.add(vectors), ctx + " add");
    assertNamesRowAndComponent(e, "vectors", bad);
    f.assertUnchanged(ctx + " add");

    long[] ids = new long[10];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = 10_000 + i;
    }
    e = assertThrows(IllegalArgumentException.class, () -> f.index.addWithIds(vectors, ids), ctx + " addWithIds");
    assertNamesRowAndComponent(e, "vectors", bad);
    f.assertUnchanged(ctx + " addWithIds");

    e = assertThrows(IllegalArgumentException.class, () -> f.index.search(withBadValue(f.queries, bad), 5), ctx + " search");
    assertNamesRowAndComponent(e, "queries", bad);
    e = assertThrows(IllegalArgumentException.class,
        () -> f.index.rangeSearch(withBadValue(f.queries, bad), 1f, SearchParams.defaults()), ctx + " rangeSearch");
    assertNamesRowAndComponent(e, "queries", bad);
    f.assertUnchanged(ctx + " search");

    float[] train = withBadValue(f.base, bad);
    VectorIndex fresh = IndexFactory.create(D, factory, metric);
    e = assertThrows(IllegalArgumentException.class, () -> fresh.train(train), ctx + " train");
    assertNamesRowAndComponent(e, "vectors", bad);
    if (fresh instanceof IvfIndex) {
      assertFalse(fresh.isTrained(), ctx + ": a failed train must leave the index untrained");
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("indexes")
  void lengthNotAMultipleOfD(String factory, Metric metric) {
    Fixture f = new Fixture(factory, metric);
    String ctx = factory + " " + metric;
    float[] bad = new float[3 * D + 1];
    for (Executable call : new Executable[] {
        () -> f.index.add(bad),
        () -> f.index.addWithIds(bad, new long[] {1, 2, 3}),
        () -> f.index.search(bad, 3),
        () -> f.index.rangeSearch(bad, 1f, SearchParams.defaults())}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call, ctx);
      assertTrue(e.getMessage().contains("not a multiple of d=" + D), e.getMessage());
      assertTrue(e.getMessage().contains(String.valueOf(3 * D + 1)), e.getMessage());
    }
    f.assertUnchanged(ctx + " wrong length");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.index.add(null));
    assertTrue(e.getMessage().contains("vectors"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> f.index.addWithIds(new float[2 * D], new long[] {1, 2, 3}), ctx + " ids length");
    assertTrue(e.getMessage().contains("ids.length 3"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> f.index.addWithIds(new float[2 * D], null));
    e = assertThrows(IllegalArgumentException.class,
        () -> f.index.rangeSearch(f.queries, Float.NaN, SearchParams.defaults()), ctx + " NaN radius");
    assertTrue(e.getMessage().contains("radius"), e.getMessage());
    f.assertUnchanged(ctx + " ids / radius");
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("indexes")
  void kMustBePositive(String factory, Metric metric) {
    Fixture f = new Fixture(factory, metric);
    for (int k : new int[] {0, -1, Integer.MIN_VALUE}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.index.search(f.queries, k));
      assertTrue(e.getMessage().contains("k must be >= 1") && e.getMessage().contains(String.valueOf(k)), e.getMessage());
    }
    f.assertUnchanged(factory + " " + metric + " k <= 0");
  }

  @ParameterizedTest
  @ValueSource(ints = {0, -1, -100})
  void nprobeMustBePositive(int nprobe) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SearchParams.defaults().withNprobe(nprobe));
    assertTrue(e.getMessage().contains("nprobe") && e.getMessage().contains(String.valueOf(nprobe)), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new IvfIndex(D, 4, Metric.L2).setNprobe(nprobe));
  }

  @Test
  void threadsMustNotBeNegative() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SearchParams.defaults().withThreads(-1));
    assertTrue(e.getMessage().contains("threads"), e.getMessage());
    assertEquals(0, SearchParams.defaults().threads());
    assertEquals(0, SearchParams.defaults().nprobe());
    SearchParams p = SearchParams.defaults().withNprobe(7).withThreads(2);
    assertEquals(7, p.nprobe());
    assertEquals(2, p.threads());
  }

  @Test
  void untrainedIvfRefusesSearchAndAdd() {
    VectorIndex ivf = IndexFactory.create(D, "IVF8,Flat", Metric.L2);
    assertFalse(ivf.isTrained());
    float[] x = TestData.gaussian(SEED, 4, D);
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> ivf.search(x, 3));
    assertTrue(e.getMessage().contains("train"), e.getMessage());
    assertThrows(IllegalStateException.class, () -> ivf.add(x));
    assertThrows(IllegalStateException.class, () -> ivf.addWithIds(x, new long[] {1, 2, 3, 4}));
    assertEquals(0, ivf.ntotal());
    assertFalse(ivf.isTrained());
  }

  @Test
  void trainingWithFewerPointsThanCentroids() {
    VectorIndex ivf = IndexFactory.create(D, "IVF8,Flat", Metric.L2);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ivf.train(TestData.gaussian(SEED, 7, D)));
    assertTrue(e.getMessage().contains("8") && e.getMessage().contains("7"), e.getMessage());
    assertFalse(ivf.isTrained(), "a failed train leaves the index untrained");
    e = assertThrows(IllegalArgumentException.class, () -> new KMeans(D, 8).train(TestData.gaussian(SEED, 7, D)));
    assertTrue(e.getMessage().contains("k=8"), e.getMessage());

    // a trained index that fails a retrain keeps its centroids and vectors
    Fixture f = new Fixture("IVF8,Flat", Metric.L2);
    float[] centroids = ((IvfIndex) f.index).centroids();
    assertThrows(IllegalArgumentException.class, () -> f.index.train(TestData.gaussian(SEED, 7, D)));
    assertArrayEquals(centroids, ((IvfIndex) f.index).centroids());
    f.assertUnchanged("IVF8,Flat failed retrain");
  }

  @Test
  void constructorArguments() {
    assertThrows(IllegalArgumentException.class, () -> new FlatIndex(0, Metric.L2));
    assertThrows(IllegalArgumentException.class, () -> new FlatIndex(4, null));
    assertThrows(IllegalArgumentException.class, () -> new IvfIndex(4, 0, Metric.L2));
    assertThrows(IllegalArgumentException.class, () -> new IvfIndex(-1, 4, Metric.L2));
  }

  @ParameterizedTest
  @ValueSource(strings = {"IVF,Flat", "IVF0,Flat", "HNSW1", "IVF16_HNSW1,Flat", "HNSW32,SQ7", "flat", "", "IVF100", "IVF100,PQ16", "Flat,", "IVF-3,Flat",
      "IVF99999999999999999999,Flat", "IVF16777217,Flat"})
  void malformedFactoryStrings(String description) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> IndexFactory.create(D, description, Metric.L2), "'" + description + "'");
    assertTrue(e.getMessage().contains(IndexFactory.GRAMMAR), "'" + description + "': message lacks the grammar: " + e.getMessage());
  }

  @Test
  void nullFactoryStringAndValidOnes() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> IndexFactory.create(D, null, Metric.L2));
    assertTrue(e.getMessage().contains(IndexFactory.GRAMMAR), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> IndexFactory.create(D, "flat", Metric.L2));
    assertTrue(e.getMessage().contains("case-sensitive"), e.getMessage());
    assertTrue(IndexFactory.create(D, "Flat", Metric.L2) instanceof FlatIndex);
    VectorIndex ivf = IndexFactory.create(D, "IVF100 , Flat", Metric.COSINE);
    assertTrue(ivf instanceof IvfIndex);
    assertEquals("IVF100,Flat", ivf.factoryString());
    assertEquals(Metric.COSINE, ivf.metric());
    assertEquals(D, ivf.d());
    assertEquals("IVF1,Flat", IndexFactory.create(D, " IVF1,Flat ", Metric.L2).factoryString());
  }
}
