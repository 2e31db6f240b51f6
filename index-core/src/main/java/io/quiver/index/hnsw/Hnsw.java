package io.quiver.index.hnsw;

import io.quiver.index.util.Checks;
import io.quiver.index.util.Mt19937;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * The hierarchical navigable small-world graph, FAISS's {@code HNSW} ({@code faiss/impl/HNSW.cpp}):
 * nodes {@code 0 .. ntotal-1} (rows of a storage the graph does not own), each on levels
 * {@code 0 .. level(i)}, with up to {@code 2M} neighbours on level 0 ({@code M0}) and {@code M} on
 * every level above. Distances come from a {@link Distances} over the storage, always as keys
 * "smaller is better" (squared L2, or the negated inner product), which is how FAISS runs inner
 * product through HNSW.
 *
 * <p>Levels are drawn as FAISS draws them: level {@code l} with probability
 * {@code exp(-l / levelMult) * (1 - exp(-1 / levelMult))}, {@code levelMult = 1 / ln(M)}, levels
 * whose probability is below 1e-9 left out, from one {@link Mt19937} seeded 12345 for the life of
 * the graph. Adding follows {@code hnsw_add_vertices}: the new nodes are bucketed by level, each
 * bucket shuffled ({@link Mt19937} seeded 789 per add) and inserted from the top level down; a
 * bucket of more than 100 nodes is split into contiguous parts inserted in parallel, each node
 * under the lock of its own neighbour list, then of each neighbour's in turn (never two at once),
 * as {@code add_with_locks}. Neighbour lists are chosen by the heuristic of
 * {@code shrink_neighbor_list} (keep a candidate only if no kept neighbour is closer to it than
 * the new node is). Searching descends greedily through the upper levels and then explores level
 * 0 with a bounded candidate queue of {@code max(efSearch, k)} entries, stopping when
 * {@code efSearch} processed or queued candidates are closer than the next one
 * ({@code search_from_candidates} with {@code check_relative_distance}).
 *
 * <p>Threading: {@link #add} must not run concurrently with itself or with searches (owners call
 * it under their write lock; it parallelizes internally); {@link #search} and
 * {@link #rangeSearch} may run on any number of threads at once, each with its own
 * {@link Distances} and {@link Visited}.
 */
public final class Hnsw {

  /** Default {@code efConstruction} (FAISS's). */
  public static final int DEFAULT_EF_CONSTRUCTION = 40;
  /** Default {@code efSearch} (FAISS's). */
  public static final int DEFAULT_EF_SEARCH = 16;
  /** Seed of the level draws (FAISS's {@code HNSW::rng}). */
  public static final long LEVEL_SEED = 12345;
  /** Seed of the per-add shuffle of each level's bucket (FAISS's {@code rng2} in {@code hnsw_add_vertices}). */
  public static final long ORDER_SEED = 789;
  /** Largest M accepted. */
  public static final int MAX_M = 1 << 12;
  /** Buckets of at most this many nodes are inserted on one thread (FAISS's {@code omp parallel if (i1 > i0 + 100)}). */
  private static final int PARALLEL_MIN = 100;

  /**
   * Distances between the current query and stored nodes, and between two stored nodes: FAISS's
   * {@code DistanceComputer}. Keys are "smaller is better". One per thread.
   */
  public interface Distances {
    /** Sets the query to {@code q[qOff .. qOff + d)}. */
    void setQuery(float[] q, int qOff);

    /** The key of node {@code node} for the current query. */
    float toQuery(int node);

    /** The key between nodes {@code a} and {@code b} (FAISS's {@code symmetric_dis}). */
    float between(int a, int b);
  }

  /** Receives (key, node) pairs a search finds. */
  public interface Sink {
    void accept(float key, int node);
  }

  /** FAISS's {@code VisitedTable}: marks per node with a generation counter. One per thread. */
  public static final class Visited {
    private byte[] marks = new byte[0];
    private byte generation = 1;

    /** Makes room for {@code n} nodes. */
    void ensure(int n) {
      if (marks.length < n) {
        marks = Arrays.copyOf(marks, Math.max(n, marks.length + (marks.length >> 1)));
      }
    }

    /** Marks {@code node}; true when it was not marked before. */
    boolean set(int node) {
      if (marks[node] == generation) {
        return false;
      }
      marks[node] = generation;
      return true;
    }

    /** Forgets every mark. */
    void advance() {
      if (++generation == (byte) 250 || generation == 0) {
        Arrays.fill(marks, (byte) 0);
        generation = 1;
      }
    }
  }

  private final int m;
  private final double[] assignProbas;
  /** cumNeighbors[l]: slots of a node's links before level l (level 0 holds 2M). */
  private final int[] cumNeighbors;
  private final Mt19937 levelRng = new Mt19937(LEVEL_SEED);
  private volatile int efConstruction = DEFAULT_EF_CONSTRUCTION;

  private int ntotal;
  /** levels[i] = the top level of node i plus one (FAISS's {@code levels}). */
  private int[] levels = new int[0];
  /** links[i]: node i's neighbours, level 0 first ({@code 2M} slots), then M per level, -1 for empty slots. */
  private int[][] links = new int[0][];
  private volatile int entryPoint = -1;
  private volatile int maxLevel = -1;

  /** An empty graph with {@code M} neighbours per node on the upper levels and {@code 2M} on level 0. */
  public Hnsw(int m) {
    if (m < 2 || m > MAX_M) {
      throw new IllegalArgumentException("HNSW M must be in [2, " + MAX_M + "], was " + m);
    }
    this.m = m;
    this.assignProbas = assignProbas(m);
    this.cumNeighbors = new int[assignProbas.length + 1];
    for (int l = 0; l < assignProbas.length; l++) {
      cumNeighbors[l + 1] = cumNeighbors[l] + (l == 0 ? 2 * m : m);
    }
  }

  /** FAISS's {@code set_default_probas(M, 1 / ln(M))}: the probability of each level, in float as FAISS computes it. */
  private static double[] assignProbas(int m) {
    float levelMult = (float) (1.0 / Math.log(m));
    double[] p = new double[64];
    int n = 0;
    for (int level = 0; ; level++) {
      float proba = (float) (Math.exp(-level / levelMult) * (1 - Math.exp(-1 / levelMult)));
      if (proba < 1e-9) {
        break;
      }
      p[n++] = proba;
    }
    return Arrays.copyOf(p, n);
  }

  /** The number of levels a node of a graph with this M can have (the length of FAISS's {@code assign_probas}). */
  public static int maxLevels(int m) {
    return assignProbas(m).length;
  }

  /** Link slots of a node with {@code nodeLevels} levels: {@code 2M + (nodeLevels - 1) M}. */
  public static int slots(int m, int nodeLevels) {
    return 2 * m + (nodeLevels - 1) * m;
  }

  public int m() {
    return m;
  }

  public int efConstruction() {
    return efConstruction;
  }

  /** Sets the candidate queue length used while adding (>= 1). */
  public void setEfConstruction(int efConstruction) {
    this.efConstruction = Checks.atLeast("efConstruction", efConstruction, 1);
  }

  public int ntotal() {
    return ntotal;
  }

  public int entryPoint() {
    return entryPoint;
  }

  /** The top level of the entry point, -1 when empty. */
  public int maxLevel() {
    return maxLevel;
  }

  /** The number of levels of node {@code i} (its top level plus one). */
  public int levels(int i) {
    return levels[i];
  }

  /** Node {@code i}'s link slots, level 0 first; callers must not modify it. */
  int[] links(int i) {
    return links[i];
  }

  /**
   * What index files store of a graph: the number of levels of each node, every node's link
   * slots concatenated in node order (level 0 first, -1 for an empty slot), and the entry point.
   */
  public record Stored(int[] levels, int[] links, int entryPoint) {}

  /** A copy of the graph as {@link Stored} (call while no add runs). */
  public Stored stored() {
    int n = ntotal;
    long total = 0;
    for (int i = 0; i < n; i++) {
      total += links[i].length;
    }
    int[] out = new int[Math.toIntExact(total)];
    int at = 0;
    for (int i = 0; i < n; i++) {
      System.arraycopy(links[i], 0, out, at, links[i].length);
      at += links[i].length;
    }
    return new Stored(Arrays.copyOf(levels, n), out, entryPoint);
  }

  /** Bytes of heap the graph holds. */
  public long memoryBytes() {
    long b = 4L * levels.length + 8L * links.length;
    for (int i = 0; i < ntotal; i++) {
      b += 16 + 4L * links[i].length;
    }
    return b;
  }

  /**
   * Restores a stored graph (index files): {@code levels[i]} in {@code 1 .. maxLevels(M)}, the
   * concatenated link slots of every node, and the entry point (-1 exactly when empty), whose
   * level must be the highest. Every link must be -1 or a node number.
   *
   * @throws IllegalArgumentException naming the first value that breaks a rule
   */
  public void restore(int[] nodeLevels, int[] allLinks, int entry) {
    int n = nodeLevels.length;
    int top = maxLevels(m);
    int[][] l = new int[n][];
    int at = 0;
    int highest = -1;
    for (int i = 0; i < n; i++) {
      int lv = nodeLevels[i];
      if (lv < 1 || lv > top) {
        throw new IllegalArgumentException("node " + i + " has " + lv + " levels; with M=" + m + " a node has 1.." + top);
      }
      highest = Math.max(highest, lv - 1);
      int s = slots(m, lv);
      if ((long) at + s > allLinks.length) {
        throw new IllegalArgumentException("the links end inside node " + i + " (" + allLinks.length + " link slots for "
            + n + " nodes)");
      }
      l[i] = Arrays.copyOfRange(allLinks, at, at + s);
      for (int v : l[i]) {
        if (v < -1 || v >= n) {
          throw new IllegalArgumentException("node " + i + " links to " + v + "; links are -1 (empty) or 0.." + (n - 1));
        }
      }
      at += s;
    }
    if (at != allLinks.length) {
      throw new IllegalArgumentException(allLinks.length + " link slots for nodes that have " + at);
    }
    if (n == 0 ? entry != -1 : entry < 0 || entry >= n || nodeLevels[entry] - 1 != highest) {
      throw new IllegalArgumentException("entry point " + entry + " is not " + (n == 0 ? "-1 in an empty graph"
          : "a node on the top level (" + highest + ")"));
    }
    levels = nodeLevels.clone();
    links = l;
    ntotal = n;
    entryPoint = entry;
    maxLevel = highest;
  }

  // ---- adding ------------------------------------------------------------------------------

  /** FAISS's {@code random_level}: the next node's top level. */
  int randomLevel() {
    double f = levelRng.nextFloat();
    for (int level = 0; level < assignProbas.length; level++) {
      if (f < assignProbas[level]) {
        return level;
      }
      f -= assignProbas[level];
    }
    return assignProbas.length - 1;
  }

  /**
   * Inserts nodes {@code ntotal .. ntotal + n - 1}, whose vectors are {@code x[(i - ntotal) * d ..]}
   * (the raw vectors, as FAISS queries with them while linking), on up to {@code threads} threads;
   * {@code distances} makes one {@link Distances} per thread over a storage that already holds the
   * new nodes.
   */
  public void add(int n, float[] x, int d, Supplier<Distances> distances, int threads) {
    if (n == 0) {
      return;
    }
    int n0 = ntotal;
    int total = n0 + n;
    int[] newLevels = Arrays.copyOf(levels, total);
    int[][] newLinks = Arrays.copyOf(links, total);
    for (int i = n0; i < total; i++) {
      newLevels[i] = randomLevel() + 1;
      newLinks[i] = new int[slots(m, newLevels[i])];
      Arrays.fill(newLinks[i], -1);
    }
    levels = newLevels;
    links = newLinks;
    ntotal = total;

    // bucket sort by level
    int levelCount = 0;
    for (int i = n0; i < total; i++) {
      levelCount = Math.max(levelCount, levels[i]);
    }
    int[] hist = new int[levelCount];
    for (int i = n0; i < total; i++) {
      hist[levels[i] - 1]++;
    }
    int[] offsets = new int[levelCount + 1];
    for (int l = 0; l < levelCount; l++) {
      offsets[l + 1] = offsets[l] + hist[l];
    }
    int[] order = new int[n];
    for (int i = n0; i < total; i++) {
      order[offsets[levels[i] - 1]++] = i;
    }

    Mt19937 rng = new Mt19937(ORDER_SEED);
    int i1 = n;
    for (int ptLevel = levelCount - 1; ptLevel >= 0; ptLevel--) {
      int i0 = i1 - hist[ptLevel];
      for (int j = i0; j < i1; j++) { // a random permutation against dataset-order bias
        int s = j + rng.nextInt(i1 - j);
        int t = order[j];
        order[j] = order[s];
        order[s] = t;
      }
      int from = i0;
      int count = i1 - i0;
      int parts = count > PARALLEL_MIN ? Math.min(io.quiver.index.util.Parallel.resolveThreads(threads), count) : 1;
      int level = ptLevel;
      io.quiver.index.util.Parallel.forEach(parts, parts, part -> {
        // contiguous parts, as OpenMP's schedule(static)
        int a = from + (int) ((long) count * part / parts);
        int b = from + (int) ((long) count * (part + 1) / parts);
        Distances dis = distances.get();
        Visited vt = new Visited();
        vt.ensure(total);
        for (int j = a; j < b; j++) {
          int pt = order[j];
          dis.setQuery(x, (pt - n0) * d);
          addWithLocks(dis, level, pt, vt);
        }
      });
      i1 = i0;
    }
  }

  /** FAISS's {@code add_with_locks}: links {@code pt} on levels {@code ptLevel .. 0}. */
  private void addWithLocks(Distances dis, int ptLevel, int pt, Visited vt) {
    int nearest;
    synchronized (this) {
      nearest = entryPoint;
      if (nearest == -1) {
        maxLevel = ptLevel;
        entryPoint = pt;
        return;
      }
    }
    int level = maxLevel;
    float dNearest = dis.toQuery(nearest);
    for (; level > ptLevel; level--) {
      long packed = greedyUpdateNearest(dis, level, nearest, dNearest);
      nearest = (int) (packed >>> 32);
      dNearest = Float.intBitsToFloat((int) packed);
    }
    for (; level >= 0; level--) {
      addLinksStartingFrom(dis, pt, nearest, dNearest, level, vt);
    }
    synchronized (this) {
      if (ptLevel > maxLevel) {
        maxLevel = ptLevel;
        entryPoint = pt;
      }
    }
  }

  /** The nearest node and its key packed in a long (node in the high half), after a greedy walk on one level. */
  private long greedyUpdateNearest(Distances dis, int level, int nearest, float dNearest) {
    while (true) {
      int prev = nearest;
      int[] ln = links[nearest];
      for (int j = cumNeighbors[level], end = cumNeighbors[level + 1]; j < end; j++) {
        int v = ln[j];
        if (v < 0) {
          break;
        }
        float dv = dis.toQuery(v);
        if (dv < dNearest) {
          nearest = v;
          dNearest = dv;
        }
      }
      if (nearest == prev) {
        return ((long) nearest << 32) | (Float.floatToRawIntBits(dNearest) & 0xFFFFFFFFL);
      }
    }
  }

  /** FAISS's {@code add_links_starting_from}: finds pt's neighbours on one level and links both ways. */
  private void addLinksStartingFrom(Distances dis, int pt, int nearest, float dNearest, int level, Visited vt) {
    NodeQueue targets = searchNeighborsToAdd(dis, nearest, dNearest, level, vt);
    int max = cumNeighbors[level + 1] - cumNeighbors[level];
    int[] kept = shrink(dis, targets, max);
    int[] own = links[pt];
    synchronized (own) {
      for (int j = kept.length - 1; j >= 0; j--) { // FAISS pops its max-heap: farthest first
        addLink(dis, pt, kept[j], level);
      }
    }
    for (int j = kept.length - 1; j >= 0; j--) {
      int other = kept[j];
      synchronized (links[other]) {
        addLink(dis, other, pt, level);
      }
    }
  }

  /**
   * FAISS's {@code search_neighbors_to_add}: the {@code efConstruction} nearest nodes found from
   * the entry on one level, as a queue of (key, node).
   */
  private NodeQueue searchNeighborsToAdd(Distances dis, int entry, float dEntry, int level, Visited vt) {
    NodeQueue results = new NodeQueue(efConstruction + 1, true); // top: farthest
    NodeQueue candidates = new NodeQueue(16, false); // top: nearest
    candidates.push(dEntry, entry);
    results.push(dEntry, entry);
    vt.set(entry);
    while (candidates.size() > 0) {
      float dCur = candidates.topKey();
      if (dCur > results.topKey()) {
        break;
      }
      int cur = candidates.topNode();
      candidates.pop();
      int[] ln = links[cur];
      for (int j = cumNeighbors[level], end = cumNeighbors[level + 1]; j < end; j++) {
        int v = ln[j];
        if (v < 0) {
          break;
        }
        if (!vt.set(v)) {
          continue;
        }
        float dv = dis.toQuery(v);
        if (results.size() < efConstruction || results.topKey() > dv) {
          results.push(dv, v);
          candidates.push(dv, v);
          if (results.size() > efConstruction) {
            results.pop();
          }
        }
      }
    }
    vt.advance();
    return results;
  }

  /**
   * FAISS's {@code shrink_neighbor_list} over a queue: the candidates from nearest to farthest,
   * each kept unless a kept one is closer to it than the query is; at most {@code max} of them.
   * A queue of fewer than {@code max} candidates is kept whole.
   */
  private static int[] shrink(Distances dis, NodeQueue q, int max) {
    int n = q.size();
    float[] keys = new float[n];
    int[] nodes = new int[n];
    q.sortedAscending(keys, nodes);
    if (n < max) {
      return nodes;
    }
    int[] out = new int[max];
    int kept = 0;
    for (int i = 0; i < n && kept < max; i++) {
      int v1 = nodes[i];
      float d1 = keys[i];
      boolean good = true;
      for (int j = 0; j < kept; j++) {
        if (dis.between(out[j], v1) < d1) {
          good = false;
          break;
        }
      }
      if (good) {
        out[kept++] = v1;
      }
    }
    return Arrays.copyOf(out, kept);
  }

  /** FAISS's {@code add_link}: adds dest to src's list on a level, shrinking the list when full. Call under src's lock. */
  private void addLink(Distances dis, int src, int dest, int level) {
    int[] ln = links[src];
    int begin = cumNeighbors[level];
    int end = cumNeighbors[level + 1];
    if (ln[end - 1] == -1) {
      int i = end;
      while (i > begin && ln[i - 1] == -1) {
        i--;
      }
      ln[i] = dest;
      return;
    }
    NodeQueue all = new NodeQueue(end - begin + 1, true);
    all.push(dis.between(src, dest), dest);
    for (int i = begin; i < end; i++) {
      all.push(dis.between(src, ln[i]), ln[i]);
    }
    int[] kept = shrink(dis, all, end - begin);
    // FAISS writes the kept ones back from its max-heap: farthest first
    int i = begin;
    for (int j = kept.length - 1; j >= 0; j--) {
      ln[i++] = kept[j];
    }
    while (i < end) {
      ln[i++] = -1;
    }
  }

  // ---- searching ---------------------------------------------------------------------------

  /** The node nearest the query on level 1 and its key, packed as {@link #greedyUpdateNearest} packs them; -1 when empty. */
  private long descend(Distances dis) {
    int ep = entryPoint;
    if (ep < 0) {
      return -1;
    }
    int nearest = ep;
    float dNearest = dis.toQuery(nearest);
    for (int level = maxLevel; level >= 1; level--) {
      long packed = greedyUpdateNearest(dis, level, nearest, dNearest);
      nearest = (int) (packed >>> 32);
      dNearest = Float.intBitsToFloat((int) packed);
    }
    return ((long) nearest << 32) | (Float.floatToRawIntBits(dNearest) & 0xFFFFFFFFL);
  }

  /**
   * Searches for the query of {@code dis} ({@link Distances#setQuery} already called): every node
   * whose key it computes goes to {@code sink} once (FAISS hands each to its result handler), so a
   * top-k heap or a range collector picks the results. {@code k} sizes the candidate queue
   * ({@code max(efSearch, k)}).
   */
  public void search(Distances dis, int k, int efSearch, Sink sink, Visited vt) {
    long packed = descend(dis);
    if (packed == -1) {
      return;
    }
    int nearest = (int) (packed >>> 32);
    float dNearest = Float.intBitsToFloat((int) packed);
    vt.ensure(ntotal);
    MinimaxHeap candidates = new MinimaxHeap(Math.max(efSearch, k));
    candidates.push(nearest, dNearest);
    sink.accept(dNearest, nearest);
    vt.set(nearest);
    int end0 = cumNeighbors[1];
    while (candidates.size() > 0) {
      int v0 = candidates.popMin();
      float d0 = candidates.lastPopped();
      // only popped entries can lie below d0 (the smallest queued one), so with fewer than efSearch
      // other popped entries the count cannot reach efSearch: skip it (always, when efSearch >= k)
      if (candidates.popped() - 1 >= efSearch && candidates.countBelow(d0) >= efSearch) {
        break;
      }
      int[] ln = links[v0];
      for (int j = 0; j < end0; j++) {
        int v1 = ln[j];
        if (v1 < 0) {
          break;
        }
        if (vt.set(v1)) {
          float d = dis.toQuery(v1);
          sink.accept(d, v1);
          candidates.push(v1, d);
        }
      }
    }
    vt.advance();
  }

  /** A queue of (key, node) pairs: a binary heap with the largest key on top ({@code maxTop}) or the smallest. */
  static final class NodeQueue {
    private float[] keys;
    private int[] nodes;
    private int size;
    private final boolean maxTop;

    NodeQueue(int capacity, boolean maxTop) {
      keys = new float[Math.max(1, capacity)];
      nodes = new int[keys.length];
      this.maxTop = maxTop;
    }

    int size() {
      return size;
    }

    float topKey() {
      return keys[0];
    }

    int topNode() {
      return nodes[0];
    }

    private boolean above(float a, float b) {
      return maxTop ? a > b : a < b;
    }

    void push(float key, int node) {
      if (size == keys.length) {
        keys = Arrays.copyOf(keys, size * 2);
        nodes = Arrays.copyOf(nodes, size * 2);
      }
      int i = size++;
      while (i > 0) {
        int p = (i - 1) >>> 1;
        if (!above(key, keys[p])) {
          break;
        }
        keys[i] = keys[p];
        nodes[i] = nodes[p];
        i = p;
      }
      keys[i] = key;
      nodes[i] = node;
    }

    void pop() {
      float key = keys[--size];
      int node = nodes[size];
      int i = 0;
      while (true) {
        int c = 2 * i + 1;
        if (c >= size) {
          break;
        }
        if (c + 1 < size && above(keys[c + 1], keys[c])) {
          c++;
        }
        if (!above(keys[c], key)) {
          break;
        }
        keys[i] = keys[c];
        nodes[i] = nodes[c];
        i = c;
      }
      keys[i] = key;
      nodes[i] = node;
    }

    /** Empties the queue into the arrays, smallest key first. */
    void sortedAscending(float[] outKeys, int[] outNodes) {
      int n = size;
      if (maxTop) {
        for (int i = n - 1; i >= 0; i--) {
          outKeys[i] = keys[0];
          outNodes[i] = nodes[0];
          pop();
        }
      } else {
        for (int i = 0; i < n; i++) {
          outKeys[i] = keys[0];
          outNodes[i] = nodes[0];
          pop();
        }
      }
    }
  }

  /**
   * FAISS's {@code MinimaxHeap}: a bounded max-heap of candidates in which popping the minimum
   * only marks its slot (node -1), so popped candidates keep their place and still count in
   * {@link #countBelow}, the stopping rule of the search.
   */
  static final class MinimaxHeap {
    private final int n;
    private final float[] dis;
    private final int[] ids;
    private int k;
    private int nvalid;
    private float popped;

    MinimaxHeap(int n) {
      this.n = n;
      this.dis = new float[n];
      this.ids = new int[n];
    }

    int size() {
      return nvalid;
    }

    void push(int id, float v) {
      if (k == n) {
        if (v >= dis[0]) {
          return;
        }
        if (ids[0] != -1) {
          nvalid--;
        }
        popTop();
      }
      int i = k++;
      while (i > 0) {
        int p = (i - 1) >>> 1;
        if (!(v > dis[p])) {
          break;
        }
        dis[i] = dis[p];
        ids[i] = ids[p];
        i = p;
      }
      dis[i] = v;
      ids[i] = id;
      nvalid++;
    }

    private void popTop() {
      float v = dis[--k];
      int id = ids[k];
      int i = 0;
      while (true) {
        int c = 2 * i + 1;
        if (c >= k) {
          break;
        }
        if (c + 1 < k && dis[c + 1] > dis[c]) {
          c++;
        }
        if (!(dis[c] > v)) {
          break;
        }
        dis[i] = dis[c];
        ids[i] = ids[c];
        i = c;
      }
      dis[i] = v;
      ids[i] = id;
    }

    /** Marks the valid candidate of smallest key popped and returns it ({@link #lastPopped} is its key); -1 when none. */
    int popMin() {
      int i = k - 1;
      while (i >= 0 && ids[i] == -1) {
        i--;
      }
      if (i < 0) {
        return -1;
      }
      int imin = i;
      float vmin = dis[i];
      for (i--; i >= 0; i--) {
        if (ids[i] != -1 && dis[i] < vmin) {
          vmin = dis[i];
          imin = i;
        }
      }
      popped = vmin;
      int ret = ids[imin];
      ids[imin] = -1;
      nvalid--;
      return ret;
    }

    float lastPopped() {
      return popped;
    }

    /** Entries popped and still held (they keep their slot until evicted). */
    int popped() {
      return k - nvalid;
    }

    /** Entries, popped ones included, whose key is below {@code thresh}. */
    int countBelow(float thresh) {
      int c = 0;
      for (int i = 0; i < k; i++) {
        if (dis[i] < thresh) {
          c++;
        }
      }
      return c;
    }
  }
}
