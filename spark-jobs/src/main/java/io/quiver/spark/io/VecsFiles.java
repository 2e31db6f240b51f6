package io.quiver.spark.io;

import io.quiver.index.io.VecsIO;
import java.io.EOFException;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Collections;
import java.util.Iterator;
import java.util.Locale;
import java.util.NoSuchElementException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.SerializableConfiguration;

/**
 * TEXMEX vector files ({@code .fvecs}: float32 values, {@code .bvecs}: uint8 values, each record
 * an int32 little-endian dimension and then {@code d} values) on any Hadoop file system, read in
 * parallel as a DataFrame of {@link VectorRows#SCHEMA} with ids {@code 0, 1, 2, ...} (the record
 * numbers).
 *
 * <p>The driver reads only the first record's dimension and the file length; the records are
 * split into ranges of whole records, one per task, and each task opens the file, seeks to its
 * range and decodes it. Every record's dimension field is checked; a record of another dimension,
 * or a file that ends inside a record, fails the job with the file, the record number and the
 * expected dimension (the same checks as index-core's {@link VecsIO}).
 */
public final class VecsFiles {

  /** The value encodings of the vector file types. */
  public enum Type {
    /** float32 values. */
    FVECS(4),
    /** uint8 values, read as floats 0..255. */
    BVECS(1);

    /** Bytes per value. */
    public final int valueBytes;

    Type(int valueBytes) {
      this.valueBytes = valueBytes;
    }

    /** The type named by a file name's extension ({@code .fvecs}, {@code .bvecs}). */
    public static Type of(String fileName) {
      String name = fileName.toLowerCase(Locale.ROOT);
      if (name.endsWith(".fvecs")) {
        return FVECS;
      }
      if (name.endsWith(".bvecs")) {
        return BVECS;
      }
      throw new IllegalArgumentException(fileName + ": unknown vector file type; expected a name ending in .fvecs"
          + " (float32) or .bvecs (uint8)");
    }
  }

  /**
   * What the driver learns from the file's start and length.
   *
   * @param path the qualified path
   * @param records the whole records in the file
   * @param tailBytes bytes after the last whole record (a truncated record, or records of another
   *     dimension)
   */
  public record Header(String path, Type type, int d, long length, long records, long tailBytes)
      implements Serializable {
    /** Bytes of one record: the dimension field and {@code d} values. */
    public long recordBytes() {
      return 4L + (long) d * type.valueBytes;
    }
  }

  /** Records per read in a task: about 1 MiB. */
  private static final int READ_BYTES = 1 << 20;

  private VecsFiles() {}

  /** Reads the header of a vector file: its type (from the name), dimension, records. */
  public static Header header(Configuration conf, String file) throws IOException {
    Path raw = new Path(file);
    FileSystem fs = raw.getFileSystem(conf);
    Path path = fs.makeQualified(raw);
    Type type = Type.of(path.getName());
    FileStatus status = fs.getFileStatus(path); // FileNotFoundException names the path
    if (status.isDirectory()) {
      throw new IOException(path + " is a directory; expected a ." + type.name().toLowerCase(Locale.ROOT) + " file");
    }
    long length = status.getLen();
    if (length == 0) {
      throw new IOException(path + " is empty: it holds no vectors");
    }
    if (length < 4) {
      throw new EOFException(path + ": record 0 is truncated: the file has only " + length + " bytes");
    }
    int d;
    try (FSDataInputStream in = fs.open(path)) {
      byte[] b = new byte[4];
      in.readFully(0, b);
      d = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }
    if (d <= 0 || d > VecsIO.MAX_D) {
      throw new IOException(path + ": record 0 has dimension " + d + "; expected 1.." + VecsIO.MAX_D
          + " (is this a ." + type.name().toLowerCase(Locale.ROOT) + " file?)");
    }
    long recordBytes = 4L + (long) d * type.valueBytes;
    long records = length / recordBytes;
    long tail = length - records * recordBytes;
    if (records == 0) {
      throw new EOFException(path + ": record 0 is truncated: the file ends " + tail + " bytes into it, but a record"
          + " of d=" + d + " has " + recordBytes + " bytes");
    }
    return new Header(path.toString(), type, d, length, records, tail);
  }

