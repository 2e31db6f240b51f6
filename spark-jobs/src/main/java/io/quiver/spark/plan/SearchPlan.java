package io.quiver.spark.plan;

import io.quiver.index.InvertedFileIndex;
import io.quiver.index.RefineIndex;
import io.quiver.index.RangeSearchResult;
import io.quiver.index.SearchParams;
import io.quiver.index.SearchResult;
import io.quiver.index.io.IndexIO;
import io.quiver.spark.shard.HadoopConf;
import io.quiver.spark.shard.IndexLayout;
import io.quiver.spark.shard.Manifest;
import io.quiver.spark.shard.ShardStore;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.zip.CRC32C;
import org.apache.hadoop.fs.Path;
import org.apache.spark.HashPartitioner;
import org.apache.spark.Partitioner;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * Batch search by probe, route, scan and merge: queries are probed against the broadcast coarse
 * quantizer; each (query, shard) pair goes to a task that owns the shard, which loads it through
 * the executor's shard cache and scans each probed list once for all its queries
 * ({@code searchPreassigned}); partial top-k lists are merged per query with bounded merges
 * (map-side combined), never by collecting and sorting.
 *
 * <p>Small query sets are broadcast to the shard tasks instead of shuffled ({@link Strategy}).
 */
public final class SearchPlan {
  private static final Logger LOG = LoggerFactory.getLogger(SearchPlan.class);

  /** Queries probed or scanned per call into index-core. */
  static final int BATCH = 2048;
  /**
   * The largest k (and MMR fetch-k) of a search: index-core's bound less one, the place a
   * self-join's shard task takes for the query's own row. A search also refuses a k above the
   * index's vector count: every result beyond it would be padding.
   */
  public static final int MAX_K = io.quiver.index.util.Checks.MAX_K - 1;
  /** Candidates (queries x k) one shard-task batch scans at most: smaller batches for large k. */
  static final int MAX_BATCH_RESULTS = 1 << 22;

  /** Default query-set size up to which {@link Strategy#AUTO} broadcasts: 64 MiB of vectors. */
  public static final long DEFAULT_BROADCAST_BYTES = 64L << 20;

  private SearchPlan() {}

  /** How queries reach the shard tasks. */
  public enum Strategy {
    /** Shuffle each (query, shard) pair to the shard's task. */
    ROUTE,
    /** Probe on the driver and broadcast the probed queries to every shard task. */
    BROADCAST,
    /** Broadcast when the queries' vectors take at most the broadcast bound, else route. */
    AUTO,
    /**
     * No Spark tasks for the search: the driver loads every shard into one index and searches
     * it with index-core on all driver cores (for small indexes, and as the single-process
     * reference the distributed search is measured against).
     */
    LOCAL;

    public static Strategy parse(String s) {
      try {
        return valueOf(s.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException | NullPointerException e) {
        throw new IllegalArgumentException("unknown strategy '" + s + "'; valid: route, broadcast, auto, local");
      }
    }
  }

  /**
   * What a search asks beyond the plain top-k.
   *
   * @param radius      keep only neighbours within this distance (squared L2 below it, or inner
   *                    product / cosine above it, as the index reports distances); NaN: no bound.
   *                    With k = 0 every neighbour within the radius is returned (a range search).
   * @param excludeSelf drop the neighbour whose id equals the query's (self-joins)
   * @param filter      a compiled filter, or null
   * @param mmrLambda   maximal-marginal-relevance re-ranking of {@code fetchK} candidates to k
   *                    ({@link io.quiver.index.topk.Mmr}); NaN: none
   * @param fetchK      candidates fetched per query for the re-ranking (>= k)
   */
  public record Constraints(float radius, boolean excludeSelf, QueryFilter filter, float mmrLambda, int fetchK)
      implements java.io.Serializable {
    public static final Constraints NONE = new Constraints(Float.NaN, false, null, Float.NaN, 0);

    public Constraints {
      if (Float.isInfinite(radius)) {
        throw new IllegalArgumentException("the distance threshold must be finite, was " + radius);
      }
      if (!Float.isNaN(mmrLambda) && !(mmrLambda >= 0f && mmrLambda <= 1f)) {
        throw new IllegalArgumentException("--mmr-lambda must be in [0, 1], was " + mmrLambda);
      }
    }

    public boolean ranged() {
      return !Float.isNaN(radius);
    }

    public boolean mmr() {
      return !Float.isNaN(mmrLambda);
    }

    public Constraints withRadius(float r) {
      return new Constraints(r, excludeSelf, filter, mmrLambda, fetchK);
    }

    public Constraints withExcludeSelf(boolean x) {
      return new Constraints(radius, x, filter, mmrLambda, fetchK);
    }

    public Constraints withFilter(QueryFilter f) {
      return new Constraints(radius, excludeSelf, f, mmrLambda, fetchK);
    }

    public Constraints withMmr(float lambda, int fetch) {
      return new Constraints(radius, excludeSelf, filter, lambda, fetch);
    }
  }

