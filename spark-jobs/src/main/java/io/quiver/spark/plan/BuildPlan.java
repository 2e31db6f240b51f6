package io.quiver.spark.plan;

import io.quiver.index.FlatIndex;
import io.quiver.index.InvertedFileIndex;
import io.quiver.index.io.IndexIO;
import io.quiver.spark.shard.HadoopConf;
import io.quiver.spark.shard.IndexLayout;
import io.quiver.spark.shard.Manifest;
import io.quiver.spark.shard.ShardPlan;
import io.quiver.spark.shard.ShardStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * Building: broadcast the quantizer; assign and encode on the executors; count the lists;
 * plan balanced shards on the driver; shuffle each entry to its shard's task, sorted by (list,
 * id); each task writes its shard file once; the driver checks the counts and commits the index
 * with {@code manifest.json} and then {@code _SUCCESS}.
 */
public final class BuildPlan {
  private static final Logger LOG = LoggerFactory.getLogger(BuildPlan.class);

  /** Vectors encoded per call into index-core (one batch per task at a time). */
  static final int ENCODE_BATCH = 4096;
  /** Default shard size target when choosing the number of shards: 256 MiB of codes and ids. */
  public static final long DEFAULT_SHARD_BYTES = 256L << 20;

  private BuildPlan() {}

  /** What a build did. */
  public record Result(Manifest manifest, long rows, double encodeSeconds, double writeSeconds) {}

  /** A vector with its (long) id, inside one task. */
  record IdVec(long id, float[] v) {}

  /**
   * The number of shards: one per {@code shardBytes} of codes and ids, at least one. Search
   * parallelism does not need more: a shard is served by several tasks, each with a part of the
   * queries, and fewer shards mean fewer partial results to merge per query.
   */
  public static int defaultShards(long rows, int codeSize, long shardBytes) {
    long bytes = rows * (codeSize + 8L);
    return (int) Math.max(1, Math.min(100_000, (bytes + shardBytes - 1) / shardBytes));
  }

  /**
   * Builds the index directory {@code index}, whose {@code quantizer.qvq} is already written
   * ({@code quantizerEntry}); commits it with the manifest and {@code _SUCCESS}.
   *
   * @param inputRows rows of the input counted beforehand (the invariant checked at the end), or
   *     -1 to count them here
   * @param shards number of shards, or 0 for {@link #defaultShards}
   */
  public static Result build(SparkSession spark, VectorInput input, Manifest.Input inputInfo, Path index,
                             InvertedFileIndex quantizer, boolean refine, byte[] quantizerBytes,
                             Manifest.FileEntry quantizerEntry,
                             long inputRows, int shards, long seed) throws IOException {
    try (Phase.Sequence phases = new Phase.Sequence(spark, "build")) {
      return build(spark, input, inputInfo, index, quantizer, refine, quantizerBytes, quantizerEntry, inputRows, shards,
          seed, phases);
    }
  }

