package io.quiver.spark.shard;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.quiver.index.io.IndexFormat;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * {@code manifest.json}: what an index directory holds. Written by the driver after every shard
 * is committed and before {@code _SUCCESS}; it has no timestamps, so the same build gives the same
 * bytes.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonPropertyOrder({"format", "formatVersion", "buildId", "factory", "metric", "d", "nlist", "codeSize", "ntotal", "refine",
    "idType", "input", "invalid", "seed", "quantizer", "shards"})
public final class Manifest implements Serializable {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Manifest.class);
  private static final long serialVersionUID = 1L;

  public static final String FORMAT = "quiver-index";
  /** Version 1: the fields below but {@link #buildId} and {@link FileEntry#sha256}. */
  public static final int VERSION_1 = 1;
  /**
   * Version 2: {@link #buildId}, and every file entry's {@link FileEntry#sha256}, which readers
   * check (a version 1 manifest is read without them).
   */
  public static final int VERSION_2 = 2;
  public static final int FORMAT_VERSION = VERSION_2;
  /** Largest manifest read: one per index, a few KB per shard (per-list counts included). */
  public static final long MAX_MANIFEST_BYTES = 256L << 20;

  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  public String format = FORMAT;
  public int formatVersion = FORMAT_VERSION;
  /**
   * The build's identity (version 2): {@link #buildIdOf} the SHA-256 of the quantizer and of
   * every shard file in shard order, so it names exactly these files; null in version 1.
   */
  public String buildId;
  /** The factory string, e.g. {@code IVF1024,PQ16}. */
  public String factory;
  /** l2, ip or cosine. */
  public String metric;
  public int d;
  public int nlist;
  /** Bytes per stored vector's code in the shards. */
  public int codeSize;
  /** Vectors in all shards together: the input's valid rows (all rows unless some were skipped: {@link #invalid}). */
  public long ntotal;
  /** True for {@code ,RFlat} indexes: each shard has a second file with its raw vectors. */
  public boolean refine;
  /** "long" (the input's ids as they are) or "string" (mapped to longs; see idmap/). */
  public String idType;
  public Input input;
  /**
   * Input rows left out by {@code --on-invalid skip}, by reason ({@code null_id},
   * {@code null_vector}, {@code dimension}, {@code null_component}, {@code nan}, {@code infinite},
   * {@code duplicate_id}): empty when none was; absent (null) in manifests written before the
   * field existed.
   */
  public java.util.Map<String, Long> invalid;
  public long seed;
  public FileEntry quantizer;
  public List<Shard> shards = new ArrayList<>();

  /**
   * Where the vectors came from: the table's fully qualified path (as typed in manifests written
   * before paths were qualified), its format, reader options and columns, and a fingerprint
   * checked whenever the index reads the table again ({@code io.quiver.spark.io.Tables#openRecorded}):
   * the row count and the schema ({@code StructType.simpleString}); null fields are left out.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
  @JsonPropertyOrder({"path", "format", "options", "idCol", "vectorCol", "rows", "schema"})
  public static final class Input implements Serializable {
    private static final long serialVersionUID = 1L;
    public String path;
    public String format;
    /** Reader options ({@code DataFrameReader.option}), or null for none. */
    public java.util.Map<String, String> options;
    public String idCol;
    public String vectorCol;
    /** Rows of the table when the index was built (all of them, invalid ones included); null: unknown. */
    public Long rows;
    /** The table's schema when the index was built, {@code StructType.simpleString()}; null: unknown. */
    public String schema;
  }

  /** A file of the index with its size, CRC32C and SHA-256 (of the whole file). */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonPropertyOrder({"file", "bytes", "crc32c", "sha256"})
  public static class FileEntry implements Serializable {
    private static final long serialVersionUID = 1L;
    /** Relative to the index directory. */
    public String file;
    public long bytes;
    /**
     * CRC32C of every byte of the file, as unsigned hex. Every index file ends with the CRC32C of
     * the bytes before it, so this is the same constant for all of them: it tells damage from a
     * well-formed file only, never one well-formed file from another ({@link #sha256} does).
     */
    public String crc32c;
    /** SHA-256 of every byte of the file, 64 lowercase hex digits (version 2; null in version 1). */
    public String sha256;
  }

  /** One shard: its file, count, and how many entries of each list it holds. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  @JsonPropertyOrder({"shard", "file", "count", "bytes", "crc32c", "sha256", "refineFile", "lists"})
  public static final class Shard extends FileEntry {
    private static final long serialVersionUID = 1L;
    public int shard;
    public long count;
    /** RFlat indexes: the shard's raw vectors, a 'FLAT' index file; null otherwise. */
    public FileEntry refineFile;
    /** {@code [list, entries]} pairs, by list. */
    public List<long[]> lists = new ArrayList<>();
  }

  public static Manifest read(Path index, Configuration conf) throws IOException {
    // --overwrite swaps directories with two renames: a file that vanishes while it is read means
    // the index was replaced under the reader, which then reads the new one (or finds none)
    for (int attempt = 1; ; attempt++) {
      try {
        return readOnce(index, conf);
      } catch (java.io.FileNotFoundException e) {
        if (attempt == SWAP_RETRIES) {
          throw e.getMessage() != null && (e.getMessage().startsWith("no index at")
              || e.getMessage().startsWith("not a Quiver index")) ? e
              : new IOException("cannot read " + IndexLayout.manifest(index) + ": " + e.getMessage(), e);
        }
        if (e.getMessage() != null && e.getMessage().startsWith("not a Quiver index")) {
          LOG.debug("{}: {}; reading it again in case an --overwrite swap is under way", index, e.getMessage());
        } else {
          LOG.info("{} changed while it was read ({}); reading it again", index, e.getMessage());
        }
        try {
          Thread.sleep(100L * attempt);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }

  /** A few words on what a directory without a manifest holds, for the message that says it is no index. */
  private static String whatItHolds(FileSystem fs, Path dir) {
    try {
      org.apache.hadoop.fs.FileStatus[] files = fs.listStatus(dir);
      List<String> names = new ArrayList<>();
      boolean table = false;
      for (org.apache.hadoop.fs.FileStatus f : files) {
        String n = f.getPath().getName();
        table |= n.startsWith("part-");
        if (names.size() < 3 && !n.startsWith(".")) {
          names.add(n);
        }
      }
      if (table) {
        return "it holds part-* files: a table written by Spark, not an index";
      }
      return names.isEmpty() ? "it is empty but for " + IndexLayout.SUCCESS : "it holds " + String.join(", ", names)
          + (files.length > names.size() ? ", ..." : "");
    } catch (IOException e) {
      return "its files cannot be listed: " + e.getMessage();
    }
  }

  /** Attempts of {@link #read} when files vanish under it. */
  private static final int SWAP_RETRIES = 4;

  private static Manifest readOnce(Path index, Configuration conf) throws IOException {
    Path path = IndexLayout.manifest(index);
    FileSystem fs = path.getFileSystem(conf);
    if (!fs.exists(IndexLayout.success(index))) {
      if (!fs.exists(index) && !StagedOutput.recover(fs, fs.makeQualified(index), true)) {
        throw new java.io.FileNotFoundException("no index at " + index + ": the directory does not exist");
      }
      // --overwrite's second rename may have put a committed index in place between the two checks
      if (!fs.exists(IndexLayout.success(index))) {
        throw new IOException("no committed index at " + index + ": " + IndexLayout.SUCCESS + " is missing (the build "
            + "that wrote it did not finish, or this is not an index directory)");
      }
    }
    RegularFiles.check(fs, index, path, IndexLayout.MANIFEST);
    if (!fs.exists(path)) {
      // a committed directory without a manifest: a Spark table (its writer commits with
      // _SUCCESS too), or some other job's output
      throw new java.io.FileNotFoundException("not a Quiver index: " + index + " has no " + IndexLayout.MANIFEST
          + " (" + whatItHolds(fs, index) + "); give the directory quiver index or build wrote");
    }
    long len = fs.getFileStatus(path).getLen();
    if (len > MAX_MANIFEST_BYTES) {
      throw new IOException(path + " has " + len + " bytes; a manifest has at most " + MAX_MANIFEST_BYTES
          + " (this is not a Quiver manifest, or it is corrupt)");
    }
    Manifest m;
    try (InputStream in = fs.open(path)) {
      m = JSON.readValue(in, Manifest.class);
    } catch (java.io.FileNotFoundException e) {
      throw e;
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      // the parser's message quotes the file's bytes: say where, not what
      com.fasterxml.jackson.core.JsonLocation at = e.getLocation();
      throw new IOException(path + " is not a Quiver manifest: not valid JSON for a manifest"
          + (at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr()));
    } catch (IOException e) {
      throw new IOException("cannot read " + path + ": " + e.getMessage(), e);
    }
    if (!FORMAT.equals(m.format) || m.formatVersion < VERSION_1) {
      throw new IOException(path + " is not a Quiver manifest (format '" + m.format + "', version " + m.formatVersion + ")");
    }
    if (m.formatVersion > FORMAT_VERSION) {
      throw new IOException(path + " has manifest version " + m.formatVersion + "; this Quiver reads up to version "
          + FORMAT_VERSION + ": upgrade Quiver");
    }
    m.validate(path);
    return m;
  }

  /**
   * Checks what a reader relies on before it opens any other file: the shape, every file name
   * (exactly the names {@link IndexLayout} gives, so no entry can point outside the index
   * directory), sizes and checksums present, shards numbered 0..n-1, and counts that add up.
   *
   * @throws IOException naming the manifest, the entry and what would be valid
   */
  void validate(Path path) throws IOException {
    if (d < 1 || nlist < 1 || codeSize < 1 || ntotal < 0) {
      throw new IOException(path + ": d " + d + ", nlist " + nlist + ", codeSize " + codeSize + ", ntotal " + ntotal
          + ": d, nlist and codeSize must be >= 1 and ntotal >= 0");
    }
    if (d > IndexFormat.MAX_D || nlist > IndexFormat.MAX_NLIST) {
      throw new IOException(path + ": d " + d + ", nlist " + nlist + ": an index has d <= " + IndexFormat.MAX_D
          + " and nlist <= " + IndexFormat.MAX_NLIST);
    }
    checkFile(path, "quantizer", quantizer, IndexLayout.QUANTIZER);
    if (shards == null || shards.isEmpty()) {
      throw new IOException(path + " lists no shards; an index has at least one");
    }
    long sum = 0;
    for (int i = 0; i < shards.size(); i++) {
      Shard sh = shards.get(i);
      if (sh == null || sh.shard != i) {
        throw new IOException(path + ": shards[" + i + "] is shard " + (sh == null ? "null" : sh.shard)
            + "; shards must be numbered 0.." + (shards.size() - 1) + " in order");
      }
      checkFile(path, "shard " + i, sh, IndexLayout.shardFile(i));
      if (refine) {
        checkFile(path, "shard " + i + "'s raw vectors", sh.refineFile, IndexLayout.refineFile(i));
      }
      long inLists = 0;
      for (long[] l : sh.lists == null ? List.<long[]>of() : sh.lists) {
        if (l == null || l.length != 2 || l[0] < 0 || l[0] >= nlist || l[1] < 0) {
          throw new IOException(path + ": shard " + i + " has list entry " + java.util.Arrays.toString(l)
              + "; entries are [list, count] with 0 <= list < nlist " + nlist + " and count >= 0");
        }
        inLists = addCounts(path, "shard " + i + "'s list entries", inLists, l[1]);
      }
      if (sh.count < 0 || inLists != sh.count) {
        throw new IOException(path + ": shard " + i + " says it holds " + sh.count + " vectors, its lists hold " + inLists);
      }
      sum = addCounts(path, "the shards' counts", sum, sh.count);
    }
    if (formatVersion >= VERSION_2) {
      String expected = buildIdOf(quantizer, shards);
      if (!expected.equals(buildId)) {
        throw new IOException(path + ": buildId '" + buildId + "' is not the identity of the files it lists ('" + expected
            + "', from their SHA-256): the manifest was modified");
      }
    }
    if (invalid != null) {
      for (java.util.Map.Entry<String, Long> e : invalid.entrySet()) {
        if (e.getValue() == null || e.getValue() < 0) {
          throw new IOException(path + ": invalid." + e.getKey() + " is " + e.getValue() + "; the counts of invalid "
              + "input rows are numbers >= 0");
        }
      }
    }
    if (sum != ntotal) {
      throw new IOException(path + ": the shards hold " + sum + " vectors in all, ntotal says " + ntotal);
    }
  }

  /** {@code a + b} for counts >= 0, refused when the sum leaves the long range. */
  private static long addCounts(Path path, String what, long a, long b) throws IOException {
    try {
      return Math.addExact(a, b);
    } catch (ArithmeticException e) {
      throw new IOException(path + ": " + what + " add up to more than 2^63-1 vectors; counts are the vectors a "
          + "shard holds");
    }
  }

  /**
   * The identity of a build: the first 16 bytes, in hex, of the SHA-256 of the SHA-256 of the
   * quantizer and of every shard (and its raw-vector file, RFlat), in shard order.
   */
  public static String buildIdOf(FileEntry quantizer, List<Shard> shards) {
    java.security.MessageDigest md = ShardStore.sha256();
    StringBuilder sb = new StringBuilder(String.valueOf(quantizer.sha256));
    for (Shard s : shards) {
      sb.append('|').append(s.sha256);
      if (s.refineFile != null) {
        sb.append('+').append(s.refineFile.sha256);
      }
    }
    byte[] h = md.digest(sb.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    return java.util.HexFormat.of().formatHex(h, 0, 16);
  }

  private void checkFile(Path path, String what, FileEntry e, String expected) throws IOException {
    if (e == null || e.file == null) {
      throw new IOException(path + ": the " + what + " entry names no file; expected '" + expected + "'");
    }
    if (!e.file.equals(expected)) {
      throw new IOException(path + ": the " + what + " entry names the file '" + e.file + "'; expected '" + expected
          + "' (entries name files inside the index directory only)");
    }
    if (e.bytes < 0 || e.crc32c == null || !e.crc32c.matches("[0-9a-f]{8}")) {
      throw new IOException(path + ": the " + what + " entry has bytes " + e.bytes + " and crc32c '" + e.crc32c
          + "'; expected bytes >= 0 and 8 lowercase hex digits");
    }
    if (formatVersion >= VERSION_2 && (e.sha256 == null || !e.sha256.matches("[0-9a-f]{64}"))) {
      throw new IOException(path + ": the " + what + " entry has sha256 '" + e.sha256 + "'; a version "
          + formatVersion + " manifest gives every file's SHA-256 as 64 lowercase hex digits");
    }
  }

  /**
   * Checks, before any task runs, that every shard file (and RFlat raw-vector file) this manifest
   * lists is in {@code index} as a regular file of the listed size, with one listing of
   * {@code shards/}: a manifest naming missing files fails here instead of in every task.
   */
  public void checkShardFiles(Path index, Configuration conf) throws IOException {
    FileSystem fs = index.getFileSystem(conf);
    java.util.Map<String, org.apache.hadoop.fs.FileStatus> present = new java.util.HashMap<>();
    try {
      for (org.apache.hadoop.fs.FileStatus st : fs.listStatus(new Path(index, IndexLayout.SHARDS))) {
        present.put(IndexLayout.SHARDS + "/" + st.getPath().getName(), st);
      }
    } catch (java.io.FileNotFoundException e) {
      // no shards/ directory: every shard is missing
    }
    List<FileEntry> listed = new ArrayList<>();
    for (Shard s : shards) {
      listed.add(s);
      if (s.refineFile != null) {
        listed.add(s.refineFile);
      }
    }
    FileEntry firstMissing = null;
    int missing = 0;
    for (FileEntry e : listed) {
      org.apache.hadoop.fs.FileStatus st = present.get(e.file);
      if (st == null) {
        firstMissing = firstMissing == null ? e : firstMissing;
        missing++;
        continue;
      }
      Path file = new Path(index, e.file);
      if (!st.isFile()) {
        throw new IOException(file + " is not a regular file; " + IndexLayout.MANIFEST + " lists it as an index file");
      }
      RegularFiles.check(fs, index, file, e.file);
      if (st.getLen() != e.bytes) {
        throw new IOException(file + " has " + st.getLen() + " bytes; " + IndexLayout.MANIFEST + " says " + e.bytes
            + " (a truncated or replaced file)");
      }
    }
    if (missing > 0) {
      throw new IOException(new Path(index, firstMissing.file) + " is missing; " + IndexLayout.MANIFEST + " lists it "
          + "with " + firstMissing.bytes + " bytes" + (missing > 1 ? " (and " + (missing - 1) + " more of the "
          + listed.size() + " shard files it lists are missing)" : ""));
    }
  }

  public void write(Path index, Configuration conf) throws IOException {
    Path path = IndexLayout.manifest(index);
    FileSystem fs = path.getFileSystem(conf);
    try (OutputStream out = fs.create(path, true)) {
      out.write(toJson().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
  }

  public String toJson() {
    try {
      return JSON.writeValueAsString(this) + "\n";
    } catch (IOException e) {
      throw new IllegalStateException("cannot serialize the manifest", e);
    }
  }

  /** For each list, the shards that hold entries of it, in shard order. */
  public int[][] listToShards() {
    List<List<Integer>> byList = new ArrayList<>();
    for (int l = 0; l < nlist; l++) {
      byList.add(new ArrayList<>());
    }
    for (Shard s : shards) {
      for (long[] lc : s.lists) {
        if (lc[1] > 0) {
          byList.get((int) lc[0]).add(s.shard);
        }
      }
    }
    int[][] out = new int[nlist][];
    for (int l = 0; l < nlist; l++) {
      out[l] = byList.get(l).stream().mapToInt(Integer::intValue).toArray();
    }
    return out;
  }

  /** The size of every list over all shards. */
  public long[] listSizes() {
    long[] sizes = new long[nlist];
    for (Shard s : shards) {
      for (long[] lc : s.lists) {
        sizes[(int) lc[0]] += lc[1];
      }
    }
    return sizes;
  }
}