  /** Search-time options. */
  public record Options(int k, int nprobe, float kFactor, Strategy strategy, long broadcastBytes, long cacheBytes,
                        Constraints constraints) {
    public Options(int k, int nprobe, float kFactor, Strategy strategy, long broadcastBytes, long cacheBytes) {
      this(k, nprobe, kFactor, strategy, broadcastBytes, cacheBytes, Constraints.NONE);
    }

    public Options {
      if (constraints == null) {
        constraints = Constraints.NONE;
      }
      if (k < 1 && !(k == 0 && constraints.ranged())) {
        throw new IllegalArgumentException("--k must be >= 1 (or 0 with a distance threshold: every neighbour within "
            + "it), was " + k);
      }
      if (k > MAX_K || constraints.fetchK() > MAX_K) {
        throw new IllegalArgumentException((k > MAX_K ? "--k " + k : "--fetch-k " + constraints.fetchK())
            + " is more than a search returns: at most " + MAX_K + " neighbours per query (and at most the index's "
            + "vectors)");
      }
      if (constraints.mmr() && k == 0) {
        throw new IllegalArgumentException("--mmr-lambda re-ranks a top-k: give --k >= 1");
      }
      if (constraints.mmr() && constraints.fetchK() < k) {
        throw new IllegalArgumentException("--fetch-k (" + constraints.fetchK() + ") must be >= --k (" + k + ")");
      }
      if (!(kFactor >= 1f && kFactor <= io.quiver.index.util.Checks.MAX_K_FACTOR)) {
        throw new IllegalArgumentException("--kfactor must be a number in [1, "
            + (int) io.quiver.index.util.Checks.MAX_K_FACTOR + "], was " + kFactor);
      }
      if (nprobe < 1) {
        throw new IllegalArgumentException("--nprobe must be >= 1, was " + nprobe);
      }
    }
  }

  /** A committed index: its manifest and quantizer bytes (checked against the manifest). */
  public record LoadedIndex(Path path, Manifest manifest, byte[] quantizerBytes) {
    public static LoadedIndex load(SparkSession spark, String path) throws IOException {
      org.apache.hadoop.conf.Configuration conf = spark.sparkContext().hadoopConfiguration();
      Path p = new Path(path);
      Manifest m = Manifest.read(p, conf);
      Path qp = ShardStore.checkedFile(p.getFileSystem(conf), p, m.quantizer);
      m.checkShardFiles(p, conf);
      byte[] q = ShardStore.readAll(qp, conf);
      CRC32C crc = new CRC32C();
      crc.update(q);
      String got = String.format("%08x", crc.getValue());
      if (q.length != m.quantizer.bytes || !got.equals(m.quantizer.crc32c)) {
        throw new IOException(new Path(p, m.quantizer.file) + " has " + q.length + " bytes with CRC32C " + got
            + " but the manifest records " + m.quantizer.bytes + " bytes with CRC32C " + m.quantizer.crc32c
            + ": the index directory was modified or damaged");
      }
      ShardStore.checkSha256(qp, m.quantizer, ShardStore.sha256().digest(q), "the quantizer");
      io.quiver.index.VectorIndex read;
      try {
        read = IndexIO.read(new java.io.ByteArrayInputStream(q), qp.toString(), q.length);
      } catch (io.quiver.index.io.NotAnIndexFileException e) {
        throw ShardStore.notAnIndexFile(qp);
      }
      checkAgainstQuantizer(qp, m, read);
      checkShardHeaders(p, m, (InvertedFileIndex) (read instanceof RefineIndex r ? r.base() : read), conf);
      return new LoadedIndex(p, m, q);
    }

    /**
     * Every shard's header and 'SHPR' against the quantizer (file type, d, metric, nlist, code
     * size) and its manifest entry (ntotal), on the driver before any task runs: a few dozen bytes
     * of each shard. The lists themselves are checked against the manifest when a task loads the
     * shard ({@link ShardStore}).
     */
    static void checkShardHeaders(Path index, Manifest m, InvertedFileIndex quantizer,
                                  org.apache.hadoop.conf.Configuration conf) throws IOException {
      org.apache.hadoop.fs.FileSystem fs = index.getFileSystem(conf);
      for (Manifest.Shard sh : m.shards) {
        Path f = ShardStore.checkedFile(fs, index, sh);
        long n;
        try (java.io.InputStream in = fs.open(f)) {
          n = IndexIO.readShardHeader(in, f.toString(), sh.bytes, quantizer);
        } catch (io.quiver.index.io.NotAnIndexFileException e) {
          throw ShardStore.notAnIndexFile(f); // names the file without quoting its bytes
        }
        if (n != sh.count) {
          throw new IOException(f + " holds " + n + " entries by its header; " + IndexLayout.MANIFEST + " says shard "
              + sh.shard + " holds " + sh.count + " (the manifest was modified or belongs to another build)");
        }
      }
    }

    /**
     * Fails unless the manifest's parameters are the quantizer's: searches take d, metric, nlist,
     * codeSize and the list-to-shard map from the manifest, and the probes and codes from the
     * quantizer, so any disagreement gives wrong results or fails inside a task.
     */
    static void checkAgainstQuantizer(Path qp, Manifest m, io.quiver.index.VectorIndex read) throws IOException {
      boolean refine = read instanceof RefineIndex;
      io.quiver.index.VectorIndex base = read instanceof RefineIndex r ? r.base() : read;
      if (!(base instanceof InvertedFileIndex q)) {
        throw new IOException(qp + " holds " + read.factoryString() + ", not the quantizer of an IVF index");
      }
      String qFactory = q.factoryString() + (refine ? ",RFlat" : "");
      String qMetric = MetricNames.name(q.metric());
      String manifest = IndexLayout.manifest(qp.getParent()).toString();
      List<String> wrong = new ArrayList<>();
      if (m.d != q.d()) {
        wrong.add("d " + m.d + " where " + qp.getName() + " has " + q.d());
      }
      if (!qMetric.equals(m.metric)) {
        wrong.add("metric '" + m.metric + "' where " + qp.getName() + " has " + qMetric);
      }
      if (m.nlist != q.nlist()) {
        wrong.add("nlist " + m.nlist + " where " + qp.getName() + " has " + q.nlist());
      }
      if (m.codeSize != q.codeSize()) {
        wrong.add("codeSize " + m.codeSize + " where " + qp.getName() + " has " + q.codeSize());
      }
      if (m.refine != refine || !qFactory.equals(m.factory)) {
        wrong.add("factory '" + m.factory + "' (refine " + m.refine + ") where " + qp.getName() + " is " + qFactory);
      }
      if (!wrong.isEmpty()) {
        throw new IOException(manifest + " says " + String.join(", ", wrong) + ": the manifest and the quantizer "
            + "are not of one build (the manifest was modified, or the quantizer replaced)");
      }
    }

