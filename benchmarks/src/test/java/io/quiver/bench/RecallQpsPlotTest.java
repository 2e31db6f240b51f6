package io.quiver.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link RecallQpsPlot} end to end through {@code run}: PNGs written, bad files rejected with their line. */
class RecallQpsPlotTest {

  static final String HEADER = String.join(",", RecallQpsPlot.COLUMNS);

  @TempDir
  Path dir;

  /** Captured stdout, stderr and exit status of one run. */
  record Result(int status, String out, String err) {}

  static Result run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      status = RecallQpsPlot.run(args, o, e);
    }
    return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /** Two datasets, four systems, several families, a single-point series and two unplottable points. */
  static List<String> points(long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    List<String> lines = new ArrayList<>();
    lines.add(HEADER);
    for (String dataset : List.of("sift1m", "gen-100k")) {
      lines.add(String.format(Locale.ROOT, "%s,quiver,Flat,Flat,L2,,,1.0,1.0,%.1f,0,0.5,512,1", dataset, 50 + 10 * rng.nextDouble()));
      lines.add(String.format(Locale.ROOT, "%s,faiss,Flat,Flat,L2,,,1.0,1.0,%.1f,0,0.4,512,1", dataset, 60 + 10 * rng.nextDouble()));
      for (String system : List.of("quiver", "faiss", "quiver-spark")) {
        for (int nprobe : new int[] {1, 4, 16, 64}) {
          double recall = Math.min(1, 0.3 + 0.17 * Math.log(nprobe) / Math.log(2) + 0.02 * rng.nextDouble());
          double qps = 20_000.0 / nprobe * (0.8 + 0.4 * rng.nextDouble());
          lines.add(String.format(Locale.ROOT, "%s,%s,IVF-PQ,IVF1024;PQ16,L2,%d,,%.3f,%.4f,%.1f,1.5,2.5,16,1",
              dataset, system, nprobe, recall * 0.8, recall * 0.9, qps));
          lines.add(String.format(Locale.ROOT, "%s,%s,IVF-Flat,IVF1024;Flat,L2,%d,,%.3f,%.4f,%.1f,1.0,2.0,512,1",
              dataset, system, nprobe, recall, recall, qps / 4));
        }
      }
      lines.add(dataset + ",mllib-brp,LSH,BRP,L2,,,0.2,0.35,120.5,3.0,0,0,2");
      lines.add(dataset + ",quiver,IVF-PQ-RFlat,IVF1024;PQ16;RFlat,L2,16,4,0.9,0.93,900,2,3,528,1");
      lines.add(dataset + ",quiver,IVF-SQ8,IVF1024;SQ8,L2,16,,,,0,1,1,128,1"); // no recall: skipped
      lines.add(dataset + ",faiss,IVF-SQ8,IVF1024;SQ8,L2,16,,0.9,0.95,0,1,1,128,1"); // qps 0: skipped
    }
    return lines;
  }

  @Test
  void writesOnePngPerDataset() throws IOException {
    long seed = 20_260_1L;
    Path csv = dir.resolve("points.csv");
    Files.write(csv, points(seed), StandardCharsets.UTF_8);
    Path outDir = dir.resolve("out");
    Result r = run("--csv", csv.toString(), "--out-dir", outDir.toString(), "--title-suffix", "2 cores, 1 thread");
    String why = "seed " + seed + "; stderr: " + r.err();
    assertEquals(0, r.status(), why);
    for (String dataset : List.of("sift1m", "gen-100k")) {
      Path png = outDir.resolve(dataset + "-recall-qps.png");
      assertTrue(Files.isRegularFile(png), png + " missing; " + why);
      assertTrue(r.out().contains(png.toString()), "stdout names " + png + ": " + r.out());
      BufferedImage img = ImageIO.read(png.toFile());
      assertNotNull(img, png + " is not a readable image");
      assertEquals(RecallQpsPlot.WIDTH, img.getWidth());
      assertEquals(RecallQpsPlot.HEIGHT, img.getHeight());
      assertEquals(1000, img.getWidth());
      assertEquals(700, img.getHeight());
    }
    assertEquals(2, r.out().lines().count(), "one line per written file: " + r.out());
    // the unplottable rows are named on stderr: line 1 is the header, then 2 Flat, 24 IVF, LSH, RFlat, the two SQ8
    assertTrue(r.err().contains(csv + ":30: no recall_at_k"), r.err());
    assertTrue(r.err().contains(csv + ":31: qps 0"), r.err());
    assertEquals(4, r.err().lines().filter(l -> l.contains("warning")).count(), r.err());
  }

  @Test
  void seriesAreDrawnThroughTheirParetoPoints() {
    List<RecallQpsPlot.Point> pts = List.of(new RecallQpsPlot.Point("quiver", "IVF-PQ-RFlat", 0.90, 1000),
        new RecallQpsPlot.Point("quiver", "IVF-PQ-RFlat", 0.95, 800), new RecallQpsPlot.Point("quiver", "IVF-PQ-RFlat", 0.93, 500),
        new RecallQpsPlot.Point("quiver", "IVF-PQ-RFlat", 0.99, 300), new RecallQpsPlot.Point("quiver", "IVF-PQ-RFlat", 0.89, 900));
    List<RecallQpsPlot.Point> front = RecallQpsPlot.pareto(pts);
    assertEquals(List.of(0.90, 0.95, 0.99), front.stream().map(RecallQpsPlot.Point::recall).toList(),
        "0.93 at 500 q/s and 0.89 at 900 q/s are beaten by 0.95 at 800 and 0.90 at 1000");
  }

  @Test
  void malformedNumberNamesLineAndColumn() throws IOException {
    List<String> lines = points(7L);
    lines.set(5, "sift1m,quiver,IVF-PQ,IVF1024;PQ16,L2,4,,0.5x,0.6,1000,1,1,16,1");
    Path csv = dir.resolve("bad.csv");
    Files.write(csv, lines, StandardCharsets.UTF_8);
    Result r = run("--csv", csv.toString(), "--out-dir", dir.resolve("out").toString());
    assertEquals(1, r.status(), r.err());
    assertTrue(r.err().contains(csv + ":6:"), r.err());
    assertTrue(r.err().contains("recall_at_1") && r.err().contains("not a number"), r.err());
    assertFalse(Files.exists(dir.resolve("out")), "nothing is written for a bad file");
  }

  @Test
  void missingColumnNamesLine() throws IOException {
    List<String> lines = points(7L);
    lines.set(3, "sift1m,quiver,IVF-PQ,IVF1024,PQ16,L2,1,,0.2,0.3,1000,1,1,16,1"); // ',' in a factory string
    lines.add(4, "sift1m,quiver,Flat"); // too few fields; reported once line 4 is gone
    Path csv = dir.resolve("short.csv");
    Files.write(csv, lines, StandardCharsets.UTF_8);
    Result r = run("--csv", csv.toString(), "--out-dir", dir.resolve("out").toString());
    assertEquals(1, r.status(), r.err());
    assertTrue(r.err().contains(csv + ":4:") && r.err().contains("15 fields, the header has 14"), r.err());

    lines.remove(3);
    Files.write(csv, lines, StandardCharsets.UTF_8);
    r = run("--csv", csv.toString(), "--out-dir", dir.resolve("out").toString());
    assertEquals(1, r.status(), r.err());
    assertTrue(r.err().contains(csv + ":4: missing column 'factory'"), r.err());
  }

  @Test
  void missingHeaderColumnIsNamed() throws IOException {
    Path csv = dir.resolve("noqps.csv");
    Files.write(csv, List.of("dataset,system,family,recall_at_k", "sift1m,quiver,Flat,1.0"), StandardCharsets.UTF_8);
    Result r = run("--csv", csv.toString(), "--out-dir", dir.toString());
    assertEquals(1, r.status());
    assertTrue(r.err().contains(csv + ":1: missing column 'qps'"), r.err());
  }

  @Test
  void recallOutsideUnitIntervalIsAnError() throws IOException {
    Path csv = dir.resolve("percent.csv");
    Files.write(csv, List.of(HEADER, "sift1m,quiver,Flat,Flat,L2,,,100,100,50,0,1,512,1"), StandardCharsets.UTF_8);
    Result r = run("--csv", csv.toString(), "--out-dir", dir.toString());
    assertEquals(1, r.status());
    assertTrue(r.err().contains(csv + ":2: column 'recall_at_1'") && r.err().contains("outside [0, 1]"), r.err());
  }

  @Test
  void commandLineMistakesExitTwo() {
    assertEquals(2, run("--csv", "x.csv").status());
    assertEquals(2, run("--bogus").status());
    assertEquals(2, run("--csv").status());
    assertEquals(0, run("--help").status());
  }
}
