package io.quiver.spark.shard;

import com.robothy.s3.rest.LocalS3;
import com.robothy.s3.rest.bootstrap.LocalS3Mode;
import io.quiver.spark.SparkTestSessions;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The jobs on S3 through Hadoop's s3a file system: an S3 server in this JVM (LocalS3, on
 * 127.0.0.1) holds the input table, the index and the search output, and
 * {@link RemoteFileSystemContract} runs there: the staged build and {@code --overwrite} work
 * where a rename is a copy of every object (a reader may see the output missing while the copies
 * run).
 */
class S3Test extends RemoteFileSystemContract {
  private static final String BUCKET = "quiver-test";
  /** The s3a settings of the test bucket, set per bucket ({@code fs.s3a.bucket.BUCKET.*}) on the session. */
  private final List<String> settings = new ArrayList<>();
  private LocalS3 server;

  @Override
  protected String name() {
    return "S3";
  }

  @Override
  protected void startFileSystem() throws Exception {
    int port;
    try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = free.getLocalPort();
    }
    server = LocalS3.builder().port(port).mode(LocalS3Mode.IN_MEMORY).build();
    server.start();
    String endpoint = "http://127.0.0.1:" + port;
    try (S3Client client = S3Client.builder().endpointOverride(URI.create(endpoint)).region(Region.US_EAST_1)
        .forcePathStyle(true).credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test",
            "test"))).build()) {
      client.createBucket(b -> b.bucket(BUCKET));
    }
    Configuration conf = conf();
    set(conf, "endpoint", endpoint);
    set(conf, "endpoint.region", "us-east-1");
    set(conf, "path.style.access", "true");
    set(conf, "connection.ssl.enabled", "false");
    set(conf, "aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
    set(conf, "access.key", "test");
    set(conf, "secret.key", "test");
    // fail fast: the server is in this JVM
    set(conf, "attempts.maximum", "1");
    set(conf, "retry.limit", "1");
    root = "s3a://" + BUCKET + "/quiver";
    fs = new Path(root).getFileSystem(conf);
    local = new File(SparkTestSessions.targetDir(), "s3-" + System.nanoTime());
  }

  private void set(Configuration conf, String key, String value) {
    String k = "fs.s3a.bucket." + BUCKET + "." + key;
    conf.set(k, value);
    settings.add(k);
  }

  @Override
  protected void stopFileSystem() throws IOException {
    if (fs != null) {
      fs.close(); // and out of FileSystem's cache
    }
    for (String k : settings) {
      conf().unset(k);
    }
    if (server != null) {
      server.shutdown();
    }
  }
}
