package io.quiver.spark.job;

import io.quiver.index.InvertedFileIndex;
import io.quiver.index.RefineIndex;
import io.quiver.index.VectorIndex;
import io.quiver.index.io.FaissIO;
import io.quiver.index.io.IndexIO;
import io.quiver.spark.plan.BuildPlan;
import io.quiver.spark.plan.MetricNames;
import io.quiver.spark.plan.SearchPlan;
import io.quiver.spark.shard.IndexLayout;
import io.quiver.spark.shard.Manifest;
import io.quiver.spark.shard.ShardPlan;
import io.quiver.spark.shard.ShardStore;
import io.quiver.spark.shard.StagedOutput;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;

/**
 * {@code export} and {@code import}: an index directory to and from FAISS's own index file
 * ({@link FaissIO}), on the driver, through Hadoop file systems.
 */
public final class FaissJobs {
  private FaissJobs() {}

  /**
   * Writes the committed index {@code indexDir} (or only its shard {@code shard}, when >= 0) as
   * one FAISS IVF file at {@code output}. The lists are streamed in list order, each shard read
   * once when its first list comes and dropped after its last one, so the driver holds the
   * shards that share the current list (one, or two at a shard boundary), never the whole index.
   * The file appears at {@code output} only once complete (written to a temporary sibling, then
   * renamed).
   */
  public static Map<String, Object> export(SparkSession spark, String indexDir, String output, int shard,
                                           boolean overwrite) throws IOException {
    long start = System.nanoTime();
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    SearchPlan.LoadedIndex index = SearchPlan.LoadedIndex.load(spark, indexDir);
    Manifest m = index.manifest();
    if (m.refine) {
      throw new IllegalArgumentException(index.path() + " is an RFlat index (" + m.factory + "); FAISS export writes "
          + "IVF-Flat, IVF-PQ and IVF-SQ indexes, not their refine vectors: build the index without RFlat to export it");
    }
    if (!"long".equals(m.idType)) {
      throw new IllegalArgumentException(index.path() + " has string ids, which FAISS files cannot hold (their ids are "
          + "int64); build the index with long ids to export it");
    }
    if (shard >= m.shards.size()) {
      throw new IllegalArgumentException("--shard " + shard + " is not a shard of " + index.path() + ", which has "
          + m.shards.size() + " (0.." + (m.shards.size() - 1) + ")");
    }
    VectorIndex read = IndexIO.read(new ByteArrayInputStream(index.quantizerBytes()), IndexLayout.quantizer(index.path())
        .toString(), index.quantizerBytes().length);
    InvertedFileIndex quantizer = (InvertedFileIndex) (read instanceof RefineIndex r ? r.base() : read);

    List<Manifest.Shard> shards = shard >= 0 ? List.of(m.shards.get(shard)) : m.shards;
    long[] sizes = new long[m.nlist];
    int[] lastList = new int[m.shards.size()];
    List<List<Integer>> byList = new ArrayList<>();
    for (int l = 0; l < m.nlist; l++) {
      byList.add(new ArrayList<>());
    }
    for (Manifest.Shard s : shards) {
      for (long[] lc : s.lists) {
        if (lc[1] > 0) {
          sizes[(int) lc[0]] += lc[1];
          byList.get((int) lc[0]).add(s.shard);
          lastList[s.shard] = Math.max(lastList[s.shard], (int) lc[0]);
        }
      }
    }
    long ntotal = Arrays.stream(sizes).sum();

    Path target = new Path(output);
    FileSystem fs = target.getFileSystem(conf);
    target = fs.makeQualified(target);
    if (fs.exists(target) && !overwrite) {
      throw new IllegalArgumentException("the output " + target + " already exists; pass --overwrite to replace it");
    }
    Path tmp = new Path(target.getParent(), "." + target.getName() + ".tmp-" + System.nanoTime());
    String key = index.quantizerKey();
    Map<Integer, InvertedFileIndex> loaded = new LinkedHashMap<>();
    int shardsRead = 0;
    try {
      try (OutputStream out = fs.create(tmp, false)) {
        FaissIO.IvfWriter w = FaissIO.ivfWriter(quantizer, sizes, out);
        for (int l = 0; l < m.nlist; l++) {
          if (sizes[l] == 0) {
            continue;
          }
          int n = (int) sizes[l];
          long[] ids = new long[n];
          byte[] codes = new byte[n * quantizer.codeSize()];
          int at = 0;
          for (int s : byList.get(l)) {
            InvertedFileIndex sh = loaded.get(s);
            if (sh == null) {
              // a cache limit of 1 byte: the store keeps no shard beyond the one just read
              sh = ShardStore.shard(index.path(), key, m.shards.get(s), quantizer, conf, 1);
              loaded.put(s, sh);
              shardsRead++;
            }
            long[] part = sh.listIds(l);
            System.arraycopy(part, 0, ids, at, part.length);
            byte[] c = sh.listCodes(l);
            System.arraycopy(c, 0, codes, at * quantizer.codeSize(), c.length);
            at += part.length;
          }
          w.writeList(l, ids, codes);
          final int list = l;
          loaded.keySet().removeIf(s -> lastList[s] <= list);
        }
        w.finish();
      }
      if (fs.exists(target)) {
        fs.delete(target, false);
      }
      if (!fs.rename(tmp, target)) {
        throw new IOException("cannot rename " + tmp + " to " + target);
      }
    } catch (IOException | RuntimeException e) {
      fs.delete(tmp, false);
      throw e;
    } finally {
      ShardStore.clearCaches();
    }
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("index", index.path().toString());
    json.put("output", target.toString());
    json.put("format", "faiss");
    json.put("factory", m.factory);
    json.put("metric", m.metric);
    json.put("ntotal", ntotal);
    json.put("nlist", m.nlist);
    json.put("shards", shardsRead);
    if (shard >= 0) {
      json.put("shard", shard);
    }
    json.put("bytes", fs.getFileStatus(target).getLen());
    json.put("export_s", IndexJobs.seconds(start));
    return json;
  }

