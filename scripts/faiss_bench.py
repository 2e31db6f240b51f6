#!/usr/bin/python3
"""FAISS peer of `quiver bench`: same options, same data files, same JSON keys.

Runs FAISS 1.15.0 built for this CPU (AVX-512), from ../shared/peers/faiss-1.15 relative to the
repository root, by default; --faiss-path (or the environment variable QUIVER_FAISS_PATH) names
another build's folder, and `--faiss-path system` takes the Python path's own faiss (Debian's
python3-faiss 1.7.3, a GENERIC build). Every JSON line carries faiss_version and
faiss_compile_options, and both go to stderr at start. Base and query vectors are
.fvecs/.bvecs files (`quiver generate-vecs` writes Quiver's synthetic data to .fvecs so both systems
see the same vectors). Search is timed like `quiver bench`: warm-up searches for 1 s, then
--repeat timed runs, median reported.
"""
import argparse
import json
import os
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FAISS = os.path.normpath(os.path.join(ROOT, "..", "shared", "peers", "faiss-1.15"))


def faiss_path(argv):
    """The --faiss-path value (or QUIVER_FAISS_PATH, or the 1.15 peer); read before argparse
    because faiss must be imported before anything else runs."""
    path = os.environ.get("QUIVER_FAISS_PATH", DEFAULT_FAISS)
    for i, arg in enumerate(argv):
        if arg == "--faiss-path" and i + 1 < len(argv):
            path = argv[i + 1]
        elif arg.startswith("--faiss-path="):
            path = arg.split("=", 1)[1]
    return path


_path = faiss_path(sys.argv[1:])
if _path != "system":
    if not os.path.isdir(os.path.join(_path, "faiss")):
        raise SystemExit(f"faiss_bench.py: no faiss package under {_path} (give --faiss-path DIR or --faiss-path system)")
    sys.path.insert(0, os.path.abspath(_path))

import faiss  # noqa: E402
import numpy as np  # noqa: E402

FAISS_VERSION = faiss.__version__
FAISS_OPTIONS = faiss.get_compile_options().strip()
print(f"faiss_bench.py: faiss {FAISS_VERSION} ({FAISS_OPTIONS}) from {os.path.dirname(faiss.__file__)}", file=sys.stderr)


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0:
        raise SystemExit(f"{path}: empty file")
    d = int(raw[:4].view(np.int32)[0])
    width = 1 if dtype == np.uint8 else 4
    rec = 4 + d * width
    if raw.size % rec:
        raise SystemExit(f"{path}: size {raw.size} is not a multiple of the record size {rec}")
    rows = raw.reshape(-1, rec)[:, 4:]
    return np.ascontiguousarray(rows).view(dtype).reshape(-1, d)


