package io.quiver.index.hnsw;

import io.quiver.index.codec.Codec;
import io.quiver.index.codec.FlatCodec;
import io.quiver.index.vector.VectorUtil;

/**
 * {@link Hnsw.Distances} over the codes of a {@link Codec} (FAISS's
 * {@code storage_distance_computer}): to the query through the codec's scorer (the vectors
 * themselves for Flat, the ADC table for PQ, the decoded codes for SQ); between two nodes on their
 * decoded codes (for PQ that is FAISS's symmetric distance of the two codes, for SQ its
 * {@code compute_code_distance}). Keys are squared L2 or the negated inner product. Not
 * thread-safe: one per thread.
 */
abstract class CodecDistances implements Hnsw.Distances {

  /** Distances over {@code codes} of {@code codec} (the storage array as it is now). */
  @SuppressWarnings("unchecked")
  static <A> Hnsw.Distances of(Codec<A> codec, A codes, boolean innerProduct) {
    if (codec instanceof FlatCodec) {
      return new Floats((float[]) codes, codec.d(), innerProduct);
    }
    return new Codes<>(codec, codes, innerProduct);
  }

  /** Float vectors: the distance kernels on the rows. */
  private static final class Floats extends CodecDistances {
    private final float[] x;
    private final int d;
    private final boolean ip;
    private float[] q;
    private int qOff;

    Floats(float[] x, int d, boolean ip) {
      this.x = x;
      this.d = d;
      this.ip = ip;
    }

    @Override
    public void setQuery(float[] q, int qOff) {
      this.q = q;
      this.qOff = qOff;
    }

    @Override
    public float toQuery(int node) {
      return ip ? -VectorUtil.dotProduct(q, qOff, x, node * d, d) : VectorUtil.squareDistance(q, qOff, x, node * d, d);
    }

    @Override
    public float between(int a, int b) {
      return ip ? -VectorUtil.dotProduct(x, a * d, x, b * d, d) : VectorUtil.squareDistance(x, a * d, x, b * d, d);
    }
  }

  /** Compressed codes: the codec's scorer to the query, decoded codes between nodes. */
  private static final class Codes<A> extends CodecDistances {
    private final Codec<A> codec;
    private final A codes;
    private final boolean ip;
    private final Codec.Scorer<A> scorer;
    private final float[] out = new float[1];
    private final float[] va;
    private final float[] vb;
    private final int d;

    Codes(Codec<A> codec, A codes, boolean ip) {
      this.codec = codec;
      this.codes = codes;
      this.ip = ip;
      this.scorer = codec.scorer(ip);
      this.d = codec.d();
      this.va = new float[d];
      this.vb = new float[d];
    }

    @Override
    public void setQuery(float[] q, int qOff) {
      scorer.setQuery(q, qOff);
    }

    @Override
    public float toQuery(int node) {
      scorer.keys(codes, node, 1, out, 0);
      return out[0];
    }

    @Override
    public float between(int a, int b) {
      codec.decode(codes, a, va, 0);
      codec.decode(codes, b, vb, 0);
      return ip ? -VectorUtil.dotProduct(va, 0, vb, 0, d) : VectorUtil.squareDistance(va, 0, vb, 0, d);
    }
  }
}
