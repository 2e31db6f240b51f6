package io.quiver.spark.shard;

import io.quiver.index.InvertedFileIndex;
import io.quiver.index.FlatIndex;
import io.quiver.index.RefineIndex;
import io.quiver.index.VectorIndex;
import io.quiver.index.io.IndexFormat;
import io.quiver.index.io.IndexIO;
import io.quiver.index.io.NotAnIndexFileException;
import java.io.ByteArrayInputStream;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import java.util.zip.CRC32C;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shard and quantizer files on Hadoop file systems: commit-once writes, and a per-JVM (so
 * per-executor) cache of loaded shards bounded in bytes, least recently used first out.
 */
public final class ShardStore {
  private static final Logger LOG = LoggerFactory.getLogger(ShardStore.class);

  /** Default shard cache bound: a quarter of the maximum heap of the JVM (executor) that loads the shard. */
  public static final long DEFAULT_CACHE_BYTES = Runtime.getRuntime().maxMemory() / 4;

  /** The cache bound for a requested one: {@code cacheBytes > 0} as given, else this JVM's default. */
  static long cacheLimit(long cacheBytes) {
    return cacheBytes > 0 ? cacheBytes : DEFAULT_CACHE_BYTES;
  }

  private static final Map<String, VectorIndex> QUANTIZERS = new LinkedHashMap<>();
  private static final ShardCache SHARDS = new ShardCache();

  private ShardStore() {}

  /** What a committed file is: its name relative to the index, size, CRC32C and SHA-256. */
  public static Manifest.FileEntry entry(String file, long bytes, long crc, byte[] sha256) {
    Manifest.FileEntry e = new Manifest.FileEntry();
    e.file = file;
    e.bytes = bytes;
    e.crc32c = String.format("%08x", crc);
    e.sha256 = HexFormat.of().formatHex(sha256);
    return e;
  }