def load(path):
    if path.endswith(".bvecs"):
        return read_vecs(path, np.uint8).astype(np.float32)
    return read_vecs(path, np.float32)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--factory")
    p.add_argument("--base", required=True)
    p.add_argument("--query")
    p.add_argument("--gt")
    p.add_argument("--metric", default="l2", choices=["l2", "ip", "cosine"])
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--nprobe", help="lists per query; a comma-separated list sweeps them, one JSON line each")
    p.add_argument("--kfactor", help="RFlat candidates per result; a comma-separated list sweeps them")
    p.add_argument("--ef-search", help="HNSW efSearch (of the index, or of an IVF<n>_HNSW<M> quantizer); a "
                   "comma-separated list sweeps them")
    p.add_argument("--ef-construction", type=int, help="HNSW efConstruction (default 40)")
    p.add_argument("--polysemous", action="store_true", help="keep FAISS's polysemous PQ training")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--kmeans", type=int, metavar="K",
                   help="instead of an index, run k-means into K centroids (like `quiver kmeans`)")
    p.add_argument("--niter", type=int, default=25)
    p.add_argument("--faiss-path", help="folder holding the faiss package (default ../shared/peers/faiss-1.15, "
                   "or QUIVER_FAISS_PATH); 'system' imports the Python path's faiss (Debian's 1.7.3)")
    a = p.parse_args()

    if a.threads > 0:
        faiss.omp_set_num_threads(a.threads)
    xb = load(a.base)
    if a.kmeans:
        return kmeans(a, xb)
    if not a.query or not a.factory:
        p.error("--factory and --query are required unless --kmeans is given")
    xq = load(a.query)
    if a.metric == "cosine":
        xb = xb.copy()
        xq = xq.copy()
        faiss.normalize_L2(xb)
        faiss.normalize_L2(xq)
    metric = faiss.METRIC_L2 if a.metric == "l2" else faiss.METRIC_INNER_PRODUCT
    n, d = xb.shape
    # FAISS's factory trains polysemous codes for PQ unless told "np": a renumbering of the
    # centroids for Hamming pre-filtering that Quiver does not do, and that costs minutes. The
    # peer skips it so that both train the same thing; recall is unchanged.
    factory = a.factory if a.polysemous else re.sub(r"(PQ\d+(?:x\d+)?)(?=,|$)", r"\1np", a.factory)
    index = faiss.index_factory(d, factory, metric)
    refine = None
    core = index
    if isinstance(index, faiss.IndexRefine):
        refine = index
        core = faiss.downcast_index(index.base_index)
    try:
        ivf = faiss.extract_index_ivf(core)
    except Exception:
        ivf = None
    if ivf is not None:
        ivf.cp.seed = a.seed
    hnsw = None  # the HNSW graph whose efConstruction --ef-construction sets
    if hasattr(faiss.downcast_index(core), "hnsw"):
        hnsw = faiss.downcast_index(core).hnsw
    elif ivf is not None and hasattr(faiss.downcast_index(ivf.quantizer), "hnsw"):
        hnsw = faiss.downcast_index(ivf.quantizer).hnsw
    if a.ef_construction and hnsw is not None:
        hnsw.efConstruction = a.ef_construction

    t0 = time.perf_counter()
    index.train(xb)
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    index.add(xb)
    add_s = time.perf_counter() - t0

    if a.gt:
        gt = read_vecs(a.gt, np.int32)
    else:
        exact = faiss.IndexFlat(d, metric)
        exact.add(xb)
        _, gt = exact.search(xq, a.k)
    nprobes = [int(v) for v in a.nprobe.split(",")] if a.nprobe else [None]
    kfactors = [float(v) for v in a.kfactor.split(",")] if a.kfactor else [None]
    efs = [int(v) for v in a.ef_search.split(",")] if a.ef_search else [None]
    points = [(npb, kf, ef) for npb in nprobes for kf in kfactors for ef in efs]
    for nprobe, kfactor, ef_search in points:
        if ivf is not None and nprobe:
            ivf.nprobe = nprobe
        if refine is not None and kfactor:
            refine.k_factor = kfactor
        if ef_search:
            faiss.ParameterSpace().set_index_parameter(
                index, "quantizer_efSearch" if ivf is not None else "efSearch", ef_search)
        warm = time.perf_counter()
        runs = 0
        while True:
            D, I = index.search(xq, a.k)
            runs += 1
            if time.perf_counter() - warm >= 1.0 or runs >= 100000:
                break
        times = []
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            D, I = index.search(xq, a.k)
            times.append(time.perf_counter() - t0)
        times.sort()
        search_s = times[len(times) // 2]

        # FAISS keeps no heap-size counter; the serialized index (codes, ids, codebooks, centroids,
        # without IVF-PQ's precomputed table) is the closest measure
        serialized = int(faiss.serialize_index(index).size)
        nq = xq.shape[0]
        r1 = float(np.mean(I[:, 0] == gt[:, 0]))
        rk = float(np.mean([len(set(I[q, :a.k]) & set(gt[q, :a.k])) / a.k for q in range(nq)]))
        out = {
            "factory": a.factory, "metric": a.metric, "n": n, "d": d, "nq": nq, "k": a.k,
            "nprobe": (ivf.nprobe if ivf is not None else None),
            "train_s": round(train_s, 6), "add_s": round(add_s, 6), "search_s": round(search_s, 6),
            "qps": round(nq / search_s, 6), "recall_at_1": round(r1, 6), "recall_at_k": round(rk, 6),
            "index_bytes": serialized, "bytes_per_vector": round(serialized / max(1, index.ntotal), 6),
            "threads": faiss.omp_get_max_threads(), "kernels": "faiss " + faiss.__version__,
            "faiss_version": FAISS_VERSION, "faiss_compile_options": FAISS_OPTIONS,
            "base": a.base, "query": a.query,
        }
        if refine is not None and kfactor:
            out["kfactor"] = kfactor
        if ef_search:
            out["ef_search"] = ef_search
        print(json.dumps(out))


def kmeans(a, x):
    n, d = x.shape
    km = faiss.Kmeans(d, a.kmeans, niter=a.niter, seed=a.seed)
    t0 = time.perf_counter()
    km.train(x)
    train_s = time.perf_counter() - t0
    obj = [float(v) for v in km.obj]
    print(json.dumps({
        "n": n, "d": d, "k": a.kmeans, "niter": a.niter,
        "training_points": min(n, a.kmeans * 256), "train_s": round(train_s, 6),
        "objective": obj[-1] if obj else None, "objectives": obj,
        "threads": faiss.omp_get_max_threads(), "kernels": "faiss " + faiss.__version__,
        "faiss_version": FAISS_VERSION, "faiss_compile_options": FAISS_OPTIONS,
    }))


if __name__ == "__main__":
    sys.exit(main())
