package io.quiver.index.spi;

import io.quiver.index.IdSelector;
import io.quiver.index.SearchResult;
import java.util.function.Supplier;

/**
 * One IVF scan for {@link ComputeBackend#ivfSearch}: {@code nq} queries, each with {@code nprobe}
 * probed lists (list -1: none) and their coarse values (the squared L2 distance, or the inner
 * product, between the query and the list's centroid), and the k to keep.
 *
 * @param lists the index's inverted lists
 * @param queries {@code nq * d} floats, row-major, already normalised where the index normalises
 * @param probes {@code nq * nprobe} list numbers, row-major
 * @param coarseValues {@code nq * nprobe} coarse values, matching {@code probes}
 * @param selectors per-query {@link IdSelector}s (entries may be null), or null for none
 * @param threads CPU threads the reference may use; 0 means all cores
 * @param reference the index's own CPU scan of the same job: what {@link CpuBackend} runs, and what
 *     any backend runs for a job it does not take
 */
public record IvfSearchJob(IvfLists lists, float[] queries, int nq, int k, int nprobe, long[] probes,
                           float[] coarseValues, IdSelector[] selectors, int threads,
                           Supplier<SearchResult> reference) {}