    /**
     * The key of this index's quantizer and shards in the executors' caches: its path and a
     * checksum of the quantizer's bytes before their footer and of the manifest, so that an index
     * rebuilt at the same path ({@code --overwrite}) is not served from the cache of the old one.
     * (The whole-file CRC32C of the manifest entries is the same for every index file: each file
     * ends with the CRC32C of what precedes it.)
     */
    public String quantizerKey() {
      CRC32C crc = new CRC32C();
      crc.update(quantizerBytes, 0, Math.max(0, quantizerBytes.length - 4));
      crc.update(manifest.toJson().getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return IndexLayout.quantizer(path) + "#" + String.format("%08x", crc.getValue());
    }
  }

  /** A query with its number and its own id (Long or String). */
  public static final class Query implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    public long qid;
    public Object id;
    public float[] vector;
    /** The query's filter set ({@link QueryFilter}), or -1. */
    public int set = -1;
    /** The index id of the query's own row (self-joins), or -1. */
    public long self = -1;

    /** For serializers. */
    public Query() {}

    Query(long qid, Object id, float[] vector, int set) {
      this.qid = qid;
      this.id = id;
      this.vector = vector;
      this.set = set;
    }

    long qid() {
      return qid;
    }

    Object id() {
      return id;
    }

    float[] vector() {
      return vector;
    }
  }

  /** Sends a partition key (an Integer) to the partition of that number. */
  static final class IdentityPartitioner extends Partitioner {
    private static final long serialVersionUID = 1L;
    private final int n;

    IdentityPartitioner(int n) {
      this.n = n;
    }

    @Override
    public int numPartitions() {
      return n;
    }

    @Override
    public int getPartition(Object key) {
      return (Integer) key;
    }
  }

  /** The output schema: the queries' id type, neighbour ids (long, or string) and distances. */
  public static StructType outputSchema(DataType idType, DataType neighborType) {
    return new StructType()
        .add("id", idType, false)
        .add("neighbors", DataTypes.createArrayType(neighborType, false), false)
        .add("distances", DataTypes.createArrayType(DataTypes.FloatType, false), false);
  }

  /**
   * The valid queries with their numbers, read once (persisted by the caller's action); invalid
   * rows go to {@code invalid} (the caller fails or skips them).
   */
  static JavaRDD<Query> queries(VectorInput input, int d, InvalidRows invalid) {
    boolean stringIds = input.idType() == VectorInput.IdType.STRING;
    boolean sets = input.hasFilterSet();
    int setAt = input.setOrdinal();
    int selfAt = input.selfOrdinal();
    // query numbers: partition index in the high bits, position in the partition below (no extra job)
    return input.internalRows().mapPartitionsWithIndex((part, it) -> {
      List<Query> out = new ArrayList<>();
      input.validRows(part, it, d, invalid, (r, v, pos) -> {
        Object id = stringIds ? r.getUTF8String(0).toString() : (Object) r.getLong(0);
        Query query = new Query(pos, id, v, sets && !r.isNullAt(setAt) ? r.getInt(setAt) : -1);
        query.self = selfAt >= 0 ? (r.isNullAt(selfAt) ? -1 : r.getLong(selfAt)) : stringIds ? -1 : (Long) id;
        return query;
      }).forEachRemaining(out::add);
      return out.iterator();
    }, true);
  }

  /**
   * Searches the index for every query and hands the result, {@code (id, neighbors, distances)}
   * with one row per query, best first, to {@code action} (write it, collect it); the queries
   * cached for the search are released afterwards, also when the action fails. Missing neighbours
   * (fewer than k reachable) are id -1 (long ids) or left out (string ids).
   */
  public static <T> T search(SparkSession spark, LoadedIndex index, VectorInput input, Options o,
                             java.util.function.Function<Dataset<Row>, T> action) {
    List<JavaRDD<?>> cached = new ArrayList<>();
    try {
      return action.apply(plan(spark, index, input, o, cached));
    } finally {
      for (JavaRDD<?> rdd : cached) {
        rdd.unpersist(false);
      }
    }
  }

