package io.quiver.index.io;

import static io.quiver.index.io.IndexFiles.assertStreamFails;
import static io.quiver.index.io.IndexFiles.bytesOf;
import static io.quiver.index.io.IndexFiles.getInt;
import static io.quiver.index.io.IndexFiles.readBytes;
import static io.quiver.index.io.IndexFiles.section;
import static io.quiver.index.io.IndexFiles.withInt;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quiver.index.IndexFactory;
import io.quiver.index.InvertedFileIndex;
import io.quiver.index.Metric;
import io.quiver.index.SearchParams;
import io.quiver.index.SearchResult;
import io.quiver.index.VectorIndex;
import io.quiver.index.hnsw.HnswCoarseQuantizer;
import io.quiver.index.hnsw.HnswIndex;
import java.io.IOException;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Index files of the HNSW types ('HNSF', 'HNPQ', 'HNSQ') and of IVF indexes with an HNSW coarse
 * quantizer ('IHFF', 'IHPQ', 'IHSQ'): the graph comes back as written (same answers, same bytes),
 * untrained indexes too, and damaged graph sections are refused with the node or field named.
 */
class HnswFilesTest {

  private static final long SEED = 20261205L;
  private static final int D = 8;

  private static float[] data(long seed, int n) {
    SplittableRandom rng = new SplittableRandom(seed);
    float[] x = new float[n * D];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) rng.nextGaussian();
    }
    return x;
  }

  private static VectorIndex filled(String factory, Metric metric) {
    VectorIndex index = IndexFactory.create(D, factory, metric);
    float[] x = data(SEED, 600);
    index.train(x);
    index.add(x);
    return index;
  }

  @Test
  void everyTypeReadsBackWithTheSameGraph() throws IOException {
    String[][] cases = {{"HNSW8", "HNSF"}, {"HNSW8,PQ4", "HNPQ"}, {"HNSW8,SQ8", "HNSQ"}, {"IVF16_HNSW4,Flat", "IHFF"},
        {"IVF16_HNSW4,PQ4", "IHPQ"}, {"IVF16_HNSW4,SQ4", "IHSQ"}};
    float[] q = data(SEED + 1, 20);
    for (String[] c : cases) {
      for (Metric metric : Metric.values()) {
        String ctx = c[0] + " " + metric;
        VectorIndex index = filled(c[0], metric);
        byte[] file = bytesOf(index);
        assertEquals(IndexFormat.fourcc(c[1]), getInt(file, IndexFormat.OFFSET_FILE_TYPE), ctx + ": file type");
        assertEquals(file.length, IndexIO.fileBytes(index), ctx + ": fileBytes");
        VectorIndex back = readBytes(file, ctx);
        assertEquals(c[0], back.factoryString(), ctx);
        SearchParams p = SearchParams.defaults().withNprobe(3).withEfSearch(5);
        SearchResult a = index.search(q, 7, p);
        SearchResult b = back.search(q, 7, p);
        assertArrayEquals(a.ids(), b.ids(), ctx + ": ids after reading");
        assertArrayEquals(a.distances(), b.distances(), ctx + ": distances after reading");
        assertArrayEquals(file, bytesOf(back), ctx + ": rewritten bytes");

        VectorIndex empty = IndexFactory.create(D, c[0], metric); // untrained (or, for HNSW8, trained and empty)
        VectorIndex emptyBack = readBytes(bytesOf(empty), ctx + " empty");
        assertEquals(c[0], emptyBack.factoryString(), ctx);
        assertEquals(empty.isTrained(), emptyBack.isTrained(), ctx + ": trained state");
        assertEquals(0, emptyBack.ntotal());
      }
    }
  }

  @Test
  void efSearchAndEfConstructionAreStored() throws IOException {
    HnswIndex<?> h = (HnswIndex<?>) IndexFactory.create(D, "HNSW6", Metric.L2);
    h.setEfConstruction(77);
    h.setEfSearch(33);
    h.add(data(SEED, 100));
    HnswIndex<?> back = (HnswIndex<?>) readBytes(bytesOf(h), "ef");
    assertEquals(77, back.efConstruction());
    assertEquals(33, back.efSearch());
    InvertedFileIndex ivf = (InvertedFileIndex) IndexFactory.create(D, "IVF8_HNSW4,Flat", Metric.L2);
    ((HnswCoarseQuantizer) ivf.coarseQuantizer()).setEfSearch(5);
    ivf.train(data(SEED, 400));
    InvertedFileIndex ivfBack = (InvertedFileIndex) readBytes(bytesOf(ivf), "ivf ef");
    assertInstanceOf(HnswCoarseQuantizer.class, ivfBack.coarseQuantizer());
    assertEquals(5, ((HnswCoarseQuantizer) ivfBack.coarseQuantizer()).efSearch());
  }

  @Test
  void damagedGraphsAreRefused() {
    byte[] file = bytesOf(filled("HNSW4", Metric.L2));
    int params = section(file, "HNPR").payloadStart();
    int levels = section(file, "HLVL").payloadStart();
    int links = section(file, "HNBR").payloadStart();

    InvalidLengthException m = assertStreamFails(InvalidLengthException.class, withInt(file, params, 1), "m1");
    assertTrue(m.getMessage().contains("M = 1 in section 'HNPR'") && m.getMessage().contains("2..4096"), m.getMessage());
    CorruptIndexException ef = assertStreamFails(CorruptIndexException.class, withInt(file, params + 8, 0), "ef0");
    assertTrue(ef.getMessage().contains("efSearch = 0"), ef.getMessage());
    CorruptIndexException entry = assertStreamFails(CorruptIndexException.class, withInt(file, params + 12, 600), "ep");
    assertTrue(entry.getMessage().contains("entryPoint = 600") && entry.getMessage().contains("0..599"), entry.getMessage());
    CorruptIndexException flags = assertStreamFails(CorruptIndexException.class, withInt(file, params + 16, 2), "fl");
    assertTrue(flags.getMessage().contains("flags 0x2 in section 'HNPR'"), flags.getMessage());

    // a hostile level count is refused before any link slot is read or allocated
    InvalidLengthException lv = assertStreamFails(InvalidLengthException.class, withInt(file, levels + 4 * 5,
        1_000_000), "levels");
    assertTrue(lv.getMessage().contains("node 5 has 1000000 levels") && lv.getMessage().contains("1..15"),
        lv.getMessage());
    assertStreamFails(InvalidLengthException.class, withInt(file, levels + 4 * 5, 0), "levels0");
    // one more level: the 'HNBR' length no longer matches the levels
    int l5 = getInt(file, levels + 4 * 5);
    assertStreamFails(InvalidLengthException.class, withInt(file, levels + 4 * 5, l5 + 1), "levels+1");

    CorruptIndexException link = assertStreamFails(CorruptIndexException.class, withInt(file, links + 4 * 3, 600),
        "link");
    assertTrue(link.getMessage().contains("node 0 links to 600") && link.getMessage().contains("-1 (empty) or 0..599"),
        link.getMessage());
    assertStreamFails(CorruptIndexException.class, withInt(file, links, -7), "link-7");

    // the coarse graph of an 'IH..' file is checked the same way
    byte[] ivf = bytesOf(filled("IVF16_HNSW4,Flat", Metric.L2));
    int ivfLinks = section(ivf, "HNBR").payloadStart();
    CorruptIndexException coarse = assertStreamFails(CorruptIndexException.class, withInt(ivf, ivfLinks, 16), "coarse");
    assertTrue(coarse.getMessage().contains("graph over the centroids") && coarse.getMessage().contains("links to 16"),
        coarse.getMessage());
    assertFalse(coarse.getMessage().isEmpty());
  }
}