  /**
   * The records {@code [0, min(limit, records))} of a vector file as a DataFrame of
   * {@link VectorRows#SCHEMA}, in {@code partitions} tasks of consecutive records.
   *
   * @param limit the most records to read ({@code Long.MAX_VALUE}: all); a limit up to the
   *     number of whole records ignores the rest of the file, including a truncated end
   */
  public static Dataset<Row> read(SparkSession spark, Header header, long limit, int partitions) {
    if (limit < 0) {
      throw new IllegalArgumentException("limit must be 0 or more, was " + limit);
    }
    if (partitions < 1) {
      throw new IllegalArgumentException("partitions must be at least 1, was " + partitions);
    }
    long n = Math.min(limit, header.records());
    // asked for more than the whole records: the task with the last range checks the bytes after them
    boolean checkTail = limit > header.records() && header.tailBytes() > 0;
    Broadcast<SerializableConfiguration> conf = JavaSparkContext.fromSparkContext(spark.sparkContext())
        .broadcast(new SerializableConfiguration(spark.sparkContext().hadoopConfiguration()));
    return spark.range(0, partitions, 1, partitions)
        .mapPartitions((MapPartitionsFunction<Long, Row>) parts -> {
          if (!parts.hasNext()) {
            return Collections.emptyIterator();
          }
          long p = parts.next();
          long from = SyntheticVectors.slice(n, p, partitions);
          long to = SyntheticVectors.slice(n, p + 1, partitions);
          return new RangeReader(conf.value().value(), header, from, to, checkTail && p == partitions - 1);
        }, Encoders.row(VectorRows.SCHEMA));
  }

  /** Decodes the records {@code [from, to)}; opens the file on first use, closes it at the end. */
  private static final class RangeReader implements Iterator<Row> {
    private final Configuration conf;
    private final Header h;
    private final long to;
    private final boolean checkTail;
    private final int recordBytes;
    private final byte[] buf;
    private FSDataInputStream in;
    private long next;
    private int bufRecords;
    private int bufIndex;

    RangeReader(Configuration conf, Header h, long from, long to, boolean checkTail) {
      this.conf = conf;
      this.h = h;
      this.next = from;
      this.to = to;
      this.checkTail = checkTail;
      this.recordBytes = (int) h.recordBytes();
      this.buf = new byte[(int) Math.max(recordBytes, READ_BYTES / recordBytes * (long) recordBytes)];
    }

    @Override
    public boolean hasNext() {
      if (next < to) {
        return true;
      }
      close();
      return false;
    }

    @Override
    public Row next() {
      if (next >= to) {
        throw new NoSuchElementException();
      }
      try {
        if (bufIndex == bufRecords) {
          fill();
        }
        int off = bufIndex * recordBytes;
        ByteBuffer bb = ByteBuffer.wrap(buf, off, recordBytes).order(ByteOrder.LITTLE_ENDIAN);
        int d = bb.getInt();
        if (d != h.d()) {
          throw otherDimension(next, d);
        }
        float[] v = new float[d];
        if (h.type() == Type.FVECS) {
          bb.asFloatBuffer().get(v);
        } else {
          for (int j = 0; j < d; j++) {
            v[j] = buf[off + 4 + j] & 0xFF;
          }
        }
        Row row = RowFactory.create(next, v);
        bufIndex++;
        next++;
        if (next == to && checkTail) {
          checkTail();
        }
        return row;
      } catch (IOException e) {
        close();
        throw new UncheckedIOException(e.getMessage(), e);
      }
    }

    private IOException otherDimension(long record, int d) {
      return new IOException(h.path() + ": record " + record + " has dimension " + d + ", expected " + h.d()
          + " (the dimension of record 0); all records must have the same dimension");
    }

    private void fill() throws IOException {
      if (in == null) {
        Path path = new Path(h.path());
        in = path.getFileSystem(conf).open(path);
        in.seek(next * recordBytes);
      }
      bufRecords = (int) Math.min(buf.length / recordBytes, to - next);
      in.readFully(buf, 0, bufRecords * recordBytes);
      bufIndex = 0;
    }

    /** The bytes after the last whole record: a record of another dimension, or a truncated one. */
    private void checkTail() throws IOException {
      long at = h.records();
      long tail = h.tailBytes();
      if (tail >= 4) {
        byte[] b = new byte[4];
        in.readFully(at * recordBytes, b);
        int d = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt();
        if (d != h.d()) {
          throw otherDimension(at, d);
        }
      }
      throw new EOFException(h.path() + ": record " + at + " is truncated: the file ends " + tail
          + " bytes into it, but a record of d=" + h.d() + " has " + recordBytes + " bytes (file size " + h.length()
          + ", " + at + " whole records)");
    }

    private void close() {
      if (in != null) {
        try {
          in.close();
        } catch (IOException ignored) {
          // reading is done; nothing was written
        }
        in = null;
      }
    }
  }
}
