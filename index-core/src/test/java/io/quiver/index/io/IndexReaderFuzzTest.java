package io.quiver.index.io;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

import io.quiver.index.InvertedFileIndex;
import io.quiver.index.SearchParams;
import io.quiver.index.VectorIndex;
import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/**
 * A seeded mutation fuzzer of the index reader: every golden file (shards read with their
 * quantizer) is mutated (bit flips, byte sets, truncation, inserted and deleted bytes, length and
 * count fields set to edge values) and its footer checksum recomputed, so that the reader's deep
 * checks run; a mutation inside a nested file (RFLT, L2NM) recomputes that file's checksum too,
 * half the time. Each input must read, or fail with an {@link IndexFileException} (what
 * {@link IndexIO#read} declares for file content), within {@link #HANG_SECONDS}: no other
 * exception, no error (out of memory, stack overflow), no hang. A file that reads must answer a
 * search.
 *
 * <p>By default the campaign runs for {@code quiver.fuzz.millis} (2000) ms. A longer one:
 * {@code mvn -pl index-core test -Dtest=IndexReaderFuzzTest -Dquiver.fuzz.inputs=100000}
 * ({@code quiver.fuzz.seed} changes the seed; {@code quiver.fuzz.only=N} replays input N). Input
 * N depends only on the seed and N, so a failure is replayed from the seed and number it prints.
 */
class IndexReaderFuzzTest {
  private static final long DEFAULT_SEED = 20261204L;
  private static final int HANG_SECONDS = 20;

  /** A golden file and, for a shard, the quantizer it is read with. */
  private record Golden(String name, byte[] bytes, InvertedFileIndex quantizer) {}

  private static List<Golden> goldens() throws Exception {
    List<Golden> out = new ArrayList<>();
    for (Path dir : GoldenFilesTest.versionDirs()) {
      try (var files = Files.list(dir)) {
        for (Path f : (Iterable<Path>) files.sorted()::iterator) {
          String name = dir.getFileName() + "/" + f.getFileName();
          InvertedFileIndex quantizer = null;
          if (f.getFileName().toString().endsWith(IndexFormat.SHARD_FILE_EXTENSION)) {
            // golden/v1/shard_ivf_l2_list1.qvs holds list 1 of ivf_l2.qvi
            quantizer = ((InvertedFileIndex) IndexIO.read(dir.resolve("ivf_l2.qvi"))).emptyCopy();
          }
          out.add(new Golden(name, Files.readAllBytes(f), quantizer));
        }
      }
    }
    return out;
  }

