package io.quiver.spark.cli;

import io.quiver.spark.plan.InvalidRows;
import picocli.CommandLine.Option;

/** {@code --on-invalid fail|skip} of the commands that read vectors to index or to search. */
final class OnInvalidOption {
  @Option(names = "--on-invalid", paramLabel = "fail|skip", defaultValue = "fail",
      description = "Rows with a null id, a null vector, the wrong dimension, a null, NaN or infinite component, or "
          + "(index, build) an id that another row also has: fail stops the job before anything is written and names "
          + "the first ones with the count per reason; skip leaves them out and reports the counts in the JSON "
          + "result (and, for builds, in manifest.json) (default: ${DEFAULT-VALUE}).")
  String onInvalid;

  InvalidRows.Policy policy() {
    return InvalidRows.Policy.parse(onInvalid);
  }
}
