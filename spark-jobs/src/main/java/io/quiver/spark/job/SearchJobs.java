package io.quiver.spark.job;

import static org.apache.spark.sql.functions.arrays_zip;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.posexplode;

import io.quiver.spark.UsageException;
import io.quiver.index.FlatIndex;
import io.quiver.index.Metric;
import io.quiver.index.SearchParams;
import io.quiver.index.SearchResult;
import io.quiver.index.topk.TopKMerge;
import io.quiver.spark.plan.MetricNames;
import io.quiver.spark.plan.Phase;
import io.quiver.spark.plan.SearchPlan;
import io.quiver.spark.plan.VectorInput;
import io.quiver.spark.shard.IndexLayout;
import io.quiver.spark.shard.Manifest;
import io.quiver.spark.shard.ShardStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import scala.Tuple2;

/** The search, evaluate and info jobs. */
public final class SearchJobs {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SearchJobs.class);

  private SearchJobs() {}

  /** Searches and writes {@code (id, neighbors, distances)}, or one row per neighbour with {@code explode}. */
  public static Map<String, Object> search(SparkSession spark, String index, IndexJobs.Input queries,
                                           SearchPlan.Options o, String output, String outputFormat, boolean explode,
                                           boolean overwrite) throws IOException {
    long start = System.nanoTime();
    IndexLayout.checkOutputApart(spark.sparkContext().hadoopConfiguration(), output, index);
    IndexJobs.checkOutputAbsent(spark, output, overwrite);
    SearchPlan.LoadedIndex idx = SearchPlan.LoadedIndex.load(spark, index);
    VectorInput qin = queries.open(spark, "queries");
    SearchPlan.search(spark, idx, qin, o, result -> {
      if (explode) {
        result = result.select(col("id"), posexplode(arrays_zip(col("neighbors"), col("distances"))))
            .select(col("id"), col("pos").plus(1).as("rank"), col("col.neighbors").as("neighbor"),
                col("col.distances").as("distance"))
            .where(col("neighbor").notEqual(-1));
      }
      try (Phase p = Phase.start(spark, "search", "scan the shards, merge and write the results")) {
        result.write().format(outputFormat).mode(overwrite ? SaveMode.Overwrite : SaveMode.ErrorIfExists).save(output);
        p.done();
      }
      return null;
    });
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("index", idx.path().toString());
    json.put("output", output);
    json.put("k", o.k());
    json.put("nprobe", Math.min(o.nprobe(), idx.manifest().nlist));
    json.put("rows", IndexJobs.rowsWritten(spark, output, outputFormat));
    json.put("invalid", qin.skipped().counts());
    json.put("search_s", IndexJobs.seconds(start));
    return json;
  }

  /** What an index holds. */
  public static Map<String, Object> info(SparkSession spark, String index) throws IOException {
    Path p = new Path(index);
    Manifest m = Manifest.read(p, spark.sparkContext().hadoopConfiguration());
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("index", index);
    json.put("factory", m.factory);
    json.put("metric", m.metric);
    json.put("d", m.d);
    json.put("nlist", m.nlist);
    json.put("ntotal", m.ntotal);
    json.put("id_type", m.idType);
    json.put("code_bytes", m.codeSize);
    json.put("seed", m.seed);
    if (m.input != null) {
      json.put("input", m.input.path);
      if (m.input.rows != null) {
        json.put("input_rows", m.input.rows);
      }
    }
    long[] sizes = m.listSizes().clone();
    Arrays.sort(sizes);
    Map<String, Object> lists = new LinkedHashMap<>();
    lists.put("empty", Arrays.stream(sizes).filter(s -> s == 0).count());
    lists.put("min", sizes[0]);
    lists.put("p50", sizes[sizes.length / 2]);
    lists.put("p90", sizes[(int) (sizes.length * 0.9)]);
    lists.put("p99", sizes[(int) Math.min(sizes.length - 1, sizes.length * 0.99)]);
    lists.put("max", sizes[sizes.length - 1]);
    lists.put("mean", IndexJobs.round(m.ntotal / (double) m.nlist));
    json.put("list_sizes", lists);
    long min = Long.MAX_VALUE;
    long max = 0;
    long bytes = m.quantizer.bytes;
    int split = 0;
    for (Manifest.Shard s : m.shards) {
      min = Math.min(min, s.count);
      max = Math.max(max, s.count);
      bytes += s.bytes;
    }
    for (int[] shards : m.listToShards()) {
      split += shards.length > 1 ? 1 : 0;
    }
    Map<String, Object> shards = new LinkedHashMap<>();
    shards.put("count", m.shards.size());
    shards.put("min_vectors", min);
    shards.put("max_vectors", max);
    shards.put("max_over_mean", IndexJobs.round(max * (double) m.shards.size() / Math.max(1, m.ntotal)));
    shards.put("lists_split_across_shards", split);
    json.put("shards", shards);
    json.put("bytes", bytes);
    json.put("bytes_per_vector", IndexJobs.round(bytes / (double) Math.max(1, m.ntotal)));
    return json;
  }

  /**
   * Recall of the index against exact results: from a ground-truth file (row i holds the true
   * neighbours of the query with id i, as {@code convert} numbers rows), or computed on Spark by
   * exact search over the index's input (or {@code base}).
   */
  public static Map<String, Object> evaluate(SparkSession spark, String index, IndexJobs.Input queries,
                                             SearchPlan.Options options, String groundTruth, IndexJobs.Input base,
                                             int sample) throws IOException {
    int k = options.k();
    int nprobe = options.nprobe();
    SearchPlan.LoadedIndex idx = SearchPlan.LoadedIndex.load(spark, index);
    Manifest m = idx.manifest();
    if (!"long".equals(m.idType)) {
      throw new IllegalArgumentException("evaluate compares long ids; " + index + " was built with string ids");
    }
    VectorInput qin = queries.open(spark, "queries");
    if (qin.idType() != VectorInput.IdType.LONG) {
      throw new IllegalArgumentException("evaluate needs long or int query ids (the row numbers of the ground truth)");
    }
    Dataset<Row> qdf = qin.projected();
    if (sample > 0) {
      qdf = qdf.limit(sample);
    }
    List<InternalRow> rows;
    try (Phase p = Phase.start(spark, "evaluate", "read the queries")) {
      rows = qdf.queryExecution().toRdd().toJavaRDD().map(InternalRow::copy).collect();
      p.done(rows.size(), "queries");
    }
    int nq = rows.size();
    if (nq == 0) {
      throw new IllegalArgumentException("the queries " + queries.path() + " have no rows");
    }
    long[] qids = new long[nq];
    float[] q = new float[nq * m.d];
    for (int i = 0; i < nq; i++) {
      qids[i] = rows.get(i).getLong(0);
      System.arraycopy(qin.vector(rows.get(i), m.d, "queries"), 0, q, i * m.d, m.d);
    }
    // the exact neighbours first: a ground truth too shallow for k, or a base that is not the
    // index's input, fails before the search
    Map<String, Object> json = new LinkedHashMap<>();
    int[][] truth;
    Dataset<Row> baseTable = null;
    IndexJobs.Input b = base;
    if (groundTruth != null) {
      truth = readIvecs(spark, groundTruth, qids);
      int depth = Integer.MAX_VALUE;
      for (int[] t : truth) {
        depth = Math.min(depth, t.length);
      }
      if (k > depth) {
        throw new UsageException("--k " + k + " is more than the ground truth " + groundTruth + " holds: " + depth
            + " neighbours per query (recall at k needs k true neighbours); give --k " + depth + " or less, or leave "
            + "out --ground-truth to compute exact neighbours on Spark");
      }
      json.put("ground_truth", groundTruth);
    } else {
      truth = null;
      if (b != null) {
        baseTable = b.read(spark, "base table");
      } else {
        baseTable = io.quiver.spark.io.Tables.openRecorded(spark, m.input, idx.path().toString(),
            "the base table for exact search", "give it with --base, or give --ground-truth");
        b = new IndexJobs.Input(m.input.path, m.input.format, m.input.idCol, m.input.vectorCol, null,
            m.input.options);
      }
    }
    VectorInput sampled = VectorInput.of(qdf, "id", "vector", "queries " + queries.path());

    long t0 = System.nanoTime();
    List<Row> found;
    try (Phase p = Phase.start(spark, "evaluate", "search %,d queries (k = %d, nprobe = %d)", nq, k,
        Math.min(nprobe, m.nlist))) {
      found = SearchPlan.search(spark, idx, sampled, options, Dataset::collectAsList);
      p.done(nq, "queries");
    }
    double searchSeconds = (System.nanoTime() - t0) / 1e9;
    Map<Long, long[]> byId = new HashMap<>();
    for (Row r : found) {
      List<Long> ids = r.getList(1);
      byId.put(r.getLong(0), ids.stream().mapToLong(Long::longValue).toArray());
    }

    long t1 = System.nanoTime();
    if (truth == null) {
      SearchResult exact = exact(spark, b.open(baseTable, "base"), q, nq, m.d, MetricNames.parse(m.metric), k);
      truth = new int[nq][];
      for (int i = 0; i < nq; i++) {
        truth[i] = Arrays.stream(exact.ids(i)).mapToInt(x -> (int) x).toArray();
      }
      json.put("ground_truth", "exact search on Spark over " + b.path());
      json.put("exact_s", IndexJobs.round((System.nanoTime() - t1) / 1e9));
    }
    double r1 = 0;
    double rk = 0;
    for (int i = 0; i < nq; i++) {
      long[] got = byId.get(qids[i]);
      int[] gt = truth[i];
      if (got.length > 0 && gt.length > 0 && got[0] == gt[0]) {
        r1++;
      }
      int kk = Math.min(k, gt.length);
      int hit = 0;
      for (int a = 0; a < Math.min(k, got.length); a++) {
        for (int b2 = 0; b2 < kk; b2++) {
          if (got[a] == gt[b2]) {
            hit++;
            break;
          }
        }
      }
      rk += hit / (double) k;
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("index", idx.path().toString());
    out.put("factory", m.factory);
    out.put("nq", nq);
    out.put("k", k);
    out.put("nprobe", Math.min(nprobe, m.nlist));
    if (m.refine) {
      out.put("kfactor", options.kFactor());
    }
    out.put("recall_at_1", Math.round(r1 / nq * 1e4) / 1e4);
    out.put("recall_at_k", Math.round(rk / nq * 1e4) / 1e4);
    out.put("search_s", IndexJobs.round(searchSeconds));
    out.put("qps", IndexJobs.round(nq / searchSeconds));
    out.putAll(json);
    return out;
  }

  /** Row {@code qids[i]} of an .ivecs ground-truth file for each query. */
  public static int[][] readIvecs(SparkSession spark, String file, long[] qids) throws IOException {
    byte[] b = ShardStore.readAll(new Path(file), spark.sparkContext().hadoopConfiguration());
    ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    List<int[]> rows = new ArrayList<>();
    while (buf.remaining() > 0) {
      if (buf.remaining() < 4) {
        throw new IOException(file + ": truncated .ivecs record " + rows.size());
      }
      int n = buf.getInt();
      if (n < 0 || (long) n * 4 > buf.remaining()) {
        throw new IOException(file + ": .ivecs record " + rows.size() + " says " + n + " values but "
            + buf.remaining() / 4 + " remain");
      }
      int[] r = new int[n];
      buf.asIntBuffer().get(r);
      buf.position(buf.position() + 4 * n);
      rows.add(r);
    }
    int[][] out = new int[qids.length][];
    for (int i = 0; i < qids.length; i++) {
      if (qids[i] < 0 || qids[i] >= rows.size()) {
        throw new IllegalArgumentException("query id " + qids[i] + " has no row in " + file + " (" + rows.size()
            + " rows; row i holds the neighbours of the query with id i)");
      }
      out[i] = rows.get((int) qids[i]);
    }
    return out;
  }

  /** Exact k nearest neighbours of {@code nq} queries over the base table, on the executors. */
  public static SearchResult exact(SparkSession spark, VectorInput base, float[] q, int nq, int d, Metric metric,
                                   int k) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Broadcast<float[]> qb = jsc.broadcast(q);
    boolean hi = metric.higherIsCloser();
    org.apache.spark.util.LongAccumulator scanned = spark.sparkContext().longAccumulator("quiver: base vectors scanned");
    Tuple2<long[], float[]> merged;
    try (Phase phase = Phase.start(spark, "evaluate", "exact search of %,d queries (k = %d) over the base", nq, k)) {
      merged = base.internalRows().mapPartitions(it -> {
        long[] ids = new long[nq * k];
        float[] dist = new float[nq * k];
        Arrays.fill(ids, -1);
        Arrays.fill(dist, hi ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY);
        int block = 65536;
        long[] bids = new long[block];
        float[] bx = new float[block * d];
        int n = 0;
        while (true) {
          boolean more = it.hasNext();
          if (more) {
            InternalRow r = it.next();
            bids[n] = base.longId(r, "base");
            System.arraycopy(base.vector(r, d, "base"), 0, bx, n * d, d);
            n++;
            scanned.add(1);
          }
          if (n > 0 && (n == block || !more)) {
            FlatIndex flat = new FlatIndex(d, metric);
            flat.addWithIds(n == block ? bx : Arrays.copyOf(bx, n * d), n == block ? bids : Arrays.copyOf(bids, n));
            SearchResult r = flat.search(qb.value(), k, SearchParams.defaults().withThreads(1));
            mergeInto(ids, dist, r.ids(), r.distances(), nq, k, hi);
            n = 0;
          }
          if (!more) {
            break;
          }
        }
        return java.util.Collections.singletonList(new Tuple2<>(ids, dist)).iterator();
      }).treeReduce((a, b) -> {
        long[] ids = a._1().clone();
        float[] dist = a._2().clone();
        mergeInto(ids, dist, b._1(), b._2(), nq, k, hi);
        return new Tuple2<>(ids, dist);
      });
      phase.done(scanned.value(), "base vectors");
    }
    qb.destroy();
    return new SearchResult(nq, k, merged._1(), merged._2());
  }

  private static void mergeInto(long[] ids, float[] dist, long[] ids2, float[] dist2, int nq, int k, boolean hi) {
    long[] oi = new long[k];
    float[] od = new float[k];
    for (int i = 0; i < nq; i++) {
      TopKMerge.merge(Arrays.copyOfRange(ids, i * k, i * k + k), Arrays.copyOfRange(dist, i * k, i * k + k),
          Arrays.copyOfRange(ids2, i * k, i * k + k), Arrays.copyOfRange(dist2, i * k, i * k + k), k, hi, oi, od);
      System.arraycopy(oi, 0, ids, i * k, k);
      System.arraycopy(od, 0, dist, i * k, k);
    }
  }
}
