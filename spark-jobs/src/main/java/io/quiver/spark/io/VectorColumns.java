package io.quiver.spark.io;

import java.io.Serializable;
import java.util.List;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The id and vector columns of an input DataFrame, checked once on the driver, and the
 * conversion of a row's vector to {@code float[]} inside the tasks.
 *
 * <p>Accepted types: the id column {@code long}, {@code int} or {@code string}; the vector column
 * {@code array<float>}, {@code array<double>} or a Spark ML vector
 * ({@link org.apache.spark.ml.linalg.VectorUDT}, dense or sparse). Errors name the column, the
 * type found and the valid types; a bad row names the row's id.
 *
 * <p>Instances are serializable (they hold column positions and kinds, no data), so tasks can use
 * the checked positions: {@code Dataset.mapPartitions(rows -> ... columns.vector(row, d) ...)}.
 */
public final class VectorColumns implements Serializable {

  private static final long serialVersionUID = 1L;

  /** The accepted types of the id column. */
  public enum IdKind {
    LONG, INT, STRING
  }

  /** The accepted types of the vector column. */
  public enum VectorKind {
    FLOAT_ARRAY, DOUBLE_ARRAY, ML_VECTOR
  }

  static final String VALID_ID_TYPES = "bigint (long), int or string";
  static final String VALID_VECTOR_TYPES = "array<float>, array<double> or vector (Spark ML VectorUDT)";

  private final String idCol;
  private final String vectorCol;
  private final int idIndex;
  private final int vectorIndex;
  private final IdKind idKind;
  private final VectorKind vectorKind;

  private VectorColumns(String idCol, String vectorCol, int idIndex, int vectorIndex, IdKind idKind,
      VectorKind vectorKind) {
    this.idCol = idCol;
    this.vectorCol = vectorCol;
    this.idIndex = idIndex;
    this.vectorIndex = vectorIndex;
    this.idKind = idKind;
    this.vectorKind = vectorKind;
  }

  /** Checks the columns of {@code df} (see {@link #of(StructType, String, String)}). */
  public static VectorColumns of(Dataset<Row> df, String idCol, String vectorCol) {
    return of(df.schema(), idCol, vectorCol);
  }

  /**
   * Checks that {@code schema} has an id column and a vector column of accepted types.
   *
   * @throws IllegalArgumentException naming the column, its type and the valid types; or, for a
   *     missing column, the columns there are
   */
  public static VectorColumns of(StructType schema, String idCol, String vectorCol) {
    StructField id = field(schema, idCol, "id");
    StructField vec = field(schema, vectorCol, "vector");
    return new VectorColumns(id.name(), vec.name(), schema.fieldIndex(id.name()), schema.fieldIndex(vec.name()),
        idKind(id), vectorKind(vec));
  }

  private static StructField field(StructType schema, String name, String role) {
    for (StructField f : schema.fields()) {
      if (f.name().equals(name)) {
        return f;
      }
    }
    // Spark resolves column names case-insensitively by default: accept a unique such match
    StructField match = null;
    for (StructField f : schema.fields()) {
      if (f.name().equalsIgnoreCase(name)) {
        if (match != null) {
          match = null;
          break;
        }
        match = f;
      }
    }
    if (match != null) {
      return match;
    }
    throw new IllegalArgumentException("the input has no " + role + " column '" + name + "'; its columns are "
        + Tables.userColumns(schema.fieldNames()) + " (choose one with --" + (role.equals("id") ? "id-col" : "vector-col")
        + ")");
  }

  private static IdKind idKind(StructField f) {
    DataType t = f.dataType();
    if (t.equals(DataTypes.LongType)) {
      return IdKind.LONG;
    }
    if (t.equals(DataTypes.IntegerType)) {
      return IdKind.INT;
    }
    if (t.equals(DataTypes.StringType)) {
      return IdKind.STRING;
    }
    throw new IllegalArgumentException("the id column '" + f.name() + "' has type " + t.simpleString()
        + "; an id column must be " + VALID_ID_TYPES);
  }