  private static Result build(SparkSession spark, VectorInput input, Manifest.Input inputInfo, Path index,
                              InvertedFileIndex quantizer, boolean refine, byte[] quantizerBytes,
                              Manifest.FileEntry quantizerEntry, long inputRows, int shards, long seed,
                              Phase.Sequence phases) throws IOException {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    HadoopConf hc = new HadoopConf(spark.sparkContext().hadoopConfiguration());
    int d = quantizer.d();
    int codeSize = quantizer.codeSize();
    int nlist = quantizer.nlist();
    String qkey = IndexLayout.quantizer(index) + "#" + quantizerEntry.sha256;
    Broadcast<byte[]> qb = jsc.broadcast(quantizerBytes);
    long t0 = System.nanoTime();
    if (inputRows < 0) {
      phases.next("count the input rows");
      inputRows = input.projected().count();
      phases.end(inputRows, "rows");
    }
    phases.next("encode %,d vectors (d = %d) into %,d lists", inputRows, d, nlist);

    // one pass over the input: invalid rows are counted (and left out) where they are read
    InvalidRows invalidRows = new InvalidRows();
    spark.sparkContext().register(invalidRows, "quiver: invalid input rows");
    InvalidRows.Report invalid;
    JavaRDD<IdVec> vectors;
    JavaRDD<Tuple2<String, float[]>> checked = null;
    JavaRDD<Encoded> encoded;
    long[] dupIds = null;
    if (input.idType() == VectorInput.IdType.STRING) {
      // string ids are numbered 0, 1, ... over the valid rows without a duplicated id
      checked = input.internalRows().mapPartitionsWithIndex((part, it) -> input.validRows(part, it, d, invalidRows,
          (r, v, pos) -> new Tuple2<>(r.getUTF8String(0).toString(), v)), true);
      checked.persist(StorageLevel.MEMORY_AND_DISK());
      Duplicates<String> dups = Duplicates.strings(checked.map(Tuple2::_1));
      invalid = invalidRows.value();
      dups.report(invalid);
      failOrLog(input, invalid, d);
      JavaRDD<Tuple2<String, float[]>> kept = checked;
      if (dups.ids() > 0) {
        Broadcast<String[]> drop = jsc.broadcast(dups.collectStrings());
        kept = checked.filter(t -> Arrays.binarySearch(drop.value(), t._1()) < 0);
      }
      JavaPairRDD<Tuple2<String, float[]>, Long> numbered = kept.zipWithIndex();
      StructType schema = new StructType().add("id", DataTypes.LongType, false).add("key", DataTypes.StringType, false);
      Dataset<Row> idmap = spark.createDataFrame(numbered.map(t -> RowFactory.create(t._2(), t._1()._1())), schema);
      idmap.write().mode(SaveMode.ErrorIfExists).parquet(IndexLayout.idmap(index).toString());
      vectors = numbered.map(t -> new IdVec(t._2(), t._1()._2()));
      encoded = encode(vectors, qkey, qb, d, refine);
      encoded.persist(StorageLevel.MEMORY_AND_DISK_SER());
    } else {
      // ids below 0 are invalid here: searches take every negative id for padding
      vectors = input.internalRows().mapPartitionsWithIndex((part, it) -> input.validRows(part, it, d, true,
          invalidRows, (r, v, pos) -> new IdVec(r.getLong(0), v)), true);
      encoded = encode(vectors, qkey, qb, d, refine);
      encoded.persist(StorageLevel.MEMORY_AND_DISK_SER());
      // the action that encodes (and caches) the input and counts its invalid rows
      Duplicates<Long> dups = Duplicates.longs(encoded.map(e -> e.id));
      invalid = invalidRows.value();
      dups.report(invalid);
      failOrLog(input, invalid, d);
      if (dups.ids() > 0) {
        dupIds = dups.collectLongs();
      }
    }
    input.skipped(invalid);
    if (dupIds != null) {
      Broadcast<long[]> drop = jsc.broadcast(dupIds);
      encoded = encoded.filter(e -> Arrays.binarySearch(drop.value(), e.id) < 0);
    }
    long[] histogram = encoded.mapPartitions(it -> {
      long[] h = new long[nlist];
      while (it.hasNext()) {
        h[it.next().list]++;
      }
      return Collections.singletonList(h).iterator();
    }).treeReduce((a, b) -> {
      long[] s = a.clone();
      for (int i = 0; i < s.length; i++) {
        s[i] += b[i];
      }
      return s;
    });
    long rows = Arrays.stream(histogram).sum();
    double encodeSeconds = (System.nanoTime() - t0) / 1e9;
    long expected = inputRows - invalid.total();
    if (rows != expected) {
      throw new IllegalStateException("encoded " + rows + " vectors but the input has " + inputRows + " rows, "
          + invalid.total() + " of them invalid (did the input change during the build?); nothing was committed");
    }
    int nshards = shards > 0 ? shards : defaultShards(rows, codeSize, DEFAULT_SHARD_BYTES);
    ShardPlan plan = ShardPlan.balance(histogram, nshards);
    phases.end(rows, "vectors");
    phases.next("write %,d vectors in %d shards", rows, nshards);

    long t1 = System.nanoTime();
    // the shard tasks create files only inside these (writeOnce without createDirectories): an
    // attempt that outlives the commit, which deletes _temporary, cannot re-create anything
    FileSystem ifs = index.getFileSystem(spark.sparkContext().hadoopConfiguration());
    ifs.mkdirs(IndexLayout.temporary(index));
    ifs.mkdirs(new Path(index, IndexLayout.SHARDS));
    JavaPairRDD<Encoded, Boolean> routed = encoded.mapToPair(
        e -> {
          Encoded routedEntry = new Encoded(plan.shardOf(e.list, e.id), e.list, e.id, e.code);
          routedEntry.raw = e.raw;
          return new Tuple2<>(routedEntry, Boolean.TRUE);
        });
    List<Manifest.Shard> written = routed
        .repartitionAndSortWithinPartitions(new ShardPartitioner(nshards))
        .mapPartitionsWithIndex((shard, it) -> {
          InvertedFileIndex q = ShardStore.quantizer(qkey, qb::value);
          return Collections.singletonList(writeShard(index.toString(), shard, it, q, refine, hc)).iterator();
        }, true)
        .collect();
    encoded.unpersist(false);
    if (checked != null) {
      checked.unpersist(false);
    }

    List<Manifest.Shard> sorted = new ArrayList<>(written);
    sorted.sort((a, b) -> Integer.compare(a.shard, b.shard));
    long total = 0;
    for (int s = 0; s < nshards; s++) {
      if (sorted.size() <= s || sorted.get(s).shard != s) {
        throw new IllegalStateException("shard " + s + " was not written; nothing was committed");
      }
      total += sorted.get(s).count;
    }
    if (total != expected) {
      throw new IllegalStateException("the shards hold " + total + " vectors but the input has " + expected
          + " valid rows; nothing was committed");
    }
    Manifest m = new Manifest();
    m.factory = quantizer.factoryString() + (refine ? ",RFlat" : "");
    m.refine = refine;
    m.metric = MetricNames.name(quantizer.metric());
    m.d = d;
    m.nlist = nlist;
    m.codeSize = codeSize;
    m.ntotal = total;
    m.idType = input.idType() == VectorInput.IdType.STRING ? "string" : "long";
    if (inputInfo != null && inputInfo.rows == null) {
      inputInfo.rows = inputRows; // the fingerprint's row count: every row of the table, invalid ones included
    }
    m.input = inputInfo;
    m.seed = seed;
    m.quantizer = quantizerEntry;
    m.shards = sorted;
    m.invalid = invalid.counts();
    m.buildId = Manifest.buildIdOf(quantizerEntry, sorted);
    commit(index, m, spark.sparkContext().hadoopConfiguration());
    double writeSeconds = (System.nanoTime() - t1) / 1e9;
    phases.end(total, "vectors");
    LOG.info("committed {}", index);
    return new Result(m, total, encodeSeconds, writeSeconds);
  }

