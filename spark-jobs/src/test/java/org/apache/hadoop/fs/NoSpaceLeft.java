package org.apache.hadoop.fs;

import java.io.IOException;

/**
 * The error Hadoop's local file system throws when a write fails with ENOSPC: an {@link FSError}
 * (whose constructor only this package can call) around "No space left on device".
 */
public final class NoSpaceLeft {
  private NoSpaceLeft() {}

  public static Error error() {
    return new FSError(new IOException("No space left on device"));
  }
}
