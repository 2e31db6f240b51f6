package io.quiver.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The PTX the jar ships (src/main/resources/io/quiver/gpu, used where nvcc is missing) was built
 * from the current CUDA sources, and declares every kernel the backend launches. Runs without a
 * GPU or nvcc; the Maven build additionally recompiles and compares when nvcc is on the PATH.
 */
class PtxSourcesTest {
  private static final Path CUDA = Path.of("src/main/cuda");
  private static final Path SHIPPED = Path.of("src/main/resources/io/quiver/gpu");

  @Test
  void everySourceHasAShippedPtxMadeFromIt() throws IOException, NoSuchAlgorithmException {
    List<Path> sources;
    try (Stream<Path> s = Files.list(CUDA)) {
      sources = s.filter(p -> p.toString().endsWith(".cu")).sorted().collect(Collectors.toList());
    }
    assertFalse(sources.isEmpty(), "no .cu sources under " + CUDA.toAbsolutePath());
    for (Path cu : sources) {
      String name = cu.getFileName().toString().replace(".cu", ".ptx");
      Path ptx = SHIPPED.resolve(name);
      assertTrue(Files.isRegularFile(ptx), ptx + " is missing: run src/main/cuda/build-ptx.sh --update");
      String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(cu)));
      String first = Files.readAllLines(ptx, StandardCharsets.UTF_8).get(0);
      assertEquals("// quiver-source-sha256: " + sha, first,
          ptx + " was not built from the current " + cu + ": run src/main/cuda/build-ptx.sh --update");
    }
  }

  @Test
  void thePtxDeclaresEveryKernelTheBackendLaunches() throws IOException {
    String ptx = Files.readString(SHIPPED.resolve("quiver_kernels.ptx"), StandardCharsets.UTF_8);
    TreeSet<String> entries = new TreeSet<>();
    Matcher m = Pattern.compile("\\.visible \\.entry (\\w+)\\(").matcher(ptx);
    while (m.find()) {
      entries.add(m.group(1));
    }
    assertEquals(new TreeSet<>(Device.KERNELS), entries);
    assertTrue(ptx.contains(".target sm_75"), "the PTX must target sm_75 (Turing) and newer");
  }

  @Test
  void theJarCarriesThePtx() {
    assertNotNull(JCudaBackend.class.getResource(JCudaBackend.PTX_RESOURCE), JCudaBackend.PTX_RESOURCE);
    byte[] ptx = JCudaBackend.ptx();
    assertEquals(0, ptx[ptx.length - 1], "cuModuleLoadData needs a NUL-terminated image");
  }
}
