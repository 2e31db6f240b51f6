package io.quiver.spark.plan;

import java.io.Serializable;
import java.util.List;

/**
 * Queries with their probes as flat arrays (what a broadcast ships and what index-core's
 * preassigned search takes): {@code n} query numbers, {@code n * d} vector components, and
 * {@code n * nprobe} list numbers (-1: not searched here) with their coarse values.
 */
public final class ProbedQueries implements Serializable {
  private static final long serialVersionUID = 1L;

  public int n;
  public int d;
  public int nprobe;
  public long[] qids;
  /** The queries' own ids (Long or String). */
  public Object[] ids;
  public float[] vectors;
  public long[] lists;
  public float[] coarse;
  /** Each query's filter set, or -1. */
  public int[] sets;
  /** Each query's own index id, or -1. */
  public long[] selfs;

  /** For serializers. */
  public ProbedQueries() {}

  public ProbedQueries(int n, int d, int nprobe) {
    this.n = n;
    this.d = d;
    this.nprobe = nprobe;
    qids = new long[n];
    ids = new Object[n];
    vectors = new float[n * d];
    lists = new long[n * nprobe];
    coarse = new float[n * nprobe];
    sets = new int[n];
    selfs = new long[n];
  }

  /** The queries of several parts, in order. */
  static ProbedQueries concat(List<ProbedQueries> parts, int d, int nprobe) {
    int n = 0;
    for (ProbedQueries p : parts) {
      n += p.n;
    }
    ProbedQueries out = new ProbedQueries(n, d, nprobe);
    int at = 0;
    for (ProbedQueries p : parts) {
      System.arraycopy(p.qids, 0, out.qids, at, p.n);
      System.arraycopy(p.ids, 0, out.ids, at, p.n);
      System.arraycopy(p.vectors, 0, out.vectors, at * d, p.n * d);
      System.arraycopy(p.lists, 0, out.lists, at * nprobe, p.n * nprobe);
      System.arraycopy(p.coarse, 0, out.coarse, at * nprobe, p.n * nprobe);
      System.arraycopy(p.sets, 0, out.sets, at, p.n);
      System.arraycopy(p.selfs, 0, out.selfs, at, p.n);
      at += p.n;
    }
    return out;
  }

  /** The routed probes of one shard task. */
  static ProbedQueries of(List<Probe> probes, int d, int nprobe) {
    ProbedQueries p = new ProbedQueries(probes.size(), d, nprobe);
    for (int i = 0; i < p.n; i++) {
      Probe probe = probes.get(i);
      p.qids[i] = probe.qid;
      p.ids[i] = probe.id;
      System.arraycopy(probe.vector, 0, p.vectors, i * d, d);
      System.arraycopy(probe.lists, 0, p.lists, i * nprobe, nprobe);
      System.arraycopy(probe.coarse, 0, p.coarse, i * nprobe, nprobe);
      p.sets[i] = probe.set;
      p.selfs[i] = probe.self;
    }
    return p;
  }

  /**
   * The queries of split {@code split} (query number modulo {@code splits}) that probe a list
   * held by {@code shard}, with their other lists set to -1; shard 0 also takes the queries whose
   * probed lists are all empty (held by no shard), so that every query gets a result.
   */
  ProbedQueries select(int shard, int split, int splits, int[][] listShards) {
    int count = 0;
    boolean[] take = new boolean[n];
    for (int i = 0; i < n; i++) {
      if (Math.floorMod(qids[i], (long) splits) != split) {
        continue;
      }
      boolean anyHeld = false;
      for (int p = 0; p < nprobe && !take[i]; p++) {
        long l = lists[i * nprobe + p];
        take[i] = l >= 0 && holds(listShards[(int) l], shard);
        anyHeld |= l >= 0 && listShards[(int) l].length > 0;
      }
      take[i] |= shard == 0 && !anyHeld;
      count += take[i] ? 1 : 0;
    }
    ProbedQueries out = new ProbedQueries(count, d, nprobe);
    int j = 0;
    for (int i = 0; i < n; i++) {
      if (!take[i]) {
        continue;
      }
      out.qids[j] = qids[i];
      out.ids[j] = ids[i];
      out.sets[j] = sets[i];
      out.selfs[j] = selfs[i];
      System.arraycopy(vectors, i * d, out.vectors, j * d, d);
      for (int p = 0; p < nprobe; p++) {
        long l = lists[i * nprobe + p];
        out.lists[j * nprobe + p] = l >= 0 && holds(listShards[(int) l], shard) ? l : -1;
        out.coarse[j * nprobe + p] = coarse[i * nprobe + p];
      }
      j++;
    }
    return out;
  }

  static boolean holds(int[] shards, int shard) {
    for (int s : shards) {
      if (s == shard) {
        return true;
      }
    }
    return false;
  }
}
