package io.quiver.gpu;

/** Why a GPU cannot be used: no device, an old driver, kernels that do not load. */
public final class GpuUnavailableException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public GpuUnavailableException(String message) {
    super(message);
  }

  public GpuUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
