"""FAISS's side of FaissInteropTest: reads or builds FAISS index files and searches them.

Usage: python3 faiss_interop.py search|build DIR

DIR holds spec.json ({"d", "k", "cases": [{"name", "factory", "metric": "l2"|"ip", "normalize",
"nprobe", "ids"}]}), queries.f32 (raw little-endian float32, nq x d) and, for build, base.f32
(n x d) and base_ids.i64 (n int64). search reads NAME.faiss for every case; build makes it with
faiss.index_factory (inside an IndexIDMap2 for flat types when "ids"), trains on the base (PQ without polysemous
training), adds it
(with base_ids when "ids"), sets nprobe and writes NAME.faiss. Both then search the queries
(L2-normalized when "normalize") and write NAME.ids (int64) and NAME.dist (float32), nq x k.
Prints one JSON object: the FAISS version and, per case, the class read back and its ntotal.
"""
import json
import os
import sys

import numpy as np
import faiss


def main():
    mode, folder = sys.argv[1], sys.argv[2]
    spec = json.load(open(os.path.join(folder, "spec.json")))
    d, k = spec["d"], spec["k"]
    queries = np.fromfile(os.path.join(folder, "queries.f32"), dtype="<f4").reshape(-1, d)
    out = {"version": faiss.__version__, "cases": {}}
    if mode == "build":
        base = np.fromfile(os.path.join(folder, "base.f32"), dtype="<f4").reshape(-1, d)
        base_ids = np.fromfile(os.path.join(folder, "base_ids.i64"), dtype="<i8")
    for case in spec["cases"]:
        name = case["name"]
        path = os.path.join(folder, name + ".faiss")
        if mode == "build":
            metric = faiss.METRIC_L2 if case["metric"] == "l2" else faiss.METRIC_INNER_PRODUCT
            xb = base.copy()
            if case["normalize"]:
                faiss.normalize_L2(xb)
            index = faiss.index_factory(d, case["factory"], metric)
            ivf = case["factory"].startswith("IVF")
            if case["ids"] and not ivf:
                index = faiss.IndexIDMap2(index)
            if "PQ" in case["factory"]:
                # index_factory turns polysemous training on (a code reordering by simulated annealing that
                # takes seconds per index); Quiver's PQ has none, and the file is the same either way
                inner = faiss.downcast_index(faiss.extract_index_ivf(index) if ivf else index.index if case["ids"] else index)
                inner.do_polysemous_training = False
            index.train(xb)
            if case["ids"]:
                index.add_with_ids(xb, base_ids)
            else:
                index.add(xb)
            if ivf:
                faiss.extract_index_ivf(index).nprobe = case["nprobe"]
            faiss.write_index(index, path)
        index = faiss.read_index(path)
        q = queries.copy()
        if case["normalize"]:
            faiss.normalize_L2(q)
        dist, ids = index.search(q, k)
        ids.astype("<i8").tofile(os.path.join(folder, name + ".ids"))
        dist.astype("<f4").tofile(os.path.join(folder, name + ".dist"))
        out["cases"][name] = {"class": type(faiss.downcast_index(index)).__name__, "ntotal": int(index.ntotal)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
