package io.quiver.spark.kryo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.spark.SparkSessions;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

class QuiverKryoRegistratorTest {

  static SerializerInstance kryo() {
    SparkConf conf = new SparkConf(false);
    for (Map.Entry<String, String> e : SparkSessions.quiverDefaults().entrySet()) {
      conf.set(e.getKey(), e.getValue());
    }
    return new KryoSerializer(conf).newInstance();
  }

  static <T> T roundTrip(SerializerInstance ser, T value) {
    ClassTag<T> tag = ClassTag$.MODULE$.apply(value.getClass());
    return ser.deserialize(ser.serialize(value, tag), tag);
  }

  @Test
  void everyListedClassExistsInThisSparkOnce() {
    List<Class<?>> classes = QuiverKryoRegistrator.classes();
    assertEquals(QuiverKryoRegistrator.QUIVER_CLASSES.size() + QuiverKryoRegistrator.SPARK_AND_SCALA_CLASS_NAMES.size(),
        classes.size(), "a listed class name does not resolve: " + QuiverKryoRegistrator.SPARK_AND_SCALA_CLASS_NAMES);
    assertEquals(QuiverKryoRegistrator.JAVA_SERIALIZED_CLASS_NAMES.size(),
        QuiverKryoRegistrator.javaSerializedClasses().size(),
        "a listed class name does not resolve: " + QuiverKryoRegistrator.JAVA_SERIALIZED_CLASS_NAMES);
    Set<Class<?>> all = new HashSet<>(classes);
    all.addAll(QuiverKryoRegistrator.javaSerializedClasses());
    assertEquals(classes.size() + QuiverKryoRegistrator.javaSerializedClasses().size(), all.size(),
        "a class is listed twice");
  }

  @Test
  void schemasRoundTripThroughJavaSerialization() {
    StructType schema = new StructType().add("id", DataTypes.LongType, false)
        .add("vector", DataTypes.createArrayType(DataTypes.FloatType, false))
        .add("tags", DataTypes.createMapType(DataTypes.StringType, DataTypes.createDecimalType(10, 2)))
        .add("when", DataTypes.TimestampType);
    StructType[] schemas = {schema, new StructType()};
    assertArrayEquals(schemas, roundTrip(kryo(), schemas));
  }

  @Test
  void quiverValuesRoundTripWithRegistrationRequired() {
    SerializerInstance ser = kryo();
    assertArrayEquals(new float[] {1, 2.5f, -3}, roundTrip(ser, new float[] {1, 2.5f, -3}));
    assertArrayEquals(new long[] {7, -1}, roundTrip(ser, new long[] {7, -1}));
    byte[][] codes = {{1, 2}, {3}};
    byte[][] back = roundTrip(ser, codes);
    assertArrayEquals(codes[0], back[0]);
    assertArrayEquals(codes[1], back[1]);
  }

  @Test
  void anUnlistedClassIsRefused() {
    // proves registrationRequired is on, so the list above is what the tests exercise
    record NotListed(int x) {}
    SerializerInstance ser = kryo();
    Exception e = assertThrows(Exception.class, () -> roundTrip(ser, new NotListed(1)));
    assertTrue(String.valueOf(e.getMessage()).contains("Class is not registered"), e.toString());
  }
}
