package io.quiver.spark.io;

import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The layout of the vector tables Quiver writes ({@code generate}, {@code convert}): {@code id}
 * long, the row number, and {@code vector} array&lt;float&gt;, neither null.
 */
public final class VectorRows {

  /** The id column's name. */
  public static final String ID = "id";
  /** The vector column's name. */
  public static final String VECTOR = "vector";

  /** {@code id long not null, vector array<float not null> not null}. */
  public static final StructType SCHEMA = new StructType(new StructField[] {
      new StructField(ID, DataTypes.LongType, false, Metadata.empty()),
      new StructField(VECTOR, DataTypes.createArrayType(DataTypes.FloatType, false), false, Metadata.empty()),
  });

  private VectorRows() {}
}
