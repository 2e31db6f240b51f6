/**
 * Index files and vector files.
 *
 * <ul>
 *   <li>{@link io.quiver.index.io.IndexFormat}: every constant of the index file format and its
 *       byte layout table; {@link io.quiver.index.io.IndexIO}: reads and writes Flat, IVF-Flat,
 *       PQ, SQ, IVF-PQ and IVF-SQ indexes and the RFlat and L2norm wrappers as {@code .qvi} files
 *       (streams and paths).</li>
 *   <li>{@link io.quiver.index.io.IndexFileException} and its subclasses: one type per kind of
 *       bad file (not an index, too new, too old, unsupported type, corrupt: checksum,
 *       truncation, impossible length, unknown section).</li>
 *   <li>{@link io.quiver.index.io.VecsIO}: the TEXMEX {@code .fvecs/.ivecs/.bvecs} files of the
 *       ANN benchmarks.</li>
 * </ul>
 */
package io.quiver.index.io;
