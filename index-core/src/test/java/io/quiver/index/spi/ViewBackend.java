package io.quiver.index.spi;

import io.quiver.index.IdSelector;
import io.quiver.index.SearchResult;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A stand-in accelerator for tests: it records every call and answers IVF searches from the
 * {@link IvfLists} view alone, with the formulas the view documents (as a device kernel would),
 * so that tests can check the view against the index's own scan. Other calls go to the reference.
 */
final class ViewBackend implements ComputeBackend {
  final List<String> calls = Collections.synchronizedList(new ArrayList<>());
  private final ComputeBackend reference;

  ViewBackend(ComputeBackend reference) {
    this.reference = reference;
  }

  @Override
  public String name() {
    return "gpu 0 (test)";
  }

  @Override
  public boolean isAccelerator() {
    return true;
  }

  @Override
  public void knn(float[] queries, int nq, float[] base, int nb, float[] baseNorms, long[] labels, int d,
                  boolean innerProduct, int k, int threads, IdSelector[] selectors, float[] outDistances, long[] outIds) {
    calls.add("knn " + nq + "x" + nb + " k=" + k);
    reference.knn(queries, nq, base, nb, baseNorms, labels, d, innerProduct, k, threads, selectors, outDistances, outIds);
  }

  /**
   * PQ: the nearest sub-centroid of each sub-vector from the descriptor alone, one byte per
   * sub-code (what a device kernel returns); every other codec is left to Java.
   */
  @Override
  public byte[] encode(IvfLists.Codec codec, int d, float[] x) {
    if (!(codec instanceof IvfLists.Pq pq)) {
      calls.add("encode " + (codec instanceof IvfLists.Sq8 ? "SQ8" : codec.toString()) + " (left to Java)");
      return null;
    }
    calls.add("encode PQ" + pq.m() + "x" + pq.nbits());
    int n = x.length / d;
    int m = pq.m();
    int dsub = d / m;
    int ksub = 1 << pq.nbits();
    float[] cb = pq.codebooks();
    byte[] out = new byte[n * m];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < m; j++) {
        int best = 0;
        float bestDist = Float.POSITIVE_INFINITY;
        for (int c = 0; c < ksub; c++) {
          float s = 0;
          for (int t = 0; t < dsub; t++) {
            float e = x[i * d + j * dsub + t] - cb[(j * ksub + c) * dsub + t];
            s += e * e;
          }
          if (s < bestDist) {
            bestDist = s;
            best = c;
          }
        }
        out[i * m + j] = (byte) best;
      }
    }
    return out;
  }

  /** Recorded, then the reference's range scan. */
  @Override
  public io.quiver.index.RangeSearchResult ivfRangeSearch(IvfRangeJob job) {
    calls.add("ivfRangeSearch " + job.lists().codec().getClass().getSimpleName());
    return job.reference().get();
  }

  @Override
  public SearchResult ivfSearch(IvfSearchJob job) {
    IvfLists.Codec codec = job.lists().codec();
    calls.add("ivfSearch " + codec.getClass().getSimpleName());
    if (job.selectors() != null || codec instanceof IvfLists.Other) {
      return reference.ivfSearch(job);
    }
    return fromView(job, codec);
  }

  /** The search computed from the view: every probed entry's key, then the k smallest by (key, id). */
  static SearchResult fromView(IvfSearchJob job, IvfLists.Codec codec) {
    IvfLists l = job.lists();
    boolean flat = codec instanceof IvfLists.Flat;
    int d = l.d();
    int k = job.k();
    boolean ip = l.innerProduct();
    float[] c = l.centroids();
    long[] outIds = new long[job.nq() * k];
    float[] outDist = new float[job.nq() * k];
    for (int qi = 0; qi < job.nq(); qi++) {
      List<float[]> found = new ArrayList<>(); // {key, entry, list}
      for (int p = 0; p < job.nprobe(); p++) {
        int list = (int) job.probes()[qi * job.nprobe() + p];
        if (list < 0) {
          continue;
        }
        float coarse = job.coarseValues()[qi * job.nprobe() + p];
        for (int j = 0; j < l.listSize(list); j++) {
          double acc = 0;
          for (int t = 0; t < d; t++) {
            float q = job.queries()[qi * d + t];
            float x = entry(l, codec, list, j, t);
            if (ip) {
              acc += (double) q * x;
            } else {
              // codes hold residuals to the list's centroid; Flat lists hold the vectors
              double r = flat ? q - x : (double) q - c[list * d + t] - x;
              acc += r * r;
            }
          }
          if (ip && !flat) {
            acc += coarse;
          }
          found.add(new float[] {(float) (ip ? -acc : acc), j, list});
        }
      }
      found.sort((a, b) -> a[0] != b[0] ? Float.compare(a[0], b[0])
          : Long.compare(l.listIds((int) a[2])[(int) a[1]], l.listIds((int) b[2])[(int) b[1]]));
      for (int j = 0; j < k; j++) {
        int o = qi * k + j;
        if (j < found.size()) {
          float[] f = found.get(j);
          outIds[o] = l.listIds((int) f[2])[(int) f[1]];
          outDist[o] = ip ? -f[0] : f[0];
        } else {
          outIds[o] = -1;
          outDist[o] = ip ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY;
        }
      }
    }
    return new SearchResult(job.nq(), k, outIds, outDist);
  }

  /** Component t of entry j of a list, decoded as the view's codec says. */
  private static float entry(IvfLists l, IvfLists.Codec codec, int list, int j, int t) {
    int d = l.d();
    if (codec instanceof IvfLists.Flat) {
      return l.listVectors(list)[j * d + t];
    }
    byte[] codes = l.listCodes(list);
    if (codec instanceof IvfLists.Sq8) {
      IvfLists.Sq8 sq = (IvfLists.Sq8) codec;
      return Math.fma((float) (codes[j * l.codeSize() + t] & 0xff), sq.scale()[t], sq.offset()[t]);
    }
    IvfLists.Pq pq = (IvfLists.Pq) codec;
    int dsub = d / pq.m();
    int sub = t / dsub;
    int code = codes[j * l.codeSize() + sub] & 0xff; // 8-bit sub-codes in these tests
    return pq.codebooks()[(sub * 256 + code) * dsub + t % dsub];
  }
}