  /** Encodes a task's vectors in batches (the quantizer decoded once per executor JVM). */
  private static JavaRDD<Encoded> encode(JavaRDD<IdVec> vectors, String qkey, Broadcast<byte[]> qb, int d,
                                         boolean refine) {
    return vectors.mapPartitions(it -> {
      InvertedFileIndex q = ShardStore.quantizer(qkey, qb::value);
      return new EncodeIterator(it, q, d, refine);
    });
  }

  /**
   * With {@link InvalidRows.Policy#FAIL}, any invalid row stops the build here, before anything
   * is committed; with {@code SKIP}, the counts are logged.
   */
  private static void failOrLog(VectorInput input, InvalidRows.Report invalid, int d) {
    if (invalid.total() == 0) {
      return;
    }
    if (input.onInvalid() == InvalidRows.Policy.FAIL) {
      throw new IllegalArgumentException(invalid.message("the input has", d, true, "nothing was committed"));
    }
    LOG.warn("--on-invalid skip: left out {} invalid input rows {}", invalid.total(), invalid.counts());
  }

  /**
   * Commits a written index directory: deletes {@code _temporary/}, writes the manifest, then
   * {@code _SUCCESS} (the commit point).
   */
  public static void commit(Path index, Manifest m, org.apache.hadoop.conf.Configuration conf) throws IOException {
    FileSystem fs = index.getFileSystem(conf);
    fs.delete(IndexLayout.temporary(index), true);
    m.write(index, conf);
    fs.create(IndexLayout.success(index), false).close();
  }