  /**
   * Reads the FAISS IVF file {@code faissFile} and writes it as a committed index directory
   * {@code output} of {@code shards} shards (0: the build's default), cut as a build cuts them.
   * Its {@code quantizer.qvq} (the coarse centroids and the codec, trained by FAISS) is also what
   * {@code quiver build --quantizer} takes. The FAISS index is held in memory on the driver, as
   * FAISS itself holds it.
   */
  public static Map<String, Object> importFaiss(SparkSession spark, String faissFile, String output, int shards,
                                                boolean overwrite) throws IOException {
    long start = System.nanoTime();
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    Path src = new Path(faissFile);
    FileSystem sfs = src.getFileSystem(conf);
    src = sfs.makeQualified(src);
    long length = sfs.getFileStatus(src).getLen();
    VectorIndex read;
    try (InputStream in = new BufferedInputStream(sfs.open(src), 1 << 20)) {
      read = FaissIO.read(in, src.toString(), length);
    }
    if (!(read instanceof InvertedFileIndex ivf)) {
      throw new IllegalArgumentException(src + " holds a FAISS " + read.factoryString() + " index; index directories "
          + "hold IVF indexes (IndexIVFFlat, IndexIVFPQ, IndexIVFScalarQuantizer); read flat ones with FaissIO.read");
    }
    if (!ivf.isTrained()) {
      throw new IllegalArgumentException(src + " holds an untrained FAISS " + ivf.factoryString() + " index; train it "
          + "before importing it");
    }
    double readSeconds = IndexJobs.seconds(start);
    int nlist = ivf.nlist();
    long[] sizes = new long[nlist];
    for (int l = 0; l < nlist; l++) {
      sizes[l] = ivf.listSize(l);
    }
    long ntotal = Arrays.stream(sizes).sum();
    for (int l = 0; l < nlist; l++) {
      for (long id : ivf.listIds(l)) {
        if (id < 0) {
          throw new IllegalArgumentException(src + ": list " + l + " holds id " + id + "; index directories hold ids >= 0 "
              + "(searches pad missing results with -1)");
        }
      }
    }
    InvertedFileIndex quantizer = ivf.emptyCopy();
    ByteArrayOutputStream qb = new ByteArrayOutputStream();
    IndexIO.write(quantizer, qb);
    byte[] qbytes = qb.toByteArray();
    int codeSize = ivf.codeSize();
    int nshards = shards > 0 ? shards : BuildPlan.defaultShards(ntotal, codeSize, BuildPlan.DEFAULT_SHARD_BYTES);
    ShardPlan plan = ShardPlan.balance(sizes, nshards);

    StagedOutput staged = StagedOutput.begin(conf, output, overwrite);
    Manifest m = new Manifest();
    try {
      Path dir = staged.dir();
      Manifest.FileEntry qe = ShardStore.writeOnce(dir, IndexLayout.QUANTIZER, "driver", conf, out -> out.write(qbytes));
      FileSystem ofs = dir.getFileSystem(conf);
      ofs.mkdirs(IndexLayout.temporary(dir));
      ofs.mkdirs(new Path(dir, IndexLayout.SHARDS));
      List<Manifest.Shard> written = new ArrayList<>();
      for (int s = 0; s < nshards; s++) {
        InvertedFileIndex sh = quantizer.emptyCopy();
        List<long[]> lists = new ArrayList<>();
        for (int l = 0; l < nlist; l++) {
          if (sizes[l] == 0 || Arrays.binarySearch(plan.shardsOf(l), s) < 0) {
            continue;
          }
          long[] ids = ivf.listIds(l);
          byte[] codes = ivf.listCodes(l);
          long[] keepIds = new long[ids.length];
          byte[] keepCodes = new byte[codes.length];
          int n = 0;
          for (int i = 0; i < ids.length; i++) {
            if (plan.shardOf(l, ids[i]) == s) {
              keepIds[n] = ids[i];
              System.arraycopy(codes, i * codeSize, keepCodes, n * codeSize, codeSize);
              n++;
            }
          }
          if (n > 0) {
            sh.addPreassigned(l, keepIds, 0, keepCodes, 0, n);
            lists.add(new long[] {l, n});
          }
        }
        written.add(BuildPlan.writeShardFile(dir, s, sh, lists, "driver", conf));
      }
      m.factory = quantizer.factoryString();
      m.refine = false;
      m.metric = MetricNames.name(quantizer.metric());
      m.d = quantizer.d();
      m.nlist = nlist;
      m.codeSize = codeSize;
      m.ntotal = ntotal;
      m.idType = "long";
      m.input = new Manifest.Input();
      m.input.path = src.toString();
      m.input.format = "faiss";
      m.quantizer = qe;
      m.shards = written;
      m.buildId = Manifest.buildIdOf(qe, written);
      BuildPlan.commit(dir, m, conf);
      staged.publish();
    } catch (Throwable e) {
      staged.abandon();
      throw e;
    }
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("faiss", src.toString());
    json.put("index", staged.target().toString());
    json.put("factory", m.factory);
    json.put("metric", m.metric);
    json.put("d", m.d);
    json.put("nlist", nlist);
    json.put("ntotal", ntotal);
    json.put("shards", nshards);
    json.put("read_s", readSeconds);
    json.put("total_s", IndexJobs.seconds(start));
    return json;
  }
}
