package io.quiver.spark.plan;

import io.quiver.index.Metric;
import io.quiver.spark.SparkTestSessions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The oracle of {@link SparkIndexOracleTest} on {@code local-cluster[2,1,1024]}: executors in
 * JVMs of their own, so the broadcast quantizer, Kryo (registration required) and shard loading
 * really cross process boundaries.
 */
class LocalClusterOracleTest {

  @ParameterizedTest
  @CsvSource({"'IVF100,Flat', 8", "'IVF100,PQ16', 8", "'IVF50,SQ8', 8"})
  void sparkSearchEqualsIndexCoreSearchAcrossJvms(String factory, int nprobe) throws Exception {
    SparkIndexOracleTest.buildAndCompare(SparkTestSessions.localCluster(), "bigann10k-lc",
        "bigann10k/bigann10k_base.fvecs", "bigann10k/siftsmall_query100.fvecs", factory, Metric.L2, nprobe, 3);
  }
}