  /**
   * What a shard task does for its queries, and how partials merge: derived from the options
   * once on the driver.
   */
  record ScanSpec(int k, int kScan, float kFactor, boolean excludeSelf, float radius, boolean higherIsCloser,
                  QueryFilter filter, boolean carryVectors, int bound, boolean pad) implements java.io.Serializable {
    static ScanSpec of(Options o, boolean hi) {
      Constraints c = o.constraints();
      int kScan = c.mmr() ? c.fetchK() : o.k();
      // top-k partials are padded to k; range partials and thresholded ones hold their entries only
      boolean pad = !c.ranged();
      int bound = kScan == 0 ? Integer.MAX_VALUE : kScan;
      return new ScanSpec(o.k(), kScan, o.kFactor(), c.excludeSelf(), c.radius(), hi, c.filter(), c.mmr(), bound, pad);
    }

    boolean ranged() {
      return !Float.isNaN(radius);
    }

    /** Whether a distance is within the radius (strictly, as index-core's range search). */
    boolean within(float distance) {
      return !ranged() || (higherIsCloser ? distance > radius : distance < radius);
    }
  }

  private static Dataset<Row> plan(SparkSession spark, LoadedIndex index, VectorInput input, Options o,
                                   List<JavaRDD<?>> cached) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Manifest m = index.manifest();
    int d = m.d;
    int k = o.k();
    int kMost = Math.max(k, o.constraints().mmr() ? o.constraints().fetchK() : 0);
    if (kMost > Math.max(1, m.ntotal)) {
      throw new io.quiver.spark.UsageException((kMost == k ? "--k " : "--fetch-k ") + kMost + " is more than the "
          + m.ntotal + " vectors " + index.path() + " holds: k is at most the index's ntotal");
    }
    int nprobe = Math.min(o.nprobe(), m.nlist);
    boolean hi = MetricNames.parse(m.metric).higherIsCloser();
    Constraints c = o.constraints();
    ScanSpec spec = ScanSpec.of(o, hi);
    QueryFilter filter = c.filter();
    if (filter != null && !input.hasFilterSet()) {
      throw new IllegalArgumentException("the queries carry no filter sets: pass the queries QueryFilter.compile returns");
    }
    // a filtered search ranks more lists than nprobe and keeps those it needs (QueryFilter.choose)
    int width = filter == null ? nprobe : filter.probeWidth(nprobe, m.nlist);
    String qkey = index.quantizerKey();
    Broadcast<byte[]> qb = jsc.broadcast(index.quantizerBytes());
    int[][] listShards = m.listToShards();
    int nshards = m.shards.size();
    Manifest.Shard[] shards = m.shards.toArray(new Manifest.Shard[0]);
    String indexPath = index.path().toString();
    HadoopConf hc = new HadoopConf(spark.sparkContext().hadoopConfiguration());
    long cacheBytes = o.cacheBytes();
    if (o.strategy() == Strategy.LOCAL && m.refine) {
      throw new IllegalArgumentException("--strategy local searches IVF indexes without RFlat; " + index.path()
          + " is " + m.factory + ": use route, broadcast or auto");
    }
    if (o.strategy() == Strategy.LOCAL && !c.equals(Constraints.NONE)) {
      throw new IllegalArgumentException("--strategy local answers plain top-k searches; thresholds, self-exclusion, "
          + "filters and MMR need route, broadcast or auto");
    }
    if (input.idType() == VectorInput.IdType.STRING && c.excludeSelf() && input.selfOrdinal() < 0
        && !"string".equals(m.idType)) {
      throw new IllegalArgumentException("excluding each query's own row needs queries with the index's id type ("
          + m.idType + ")");
    }

    InvalidRows invalidRows = new InvalidRows();
    spark.sparkContext().register(invalidRows, "quiver: invalid query rows");
    JavaRDD<Query> queries = queries(input, d, invalidRows).persist(StorageLevel.MEMORY_AND_DISK());
    cached.add(queries);
    long tRead = System.nanoTime();
    long nq;
    try (Phase p = Phase.start(spark, "search", "read and check the queries")) {
      nq = queries.count();
      p.done(nq, "queries");
    }
    InvalidRows.Report invalid = invalidRows.value();
    // a query id on several rows would name several results: the same policy as a build's ids
    // (row numbers that the Spark ML path gives its queries are unique: nothing to check there)
    boolean stringIds = input.idType() == VectorInput.IdType.STRING;
    Duplicates<?> dups = Neighbors.ROW.equals(input.idCol()) ? null
        : stringIds ? Duplicates.strings(queries.map(q -> (String) q.id))
        : Duplicates.longs(queries.map(q -> (Long) q.id));
    if (dups != null) {
      dups.report(invalid);
    }
    input.skipped(invalid);
    if (invalid.total() > 0) {
      if (input.onInvalid() == InvalidRows.Policy.FAIL) {
        throw new IllegalArgumentException(invalid.message("the queries have", d, false,
            "nothing was searched or written"));
      }
      LOG.warn("--on-invalid skip: {} invalid query rows get no neighbours {}", invalid.total(), invalid.counts());
    }
    if (dups != null && dups.ids() > 0) {
      if (stringIds) {
        Broadcast<String[]> drop = jsc.broadcast(dups.collectStrings());
        queries = queries.filter(q -> Arrays.binarySearch(drop.value(), (String) q.id) < 0);
      } else {
        Broadcast<long[]> drop = jsc.broadcast(dups.collectLongs());
        queries = queries.filter(q -> Arrays.binarySearch(drop.value(), (Long) q.id) < 0);
      }
      nq -= dups.rows();
    }
    Strategy strategy = o.strategy();
    if (strategy == Strategy.AUTO) {
      strategy = nq * d * 4L <= o.broadcastBytes() ? Strategy.BROADCAST : Strategy.ROUTE;
    }
    int parallelism = jsc.defaultParallelism();
    // several tasks per shard when there are fewer shards than cores, each with a part of the queries
    int splits = (int) Math.max(1, Math.min(Math.max(1, nq / BATCH), (2L * parallelism + nshards - 1) / nshards));
    LOG.info("searching {} queries (k = {}, nprobe = {}{}) in {} shards x {} tasks, strategy {}", nq, k, nprobe,
        filter == null ? "" : ", filtered: " + filter.description(), nshards, splits,
        strategy.name().toLowerCase(Locale.ROOT));
    Prober prober = new Prober(nprobe, width, m.nlist, Math.max(1, spec.kScan()), filter);

