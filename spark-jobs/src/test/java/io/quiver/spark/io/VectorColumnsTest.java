package io.quiver.spark.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.spark.SparkTestSessions;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class VectorColumnsTest {

  static SparkSession spark;

  @BeforeAll
  static void start() {
    spark = SparkTestSessions.local(2);
  }

  static Dataset<Row> table(DataType idType, DataType vectorType, Row... rows) {
    StructType schema = new StructType().add("key", idType).add("emb", vectorType).add("other", DataTypes.StringType);
    return spark.createDataFrame(Arrays.asList(rows), schema);
  }

  /** Vectors read on the driver and, through a task, on an executor, as "key:v0,v1,v2". */
  static void assertVectors(Dataset<Row> df, VectorColumns.IdKind idKind, VectorColumns.VectorKind vectorKind) {
    VectorColumns cols = VectorColumns.of(df, "key", "emb");
    assertEquals(idKind, cols.idKind());
    assertEquals(vectorKind, cols.vectorKind());
    assertEquals(0, cols.idIndex());
    assertEquals(1, cols.vectorIndex());
    List<Row> rows = df.collectAsList();
    assertArrayEquals(new float[] {1.5f, -2f, 3.25f}, cols.vector(rows.get(0), 3));
    assertArrayEquals(new float[] {0f, 0f, 7f}, cols.vector(rows.get(1), 0));
    // in tasks: the instance is serializable and the conversion runs on the executor side
    List<String> fromTasks = df.map((MapFunction<Row, String>) r -> {
      float[] v = cols.vector(r, 3);
      return cols.id(r) + ":" + v[0] + "," + v[1] + "," + v[2];
    }, Encoders.STRING()).collectAsList();
    assertEquals(List.of(rows.get(0).get(0) + ":1.5,-2.0,3.25", rows.get(1).get(0) + ":0.0,0.0,7.0"), fromTasks);
  }

  @Test
  void longIdsAndFloatArrays() {
    assertVectors(table(DataTypes.LongType, DataTypes.createArrayType(DataTypes.FloatType),
        RowFactory.create(10L, new float[] {1.5f, -2f, 3.25f}, "a"),
        RowFactory.create(11L, new float[] {0f, 0f, 7f}, "b")),
        VectorColumns.IdKind.LONG, VectorColumns.VectorKind.FLOAT_ARRAY);
  }

  @Test
  void intIdsAndDoubleArrays() {
    assertVectors(table(DataTypes.IntegerType, DataTypes.createArrayType(DataTypes.DoubleType),
        RowFactory.create(1, new double[] {1.5, -2, 3.25}, "a"),
        RowFactory.create(2, new double[] {0, 0, 7}, "b")),
        VectorColumns.IdKind.INT, VectorColumns.VectorKind.DOUBLE_ARRAY);
  }

  @Test
  void stringIdsAndSparkMlVectors() {
    assertVectors(table(DataTypes.StringType, new VectorUDT(),
        RowFactory.create("x", Vectors.dense(1.5, -2, 3.25), "a"),
        RowFactory.create("y", Vectors.sparse(3, new int[] {2}, new double[] {7}), "b")),
        VectorColumns.IdKind.STRING, VectorColumns.VectorKind.ML_VECTOR);
  }

  @Test
  void columnNamesMatchCaseInsensitivelyLikeSpark() {
    Dataset<Row> df = table(DataTypes.LongType, DataTypes.createArrayType(DataTypes.FloatType));
    VectorColumns cols = VectorColumns.of(df, "KEY", "Emb");
    assertEquals("key", cols.idCol());
    assertEquals("emb", cols.vectorCol());
  }

  @Test
  void missingColumnsNameTheColumnsThereAre() {
    Dataset<Row> df = table(DataTypes.LongType, DataTypes.createArrayType(DataTypes.FloatType));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VectorColumns.of(df, "id", "emb"));
    assertTrue(e.getMessage().contains("no id column 'id'") && e.getMessage().contains("[key, emb, other]")
        && e.getMessage().contains("--id-col"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> VectorColumns.of(df, "key", "vector"));
    assertTrue(e.getMessage().contains("no vector column 'vector'") && e.getMessage().contains("--vector-col"),
        e.getMessage());
  }

  @Test
  void wrongColumnTypesNameTheColumnTheTypeAndTheValidTypes() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VectorColumns.of(
        table(DataTypes.DoubleType, DataTypes.createArrayType(DataTypes.FloatType)), "key", "emb"));
    assertEquals("the id column 'key' has type double; an id column must be bigint (long), int or string",
        e.getMessage());

    e = assertThrows(IllegalArgumentException.class, () -> VectorColumns.of(
        table(DataTypes.LongType, DataTypes.createArrayType(DataTypes.IntegerType)), "key", "emb"));
    assertTrue(e.getMessage().startsWith("the vector column 'emb' has type array<int>; a vector column must be"
        + " array<float>, array<double> or vector (Spark ML VectorUDT)"), e.getMessage());

    e = assertThrows(IllegalArgumentException.class, () -> VectorColumns.of(
        table(DataTypes.LongType, DataTypes.createArrayType(DataTypes.FloatType)), "key", "other"));
    assertTrue(e.getMessage().startsWith("the vector column 'other' has type string; a vector column must be"),
        e.getMessage());
  }

  @Test
  void badRowsNameTheRowIdAndTheDimensions() {
    Dataset<Row> df = table(DataTypes.LongType, DataTypes.createArrayType(DataTypes.FloatType),
        RowFactory.create(42L, null, "a"),
        RowFactory.create(43L, new float[] {1, 2}, "b"),
        RowFactory.create(44L, new Float[] {1f, null, 3f}, "c"));
    VectorColumns cols = VectorColumns.of(df, "key", "emb");
    List<Row> rows = df.collectAsList();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cols.vector(rows.get(0), 3));
    assertEquals("row with key=42: the vector column 'emb' is null; expected a vector of dimension 3", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> cols.vector(rows.get(1), 3));
    assertEquals("row with key=43: the vector in 'emb' has dimension 2, expected 3", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> cols.vector(rows.get(2), 3));
    assertEquals("row with key=44: component 1 of the vector in 'emb' is null", e.getMessage());
  }
}
