package io.quiver.spark;

import io.quiver.index.spi.ComputeBackends;
import java.util.Collections;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;
import org.apache.spark.resource.ResourceInformation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses index-core's compute backend in the driver and in every executor
 * ({@code spark.plugins=io.quiver.spark.QuiverPlugin}; Quiver's own sessions add it).
 *
 * <ul>
 *   <li>{@code spark.quiver.backend}: {@code auto} (default), {@code cpu} or {@code gpu}, as the
 *       CLI's {@code --backend}. With {@code gpu}, a driver or executor without a usable GPU fails
 *       at start-up with the reason, instead of running slowly on the CPU.</li>
 *   <li>When Spark assigned the executor GPUs ({@code spark.executor.resource.gpu.amount} with a
 *       discovery script), the first assigned address becomes the device
 *       ({@code quiver.gpu.device}), so executors sharing a machine use their own GPUs; tasks are
 *       then scheduled by {@code spark.task.resource.gpu.amount}.</li>
 * </ul>
 * Each JVM logs one line saying which backend it uses and, for {@code auto} on the CPU, why.
 */
public final class QuiverPlugin implements SparkPlugin {

  /** The Spark setting that chooses the backend. */
  public static final String BACKEND_CONF = "spark.quiver.backend";

  private static final Logger LOG = LoggerFactory.getLogger(QuiverPlugin.class);

  @Override
  public DriverPlugin driverPlugin() {
    return new DriverPlugin() {
      @Override
      public Map<String, String> init(SparkContext sc, PluginContext ctx) {
        configure(sc.getConf(), ctx.resources(), "driver");
        return Collections.emptyMap();
      }
    };
  }

  @Override
  public ExecutorPlugin executorPlugin() {
    return new ExecutorPlugin() {
      @Override
      public void init(PluginContext ctx, Map<String, String> extraConf) {
        configure(ctx.conf(), ctx.resources(), "executor " + ctx.executorID());
      }
    };
  }

  /** Applies the mode and the assigned GPU, then chooses (and logs) the backend of this JVM. */
  static void configure(SparkConf conf, Map<String, ResourceInformation> resources, String who) {
    ResourceInformation gpus = resources == null ? null : resources.get("gpu");
    if (gpus != null && gpus.addresses().length > 0 && System.getProperty("quiver.gpu.device") == null) {
      System.setProperty("quiver.gpu.device", gpus.addresses()[0]);
    }
    if (conf.contains(BACKEND_CONF)) {
      ComputeBackends.configure(conf.get(BACKEND_CONF));
    }
    LOG.info("{}: quiver compute backend {}", who, ComputeBackends.describe());
  }
}