    JavaPairRDD<Long, Partial> partials;
    if (strategy == Strategy.LOCAL) {
      try {
        partials = jsc.parallelizePairs(searchLocally(index, queries.collect(), k, nprobe), Math.max(1, parallelism));
      } catch (IOException e) {
        throw new java.io.UncheckedIOException("cannot load the shards of " + index.path() + ": " + e.getMessage(), e);
      }
    } else if (strategy == Strategy.ROUTE) {
      JavaPairRDD<Integer, Probe> routed = queries.mapPartitions(it -> {
        InvertedFileIndex q = ShardStore.quantizer(qkey, qb::value);
        return new ProbeIterator(it, q, prober, listShards, splits).flatten();
      }).mapToPair(t -> t);
      partials = routed.partitionBy(new IdentityPartitioner(nshards * splits))
          .mapPartitionsWithIndex((part, it) -> {
            List<Probe> probes = new ArrayList<>();
            it.forEachRemaining(t -> probes.add(t._2()));
            return scanShard(part / splits, ProbedQueries.of(probes, d, width), indexPath, shards, qkey, qb, hc,
                cacheBytes, spec);
          }, false)
          .mapToPair(t -> t);
    } else {
      // the executors probe their queries; the driver gathers the flat arrays and broadcasts them;
      // each shard task picks the queries of its split that probe one of its lists
      Phase probing = Phase.start(spark, "search", "probe %,d queries (nprobe = %d)", nq, nprobe);
      List<ProbedQueries> chunks;
      try {
        chunks = queries.mapPartitions(it -> {
          InvertedFileIndex q = ShardStore.quantizer(qkey, qb::value);
          List<Query> part = new ArrayList<>();
          it.forEachRemaining(part::add);
          ProbedQueries pq = new ProbedQueries(part.size(), d, width);
          for (int i = 0; i < pq.n; i++) {
            Query query = part.get(i);
            pq.qids[i] = query.qid();
            pq.ids[i] = query.id();
            pq.sets[i] = query.set;
            pq.selfs[i] = query.self;
            System.arraycopy(query.vector(), 0, pq.vectors, i * d, d);
          }
          prober.probe(q, pq.vectors, pq.n, pq.sets, pq.coarse, pq.lists);
          return java.util.Collections.singletonList(pq).iterator();
        }).collect();
        probing.done(nq, "queries");
      } finally {
        probing.close();
      }
      ProbedQueries pq = ProbedQueries.concat(chunks, d, width);
      Broadcast<ProbedQueries> pb = jsc.broadcast(pq);
      List<Integer> parts = new ArrayList<>();
      for (int i = 0; i < nshards * splits; i++) {
        parts.add(i);
      }
      partials = jsc.parallelize(parts, nshards * splits)
          .mapPartitions(it -> {
            List<Tuple2<Long, Partial>> out = new ArrayList<>();
            while (it.hasNext()) {
              int part = it.next();
              ProbedQueries mine = pb.value().select(part / splits, part % splits, splits, listShards);
              scanShard(part / splits, mine, indexPath, shards, qkey, qb, hc, cacheBytes, spec)
                  .forEachRemaining(out::add);
            }
            return out.iterator();
          })
          .mapToPair(t -> t);
    }
    // every query has at least one partial (one that probes only empty lists gets an empty one
    // from shard 0), so merging gives one row per query
    HashPartitioner merge = new HashPartitioner(Math.max(1, Math.min(parallelism * 2, (int) Math.max(1, nq / 1000))));
    JavaPairRDD<Long, Partial> merged = partials.reduceByKey(merge,
        (a, b) -> Partial.merge(a, b, hi, spec.bound(), spec.pad()));
    if (c.mmr()) {
      float lambda = c.mmrLambda();
      merged = merged.mapValues(p -> mmr(p, k, lambda, hi));
    }
    DataType idType = input.idType() == VectorInput.IdType.STRING ? DataTypes.StringType : DataTypes.LongType;
    if (!"string".equals(m.idType)) {
      JavaRDD<Row> rows = merged.map(t -> RowFactory.create(t._2().queryId, t._2().ids, t._2().distances));
      return spark.createDataFrame(rows, outputSchema(idType, DataTypes.LongType));
    }
    return withStringIds(spark, index, merged, merge, idType);
  }

  /** Re-ranks a merged partial's candidates by maximal marginal relevance, keeping k (padded to k). */
  static Partial mmr(Partial p, int k, float lambda, boolean hi) {
    int n = 0;
    while (n < p.ids.length && p.ids[n] >= 0) {
      n++;
    }
    long[] ids = new long[k];
    float[] dist = new float[k];
    java.util.Arrays.fill(ids, -1);
    java.util.Arrays.fill(dist, hi ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY);
    if (n > 0) {
      int[] order = io.quiver.index.topk.Mmr.select(p.query, p.vectors, n, p.query.length, lambda, k);
      for (int i = 0; i < order.length; i++) {
        ids[i] = p.ids[order[i]];
        dist[i] = p.distances[order[i]];
      }
    }
    return new Partial(p.queryId, ids, dist);
  }

