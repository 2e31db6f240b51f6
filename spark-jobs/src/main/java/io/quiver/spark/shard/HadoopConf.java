package io.quiver.spark.shard;

import java.io.Externalizable;
import java.io.IOException;
import java.io.ObjectInput;
import java.io.ObjectOutput;
import org.apache.hadoop.conf.Configuration;

/** A Hadoop {@link Configuration} that travels in task closures (Java serialization). */
public final class HadoopConf implements Externalizable {
  private static final long serialVersionUID = 1L;
  private transient Configuration conf;

  /** For deserialization. */
  public HadoopConf() {}

  public HadoopConf(Configuration conf) {
    this.conf = conf;
  }

  public Configuration get() {
    return conf;
  }

  @Override
  public void writeExternal(ObjectOutput out) throws IOException {
    conf.write(out);
  }

  @Override
  public void readExternal(ObjectInput in) throws IOException {
    conf = new Configuration(false);
    conf.readFields(in);
  }
}
