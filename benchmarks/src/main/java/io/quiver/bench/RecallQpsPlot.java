package io.quiver.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.BitmapEncoder.BitmapFormat;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.XYSeries.XYSeriesRenderStyle;
import org.knowm.xchart.style.Styler.LegendPosition;
import org.knowm.xchart.style.markers.Marker;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Recall-vs-QPS plots (the ann-benchmarks picture) from a CSV of benchmark points, one PNG per
 * dataset:
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.quiver.bench.RecallQpsPlot --csv points.csv --out-dir docs/bench
 *     [--title-suffix "2 cores, 1 thread"]
 * </pre>
 *
 * <p>Input: a header line, then one point per line, comma separated, no quoting (factory strings
 * are written with {@code ';'} for {@code ','}, e.g. {@code IVF1024;PQ16}). The columns, in any
 * order ({@link #COLUMNS}):
 * {@code dataset,system,family,factory,metric,nprobe,kfactor,recall_at_1,recall_at_k,qps,train_s,add_s,bytes_per_vector,threads}.
 * The plot reads {@code dataset}, {@code system}, {@code family}, {@code recall_at_k} (recall@10)
 * and {@code qps}, which the header must name; the other documented columns may be absent, and
 * when present their numbers are checked (empty means "not applicable"). Unknown columns are
 * ignored.
 *
 * <p>Output: {@code <out-dir>/<dataset>-recall-qps.png}, 1000 x 700: recall@10 on a linear x
 * axis, QPS on a log y axis (higher and further right is better), one series per
 * {@code (system, family)} drawn through its Pareto points (those no other point of the series
 * beats on both recall and QPS) in order of recall. The family picks the
 * colour, the system the marker and line: quiver solid with circles, faiss dashed with squares,
 * quiver-spark dotted with diamonds, MLlib ({@code mllib*}) dash-dot with triangles, others
 * long-dashed with the remaining markers. One line per written file goes to stdout.
 *
 * <p>Points without a finite recall@k or with {@code qps <= 0} cannot be drawn on these axes:
 * they are skipped with a warning on stderr naming the line. A malformed file (a missing
 * column, a field count that differs from the header, an unparsable number, a recall outside
 * [0, 1]) fails with the file, line number and column. Exit status: 0 on success, 1 on a
 * failure, 2 on a command-line mistake.
 */
public final class RecallQpsPlot {

  static {
    // a plot tool never needs a display; set before any AWT class asks for one
    System.setProperty("java.awt.headless", "true");
  }

  /** The documented columns, in the order benchmark scripts write them. */
  static final List<String> COLUMNS = List.of("dataset", "system", "family", "factory", "metric", "nprobe",
      "kfactor", "recall_at_1", "recall_at_k", "qps", "train_s", "add_s", "bytes_per_vector", "threads");
  /** The columns the plot needs. */
  static final List<String> REQUIRED = List.of("dataset", "system", "family", "recall_at_k", "qps");
  /** Integer columns, checked when present and non-empty. */
  private static final List<String> INT_COLUMNS = List.of("nprobe", "threads");
  /** Number columns, checked when present and non-empty. */
  private static final List<String> NUMBER_COLUMNS =
      List.of("kfactor", "recall_at_1", "recall_at_k", "qps", "train_s", "add_s", "bytes_per_vector");

  static final int WIDTH = 1000;
  static final int HEIGHT = 700;

  static final String USAGE = String.join("\n",
      "usage: RecallQpsPlot --csv FILE --out-dir DIR [--title-suffix TEXT]",
      "",
      "  --csv FILE           benchmark points; header: " + String.join(",", COLUMNS),
      "  --out-dir DIR        where <dataset>-recall-qps.png files go (created if missing)",
      "  --title-suffix TEXT  appended to each title in parentheses, e.g. \"2 cores, 1 thread\"");

  /** Decimal numbers, plus nan/inf as Python writes them (which mean "no value" here). */
  private static final Pattern NUMBER =
      Pattern.compile("[-+]?(\\d+\\.?\\d*|\\.\\d+)([eE][-+]?\\d+)?|[-+]?(?i:nan|inf|infinity)");
  private static final Pattern INTEGER = Pattern.compile("[-+]?\\d+");
  private static final Pattern SAFE_NAME = Pattern.compile("[^A-Za-z0-9._-]");

  /** Colours of the families the benchmark scripts write; other families take {@link #SPARE_COLORS}. */
  private static final Map<String, Color> FAMILY_COLORS = Map.of(
      "Flat", new Color(0x33, 0x33, 0x33),
      "IVF-Flat", new Color(0x1f, 0x77, 0xb4),
      "IVF-PQ", new Color(0xd6, 0x27, 0x28),
      "IVF-SQ8", new Color(0x2c, 0xa0, 0x2c),
      "IVF-PQ-RFlat", new Color(0x94, 0x67, 0xbd),
      "LSH", new Color(0xff, 0x7f, 0x0e));
  /** Legend order of the known families; others follow by name. */
  private static final List<String> FAMILY_ORDER = List.of("Flat", "IVF-Flat", "IVF-SQ8", "IVF-PQ", "IVF-PQ-RFlat", "LSH");
  private static final Color[] SPARE_COLORS = {
      new Color(0x8c, 0x56, 0x4b), new Color(0xe3, 0x77, 0xc2), new Color(0x17, 0xbe, 0xcf),
      new Color(0xbc, 0xbd, 0x22), new Color(0x7f, 0x7f, 0x7f), new Color(0x00, 0x00, 0x80)};
  /** Markers of systems other than quiver, faiss, quiver-spark and mllib*, in order of name. */
  private static final Marker[] SPARE_MARKERS = {
      SeriesMarkers.TRIANGLE_DOWN, SeriesMarkers.CROSS, SeriesMarkers.PLUS, SeriesMarkers.RECTANGLE,
      SeriesMarkers.TRAPEZOID, SeriesMarkers.OVAL};

  private RecallQpsPlot() {}

  public static void main(String[] argv) {
    System.exit(run(argv, System.out, System.err));
  }

  /** Runs the tool; returns the exit status (0 success, 1 failure, 2 command-line mistake). */
  static int run(String[] argv, PrintStream out, PrintStream err) {
    Path csv = null;
    Path outDir = null;
    String suffix = null;
    for (int i = 0; i < argv.length; i++) {
      String a = argv[i];
      if (a.equals("--help") || a.equals("-h")) {
        out.println(USAGE);
        return 0;
      }
      if (!a.equals("--csv") && !a.equals("--out-dir") && !a.equals("--title-suffix")) {
        err.println("RecallQpsPlot: unknown option '" + a + "'\n\n" + USAGE);
        return 2;
      }
      if (i + 1 >= argv.length) {
        err.println("RecallQpsPlot: " + a + " needs a value\n\n" + USAGE);
        return 2;
      }
      String v = argv[++i];
      switch (a) {
        case "--csv":
          csv = Paths.get(v);
          break;
        case "--out-dir":
          outDir = Paths.get(v);
          break;
        default:
          suffix = v;
      }
    }
    if (csv == null || outDir == null) {
      err.println("RecallQpsPlot: --csv and --out-dir are required\n\n" + USAGE);
      return 2;
    }
    try {
      Map<String, List<Point>> byDataset = read(csv, err);
      if (byDataset.isEmpty()) {
        throw new BadInputException(csv + ": no plottable points");
      }
      Files.createDirectories(outDir);
      Map<String, String> fileToDataset = new HashMap<>();
      for (Map.Entry<String, List<Point>> e : byDataset.entrySet()) {
        String fileName = SAFE_NAME.matcher(e.getKey()).replaceAll("_") + "-recall-qps.png";
        String other = fileToDataset.putIfAbsent(fileName, e.getKey());
        if (other != null) {
          throw new BadInputException("datasets '" + other + "' and '" + e.getKey() + "' would both be written to " + fileName);
        }
        Path file = outDir.resolve(fileName);
        XYChart chart = chart(e.getKey(), suffix, e.getValue());
        try (OutputStream os = Files.newOutputStream(file)) {
          BitmapEncoder.saveBitmap(chart, os, BitmapFormat.PNG);
        }
        out.println(file);
      }
      return 0;
    } catch (BadInputException e) {
      err.println("RecallQpsPlot: " + e.getMessage());
      return 1;
    } catch (IOException | RuntimeException e) {
      err.println("RecallQpsPlot: " + e);
      if (Boolean.getBoolean("quiver.debug")) {
        e.printStackTrace(err);
      }
      return 1;
    }
  }

  /** One plottable row. */
  record Point(String system, String family, double recall, double qps) {}

  /** A malformed input file or an impossible request; the message names the place. */
  static final class BadInputException extends Exception {
    private static final long serialVersionUID = 1L;

    BadInputException(String message) {
      super(message);
    }
  }

  /** The plottable points of each dataset, datasets in order of first appearance. */
  static Map<String, List<Point>> read(Path csv, PrintStream err) throws IOException, BadInputException {
    Map<String, List<Point>> byDataset = new LinkedHashMap<>();
    try (BufferedReader r = Files.newBufferedReader(csv, StandardCharsets.UTF_8)) {
      String header = r.readLine();
      if (header == null) {
        throw new BadInputException(csv + ": empty file, expected a header line: " + String.join(",", COLUMNS));
      }
      if (header.startsWith("\uFEFF")) {
        header = header.substring(1);
      }
      String[] names = header.split(",", -1);
      Map<String, Integer> index = new HashMap<>();
      for (int c = 0; c < names.length; c++) {
        String name = names[c].trim();
        if (index.putIfAbsent(name, c) != null) {
          throw new BadInputException(csv + ":1: column '" + name + "' appears twice in the header");
        }
      }
      for (String name : REQUIRED) {
        if (!index.containsKey(name)) {
          throw new BadInputException(csv + ":1: missing column '" + name + "' in the header (expected "
              + String.join(",", COLUMNS) + ")");
        }
      }
      int lineNo = 1;
      String line;
      while ((line = r.readLine()) != null) {
        lineNo++;
        if (line.isBlank()) {
          continue;
        }
        String[] f = line.split(",", -1);
        if (f.length != names.length) {
          String where = f.length < names.length
              ? "missing column '" + names[f.length].trim() + "' (" + f.length + " fields, the header has " + names.length + ")"
              : f.length + " fields, the header has " + names.length + " (a ',' in a value? write factory strings with ';')";
          throw new BadInputException(csv + ":" + lineNo + ": " + where);
        }
        for (int c = 0; c < f.length; c++) {
          f[c] = f[c].trim();
        }
        // every documented number is checked, so a broken file fails here rather than in a later report
        for (String name : INT_COLUMNS) {
          Integer c = index.get(name);
          if (c != null && !f[c].isEmpty() && !INTEGER.matcher(f[c]).matches()) {
            throw new BadInputException(csv + ":" + lineNo + ": column '" + name + "': not an integer: '" + f[c] + "'");
          }
        }
        Map<String, Double> num = new HashMap<>();
        for (String name : NUMBER_COLUMNS) {
          Integer c = index.get(name);
          if (c != null && !f[c].isEmpty()) {
            num.put(name, parseNumber(csv, lineNo, name, f[c]));
          }
        }
        for (String name : List.of("recall_at_1", "recall_at_k")) {
          Double v = num.get(name);
          if (v != null && !v.isNaN() && !(v >= 0 && v <= 1)) {
            throw new BadInputException(csv + ":" + lineNo + ": column '" + name + "': recall " + f[index.get(name)]
                + " is outside [0, 1]");
          }
        }
        for (String name : List.of("dataset", "system", "family")) {
          if (f[index.get(name)].isEmpty()) {
            throw new BadInputException(csv + ":" + lineNo + ": column '" + name + "' is empty");
          }
        }
        String dataset = f[index.get("dataset")];
        String system = f[index.get("system")];
        String family = f[index.get("family")];
        Double recall = num.get("recall_at_k");
        Double qps = num.get("qps");
        if (recall == null || !Double.isFinite(recall)) {
          err.println("RecallQpsPlot: warning: " + csv + ":" + lineNo + ": no recall_at_k, point skipped: " + line);
          continue;
        }
        if (qps == null || !Double.isFinite(qps) || qps <= 0) {
          err.println("RecallQpsPlot: warning: " + csv + ":" + lineNo + ": qps "
              + (qps == null ? "missing" : f[index.get("qps")]) + " cannot go on a log axis, point skipped: " + line);
          continue;
        }
        byDataset.computeIfAbsent(dataset, k -> new ArrayList<>()).add(new Point(system, family, recall, qps));
      }
    }
    return byDataset;
  }

  private static double parseNumber(Path csv, int lineNo, String column, String s) throws BadInputException {
    if (!NUMBER.matcher(s).matches()) {
      throw new BadInputException(csv + ":" + lineNo + ": column '" + column + "': not a number: '" + s + "'");
    }
    String t = s.toLowerCase(Locale.ROOT).replace("+", "");
    if (t.endsWith("nan")) {
      return Double.NaN;
    }
    if (t.endsWith("inf") || t.endsWith("infinity")) {
      return t.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
    }
    return Double.parseDouble(s);
  }

  /** The chart of one dataset. */
  static XYChart chart(String dataset, String suffix, List<Point> points) {
    String title = dataset + ": recall@10 vs QPS" + (suffix == null || suffix.isBlank() ? "" : " (" + suffix + ")");
    XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title)
        .xAxisTitle("recall@10").yAxisTitle("queries per second (log scale)").build();
    var st = chart.getStyler();
    st.setDefaultSeriesRenderStyle(XYSeriesRenderStyle.Line);
    st.setYAxisLogarithmic(true);
    st.setLegendPosition(LegendPosition.OutsideE);
    st.setChartBackgroundColor(Color.WHITE);
    st.setPlotBackgroundColor(Color.WHITE);
    st.setLegendBorderColor(Color.LIGHT_GRAY);
    st.setPlotGridLinesColor(new Color(0xdd, 0xdd, 0xdd));
    st.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 18));
    st.setAxisTitleFont(new Font(Font.SANS_SERIF, Font.PLAIN, 14));
    st.setAxisTickLabelsFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    st.setLegendFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
    st.setMarkerSize(9);
    st.setXAxisDecimalPattern("0.00");
    st.setYAxisDecimalPattern("#,##0.#");

    // x: the data's recall range, padded, within [0, 1]; y: padded by a factor so no marker sits on the frame
    double rMin = points.stream().mapToDouble(Point::recall).min().orElse(0);
    double rMax = points.stream().mapToDouble(Point::recall).max().orElse(1);
    double pad = Math.max(0.02, 0.05 * (rMax - rMin));
    st.setXAxisMin(Math.max(0, rMin - pad));
    st.setXAxisMax(Math.min(1, rMax + pad));
    double qMin = points.stream().mapToDouble(Point::qps).min().orElse(1);
    double qMax = points.stream().mapToDouble(Point::qps).max().orElse(10);
    st.setYAxisMin(qMin / 1.5);
    st.setYAxisMax(qMax * 1.5);

    // series grouped by family (one colour each), then by system, so the legend reads family by family
    Map<String, Map<String, List<Point>>> groups = new TreeMap<>(RecallQpsPlot::compareFamilies);
    for (Point p : points) {
      groups.computeIfAbsent(p.family(), k -> new TreeMap<>(RecallQpsPlot::compareSystems))
          .computeIfAbsent(p.system(), k -> new ArrayList<>()).add(p);
    }
    List<String> spareFamilies = groups.keySet().stream().filter(f -> !FAMILY_COLORS.containsKey(f)).toList();
    List<String> spareSystems = points.stream().map(Point::system).distinct()
        .filter(s -> systemRank(s) == 4).sorted().toList();
    for (Map.Entry<String, Map<String, List<Point>>> g : groups.entrySet()) {
      String family = g.getKey();
      Color color = FAMILY_COLORS.containsKey(family) ? FAMILY_COLORS.get(family)
          : SPARE_COLORS[spareFamilies.indexOf(family) % SPARE_COLORS.length];
      for (Map.Entry<String, List<Point>> s : g.getValue().entrySet()) {
        List<Point> ps = pareto(s.getValue());
        double[] x = ps.stream().mapToDouble(Point::recall).toArray();
        double[] y = ps.stream().mapToDouble(Point::qps).toArray();
        XYSeries series = chart.addSeries(family + " (" + s.getKey() + ")", x, y);
        series.setLineColor(color);
        series.setMarkerColor(color);
        series.setFillColor(color);
        style(series, s.getKey(), spareSystems);
      }
    }
    return chart;
  }

  /**
   * The points no other point of the series beats on both recall and QPS, in order of recall: a
   * sweep of two parameters (nprobe and kFactor) leaves dominated points that would make the line
   * zig-zag. They stay in the CSV.
   */
  static List<Point> pareto(List<Point> points) {
    List<Point> byRecall = new ArrayList<>(points);
    byRecall.sort(Comparator.comparingDouble(Point::recall).thenComparingDouble(Point::qps).reversed());
    List<Point> out = new ArrayList<>();
    double best = Double.NEGATIVE_INFINITY;
    for (Point p : byRecall) {
      if (p.qps() > best) {
        out.add(p);
        best = p.qps();
      }
    }
    java.util.Collections.reverse(out);
    return out;
  }

  /** Line strokes by system; XChart's own dashes are too fine to tell apart at 2 px. */
  private static final BasicStroke SOLID = stroke(null);
  private static final BasicStroke DASHED = stroke(new float[] {9f, 5f});
  private static final BasicStroke DOTTED = stroke(new float[] {2f, 4f});
  private static final BasicStroke DASH_DOT = stroke(new float[] {9f, 4f, 2f, 4f});
  private static final BasicStroke LONG_DASH = stroke(new float[] {16f, 6f});

  private static BasicStroke stroke(float[] dash) {
    return dash == null
        ? new BasicStroke(2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND)
        : new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, dash, 0f);
  }

  /** The marker and line of a system. */
  private static void style(XYSeries series, String system, List<String> spareSystems) {
    switch (systemRank(system)) {
      case 0:
        series.setMarker(SeriesMarkers.CIRCLE);
        series.setLineStyle(SOLID);
        break;
      case 1:
        series.setMarker(SeriesMarkers.SQUARE);
        series.setLineStyle(DASHED);
        break;
      case 2:
        series.setMarker(SeriesMarkers.DIAMOND);
        series.setLineStyle(DOTTED);
        break;
      case 3:
        series.setMarker(SeriesMarkers.TRIANGLE_UP);
        series.setLineStyle(DASH_DOT);
        break;
      default:
        series.setMarker(SPARE_MARKERS[spareSystems.indexOf(system) % SPARE_MARKERS.length]);
        series.setLineStyle(LONG_DASH);
    }
  }

  /** quiver first, then faiss, quiver-spark, MLlib, then the rest by name. */
  private static int systemRank(String system) {
    String s = system.toLowerCase(Locale.ROOT);
    if (s.equals("quiver")) {
      return 0;
    }
    if (s.equals("faiss")) {
      return 1;
    }
    if (s.equals("quiver-spark")) {
      return 2;
    }
    return s.startsWith("mllib") ? 3 : 4;
  }

  private static int compareSystems(String a, String b) {
    int c = Integer.compare(systemRank(a), systemRank(b));
    return c != 0 ? c : a.compareTo(b);
  }

  /** The known families in the order of {@link #FAMILY_ORDER}, then the rest by name. */
  private static int compareFamilies(String a, String b) {
    int ia = FAMILY_ORDER.indexOf(a);
    int ib = FAMILY_ORDER.indexOf(b);
    ia = ia < 0 ? Integer.MAX_VALUE : ia;
    ib = ib < 0 ? Integer.MAX_VALUE : ib;
    int c = Integer.compare(ia, ib);
    return c != 0 ? c : a.compareTo(b);
  }

}
