package io.quiver.spark.plan;

import static org.apache.spark.sql.functions.col;

import io.quiver.spark.io.VectorColumns;
import java.io.Serializable;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.functions;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;

/**
 * An input DataFrame reduced to what the jobs need: an id column (long, int or string) and a
 * vector column (array&lt;float&gt;, array&lt;double&gt; or Spark ML Vector), projected to
 * {@code (id, array<float>)} and read as internal rows, so vectors become {@code float[]} without
 * boxing.
 */
public final class VectorInput implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The kind of id column. */
  public enum IdType { LONG, STRING }

  private final String idCol;
  private final String vectorCol;
  private final IdType idType;
  private final DataType idDataType;
  /** Optional query column: the long index id of the query's own row, for self-joins over string ids. */
  public static final String SELF_COL = "__quiver_self";
  private final transient Dataset<Row> projected;
  private final int setOrdinal;
  private final int selfOrdinal;

  private VectorInput(String idCol, String vectorCol, IdType idType, DataType idDataType, Dataset<Row> projected,
                      int setOrdinal, int selfOrdinal) {
    this.idCol = idCol;
    this.vectorCol = vectorCol;
    this.idType = idType;
    this.idDataType = idDataType;
    this.projected = projected;
    this.setOrdinal = setOrdinal;
    this.selfOrdinal = selfOrdinal;
  }

  /** Checks the two columns' types ({@link VectorColumns}) and projects the DataFrame. */
  public static VectorInput of(Dataset<Row> df, String idCol, String vectorCol, String what) {
    VectorColumns cols;
    try {
      cols = VectorColumns.of(df, idCol, vectorCol);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
    }
    Column id = col(cols.idCol());
    Column vec = col(cols.vectorCol());
    IdType idType = cols.idKind() == VectorColumns.IdKind.STRING ? IdType.STRING : IdType.LONG;
    Column idExpr = idType == IdType.LONG ? id.cast(DataTypes.LongType) : id;
    Column vecExpr;
    switch (cols.vectorKind()) {
      case FLOAT_ARRAY:
        vecExpr = vec;
        break;
      case DOUBLE_ARRAY:
        vecExpr = vec.cast(DataTypes.createArrayType(DataTypes.FloatType));
        break;
      default:
        vecExpr = functions.vector_to_array(vec, "float32");
    }
    DataType idDataType = df.schema().apply(cols.idCol()).dataType();
    java.util.List<Column> out = new java.util.ArrayList<>(java.util.List.of(idExpr.as("id"), vecExpr.as("vector")));
    java.util.List<String> names = java.util.Arrays.asList(df.columns());
    int setOrdinal = -1;
    int selfOrdinal = -1;
    if (names.contains(QueryFilter.SET_COL)) {
      setOrdinal = out.size();
      out.add(col(QueryFilter.SET_COL).cast(DataTypes.IntegerType));
    }
    if (names.contains(SELF_COL)) {
      selfOrdinal = out.size();
      out.add(col(SELF_COL).cast(DataTypes.LongType));
    }
    return new VectorInput(cols.idCol(), cols.vectorCol(), idType, idDataType, df.select(out.toArray(new Column[0])),
        setOrdinal, selfOrdinal);
  }

  /** The ordinal of the filter-set column in {@link #internalRows()}, or -1. */
  public int setOrdinal() {
    return setOrdinal;
  }

  /** Whether the rows carry a filter set ({@link QueryFilter#compile}). */
  public boolean hasFilterSet() {
    return setOrdinal >= 0;
  }

  /** The ordinal of the self-id column ({@link #SELF_COL}) in {@link #internalRows()}, or -1. */
  public int selfOrdinal() {
    return selfOrdinal;
  }

  public IdType idType() {
    return idType;
  }

  /** The id column's type in the input (long, int or string). */
  public DataType idDataType() {
    return idDataType;
  }

  public String idCol() {
    return idCol;
  }

  public String vectorCol() {
    return vectorCol;
  }

  /** {@code (id, vector)} with the id as long or string. */
  public Dataset<Row> projected() {
    return projected;
  }

  /** Internal rows of {@code (id, array<float>)}; rows are reused by Spark, copy what you keep. */
  public JavaRDD<InternalRow> internalRows() {
    return projected.queryExecution().toRdd().toJavaRDD();
  }

  /**
   * The vector of an internal row as {@code float[]}; {@code null} vectors and vectors of the
   * wrong dimension fail with the row's id.
   *
   * @param d the expected dimension, or 0 for any
   */
  public float[] vector(InternalRow row, int d, String what) {
    if (row.isNullAt(1)) {
      throw new IllegalArgumentException("the " + what + " row with id " + idString(row) + " has a null vector");
    }
    ArrayData a = row.getArray(1);
    if (d > 0 && a.numElements() != d) {
      throw new IllegalArgumentException("the " + what + " row with id " + idString(row) + " has a vector of dimension "
          + a.numElements() + "; this index has d = " + d);
    }
    for (int i = 0; i < a.numElements(); i++) {
      if (a.isNullAt(i)) {
        throw new IllegalArgumentException("the " + what + " row with id " + idString(row) + " has a null at vector "
            + "component " + i);
      }
    }
    float[] v = a.toFloatArray();
    for (int i = 0; i < v.length; i++) {
      if (!Float.isFinite(v[i])) {
        throw new IllegalArgumentException("the " + what + " row with id " + idString(row) + " has " + v[i]
            + " at vector component " + i + "; components must be finite");
      }
    }
    return v;
  }

  /** The row's id for messages. */
  public String idString(InternalRow row) {
    if (row.isNullAt(0)) {
      return "null";
    }
    return idType == IdType.LONG ? Long.toString(row.getLong(0)) : "'" + row.getUTF8String(0) + "'";
  }

  /** The long id of a row with a long id column; a null id fails, naming the column. */
  public long longId(InternalRow row, String what) {
    if (row.isNullAt(0)) {
      throw new IllegalArgumentException("the " + what + " has a row whose id ('" + idCol + "') is null");
    }
    return row.getLong(0);
  }
}