  /**
   * Adds {@link VectorInput#SELF_COL} to queries whose ids are the string ids of an index's own
   * items (a self-join over string ids): the long id each was given at build, or null.
   */
  public static Dataset<Row> withSelfIds(SparkSession spark, LoadedIndex index, Dataset<Row> queries, String idCol) {
    if (!"string".equals(index.manifest().idType)) {
      return queries.withColumn(VectorInput.SELF_COL,
          org.apache.spark.sql.functions.col(idCol).cast(DataTypes.LongType));
    }
    Dataset<Row> idmap = spark.read().parquet(IndexLayout.idmap(index.path()).toString())
        .toDF(VectorInput.SELF_COL, "__quiver_self_name");
    return queries.join(idmap, queries.col(idCol).cast(DataTypes.StringType)
        .equalTo(org.apache.spark.sql.functions.col("__quiver_self_name")), "left").drop("__quiver_self_name");
  }

  /** Maps the neighbours' long ids back to the input's string ids (the index's idmap/). */
  static Dataset<Row> withStringIds(SparkSession spark, LoadedIndex index, JavaPairRDD<Long, Partial> merged,
                                    HashPartitioner partitioner, DataType idType) {
    JavaPairRDD<Long, String> idmap = spark.read().parquet(IndexLayout.idmap(index.path()).toString()).javaRDD()
        .mapToPair(r -> new Tuple2<>(r.getLong(0), r.getString(1)));
    JavaPairRDD<Long, Tuple2<Long, Integer>> byNeighbor = merged.flatMapToPair(t -> {
      List<Tuple2<Long, Tuple2<Long, Integer>>> out = new ArrayList<>();
      long[] ids = t._2().ids;
      for (int r = 0; r < ids.length; r++) {
        if (ids[r] >= 0) {
          out.add(new Tuple2<>(ids[r], new Tuple2<>(t._1(), r)));
        }
      }
      return out.iterator();
    });
    JavaPairRDD<Long, Tuple2<Integer, String>> named = byNeighbor.join(idmap)
        .mapToPair(x -> new Tuple2<>(x._2()._1()._1(), new Tuple2<>(x._2()._1()._2(), x._2()._2())));
    JavaRDD<Row> rows = merged.cogroup(named, partitioner).map(t -> {
      Partial p = t._2()._1().iterator().next();
      String[] names = new String[p.ids.length];
      for (Tuple2<Integer, String> n : t._2()._2()) {
        names[n._1()] = n._2();
      }
      int real = 0;
      while (real < names.length && names[real] != null) {
        real++;
      }
      return RowFactory.create(p.queryId, Arrays.copyOf(names, real), Arrays.copyOf(p.distances, real));
    });
    return spark.createDataFrame(rows, outputSchema(idType, DataTypes.StringType));
  }

  /** Loads every shard into one index on the driver and searches it there with index-core. */
  static List<Tuple2<Long, Partial>> searchLocally(LoadedIndex index, List<Query> queries, int k, int nprobe)
      throws IOException {
    Manifest m = index.manifest();
    org.apache.hadoop.conf.Configuration conf = SparkSession.active().sparkContext().hadoopConfiguration();
    InvertedFileIndex q = ShardStore.quantizer(index.quantizerKey(), index::quantizerBytes);
    InvertedFileIndex all = q.emptyCopy();
    long t0 = System.nanoTime();
    for (Manifest.Shard shard : m.shards) {
      InvertedFileIndex s = ShardStore.shard(index.path(), index.quantizerKey(), shard, q, conf, 0);
      for (long[] lc : shard.lists) {
        int list = (int) lc[0];
        all.addPreassigned(list, s.listIds(list), 0, s.listCodes(list), 0, s.listSize(list));
      }
    }
    int d = m.d;
    float[] x = new float[queries.size() * d];
    for (int i = 0; i < queries.size(); i++) {
      System.arraycopy(queries.get(i).vector(), 0, x, i * d, d);
    }
    long t1 = System.nanoTime();
    int threads = Runtime.getRuntime().availableProcessors();
    SearchResult r = all.search(x, k, SearchParams.defaults().withNprobe(nprobe).withThreads(threads));
    long t2 = System.nanoTime();
    LOG.info("local search: loaded {} vectors in {} ms; index-core searched {} queries on {} threads in {} ms "
        + "({} queries/s)", all.ntotal(), (t1 - t0) / 1_000_000, queries.size(), threads, (t2 - t1) / 1_000_000,
        Math.round(queries.size() / ((t2 - t1) / 1e9)));
    List<Tuple2<Long, Partial>> out = new ArrayList<>(queries.size());
    for (int i = 0; i < queries.size(); i++) {
      out.add(new Tuple2<>(queries.get(i).qid(), new Partial(queries.get(i).id(), r.ids(i), r.distances(i))));
    }
    return out;
  }


