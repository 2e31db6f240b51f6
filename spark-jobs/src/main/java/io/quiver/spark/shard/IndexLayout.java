package io.quiver.spark.shard;

import org.apache.hadoop.fs.Path;

/**
 * Where the parts of an index directory lie, on any Hadoop file system:
 * <pre>
 * &lt;index&gt;/manifest.json        parameters, counts, shards, list-to-shard map, checksums
 * &lt;index&gt;/quantizer.qvq        the trained, empty index (coarse centroids and codebooks)
 * &lt;index&gt;/shards/shard-00000.qvs ...   (and shard-00000.flat.qvi, the raw vectors, for RFlat)
 * &lt;index&gt;/idmap/              (string ids only) Parquet: the long id of each string id
 * &lt;index&gt;/_SUCCESS            written last; without it the directory is not an index
 * </pre>
 * A committed directory is never modified; a rebuild writes a new directory.
 */
public final class IndexLayout {
  public static final String MANIFEST = "manifest.json";
  public static final String QUANTIZER = "quantizer.qvq";
  public static final String SHARDS = "shards";
  public static final String IDMAP = "idmap";
  public static final String SUCCESS = "_SUCCESS";
  /** Shard attempts are written here, then renamed to their final name once. */
  public static final String TEMPORARY = "_temporary";

  private IndexLayout() {}

  public static Path manifest(Path index) {
    return new Path(index, MANIFEST);
  }

  public static Path quantizer(Path index) {
    return new Path(index, QUANTIZER);
  }

  public static Path success(Path index) {
    return new Path(index, SUCCESS);
  }

  public static Path idmap(Path index) {
    return new Path(index, IDMAP);
  }

  /** The file name of shard {@code shard}, relative to the index directory. */
  public static String shardFile(int shard) {
    return String.format("%s/shard-%05d.qvs", SHARDS, shard);
  }

  /** The file of shard {@code shard}'s raw vectors (RFlat indexes), relative to the index directory. */
  public static String refineFile(int shard) {
    return String.format("%s/shard-%05d.flat.qvi", SHARDS, shard);
  }

  public static Path temporary(Path index) {
    return new Path(index, TEMPORARY);
  }

  /**
   * Refuses an output that is the index being read, lies inside it or contains it: writing there
   * ({@code --overwrite} deletes the output first) would delete or change the index before, or
   * while, it is read.
   */
  public static void checkOutputApart(org.apache.hadoop.conf.Configuration conf, String output, String index)
      throws java.io.IOException {
    Path o = qualified(conf, output);
    Path i = qualified(conf, index);
    String os = o.toUri().normalize().toString().replaceAll("/+$", "");
    String is = i.toUri().normalize().toString().replaceAll("/+$", "");
    String where = os.equals(is) ? "is the index being read"
        : os.startsWith(is + "/") ? "lies inside the index being read, " + is
        : is.startsWith(os + "/") ? "contains the index being read, " + is : null;
    if (where != null) {
      throw new IllegalArgumentException("the output " + os + " " + where + "; writing it would delete or change the "
          + "index before it is read (--overwrite deletes the output first): choose an output path outside the index");
    }
  }

  private static Path qualified(org.apache.hadoop.conf.Configuration conf, String path) throws java.io.IOException {
    Path p = new Path(path);
    return p.getFileSystem(conf).makeQualified(p);
  }
}
