package io.quiver.index.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * docs/format.md's table of file types says what the registry ({@link IndexFormat#TYPES})
 * declares: the same types, in the same order, each with the same sections.
 */
class FormatDocTest {

  private static final Path DOC = Path.of("..", "docs", "format.md");

  @Test
  void theFileTypeTableOfTheDocsIsTheRegistry() throws IOException {
    assertTrue(Files.isRegularFile(DOC), DOC.toAbsolutePath() + " is missing");
    List<String> rows = new ArrayList<>();
    boolean inTable = false;
    for (String line : Files.readAllLines(DOC)) {
      if (line.startsWith("| fileType |")) {
        inTable = true;
      } else if (inTable && line.startsWith("| `")) {
        rows.add(line);
      } else if (inTable && !line.startsWith("|")) {
        break;
      }
    }
    assertEquals(IndexFormat.TYPES.size(), rows.size(), "rows of the file-type table in " + DOC + ": " + rows);
    for (int i = 0; i < rows.size(); i++) {
      IndexFormat.FileType t = IndexFormat.TYPES.get(i);
      String[] cells = rows.get(i).split("\\|");
      String fourcc = IndexFormat.fourccToString(t.fourcc()).replace("'", "");
      assertEquals("`" + fourcc + "`", cells[1].trim(), DOC + " row " + (i + 1) + ": file type");
      assertEquals("`" + t.compact() + "`", cells[cells.length - 1].trim(), DOC + " row " + (i + 1) + " (" + fourcc
          + "): sections");
    }
  }
}
