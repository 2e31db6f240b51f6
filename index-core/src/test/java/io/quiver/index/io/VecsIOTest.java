package io.quiver.index.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.io.VecsIO.FloatVectors;
import io.quiver.index.io.VecsIO.IntVectors;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The TEXMEX .fvecs/.ivecs/.bvecs readers and writers. */
class VecsIOTest {

  /** Seed of every random input in this class; failure messages print it. */
  static final long SEED = 0xF_EC5L;

  @TempDir
  Path dir;

  @Test
  void fvecsRoundTrip() throws IOException {
    Random rnd = new Random(SEED);
    int n = 37;
    int d = 9;
    float[] x = new float[n * d];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) rnd.nextGaussian();
    }
    Path file = dir.resolve("x.fvecs");
    VecsIO.writeFvecs(file, x, d);
    assertEquals((4L + 4L * d) * n, Files.size(file), "record layout: int32 d then d float32");
    FloatVectors back = VecsIO.readFvecs(file);
    assertEquals(n, back.n(), "seed=" + SEED);
    assertEquals(d, back.d());
    assertArrayEquals(x, back.data(), "seed=" + SEED);
    assertArrayEquals(Arrays.copyOfRange(x, 5 * d, 6 * d), back.row(5));
    FloatVectors first = VecsIO.readFvecs(file, 10);
    assertEquals(10, first.n());
    assertArrayEquals(Arrays.copyOf(x, 10 * d), first.data());
  }

  @Test
  void ivecsRoundTrip() throws IOException {
    Random rnd = new Random(SEED + 1);
    int n = 12;
    int d = 100;
    int[] gt = new int[n * d];
    for (int i = 0; i < gt.length; i++) {
      gt[i] = rnd.nextInt(1_000_000) - 10;
    }
    Path file = dir.resolve("gt.ivecs");
    VecsIO.writeIvecs(file, gt, d);
    IntVectors back = VecsIO.readIvecs(file);
    assertEquals(n, back.n());
    assertEquals(d, back.d());
    assertArrayEquals(gt, back.data(), "seed=" + SEED);
    assertArrayEquals(Arrays.copyOfRange(gt, 3 * d, 4 * d), back.row(3));
    assertEquals(2, VecsIO.readIvecs(file, 2).n());
  }

  @Test
  void bvecsRoundTrip() throws IOException {
    Random rnd = new Random(SEED + 2);
    int n = 20;
    int d = 16;
    int[] b = new int[n * d];
    for (int i = 0; i < b.length; i++) {
      b[i] = rnd.nextInt(256);
    }
    b[0] = 0;
    b[1] = 255;
    Path file = dir.resolve("x.bvecs");
    VecsIO.writeBvecs(file, b, d);
    assertEquals((4L + d) * n, Files.size(file), "record layout: int32 d then d uint8");
    FloatVectors back = VecsIO.readBvecs(file);
    assertEquals(n, back.n());
    float[] expected = new float[b.length];
    for (int i = 0; i < b.length; i++) {
      expected[i] = b[i];
    }
    assertArrayEquals(expected, back.data(), "seed=" + SEED);
    assertEquals(7, VecsIO.readBvecs(file, 7).n());
  }

  @Test
  void emptyFileHoldsNoVectors() throws IOException {
    Path file = dir.resolve("empty.fvecs");
    Files.write(file, new byte[0]);
    assertEquals(0, VecsIO.readFvecs(file).n());
  }

  @Test
  void truncatedFileErrorNamesTheFileAndTheRecord() throws IOException {
    int d = 4;
    Path file = dir.resolve("cut.fvecs");
    VecsIO.writeFvecs(file, new float[3 * d], d);
    byte[] full = Files.readAllBytes(file);
    int recordBytes = 4 + 4 * d;
    // cut inside the values of record 2, then inside its dimension field
    for (int len : new int[] {full.length - 5, 2 * recordBytes + 2, 2 * recordBytes + 4}) {
      Files.write(file, Arrays.copyOf(full, len));
      EOFException e = assertThrows(EOFException.class, () -> VecsIO.readFvecs(file), "length " + len);
      assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("record 2 is truncated"),
          e.getMessage());
    }
    // smaller than one record
    Files.write(file, Arrays.copyOf(full, 10));
    EOFException e = assertThrows(EOFException.class, () -> VecsIO.readFvecs(file));
    assertTrue(e.getMessage().contains("record 0 is truncated"), e.getMessage());
    // reading only the whole records before the cut still works
    Files.write(file, Arrays.copyOf(full, full.length - 5));
    assertEquals(2, VecsIO.readFvecs(file, 2).n());
  }

  @Test
  void mismatchedDimensionErrorNamesTheRecord() throws IOException {
    Path file = dir.resolve("mixed.fvecs");
    ByteBuffer b = ByteBuffer.allocate(20 + 24 + 20).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(4).putFloat(1).putFloat(2).putFloat(3).putFloat(4);
    b.putInt(5).putFloat(1).putFloat(2).putFloat(3).putFloat(4).putFloat(5);
    b.putInt(4).putFloat(1).putFloat(2).putFloat(3).putFloat(4);
    Files.write(file, b.array());
    IOException e = assertThrows(IOException.class, () -> VecsIO.readFvecs(file));
    assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("record 1 has dimension 5")
        && e.getMessage().contains("record 0 has 4"), e.getMessage());

    // a different dimension in the last record, where the size alone looks truncated
    Path last = dir.resolve("last.ivecs");
    ByteBuffer c = ByteBuffer.allocate(12 + 12 + 8).order(ByteOrder.LITTLE_ENDIAN);
    c.putInt(2).putInt(7).putInt(8).putInt(2).putInt(9).putInt(10).putInt(1).putInt(11);
    Files.write(last, c.array());
    IOException f = assertThrows(IOException.class, () -> VecsIO.readIvecs(last));
    assertTrue(f.getMessage().contains("record 2 has dimension 1"), f.getMessage());
  }

  @Test
  void anImpossibleFirstDimensionIsRejected() throws IOException {
    Path file = dir.resolve("bad.fvecs");
    for (int d : new int[] {0, -3, VecsIO.MAX_D + 1}) {
      Files.write(file, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(d).putInt(0).array());
      IOException e = assertThrows(IOException.class, () -> VecsIO.readFvecs(file));
      assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("dimension " + d), e.getMessage());
    }
  }

  @Test
  void writersCheckTheirInput() {
    Path file = dir.resolve("w.bvecs");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> VecsIO.writeBvecs(file, new int[] {1, 256}, 2));
    assertTrue(e.getMessage().contains("256") && e.getMessage().contains("0..255"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> VecsIO.writeFvecs(dir.resolve("w.fvecs"), new float[5], 2));
    assertThrows(IllegalArgumentException.class, () -> VecsIO.writeIvecs(dir.resolve("w.ivecs"), new int[4], 0));
  }
}
