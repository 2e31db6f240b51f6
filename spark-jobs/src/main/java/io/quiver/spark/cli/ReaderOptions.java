package io.quiver.spark.cli;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code --option KEY=VALUE} (repeatable): options of Spark's {@code DataFrameReader} for every
 * table a command reads ({@code DataFrameReader.option(KEY, VALUE)}), e.g. {@code header=true} and
 * {@code sep=\t} for a CSV table. An index records the options of its input, so that later reads
 * of the input (item columns, self-joins, exact ground truth) use them too.
 */
final class ReaderOptions {

  /** One {@code KEY=VALUE}. */
  record Entry(String key, String value) {}

  static final class Converter implements ITypeConverter<Entry> {
    @Override
    public Entry convert(String arg) {
      int eq = arg.indexOf('=');
      if (eq <= 0 || arg.substring(0, eq).isBlank()) {
        throw new TypeConversionException("'" + arg + "' is not KEY=VALUE; write e.g. --option header=true");
      }
      return new Entry(arg.substring(0, eq).trim(), arg.substring(eq + 1));
    }
  }

  @Option(names = "--option", paramLabel = "KEY=VALUE", converter = Converter.class,
      description = "Option of Spark's DataFrameReader for the tables this command reads (repeatable), as "
          + "DataFrameReader.option(KEY, VALUE): e.g. --option header=true --option sep=, for CSV.")
  List<Entry> entries = new ArrayList<>();

  /** The options in order; a key given twice keeps its last value. */
  Map<String, String> options() {
    Map<String, String> m = new LinkedHashMap<>();
    for (Entry e : entries) {
      m.put(e.key(), e.value());
    }
    return Collections.unmodifiableMap(m);
  }
}