  private static VectorKind vectorKind(StructField f) {
    DataType t = f.dataType();
    if (t instanceof ArrayType a) {
      if (a.elementType().equals(DataTypes.FloatType)) {
        return VectorKind.FLOAT_ARRAY;
      }
      if (a.elementType().equals(DataTypes.DoubleType)) {
        return VectorKind.DOUBLE_ARRAY;
      }
    } else if (t instanceof VectorUDT) {
      return VectorKind.ML_VECTOR;
    }
    throw new IllegalArgumentException("the vector column '" + f.name() + "' has type " + t.simpleString()
        + "; a vector column must be " + VALID_VECTOR_TYPES
        + (t instanceof ArrayType ? " (cast it, e.g. col.cast(\"array<float>\"))" : ""));
  }

  public String idCol() {
    return idCol;
  }

  public String vectorCol() {
    return vectorCol;
  }

  /** The id column's position in the schema checked. */
  public int idIndex() {
    return idIndex;
  }

  /** The vector column's position in the schema checked. */
  public int vectorIndex() {
    return vectorIndex;
  }

  public IdKind idKind() {
    return idKind;
  }

  public VectorKind vectorKind() {
    return vectorKind;
  }

  /** The row's id: a {@code Long}, {@code Integer} or {@code String}, or null. */
  public Object id(Row row) {
    return row.get(idIndex);
  }

  /**
   * The row's vector as a new {@code float[]} (doubles are rounded to float).
   *
   * @param expectedD the dimension every vector must have, or 0 for any
   * @throws IllegalArgumentException for a null vector, a null component or another dimension,
   *     naming the row's id, the dimension found and the one expected
   */
  public float[] vector(Row row, int expectedD) {
    Object v = row.get(vectorIndex);
    if (v == null) {
      throw new IllegalArgumentException("row with " + idCol + "=" + row.get(idIndex) + ": the vector column '"
          + vectorCol + "' is null" + (expectedD > 0 ? "; expected a vector of dimension " + expectedD : ""));
    }
    float[] out = toFloats(v, row);
    if (expectedD > 0 && out.length != expectedD) {
      throw new IllegalArgumentException("row with " + idCol + "=" + row.get(idIndex) + ": the vector in '" + vectorCol
          + "' has dimension " + out.length + ", expected " + expectedD);
    }
    return out;
  }

  private float[] toFloats(Object v, Row row) {
    if (v instanceof float[] f) {
      return f.clone();
    }
    if (v instanceof double[] ds) {
      return narrow(ds);
    }
    if (v instanceof Vector mv) {
      return narrow(mv.toArray());
    }
    if (v instanceof scala.collection.Seq<?> seq) {
      // what Row.get returns for an array column: a Scala sequence of boxed values
      int n = seq.length();
      float[] out = new float[n];
      for (int i = 0; i < n; i++) {
        out[i] = component(seq.apply(i), i, row);
      }
      return out;
    }
    if (v instanceof List<?> list) {
      float[] out = new float[list.size()];
      for (int i = 0; i < out.length; i++) {
        out[i] = component(list.get(i), i, row);
      }
      return out;
    }
    if (v instanceof Object[] arr) {
      float[] out = new float[arr.length];
      for (int i = 0; i < out.length; i++) {
        out[i] = component(arr[i], i, row);
      }
      return out;
    }
    throw new IllegalArgumentException("row with " + idCol + "=" + row.get(idIndex) + ": the vector column '"
        + vectorCol + "' holds a " + v.getClass().getName() + "; expected " + VALID_VECTOR_TYPES);
  }

  private float component(Object x, int i, Row row) {
    if (x instanceof Number n) {
      return n.floatValue();
    }
    throw new IllegalArgumentException("row with " + idCol + "=" + row.get(idIndex) + ": component " + i
        + " of the vector in '" + vectorCol + "' is " + (x == null ? "null" : "a " + x.getClass().getName()));
  }

  private static float[] narrow(double[] ds) {
    float[] out = new float[ds.length];
    for (int i = 0; i < ds.length; i++) {
      out[i] = (float) ds[i];
    }
    return out;
  }
}