  /** A new SHA-256 digest (every JVM has one). */
  public static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256", e);
    }
  }

  /** An output stream that counts and checksums what passes through. */
  private static final class Checked extends FilterOutputStream {
    final CRC32C crc = new CRC32C();
    final MessageDigest sha = sha256();
    long bytes;

    Checked(OutputStream out) {
      super(out);
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      crc.update(b);
      sha.update((byte) b);
      bytes++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      crc.update(b, off, len);
      sha.update(b, off, len);
      bytes += len;
    }
  }

  /**
   * Fails unless {@code sha256} (of the file's bytes) is the one the manifest records for it; a
   * version 1 manifest records none, and nothing is checked.
   *
   * @param what the entry, for the message ("shard 3", "the quantizer")
   */
  public static void checkSha256(Path path, Manifest.FileEntry entry, byte[] sha256, String what) throws IOException {
    if (entry.sha256 == null) {
      return;
    }
    String got = HexFormat.of().formatHex(sha256);
    if (!got.equals(entry.sha256)) {
      throw new IOException(path + " has SHA-256 " + got + " but " + IndexLayout.MANIFEST + " records " + entry.sha256
          + " for " + what + ": a well-formed file of another build, or of another shard, was put in its place "
          + "(restore the index directory as it was built, or rebuild it)");
    }
  }

  /** Reads what is left of {@code in} (into the digest it feeds): a reader may stop at the footer. */
  private static void drain(InputStream in) throws IOException {
    byte[] buf = new byte[1 << 16];
    while (in.read(buf) >= 0) {
      // the digest sees every byte
    }
  }

  /** Writes something to a stream. */
  @FunctionalInterface
  public interface Writer {
    void write(OutputStream out) throws IOException;
  }

  /**
   * Writes {@code file} (relative to {@code index}) once: the bytes go to a unique temporary name
   * under {@code _temporary/}, then are renamed to the final name. When the final file already
   * exists (another attempt of the same deterministic task committed it), the temporary is
   * deleted and the existing file is kept, after checking it has the same size and checksum.
   */
  public static Manifest.FileEntry writeOnce(Path index, String file, String attempt, Configuration conf, Writer writer)
      throws IOException {
    return writeOnce(index, file, attempt, conf, writer, true);
  }

  /**
   * {@link #writeOnce(Path, String, String, Configuration, Writer)}, where with
   * {@code createDirectories} false {@code _temporary/} and the file's directory must exist: the
   * temporary is created with {@link FileSystem#createNonRecursive} and no directory is made. Build
   * tasks write so: the driver creates the directories before the tasks run, and its commit deletes
   * {@code _temporary/} (and then renames the staging directory), so a task attempt still running
   * after the commit (the losing copy of a speculated task, which Spark kills but which need not
   * notice while it computes or writes) fails instead of re-creating directories there.
   */
  public static Manifest.FileEntry writeOnce(Path index, String file, String attempt, Configuration conf, Writer writer,
      boolean createDirectories) throws IOException {
    Path target = new Path(index, file);
    Path tmp = new Path(IndexLayout.temporary(index), file.replace('/', '_') + "." + attempt);
    FileSystem fs = target.getFileSystem(conf);
    Checked checked;
    try (FSDataOutputStream raw = createDirectories ? fs.create(tmp, true) : createInExisting(fs, tmp, conf)) {
      checked = new Checked(raw);
      writer.write(checked);
      checked.flush();
    } catch (IOException | RuntimeException | Error e) {
      // Error: Hadoop's local file system throws FSError on a full disk
      fs.delete(tmp, false);
      throw e;
    }
    Manifest.FileEntry entry = entry(file, checked.bytes, checked.crc.getValue(), checked.sha.digest());
    if (createDirectories) {
      fs.mkdirs(target.getParent());
    }
    // some file systems (the local one) replace an existing target on rename: look first
    if (fs.exists(target) || !fs.rename(tmp, target)) {
      fs.delete(tmp, false);
      if (!fs.exists(target)) {
        throw new IOException("could not rename " + tmp + " to " + target);
      }
      FileStatus st = fs.getFileStatus(target);
      if (st.getLen() != entry.bytes || !sha256Of(fs, target).equals(entry.sha256)) {
        throw new IOException(target + " exists with " + st.getLen() + " bytes, but this attempt wrote " + entry.bytes
            + " bytes with another checksum: two attempts of one task gave different output (did the input change "
            + "during the build?)");
      }
    }
    return entry;
  }

  private static FSDataOutputStream createInExisting(FileSystem fs, Path tmp, Configuration conf) throws IOException {
    try {
      // createNonRecursive alone is not enough: Hadoop's RawLocalFileSystem creates the parents anyway
      if (!fs.getFileStatus(tmp.getParent()).isDirectory()) {
        throw new java.io.FileNotFoundException(tmp.getParent() + " is not a directory");
      }
      return fs.createNonRecursive(tmp, true, conf.getInt("io.file.buffer.size", 4096), fs.getDefaultReplication(tmp),
          fs.getDefaultBlockSize(tmp), null);
    } catch (java.io.FileNotFoundException e) {
      throw new IOException(tmp.getParent() + " does not exist: the build has committed or ended, so this attempt (a"
          + " late copy of a finished task) writes nothing", e);
    }
  }

  /**
   * The file of {@code entry} in {@code index}, after checking it is a regular file inside the
   * directory ({@link RegularFiles}) with the length the manifest gives it.
   */
  public static Path checkedFile(FileSystem fs, Path index, Manifest.FileEntry entry) throws IOException {
    Path path = new Path(index, entry.file);
    RegularFiles.check(fs, index, path, entry.file);
    checkLength(fs, path, entry);
    return path;
  }

  /** Fails unless {@code path} exists with the length the manifest gives it. */
  public static void checkLength(FileSystem fs, Path path, Manifest.FileEntry entry) throws IOException {
    long len;
    try {
      len = fs.getFileStatus(path).getLen();
    } catch (java.io.FileNotFoundException e) {
      // no cause: the CLI reports the innermost message, and this one says what is wrong
      throw new IOException(path + " is missing; " + IndexLayout.MANIFEST + " lists it with " + entry.bytes + " bytes");
    }
    if (len != entry.bytes) {
      throw new IOException(path + " has " + len + " bytes; " + IndexLayout.MANIFEST + " says " + entry.bytes
          + " (a truncated or replaced file)");
    }
  }

  /** The SHA-256 of a whole file, as the manifest writes it. */
  static String sha256Of(FileSystem fs, Path path) throws IOException {
    MessageDigest sha = sha256();
    try (InputStream in = new DigestInputStream(fs.open(path), sha)) {
      drain(in);
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  /** Reads a whole small file (the quantizer). */
  public static byte[] readAll(Path path, Configuration conf) throws IOException {
    FileSystem fs = path.getFileSystem(conf);
    long len = fs.getFileStatus(path).getLen();
    if (len > Integer.MAX_VALUE - 8) {
      throw new IOException(path + " has " + len + " bytes, more than one array holds");
    }
    byte[] b = new byte[(int) len];
    try (InputStream in = fs.open(path)) {
      int off = 0;
      while (off < b.length) {
        int r = in.read(b, off, b.length - off);
        if (r < 0) {
          throw new IOException(path + " ended at byte " + off + " of " + len);
        }
        off += r;
      }
    }
    return b;
  }

  /**
   * The quantizer of the given bytes (its file), loaded once per JVM: executors share one copy,
   * with its tables, among all tasks. {@code key} names the index and its checksum.
   */
  public static InvertedFileIndex quantizer(String key, Supplier<byte[]> bytes) {
    synchronized (QUANTIZERS) {
      VectorIndex q = QUANTIZERS.get(key);
      if (q == null) {
        byte[] b = bytes.get();
        try {
          q = IndexIO.read(new ByteArrayInputStream(b), key, b.length);
        } catch (IOException e) {
          throw new IllegalStateException("cannot read the quantizer " + key + ": " + e.getMessage(), e);
        }
        if (QUANTIZERS.size() >= 4) {
          QUANTIZERS.remove(QUANTIZERS.keySet().iterator().next());
        }
        QUANTIZERS.put(key, q);
      }
      return (InvertedFileIndex) (q instanceof RefineIndex r ? r.base() : q);
    }
  }

  /**
   * The shard at {@code index/file}, loaded through this JVM's cache (bounded by
   * {@code cacheBytes}, or by {@link #DEFAULT_CACHE_BYTES} of this JVM when it is 0 or less); the
   * file's checksum is verified on load.
   */
  public static InvertedFileIndex shard(Path index, Manifest.FileEntry entry, InvertedFileIndex quantizer,
                                        Configuration conf, long cacheBytes) throws IOException {
    return shard(index, "", entry, quantizer, conf, cacheBytes);
  }

  /**
   * {@link #shard(Path, Manifest.FileEntry, InvertedFileIndex, Configuration, long)} cached under
   * {@code indexKey} (the loaded index's identity, {@code SearchPlan.LoadedIndex#quantizerKey}):
   * an index rebuilt at the same path ({@code --overwrite}) is a new cache entry. The path and the
   * whole-file CRC32C alone do not tell builds apart: every index file ends with the CRC32C of the
   * bytes before it, so the CRC32C of a whole file is the same constant for all of them.
   */
  public static InvertedFileIndex shard(Path index, String indexKey, Manifest.FileEntry entry,
                                        InvertedFileIndex quantizer, Configuration conf, long cacheBytes)
      throws IOException {
    String key = cacheKey(index, indexKey, entry);
    return (InvertedFileIndex) SHARDS.get(key, cacheLimit(cacheBytes), () -> {
      long t0 = System.nanoTime();
      String what = entry instanceof Manifest.Shard sh ? "shard " + sh.shard : entry.file;
      InvertedFileIndex s = readChecked(index, entry, conf, what,
          (in, name) -> IndexIO.readShard(in, name, entry.bytes, quantizer));
      if (entry instanceof Manifest.Shard sh) {
        checkLists(new Path(index, entry.file), s, sh);
      }
      LOG.info("loaded {} ({} vectors, {} MB) in {} ms", new Path(index, entry.file), s.ntotal(), entry.bytes >> 20,
          (System.nanoTime() - t0) / 1_000_000);
      return s;
    });
  }

  /** Reads an index file from a stream. */
  @FunctionalInterface
  private interface FileReader<T> {
    T read(InputStream in, String name) throws IOException;
  }

  /**
   * Reads the file of {@code entry} after {@link #checkedFile}, checking its SHA-256 against the
   * manifest's ({@code what} names the entry); a file that is not an index file is named, not
   * quoted.
   */
  private static <T> T readChecked(Path index, Manifest.FileEntry entry, Configuration conf, String what,
                                   FileReader<T> reader) throws IOException {
    FileSystem fs = index.getFileSystem(conf);
    Path path = checkedFile(fs, index, entry);
    MessageDigest sha = sha256();
    try (InputStream in = new DigestInputStream(new java.io.BufferedInputStream(fs.open(path), 1 << 20), sha)) {
      T read;
      try {
        read = reader.read(in, path.toString());
      } catch (NotAnIndexFileException e) {
        throw notAnIndexFile(path);
      }
      drain(in);
      checkSha256(path, entry, sha.digest(), what);
      return read;
    }
  }

  /**
   * The error for a file of an index directory that is not an index file, without quoting its
   * bytes as {@link NotAnIndexFileException} does: the file may hold anything.
   */
  public static IOException notAnIndexFile(Path path) {
    return new IOException(path + ": not a Quiver index file (it does not start with the magic "
        + IndexFormat.fourccToString(IndexFormat.MAGIC) + "); restore the index directory as it was built, or rebuild it");
  }

  /** The cache key of a file of the index that {@code indexKey} names. */
  private static String cacheKey(Path index, String indexKey, Manifest.FileEntry entry) {
    return indexKey + "|" + new Path(index, entry.file) + "#" + (entry.sha256 != null ? entry.sha256 : entry.crc32c);
  }

  /**
   * Fails unless the loaded shard holds the vectors and exactly the list sizes its manifest entry
   * gives: searches route each query to the shards the manifest names for its lists.
   */
  static void checkLists(Path path, InvertedFileIndex s, Manifest.Shard sh) throws IOException {
    if (s.ntotal() != sh.count) {
      throw new IOException(path + " holds " + s.ntotal() + " vectors; " + IndexLayout.MANIFEST + " says shard "
          + sh.shard + " holds " + sh.count);
    }
    long[] listed = new long[s.nlist()];
    for (long[] lc : sh.lists) {
      if (lc[0] >= listed.length) {
        throw new IOException(IndexLayout.MANIFEST + " lists list " + lc[0] + " in shard " + sh.shard + ", but " + path
            + " has nlist " + s.nlist());
      }
      listed[(int) lc[0]] += lc[1];
    }
    for (int l = 0; l < listed.length; l++) {
      if (s.listSize(l) != listed[l]) {
        throw new IOException(path + " holds " + s.listSize(l) + " entries of list " + l + "; " + IndexLayout.MANIFEST
            + " says shard " + sh.shard + " holds " + listed[l] + " (searches go to the shards the manifest names "
            + "for each list, so the manifest was modified or belongs to another build)");
      }
    }
  }

  /**
   * A shard of an {@code RFlat} index with its raw vectors ({@code shard.refineFile}, a 'FLAT'
   * index file), loaded through the same cache as the shards and checked to hold the shard's ids,
   * each once ({@link RefineIndex#fromParts}).
   */
  public static RefineIndex refined(Path index, String indexKey, Manifest.Shard shard, InvertedFileIndex codes,
                                    Configuration conf, long cacheBytes) throws IOException {
    Manifest.FileEntry entry = shard.refineFile;
    return (RefineIndex) SHARDS.get(cacheKey(index, indexKey, entry) + "+refined", cacheLimit(cacheBytes), () -> {
      FlatIndex raw = refine(index, entry, conf);
      try {
        return RefineIndex.fromParts(codes, raw, 1f);
      } catch (IllegalArgumentException e) {
        throw new IOException(new Path(index, entry.file) + " does not hold the raw vectors of "
            + new Path(index, shard.file) + ": " + e.getMessage());
      }
    });
  }

  /** The raw vectors of a shard of an {@code RFlat} index (a 'FLAT' index file). */
  private static FlatIndex refine(Path index, Manifest.FileEntry entry, Configuration conf) throws IOException {
    VectorIndex v = readChecked(index, entry, conf, "the raw vectors " + entry.file,
        (in, name) -> IndexIO.read(in, name, entry.bytes));
    if (!(v instanceof FlatIndex f)) {
      throw new IOException(new Path(index, entry.file) + " holds " + v.factoryString() + " where the raw vectors of a "
          + "shard (Flat) belong");
    }
    return f;
  }

  /** Drops every cached shard and quantizer of this JVM (tests, and jobs that finish). */
  public static void clearCaches() {
    synchronized (QUANTIZERS) {
      QUANTIZERS.clear();
    }
    SHARDS.clear();
  }

  /** Loads a value that may fail with an I/O error. */
  @FunctionalInterface
  interface Loader {
    VectorIndex load() throws IOException;
  }

  /** What this JVM's shard cache did since it started (or since {@link #clearCaches}). */
  public record CacheStats(long hits, long loads, long evictions, long bytes, int entries) {}

  /** The counters of this JVM's shard cache (an executor's, or the driver's in local mode). */
  public static CacheStats cacheStats() {
    return SHARDS.stats();
  }

  /** An LRU map bounded by the sum of the shards' list bytes. */
  static final class ShardCache {
    private final LinkedHashMap<String, VectorIndex> map = new LinkedHashMap<>(16, 0.75f, true);
    private long bytes;
    private long hits;
    private long loads;
    private long evictions;

    synchronized VectorIndex get(String key, long limit, Loader loader) throws IOException {
      VectorIndex s = map.get(key);
      if (s != null) {
        hits++;
        return s;
      }
      s = loader.load();
      loads++;
      long size = sizeOf(s);
      Iterator<Map.Entry<String, VectorIndex>> it = map.entrySet().iterator();
      while (bytes + size > limit && it.hasNext()) {
        Map.Entry<String, VectorIndex> e = it.next();
        long freed = sizeOf(e.getValue());
        bytes -= freed;
        it.remove();
        evictions++;
        LOG.debug("shard cache: evicted {} ({} bytes) to hold {} ({} bytes) within {} bytes", e.getKey(), freed, key,
            size, limit);
      }
      map.put(key, s);
      bytes += size;
      return s;
    }

    synchronized CacheStats stats() {
      return new CacheStats(hits, loads, evictions, bytes, map.size());
    }

    synchronized void clear() {
      map.clear();
      bytes = 0;
      hits = 0;
      loads = 0;
      evictions = 0;
    }

    private static long sizeOf(VectorIndex s) {
      int code = s instanceof InvertedFileIndex ivf ? ivf.codeSize() : 4 * s.d();
      return s.ntotal() * (code + 8L);
    }
  }
}
