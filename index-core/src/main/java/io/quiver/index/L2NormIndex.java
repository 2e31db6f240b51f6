package io.quiver.index;

import io.quiver.index.util.Checks;

/**
 * L2-normalizes every vector before it reaches the wrapped index: FAISS's {@code L2norm,} factory
 * prefix (a {@code NormalizationTransform} in an {@code IndexPreTransform}). With the L2 metric
 * this ranks like cosine similarity while reporting squared distances ({@code 2 - 2 cos}).
 * The caller's arrays are never modified. Thread-safe as the wrapped index.
 */
public final class L2NormIndex implements VectorIndex {

  private final VectorIndex inner;

  public L2NormIndex(VectorIndex inner) {
    this.inner = inner;
  }

  /** The wrapped index, which sees normalized vectors. */
  public VectorIndex inner() {
    return inner;
  }

  private float[] normalized(String name, float[] x) {
    return Checks.prepareVectors(name, x, inner.d(), true);
  }

  @Override
  public int d() {
    return inner.d();
  }

  @Override
  public Metric metric() {
    return inner.metric();
  }

  @Override
  public long ntotal() {
    return inner.ntotal();
  }

  @Override
  public boolean isTrained() {
    return inner.isTrained();
  }

  @Override
  public String factoryString() {
    return "L2norm," + inner.factoryString();
  }

  @Override
  public void train(float[] vectors) {
    inner.train(normalized("training vectors", vectors));
  }

  @Override
  public void add(float[] vectors) {
    inner.add(normalized("vectors", vectors));
  }

  @Override
  public void addWithIds(float[] vectors, long[] ids) {
    inner.addWithIds(normalized("vectors", vectors), ids);
  }

  @Override
  public SearchResult search(float[] queries, int k, SearchParams params) {
    return inner.search(normalized("queries", queries), k, params);
  }

  @Override
  public RangeSearchResult rangeSearch(float[] queries, float radius, SearchParams params) {
    return inner.rangeSearch(normalized("queries", queries), radius, params);
  }

  /** The stored (normalized) vector. */
  @Override
  public float[] reconstruct(long id) {
    return inner.reconstruct(id);
  }

  @Override
  public void mergeFrom(VectorIndex other) {
    if (!(other instanceof L2NormIndex) || other == this) {
      throw new IllegalArgumentException("cannot merge " + (other == null ? "null" : other.factoryString()) + " into "
          + factoryString() + ": both must be L2norm indexes of the same kind");
    }
    inner.mergeFrom(((L2NormIndex) other).inner);
  }

  @Override
  public long memoryBytes() {
    return inner.memoryBytes();
  }

  @Override
  public long removeIds(IdSelector selector) {
    return inner.removeIds(selector);
  }
}