  /** Scans one shard for its probed queries, in batches; returns the partial result of each query. */
  static Iterator<Tuple2<Long, Partial>> scanShard(int shard, ProbedQueries p, String indexPath,
                                                   Manifest.Shard[] shards, String qkey, Broadcast<byte[]> qb,
                                                   HadoopConf hc, long cacheBytes, ScanSpec spec)
      throws IOException {
    List<Tuple2<Long, Partial>> out = new ArrayList<>(p.n);
    if (p.n == 0) {
      return out.iterator();
    }
    InvertedFileIndex q = ShardStore.quantizer(qkey, qb::value);
    InvertedFileIndex s = ShardStore.shard(new Path(indexPath), qkey, shards[shard], q, hc.get(), cacheBytes);
    // RFlat: kFactor * k candidates from the codes, re-ranked exactly with the shard's raw vectors
    Manifest.FileEntry rf = shards[shard].refineFile;
    RefineIndex refine = rf == null ? null
        : ShardStore.refined(new Path(indexPath), qkey, shards[shard], s, hc.get(), cacheBytes);
    // one more when the query's own row may take a place
    int kWant = spec.kScan() == 0 ? 0 : spec.kScan() + (spec.excludeSelf() ? 1 : 0);
    int kc = refine == null ? kWant : RefineIndex.candidates(kWant, spec.kFactor(), s.ntotal());
    int d = p.d;
    int np = p.nprobe;
    TaskContext tc = TaskContext.get();
    int threads = tc == null ? 1 : Math.max(1, tc.cpus());
    // results take batch x kc entries: fewer queries per batch for a large k
    int batch = Math.max(1, Math.min(BATCH, MAX_BATCH_RESULTS / Math.max(1, kc)));
    for (int from = 0; from < p.n; from += batch) {
      int n = Math.min(batch, p.n - from);
      float[] x = Arrays.copyOfRange(p.vectors, from * d, (from + n) * d);
      long[] lists = Arrays.copyOfRange(p.lists, from * np, (from + n) * np);
      float[] coarse = Arrays.copyOfRange(p.coarse, from * np, (from + n) * np);
      SearchParams params = SearchParams.defaults().withThreads(threads);
      QueryFilter filter = spec.filter();
      if (filter != null) {
        int[] sets = Arrays.copyOfRange(p.sets, from, from + n);
        params = params.withQuerySelectors(i -> sets[i] < 0 ? null : filter.selector(sets[i]));
      }
      long[][] ids = new long[n][];
      float[][] dist = new float[n][];
      if (kWant == 0) {
        RangeSearchResult r = s.rangeSearchPreassigned(x, spec.radius(), np, lists, coarse, params);
        if (refine != null) {
          r = exactRange(refine, x, r, spec, threads);
        }
        for (int i = 0; i < n; i++) {
          int a = (int) r.lims()[i];
          int b = (int) r.lims()[i + 1];
          ids[i] = Arrays.copyOfRange(r.ids(), a, b);
          dist[i] = Arrays.copyOfRange(r.distances(), a, b);
        }
      } else {
        SearchResult r = s.searchPreassigned(x, kc, np, lists, coarse, params);
        if (refine != null) {
          r = refine.rerank(x, r, kWant, threads);
        }
        for (int i = 0; i < n; i++) {
          ids[i] = r.ids(i);
          dist[i] = r.distances(i);
        }
      }
      for (int i = 0; i < n; i++) {
        Partial part = finish(p.ids[from + i], ids[i], dist[i], p.selfs[from + i], spec);
        if (spec.carryVectors()) {
          part.query = Arrays.copyOfRange(x, i * d, i * d + d);
          part.vectors = new float[part.ids.length * d];
          for (int j = 0; j < part.ids.length; j++) {
            if (part.ids[j] >= 0) {
              float[] v = refine != null ? refine.reconstruct(part.ids[j]) : s.reconstruct(part.ids[j]);
              System.arraycopy(v, 0, part.vectors, j * d, d);
            }
          }
        }
        out.add(new Tuple2<>(p.qids[from + i], part));
      }
    }
    return out.iterator();
  }

  /**
   * One query's partial from a shard's result: the query's own row dropped (self-joins), entries
   * beyond the radius dropped, at most {@code kScan} kept (padded to it for plain top-k).
   */
  static Partial finish(Object queryId, long[] ids, float[] dist, long self, ScanSpec spec) {
    int bound = spec.bound();
    long[] oi = new long[Math.min(bound, ids.length)];
    float[] od = new float[oi.length];
    int n = 0;
    for (int j = 0; j < ids.length && n < oi.length; j++) {
      if (ids[j] < 0 || (spec.excludeSelf() && ids[j] == self) || !spec.within(dist[j])) {
        continue;
      }
      oi[n] = ids[j];
      od[n++] = dist[j];
    }
    if (spec.pad()) {
      oi = Arrays.copyOf(oi, bound);
      od = Arrays.copyOf(od, bound);
      Arrays.fill(oi, n, bound, -1);
      Arrays.fill(od, n, bound, spec.higherIsCloser() ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY);
    } else if (n < oi.length) {
      oi = Arrays.copyOf(oi, n);
      od = Arrays.copyOf(od, n);
    }
    return new Partial(queryId, oi, od);
  }

