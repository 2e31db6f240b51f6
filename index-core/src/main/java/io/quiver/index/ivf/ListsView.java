package io.quiver.index.ivf;

import io.quiver.index.spi.IvfLists;

/**
 * What the {@link IvfLists} views of {@link FlatInvertedLists} and {@link CodeInvertedLists} share:
 * the shape, the metric direction and the coarse centroids.
 */
abstract class ListsView implements IvfLists {
  private final int d;
  private final int nlist;
  private final boolean innerProduct;
  private final CoarseQuantizer coarse;

  ListsView(int d, int nlist, CoarseQuantizer coarse) {
    this.d = d;
    this.nlist = nlist;
    this.innerProduct = coarse.innerProduct();
    this.coarse = coarse;
  }

  @Override
  public int d() {
    return d;
  }

  @Override
  public int nlist() {
    return nlist;
  }

  @Override
  public boolean innerProduct() {
    return innerProduct;
  }

  @Override
  public float[] centroids() {
    return coarse.centroids();
  }
}
