/**
 * The compute-backend interface: the hot loops of index-core behind one interface, so that an
 * accelerator (the {@code gpu-kernels} module's CUDA backend) can take them over while the pure
 * Java code stays the reference.
 *
 * <ul>
 *   <li>{@link io.quiver.index.spi.ComputeBackend}: exact k-NN with top-k selection (Flat search,
 *       k-means assignment, coarse probing), PQ and SQ encoding, IVF list scans with per-query top-k.
 *   <li>{@link io.quiver.index.spi.CpuBackend}: the reference, the code index-core runs on its own.
 *   <li>{@link io.quiver.index.spi.ComputeBackendProvider}: how another module offers a backend,
 *       found with {@link java.util.ServiceLoader}.
 *   <li>{@link io.quiver.index.spi.ComputeBackends}: the choice, by the {@code quiver.backend}
 *       system property ({@code auto}, {@code cpu} or {@code gpu}).
 * </ul>
 */
package io.quiver.index.spi;
