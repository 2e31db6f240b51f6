package io.quiver.index.tools;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Command-line options of the form {@code --name value} or {@code --name=value}, and flags
 * ({@code --help}) that take no value. Unknown
 * options and missing values are errors that name the option and list the valid ones.
 */
final class Args {
  private final Map<String, String> values = new LinkedHashMap<>();
  private final String command;

  Args(String command, String[] argv, int from, Set<String> known) {
    this(command, argv, from, known, Set.of("help"));
  }

  /** {@code flags} are options without a value (present means true). */
  Args(String command, String[] argv, int from, Set<String> known, Set<String> flags) {
    this.command = command;
    for (int i = from; i < argv.length; i++) {
      String a = argv[i];
      if (!a.startsWith("--")) {
        throw new UsageException(command + ": unexpected argument '" + a + "'; options look like --name value");
      }
      String name;
      String value;
      int eq = a.indexOf('=');
      if (eq > 0) {
        name = a.substring(2, eq);
        value = a.substring(eq + 1);
      } else {
        name = a.substring(2);
        if (flags.contains(name)) {
          value = "true";
        } else {
          if (i + 1 >= argv.length) {
            throw new UsageException(command + ": option --" + name + " needs a value");
          }
          value = argv[++i];
        }
      }
      if (!known.contains(name)) {
        throw new UsageException(command + ": unknown option --" + name + "; valid options: --" + String.join(", --", known));
      }
      values.put(name, value);
    }
  }

  boolean has(String name) {
    return values.containsKey(name);
  }

  String get(String name, String def) {
    return values.getOrDefault(name, def);
  }

  String require(String name) {
    String v = values.get(name);
    if (v == null) {
      throw new UsageException(command + ": option --" + name + " is required");
    }
    return v;
  }

  int getInt(String name, int def, int min) {
    String v = values.get(name);
    if (v == null) {
      return def;
    }
    int x;
    try {
      x = Integer.parseInt(v.trim());
    } catch (NumberFormatException e) {
      throw new UsageException(command + ": --" + name + " must be an integer, was '" + v + "'");
    }
    if (x < min) {
      throw new UsageException(command + ": --" + name + " must be >= " + min + ", was " + x);
    }
    return x;
  }

  float getFloat(String name, float def, float min) {
    String v = values.get(name);
    if (v == null) {
      return def;
    }
    float x;
    try {
      x = Float.parseFloat(v.trim());
    } catch (NumberFormatException e) {
      throw new UsageException(command + ": --" + name + " must be a number, was '" + v + "'");
    }
    if (!(x >= min) || Float.isInfinite(x)) {
      throw new UsageException(command + ": --" + name + " must be a finite number >= " + min + ", was " + v);
    }
    return x;
  }

  long getLong(String name, long def) {
    String v = values.get(name);
    if (v == null) {
      return def;
    }
    try {
      return Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      throw new UsageException(command + ": --" + name + " must be an integer, was '" + v + "'");
    }
  }

  /** A command-line mistake: printed with the usage, exit status 2. */
  static final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
      super(message);
    }
  }
}
