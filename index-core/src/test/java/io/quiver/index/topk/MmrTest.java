package io.quiver.index.topk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MmrTest {

  @Test
  void lambdaOneKeepsTheCosineOrder() {
    float[] q = {1, 0};
    // cosines with q: 1, 0.8, 0.6, 0 (candidates given in another order)
    float[] c = {0, 1, 0.6f, 0.8f, 2, 0, 0.8f, 0.6f};
    assertArrayEquals(new int[] {2, 3, 1, 0}, Mmr.select(q, c, 4, 2, 1f, 4));
  }

  @Test
  void lowLambdaSkipsNearDuplicates() {
    float[] q = {1, 0.2f};
    // two near-duplicates close to the query, and one different but still relevant candidate
    float[] c = {1, 0.21f, 1, 0.22f, 0.7f, -0.5f};
    int[] relevance = Mmr.select(q, c, 3, 2, 1f, 2);
    int[] diverse = Mmr.select(q, c, 3, 2, 0.3f, 2);
    assertArrayEquals(new int[] {0, 1}, relevance);
    assertArrayEquals(new int[] {0, 2}, diverse);
  }

  @Test
  void picksEachCandidateOnceAndAtMostN() {
    Random r = new Random(5);
    int n = 50;
    int d = 8;
    float[] q = new float[d];
    float[] c = new float[n * d];
    for (int i = 0; i < d; i++) {
      q[i] = (float) r.nextGaussian();
    }
    for (int i = 0; i < n * d; i++) {
      c[i] = (float) r.nextGaussian();
    }
    int[] all = Mmr.select(q, c, n, d, 0.5f, 80);
    assertEquals(n, all.length);
    int[] sorted = all.clone();
    Arrays.sort(sorted);
    for (int i = 0; i < n; i++) {
      assertEquals(i, sorted[i]);
    }
    assertTrue(Mmr.select(q, c, 0, d, 0.5f, 10).length == 0);
  }

  @Test
  void refusesALambdaOutsideZeroOne() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Mmr.select(new float[2], new float[2], 1, 2, 1.5f, 1));
    assertTrue(e.getMessage().contains("[0, 1]"), e.getMessage());
  }
}
