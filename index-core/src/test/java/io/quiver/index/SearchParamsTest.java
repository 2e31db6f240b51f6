package io.quiver.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@link SearchParams}: immutability, and which selector each query uses. */
class SearchParamsTest {

  private static final IdSelector EVEN = id -> id % 2 == 0;
  private static final IdSelector BELOW_10 = IdSelector.range(0, 10);

  @Test
  void noSelectorByDefault() {
    SearchParams p = SearchParams.defaults();
    assertNull(p.selector(0));
    assertNull(p.selector(12345));
    assertNull(p.selectors(3), "no selector: the scan runs without selector checks");
  }

  @Test
  void globalSelectorAppliesToEveryQuery() {
    SearchParams p = SearchParams.defaults().withSelector(EVEN);
    assertSame(EVEN, p.selector(0));
    assertSame(EVEN, p.selector(7));
  }

  @Test
  void perQuerySelectorsMayReturnNullForAllIds() {
    SearchParams p = SearchParams.defaults().withQuerySelectors(q -> q == 1 ? null : BELOW_10);
    assertSame(BELOW_10, p.selector(0));
    assertNull(p.selector(1), "a null per-query selector without a global one selects every id");
    IdSelector[] all = p.selectors(3);
    assertSame(BELOW_10, all[0]);
    assertNull(all[1]);
    assertSame(BELOW_10, all[2]);
    assertNull(SearchParams.defaults().withQuerySelectors(q -> null).selectors(4), "every query selects all ids");
  }

  @Test
  void bothSelectorsMustPass() {
    SearchParams p = SearchParams.defaults().withSelector(EVEN).withQuerySelectors(q -> q == 1 ? null : BELOW_10);
    IdSelector s0 = p.selector(0);
    for (long id = -5; id < 30; id++) {
      assertEquals(id % 2 == 0 && id >= 0 && id < 10, s0.isMember(id), "query 0, id " + id);
    }
    assertSame(EVEN, p.selector(1), "a null per-query selector falls back to the global one");
    // the order of the calls does not matter
    SearchParams q = SearchParams.defaults().withQuerySelectors(i -> BELOW_10).withSelector(EVEN);
    assertTrue(q.selector(3).isMember(4));
    assertFalse(q.selector(3).isMember(5));
    assertFalse(q.selector(3).isMember(12));
  }

  @Test
  void nullRemovesASelector() {
    SearchParams p = SearchParams.defaults().withSelector(EVEN).withQuerySelectors(q -> BELOW_10);
    assertSame(BELOW_10, p.withSelector(null).selector(0));
    assertSame(EVEN, p.withQuerySelectors(null).selector(0));
    assertNull(p.withSelector(null).withQuerySelectors(null).selector(0));
  }

  @Test
  void withersReturnNewObjectsAndKeepEveryOtherField() {
    SearchParams base = SearchParams.defaults().withNprobe(8).withKFactor(2).withThreads(3);
    SearchParams selected = base.withSelector(EVEN).withQuerySelectors(q -> BELOW_10);
    assertNotSame(base, selected);
    assertNull(base.selector(0), "the original is unchanged");
    assertEquals(8, selected.nprobe());
    assertEquals(2f, selected.kFactor());
    assertEquals(3, selected.threads());
    SearchParams again = selected.withNprobe(4).withThreads(1).withKFactor(3);
    assertTrue(again.selector(0).isMember(2));
    assertFalse(again.selector(0).isMember(3));
    assertEquals(4, again.nprobe());
    assertNull(SearchParams.defaults().selector(0), "defaults() is shared and never changes");
  }

  @Test
  void toStringSaysWhichSelectorsAreSet() {
    assertEquals("SearchParams{nprobe=index default, efSearch=index default, threads=all, kFactor=index default, selector=none, querySelectors=none}",
        SearchParams.defaults().toString());
    String s = SearchParams.defaults().withNprobe(4).withSelector(EVEN).toString();
    assertTrue(s.contains("nprobe=4") && s.contains("selector=set") && s.contains("querySelectors=none"), s);
    assertTrue(SearchParams.defaults().withQuerySelectors(q -> null).toString().contains("querySelectors=set"));
  }

  @Test
  void badValuesNameTheParameter() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SearchParams.defaults().withNprobe(0));
    assertTrue(e.getMessage().contains("nprobe must be >= 1"), e.getMessage());
  }
}