  /** Writes one shard from its sorted entries, once; returns its manifest entry. */
  static Manifest.Shard writeShard(String index, int shard, Iterator<Tuple2<Encoded, Boolean>> it,
                                   InvertedFileIndex quantizer, boolean refine, HadoopConf hc) throws IOException {
    InvertedFileIndex s = quantizer.emptyCopy();
    FlatIndex raw = refine ? new FlatIndex(quantizer.d(), quantizer.metric()) : null;
    int cs = quantizer.codeSize();
    List<long[]> lists = new ArrayList<>();
    long[] ids = new long[1024];
    ByteArrayOutputStream codes = new ByteArrayOutputStream();
    int n = 0;
    int list = -1;
    while (true) {
      Encoded e = it.hasNext() ? it.next()._1() : null;
      if (e != null && e.shard != shard) {
        throw new IllegalStateException("shard task " + shard + " received an entry of shard " + e.shard);
      }
      if ((e == null || e.list != list) && n > 0) {
        s.addPreassigned(list, ids, 0, codes.toByteArray(), 0, n);
        lists.add(new long[] {list, n});
        n = 0;
        codes.reset();
      }
      if (e == null) {
        break;
      }
      list = e.list;
      if (raw != null) {
        raw.addWithIds(e.raw, new long[] {e.id});
      }
      if (n == ids.length) {
        ids = Arrays.copyOf(ids, 2 * n);
      }
      ids[n++] = e.id;
      codes.write(e.code, 0, cs);
    }
    TaskContext tc = TaskContext.get();
    String attempt = tc == null ? "local" : tc.stageAttemptNumber() + "-" + tc.taskAttemptId();
    Manifest.Shard m = writeShardFile(new Path(index), shard, s, lists, attempt, hc.get());
    if (raw != null) {
      m.refineFile = ShardStore.writeOnce(new Path(index), IndexLayout.refineFile(shard), attempt, hc.get(),
          out -> IndexIO.write(raw, out), false);
    }
    return m;
  }

  /**
   * Writes {@code s} as shard file number {@code shard} of {@code index} once
   * ({@link ShardStore#writeOnce}, into the existing {@code shards/} and {@code _temporary/});
   * {@code lists} are its {@code [list, entries]} pairs. Returns its manifest entry.
   */
  public static Manifest.Shard writeShardFile(Path index, int shard, InvertedFileIndex s, List<long[]> lists,
                                              String attempt, org.apache.hadoop.conf.Configuration conf)
      throws IOException {
    String file = IndexLayout.shardFile(shard);
    Manifest.FileEntry entry = ShardStore.writeOnce(index, file, attempt, conf, out -> IndexIO.writeShard(s, out), false);
    Manifest.Shard m = new Manifest.Shard();
    m.shard = shard;
    m.file = file;
    m.count = s.ntotal();
    m.bytes = entry.bytes;
    m.crc32c = entry.crc32c;
    m.sha256 = entry.sha256;
    m.lists = lists;
    return m;
  }

  /** Encodes a task's vectors in batches with index-core's batched kernels. */
  static final class EncodeIterator implements Iterator<Encoded> {
    private final Iterator<IdVec> in;
    private final InvertedFileIndex quantizer;
    private final int d;
    private final boolean keepRaw;
    private Encoded[] batch = new Encoded[0];
    private int pos;

    EncodeIterator(Iterator<IdVec> in, InvertedFileIndex quantizer, int d, boolean keepRaw) {
      this.in = in;
      this.quantizer = quantizer;
      this.d = d;
      this.keepRaw = keepRaw;
    }

    @Override
    public boolean hasNext() {
      if (pos < batch.length) {
        return true;
      }
      if (!in.hasNext()) {
        return false;
      }
      long[] ids = new long[ENCODE_BATCH];
      float[] x = new float[ENCODE_BATCH * d];
      int n = 0;
      while (n < ENCODE_BATCH && in.hasNext()) {
        IdVec v = in.next();
        ids[n] = v.id();
        System.arraycopy(v.v(), 0, x, n * d, d);
        n++;
      }
      int[] lists = new int[n];
      byte[] codes = quantizer.assignAndEncode(n == ENCODE_BATCH ? x : Arrays.copyOf(x, n * d), lists, 1);
      int cs = quantizer.codeSize();
      batch = new Encoded[n];
      for (int i = 0; i < n; i++) {
        batch[i] = new Encoded(-1, lists[i], ids[i], Arrays.copyOfRange(codes, i * cs, (i + 1) * cs));
        if (keepRaw) {
          batch[i].raw = Arrays.copyOfRange(x, i * d, (i + 1) * d);
        }
      }
      pos = 0;
      return true;
    }

    @Override
    public Encoded next() {
      if (!hasNext()) {
        throw new java.util.NoSuchElementException();
      }
      return batch[pos++];
    }
  }
}
