package io.quiver.examples;

import static org.apache.spark.sql.functions.col;

import io.quiver.spark.ml.IvfKnn;
import io.quiver.spark.ml.IvfKnnModel;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Quiver's Spark ML API from Java: build an index over a table of (id, vector, category) rows,
 * search it, join it with itself, save the model and load it back.
 *
 * <pre>
 * spark-submit --class io.quiver.examples.SimilarityJoinExample --jars quiver-spark.jar examples.jar \
 *     hdfs:///data/items.parquet hdfs:///tmp/quiver-example
 * </pre>
 */
public final class SimilarityJoinExample {
  private SimilarityJoinExample() {}

  public static void main(String[] args) throws Exception {
    SparkSession spark = SparkSession.builder().appName("quiver example").getOrCreate();
    Result r = run(spark, args[0], args[1]);
    r.neighbors().show(5, false);
    r.pairs().show(5, false);
    spark.stop();
  }

  /** What the example produces. */
  public record Result(IvfKnnModel model, Dataset<Row> neighbors, Dataset<Row> pairs, Dataset<Row> shoes,
                       IvfKnnModel loaded) {}

  public static Result run(SparkSession spark, String itemsPath, String workDir) throws Exception {
    Dataset<Row> items = spark.read().parquet(itemsPath);

    // train the coarse quantizer and build the sharded index (as `quiver index` does)
    IvfKnnModel model = new IvfKnn()
        .setFactory("IVF64,Flat")
        .setMetric("l2")
        .setIdCol("id")
        .setVectorCol("vector")
        .setSeed(42)
        .setIndexDir(workDir + "/index")
        .fit(items);

    // k nearest items of each query row, with an item column carried along
    model.setK(5).setNprobe(8).setItemCols("category");
    Dataset<Row> queries = items.where(col("id").lt(100));
    Dataset<Row> neighbors = model.transform(queries);

    // a self-join: each item with its 5 nearest other items, each pair once
    Dataset<Row> pairs = model.setItemCols().selfJoin(5, Double.NaN, true);

    // a filtered search: only items of category 3, evaluated during the scan
    Dataset<Row> shoes = model.copy(new org.apache.spark.ml.param.ParamMap()).setFilter("category = 3")
        .transform(queries);

    // save(path) writes an index directory; load opens it (or any index `quiver index` built)
    model.write().overwrite().save(workDir + "/model");
    IvfKnnModel loaded = IvfKnnModel.load(workDir + "/model");
    return new Result(model, neighbors, pairs, shoes, loaded);
  }
}