  /** RFlat range search: the codes' candidates within the radius, kept when their exact distance is. */
  static RangeSearchResult exactRange(RefineIndex refine, float[] x, RangeSearchResult r, ScanSpec spec, int threads) {
    int nq = r.nq();
    int most = 1;
    for (int i = 0; i < nq; i++) {
      most = (int) Math.max(most, r.lims()[i + 1] - r.lims()[i]);
    }
    long[] cand = new long[nq * most];
    float[] cd = new float[nq * most];
    Arrays.fill(cand, -1);
    for (int i = 0; i < nq; i++) {
      int a = (int) r.lims()[i];
      int b = (int) r.lims()[i + 1];
      System.arraycopy(r.ids(), a, cand, i * most, b - a);
      System.arraycopy(r.distances(), a, cd, i * most, b - a);
    }
    SearchResult exact = refine.rerank(x, new SearchResult(nq, most, cand, cd), most, threads);
    long[] lims = new long[nq + 1];
    List<long[]> ids = new ArrayList<>();
    List<float[]> dist = new ArrayList<>();
    for (int i = 0; i < nq; i++) {
      long[] ei = exact.ids(i);
      float[] ed = exact.distances(i);
      int n = 0;
      while (n < ei.length && ei[n] >= 0 && spec.within(ed[n])) {
        n++;
      }
      ids.add(Arrays.copyOf(ei, n));
      dist.add(Arrays.copyOf(ed, n));
      lims[i + 1] = lims[i] + n;
    }
    long[] allIds = new long[(int) lims[nq]];
    float[] allDist = new float[(int) lims[nq]];
    for (int i = 0; i < nq; i++) {
      System.arraycopy(ids.get(i), 0, allIds, (int) lims[i], ids.get(i).length);
      System.arraycopy(dist.get(i), 0, allDist, (int) lims[i], dist.get(i).length);
    }
    return new RangeSearchResult(nq, lims, allIds, allDist);
  }

  /**
   * Probes a batch of queries: the {@code width} nearest lists of each, of which a filtered query
   * keeps those {@link QueryFilter#choose} picks and a plain one its first {@code nprobe}.
   */
  record Prober(int nprobe, int width, int nlist, int k, QueryFilter filter) implements java.io.Serializable {
    void probe(InvertedFileIndex q, float[] x, int n, int[] sets, float[] coarseOut, long[] listsOut) {
      if (n == 0) {
        return;
      }
      q.probe(x, width, 1, coarseOut, listsOut);
      if (filter != null) {
        for (int i = 0; i < n; i++) {
          if (sets[i] >= 0) {
            filter.choose(listsOut, i * width, width, nprobe, nlist, k, sets[i]);
          } else {
            Arrays.fill(listsOut, i * width + nprobe, (i + 1) * width, -1);
          }
        }
      }
    }
  }

  /**
   * Probes queries in batches and yields, for each query and each shard holding one of its probed
   * lists, the key of that shard's task and the query's probes restricted to the shard's lists.
   */
  static final class ProbeIterator {
    private final Iterator<Query> in;
    private final InvertedFileIndex quantizer;
    private final Prober prober;
    private final int nprobe;
    private final int[][] listShards;
    private final int splits;

    ProbeIterator(Iterator<Query> in, InvertedFileIndex quantizer, Prober prober, int[][] listShards, int splits) {
      this.in = in;
      this.quantizer = quantizer;
      this.prober = prober;
      this.nprobe = prober.width();
      this.listShards = listShards;
      this.splits = splits;
    }

    Iterator<Tuple2<Integer, Probe>> flatten() {
      return new Iterator<>() {
        private final List<Tuple2<Integer, Probe>> buf = new ArrayList<>();
        private int pos;

        @Override
        public boolean hasNext() {
          while (pos == buf.size()) {
            if (!in.hasNext()) {
              return false;
            }
            buf.clear();
            pos = 0;
            fill(buf);
          }
          return true;
        }

        @Override
        public Tuple2<Integer, Probe> next() {
          if (!hasNext()) {
            throw new java.util.NoSuchElementException();
          }
          return buf.get(pos++);
        }
      };
    }

    private void fill(List<Tuple2<Integer, Probe>> out) {
      int d = quantizer.d();
      List<Query> batch = new ArrayList<>(BATCH);
      while (batch.size() < BATCH && in.hasNext()) {
        batch.add(in.next());
      }
      int n = batch.size();
      float[] x = new float[n * d];
      int[] sets = new int[n];
      for (int i = 0; i < n; i++) {
        System.arraycopy(batch.get(i).vector(), 0, x, i * d, d);
        sets[i] = batch.get(i).set;
      }
      long[] lists = new long[n * nprobe];
      float[] coarse = new float[n * nprobe];
      prober.probe(quantizer, x, n, sets, coarse, lists);
      for (int i = 0; i < n; i++) {
        Query query = batch.get(i);
        int split = (int) Math.floorMod(query.qid(), (long) splits);
        // the shards this query touches, each with its own lists
        List<Integer> touched = new ArrayList<>(4);
        for (int p = 0; p < nprobe; p++) {
          long l = lists[i * nprobe + p];
          if (l >= 0) {
            for (int s : listShards[(int) l]) {
              if (!touched.contains(s)) {
                touched.add(s);
              }
            }
          }
        }
        if (touched.isEmpty()) {
          touched.add(0); // every probed list is empty: shard 0 answers with an empty result
        }
        for (int s : touched) {
          long[] own = new long[nprobe];
          Arrays.fill(own, -1);
          for (int p = 0; p < nprobe; p++) {
            long l = lists[i * nprobe + p];
            if (l >= 0 && ProbedQueries.holds(listShards[(int) l], s)) {
              own[p] = l;
            }
          }
          float[] c = Arrays.copyOfRange(coarse, i * nprobe, (i + 1) * nprobe);
          out.add(new Tuple2<>(s * splits + split, new Probe(query.qid(), query.id(), query.vector(), own, c, query.set,
              query.self)));
        }
      }
    }
  }
}
