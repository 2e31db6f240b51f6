package io.quiver.index.util;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class Mt19937Test {

  @Test
  void matchesTheCxxStandardsCheckValue() {
    // [rand.predef]: the 10000th consecutive call of a default-constructed (seed 5489) mt19937 gives 4123659995
    Mt19937 rng = new Mt19937(5489);
    long x = 0;
    for (int i = 0; i < 10000; i++) {
      x = rng.next();
    }
    assertEquals(4123659995L, x);
  }

  /** Reference values printed by FAISS 1.7.3 (Debian python3-faiss): faiss.rand_perm(ptr, n, seed). */
  @Test
  void randPermMatchesFaiss() {
    assertArrayEquals(new int[] {15, 16, 14, 17, 1, 9, 12, 0, 7, 6, 13, 5, 2, 18, 3, 11, 4, 8, 10, 19},
        Mt19937.randPerm(20, 20, 1234));
    int[] p = Mt19937.randPerm(1_000_000, 262_144, 1234);
    assertArrayEquals(new int[] {569775, 451309, 942150, 599904, 33840, 13714, 109676, 988816}, Arrays.copyOf(p, 8));
    assertArrayEquals(new int[] {699938, 61201, 843005, 388093}, Arrays.copyOfRange(p, 262_140, 262_144));
    p = Mt19937.randPerm(65_536, 256, 1235);
    assertArrayEquals(new int[] {51403, 30335, 64510, 4216, 11499, 25062}, Arrays.copyOf(p, 6));
    assertArrayEquals(new int[] {32919, 25252, 62708, 18122, 21409, 9416}, Arrays.copyOfRange(p, 250, 256));
  }

  @Test
  void aPrefixIsThePrefixOfTheWholePermutation() {
    int[] whole = Mt19937.randPerm(1000, 1000, 7);
    assertArrayEquals(Arrays.copyOf(whole, 100), Mt19937.randPerm(1000, 100, 7));
    int[] sorted = whole.clone();
    Arrays.sort(sorted);
    for (int i = 0; i < 1000; i++) {
      assertEquals(i, sorted[i]);
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Mt19937.randPerm(10, 11, 1));
    assertEquals("m must be in [0, n=10], got 11", e.getMessage());
  }
}