  @Test
  void mutatedGoldenFilesFailOnlyWithDeclaredExceptions() throws Exception {
    long seed = Long.getLong("quiver.fuzz.seed", DEFAULT_SEED);
    long millis = Long.getLong("quiver.fuzz.millis", 2000);
    long inputs = Long.getLong("quiver.fuzz.inputs", -1);
    long only = Long.getLong("quiver.fuzz.only", -1);
    List<Golden> goldens = goldens();
    assertFalse(goldens.isEmpty(), "no golden files");
    Map<String, Long> outcomes = new TreeMap<>();
    ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "fuzz-reader");
      t.setDaemon(true);
      return t;
    });
    long start = System.nanoTime();
    long n = only >= 0 ? only : 0;
    long done = 0;
    try {
      while (true) {
        if (only >= 0 ? done == 1 : inputs >= 0 ? done >= inputs
            : System.nanoTime() - start > millis * 1_000_000L) {
          break;
        }
        SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + n);
        Golden g = goldens.get(rnd.nextInt(goldens.size()));
        StringBuilder what = new StringBuilder();
        byte[] mutated = mutate(g.bytes(), rnd, what);
        boolean knownLength = rnd.nextBoolean();
        String ctx = "seed " + seed + ", input " + n + " (-Dquiver.fuzz.seed=" + seed + " -Dquiver.fuzz.only=" + n
            + "): " + g.name() + " " + what + (knownLength ? ", length given" : ", length unknown");
        Future<String> f = worker.submit(() -> readAndSearch(g, mutated, knownLength));
        String outcome;
        try {
          outcome = f.get(HANG_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
          f.cancel(true);
          fail(ctx + ": no answer within " + HANG_SECONDS + " s (a hang)");
          return;
        } catch (java.util.concurrent.ExecutionException e) {
          Throwable c = e.getCause();
          throw new AssertionError(ctx + ": undeclared " + c, c);
        }
        outcomes.merge(outcome, 1L, Long::sum);
        n++;
        done++;
      }
    } finally {
      worker.shutdownNow();
    }
    System.out.printf("index reader fuzzing: seed %d, %d inputs from %d golden files in %.1f s, %s: %s%n", seed, done,
        goldens.size(), (System.nanoTime() - start) / 1e9, System.getProperty("quiver.vectorization", "default"),
        outcomes);
  }

  /** Reads the bytes (and searches what reads); returns "read" or the declared exception's simple name. */
  private static String readAndSearch(Golden g, byte[] bytes, boolean knownLength) {
    long length = knownLength ? bytes.length : -1;
    VectorIndex index;
    try {
      index = g.quantizer() != null
          ? IndexIO.readShard(new ByteArrayInputStream(bytes), "fuzz.qvs", length, g.quantizer())
          : IndexIO.read(new ByteArrayInputStream(bytes), "fuzz.qvi", length);
    } catch (IndexFileException e) {
      if (!e.getMessage().startsWith("fuzz.qv")) {
        throw new AssertionError("the message does not start with the file name: " + e.getMessage(), e);
      }
      return e.getClass().getSimpleName();
    } catch (java.io.IOException e) {
      throw new AssertionError("an IOException outside the IndexFileException family: " + e, e);
    }
    if (index.isTrained() && index.ntotal() > 0) {
      float[] q = new float[index.d()];
      for (int i = 0; i < q.length; i++) {
        q[i] = 0.25f * (i % 7) - 0.5f;
      }
      index.search(q, 3, SearchParams.defaults().withThreads(1));
    }
    return "read";
  }

  // ---- mutations ----------------------------------------------------------------------------

  private static final long[] EDGE_LONGS = {0, 1, -1, 2, 255, 256, 65535, 1L << 20, Integer.MAX_VALUE,
      Integer.MAX_VALUE + 1L, Integer.MIN_VALUE, Long.MAX_VALUE, Long.MIN_VALUE, Long.MAX_VALUE / 8};
  private static final int[] EDGE_INTS = {0, 1, -1, 2, 3, 4, 7, 8, 9, 16, 255, 256, 1 << 20, (1 << 20) + 1,
      1 << 24, (1 << 24) + 1, Integer.MAX_VALUE, Integer.MIN_VALUE, 0x7f800000, 0x7fc00000, 0xff800000};

  /** One to three mutations of a copy of {@code file}, described in {@code what}, checksums recomputed. */
  static byte[] mutate(byte[] file, SplittableRandom rnd, StringBuilder what) {
    byte[] b = file.clone();
    List<int[]> nested = nestedFiles(file);
    int count = 1 + rnd.nextInt(3);
    for (int m = 0; m < count && b.length > 0; m++) {
      int kind = rnd.nextInt(8);
      switch (kind) {
        case 0 -> {
          int at = rnd.nextInt(b.length);
          int bit = rnd.nextInt(8);
          b[at] ^= (byte) (1 << bit);
          what.append(" flip bit ").append(bit).append(" of byte ").append(at).append(';');
        }
        case 1 -> {
          int at = rnd.nextInt(b.length);
          byte[] values = {0, (byte) 0xff, 0x7f, (byte) 0x80, 1, (byte) rnd.nextInt(256)};
          b[at] = values[rnd.nextInt(values.length)];
          what.append(" set byte ").append(at).append(" to ").append(b[at] & 0xff).append(';');
        }
        case 2 -> {
          int len = rnd.nextInt(b.length);
          b = java.util.Arrays.copyOf(b, len);
          what.append(" truncate to ").append(len).append(';');
        }
        case 3, 4 -> {
          // a section's (or a nested file's section's) int64 byteLength
          List<Integer> lengthFields = lengthFields(b);
          if (!lengthFields.isEmpty()) {
            int at = lengthFields.get(rnd.nextInt(lengthFields.size()));
            long old = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(at);
            long v = rnd.nextBoolean() ? EDGE_LONGS[rnd.nextInt(EDGE_LONGS.length)] : old + rnd.nextInt(-9, 10);
            ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at, v);
            what.append(" section length at ").append(at).append(" to ").append(v).append(';');
          }
        }
        case 5 -> {
          // an int32 field: header d, metric, ntotal's low half, or any aligned int (nlist, m, nbits, flags, list sizes)
          int at = rnd.nextInt(4) == 0 ? 12 + 4 * rnd.nextInt(4) : 4 * rnd.nextInt(Math.max(1, b.length / 4));
          if (at + 4 <= b.length) {
            int v = EDGE_INTS[rnd.nextInt(EDGE_INTS.length)];
            ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(at, v);
            what.append(" int at ").append(at).append(" to ").append(v).append(';');
          }
        }
        case 6 -> {
          int at = rnd.nextInt(b.length + 1);
          int len = 1 + rnd.nextInt(16);
          byte[] ins = new byte[len];
          for (int i = 0; i < len; i++) {
            ins[i] = (byte) rnd.nextInt(256);
          }
          b = IndexFiles.splice(b, at, 0, ins);
          what.append(" insert ").append(len).append(" bytes at ").append(at).append(';');
        }
        default -> {
          int at = rnd.nextInt(b.length);
          int len = Math.min(b.length - at, 1 + rnd.nextInt(16));
          b = IndexFiles.splice(b, at, len, new byte[0]);
          what.append(" delete ").append(len).append(" bytes at ").append(at).append(';');
        }
      }
    }
    // nested files first (their bytes are inside the outer file's checksum), when they kept their place
    if (b.length == file.length && rnd.nextBoolean()) {
      for (int[] nf : nested) {
        if (nf[0] + nf[1] <= b.length && nf[1] >= 8) {
          byte[] inner = java.util.Arrays.copyOfRange(b, nf[0], nf[0] + nf[1]);
          IndexFiles.fixChecksum(inner);
          System.arraycopy(inner, 0, b, nf[0], inner.length);
          what.append(" nested checksum at ").append(nf[0]).append(" recomputed;");
        }
      }
    }
    if (b.length >= 8) {
      IndexFiles.fixChecksum(b);
    }
    return b;
  }

  /** The offsets of every section's byteLength field a walk of the file finds (nested files included). */
  private static List<Integer> lengthFields(byte[] b) {
    List<Integer> out = new ArrayList<>();
    walk(b, 0, b.length, 0, out, null);
    return out;
  }

  /** {offset, length} of every nested file (the payload of BASE, REFN and INNR sections). */
  private static List<int[]> nestedFiles(byte[] b) {
    List<int[]> out = new ArrayList<>();
    walk(b, 0, b.length, 0, null, out);
    return out;
  }

  private static void walk(byte[] b, int from, int to, int depth, List<Integer> lengths, List<int[]> nested) {
    ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    int p = from + IndexFormat.HEADER_BYTES;
    while (p + IndexFormat.SECTION_HEADER_BYTES <= to && depth < 4) {
      int fourcc = buf.getInt(p);
      if (fourcc == IndexFormat.FOOTER_MAGIC) {
        return;
      }
      long len = buf.getLong(p + 4);
      if (lengths != null) {
        lengths.add(p + 4);
      }
      int payload = p + IndexFormat.SECTION_HEADER_BYTES;
      if (len < 0 || payload + len > to) {
        return;
      }
      if (fourcc == IndexFormat.SECTION_BASE || fourcc == IndexFormat.SECTION_REFINE
          || fourcc == IndexFormat.SECTION_INNER) {
        if (nested != null) {
          nested.add(new int[] {payload, (int) len});
        }
        walk(b, payload, payload + (int) len, depth + 1, lengths, nested);
      }
      p = payload + (int) len;
    }
  }
}
