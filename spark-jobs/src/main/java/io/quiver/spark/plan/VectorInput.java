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
  private InvalidRows.Policy onInvalid = InvalidRows.Policy.FAIL;
  /** What the last job over these rows left out (driver side); null before one ran. */
  private transient InvalidRows.Report skipped;

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

  /** What jobs do with invalid rows (default {@link InvalidRows.Policy#FAIL}); returns this. */
  public VectorInput onInvalid(InvalidRows.Policy policy) {
    this.onInvalid = policy;
    return this;
  }

  public InvalidRows.Policy onInvalid() {
    return onInvalid;
  }

  /**
   * The invalid rows the last job over this input left out ({@link InvalidRows.Policy#SKIP}),
   * by reason; an empty report when there were none or no job ran yet.
   */
  public InvalidRows.Report skipped() {
    return skipped == null ? new InvalidRows.Report() : skipped;
  }

  /** Records what a job left out (the plans call this on the driver). */
  void skipped(InvalidRows.Report report) {
    this.skipped = report;
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
   * The vector of an internal row as {@code float[]}; an invalid row (null id, null vector, wrong
   * dimension, null or non-finite component) fails with the row's id and what is wrong.
   *
   * @param d the expected dimension, or 0 for any
   */
  public float[] vector(InternalRow row, int d, String what) {
    InvalidRows.Problem[] problem = new InvalidRows.Problem[1];
    float[] v = check(row, d, 0, p -> problem[0] = p);
    if (v == null) {
      throw new IllegalArgumentException("the " + what + " row " + problem[0] + "; a valid row has a non-null id and a "
          + (d > 0 ? "vector of d = " + d : "non-empty vector of") + " finite, non-null components");
    }
    return v;
  }

  /**
   * The vector of a valid row, or null after handing the row's {@link InvalidRows.Problem} to
   * {@code invalid}: a null id, a null vector, a dimension other than {@code d} (when
   * {@code d > 0}), a null, NaN or infinite component.
   *
   * @param position the row's position for ordering messages: {@code partition << 36 | row}
   */
  public float[] check(InternalRow row, int d, long position,
                       java.util.function.Consumer<InvalidRows.Problem> invalid) {
    return check(row, d, position, false, invalid);
  }

  /**
   * {@link #check(InternalRow, int, long, java.util.function.Consumer)}, where with
   * {@code indexIds} (builds) a long id below 0 is invalid too ({@link InvalidRows.Reason#NEGATIVE_ID}).
   */
  public float[] check(InternalRow row, int d, long position, boolean indexIds,
                       java.util.function.Consumer<InvalidRows.Problem> invalid) {
    if (row.isNullAt(0)) {
      invalid.accept(new InvalidRows.Problem(position, "null", InvalidRows.Reason.NULL_ID,
          "the id column '" + idCol + "' is null"));
      return null;
    }
    if (indexIds && idType == IdType.LONG && row.getLong(0) < 0) {
      invalid.accept(problem(row, position, InvalidRows.Reason.NEGATIVE_ID, "a negative id (an index's ids are >= 0: "
          + "searches pad missing neighbours with -1)"));
      return null;
    }
    if (row.isNullAt(1)) {
      invalid.accept(problem(row, position, InvalidRows.Reason.NULL_VECTOR, "null vector (column '" + vectorCol + "')"));
      return null;
    }
    ArrayData a = row.getArray(1);
    int n = a.numElements();
    if ((d > 0 && n != d) || n == 0) {
      invalid.accept(problem(row, position, InvalidRows.Reason.DIMENSION, "vector of dimension " + n
          + (d > 0 ? ", expected d = " + d : ", expected at least one component")));
      return null;
    }
    for (int i = 0; i < n; i++) {
      if (a.isNullAt(i)) {
        invalid.accept(problem(row, position, InvalidRows.Reason.NULL_COMPONENT, "null at vector component " + i));
        return null;
      }
    }
    float[] v = a.toFloatArray();
    for (int i = 0; i < v.length; i++) {
      if (Float.isNaN(v[i])) {
        invalid.accept(problem(row, position, InvalidRows.Reason.NAN, "NaN at vector component " + i));
        return null;
      }
      if (Float.isInfinite(v[i])) {
        invalid.accept(problem(row, position, InvalidRows.Reason.INFINITE, v[i] + " at vector component " + i));
        return null;
      }
    }
    return v;
  }

  private InvalidRows.Problem problem(InternalRow row, long position, InvalidRows.Reason reason, String detail) {
    return new InvalidRows.Problem(position, idString(row), reason, detail);
  }

  /** Turns a valid row and its vector into a task's record. */
  @FunctionalInterface
  public interface RowMapper<T> extends Serializable {
    T apply(InternalRow row, float[] vector, long position);
  }

  /**
   * The valid rows of partition {@code part}, mapped by {@code f}, lazily (a partition is never
   * held in memory); each invalid row goes to {@code invalid} instead.
   */
  public <T> java.util.Iterator<T> validRows(int part, java.util.Iterator<InternalRow> rows, int d, InvalidRows invalid,
                                             RowMapper<T> f) {
    return validRows(part, rows, d, false, invalid, f);
  }

  /**
   * {@link #validRows(int, java.util.Iterator, int, InvalidRows, RowMapper)}; with {@code indexIds}
   * (the rows of a build) a negative long id is invalid too.
   */
  public <T> java.util.Iterator<T> validRows(int part, java.util.Iterator<InternalRow> rows, int d, boolean indexIds,
                                             InvalidRows invalid, RowMapper<T> f) {
    return new java.util.Iterator<T>() {
      private long next = (long) part << InvalidRows.PARTITION_SHIFT;
      private T ahead;

      @Override
      public boolean hasNext() {
        while (ahead == null && rows.hasNext()) {
          InternalRow r = rows.next();
          long pos = next++;
          float[] v = check(r, d, pos, indexIds, invalid::add);
          if (v != null) {
            ahead = f.apply(r, v, pos);
          }
        }
        return ahead != null;
      }

      @Override
      public T next() {
        if (!hasNext()) {
          throw new java.util.NoSuchElementException();
        }
        T t = ahead;
        ahead = null;
        return t;
      }
    };
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
