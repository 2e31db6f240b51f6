package io.quiver.index.spi;

import io.quiver.index.IdSelector;
import io.quiver.index.RangeSearchResult;
import java.util.function.Supplier;

/**
 * One IVF range scan for {@link ComputeBackend#ivfRangeSearch}: as {@link IvfSearchJob}, with a
 * radius instead of a k (squared L2 strictly below it, or inner product strictly above it).
 *
 * @param reference the index's own CPU range scan of the same job
 */
public record IvfRangeJob(IvfLists lists, float[] queries, int nq, float radius, int nprobe, long[] probes,
                          float[] coarseValues, IdSelector[] selectors, int threads,
                          Supplier<RangeSearchResult> reference) {}
