package io.quiver.index.store;

import io.quiver.index.ivf.CoarseQuantizer;
import io.quiver.index.spi.IvfLists;
import java.util.function.Supplier;

/**
 * The live {@link IvfLists} view of an index's {@link InvertedLists} and coarse centroids, for
 * a compute backend. Float lists answer {@link #listVectors}, byte lists {@link #listCodes}.
 * Make one per index and keep it: a backend keys its device copies on the view.
 */
public final class ListsView implements IvfLists {
  private final InvertedLists<?> lists;
  private final CoarseQuantizer coarse;
  private final Supplier<Codec> codec;
  private final boolean floats;

  public ListsView(InvertedLists<?> lists, CoarseQuantizer coarse, Supplier<Codec> codec) {
    this.lists = lists;
    this.coarse = coarse;
    this.codec = codec;
    this.floats = lists.kind() == ArrayKind.FLOATS;
  }

  @Override
  public int d() {
    return coarse.d();
  }

  @Override
  public int nlist() {
    return lists.nlist();
  }

  @Override
  public boolean innerProduct() {
    return coarse.innerProduct();
  }

  @Override
  public Codec codec() {
    return codec.get();
  }

  @Override
  public int codeSize() {
    return lists.codeBytes();
  }

  @Override
  public long version() {
    return lists.version();
  }

  @Override
  public float[] centroids() {
    return coarse.centroids();
  }

  @Override
  public int listSize(int list) {
    return lists.size(list);
  }

  @Override
  public long[] listIds(int list) {
    return lists.ids(list);
  }

  @Override
  public float[] listVectors(int list) {
    if (!floats) {
      throw new UnsupportedOperationException("these lists hold codes: use listCodes");
    }
    return (float[]) lists.codes(list);
  }

  @Override
  public byte[] listCodes(int list) {
    if (floats) {
      throw new UnsupportedOperationException("IVF-Flat lists hold vectors: use listVectors");
    }
    return (byte[]) lists.codes(list);
  }
}
