#!/usr/bin/python3
"""Reference recall@10 of FAISS on ../shared/datasets for the factory strings of index-core's
contract suite (IndexContractTest): the numbers its recall thresholds come from.

Run from the repository root (FAISS 1.15 from ../shared/peers/faiss-1.15 by default):
    /usr/bin/python3 scripts/faiss_recalls.py [--datasets DIR] [--faiss DIR]
Prints one tab-separated line per case (dataset, factory, metric, nprobe, kfactor, efsearch,
recall_at_10, faiss_version): the file index-core/src/test/resources/faiss-recalls.tsv.
Training draws FAISS's default seeds; one thread; k = 10; ids are row numbers. efsearch is the
HNSW index's efSearch, or its coarse quantizer's for IVF<n>_HNSW<M> (0: FAISS's default, 16).
"""
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CASES = [
    # dataset, factory, nprobe, kfactor[, efsearch]
    ("bigann10k", "Flat", 0, 0),
    ("bigann10k", "PQ16", 0, 0),
    ("bigann10k", "PQ16x4", 0, 0),
    ("bigann10k", "SQ8", 0, 0),
    ("bigann10k", "SQ4", 0, 0),
    ("bigann10k", "SQfp16", 0, 0),
    ("bigann10k", "IVF100,Flat", 8, 0),
    ("bigann10k", "IVF100,PQ16", 8, 0),
    ("bigann10k", "IVF100,PQ32", 16, 0),
    ("bigann10k", "IVF100,SQ8", 8, 0),
    ("bigann10k", "IVF100,SQ4", 8, 0),
    ("bigann10k", "IVF100,SQfp16", 8, 0),
    ("bigann10k", "IVF100,PQ16,RFlat", 8, 10),
    ("glove25", "Flat", 0, 0),
    ("glove25", "PQ5", 0, 0),
    ("glove25", "SQ8", 0, 0),
    ("glove25", "SQfp16", 0, 0),
    ("glove25", "IVF100,Flat", 8, 0),
    ("glove25", "IVF100,PQ5", 8, 0),
    ("glove25", "IVF100,SQ8", 8, 0),
    ("bigann10k", "HNSW32", 0, 0, 16),
    ("bigann10k", "HNSW32", 0, 0, 64),
    ("bigann10k", "HNSW32", 0, 0, 256),
    ("bigann10k", "HNSW32,SQ8", 0, 0, 64),
    ("bigann10k", "HNSW32,PQ16", 0, 0, 64),
    ("bigann10k", "IVF100_HNSW32,Flat", 8, 0, 0),
    ("bigann10k", "IVF100_HNSW32,PQ16", 8, 0, 0),
    ("glove25", "HNSW32", 0, 0, 16),
    ("glove25", "HNSW32", 0, 0, 64),
    ("glove25", "HNSW32", 0, 0, 256),
    ("glove25", "HNSW32,SQ8", 0, 0, 64),
    ("glove25", "IVF100_HNSW32,Flat", 8, 0, 0),
]

FILES = {
    "bigann10k": ("bigann10k/bigann10k_base.fvecs", "bigann10k/siftsmall_query100.fvecs",
                  "bigann10k/bigann10k_siftsmallq100_gt100.ivecs", "l2"),
    "glove25": ("glove25/glove25_base.fvecs", "glove25/glove25_query.fvecs", "glove25/glove25_gt100_angular.ivecs",
                "cosine"),
}


def read_vecs(path, dtype):
    import numpy as np
    raw = np.fromfile(path, dtype=np.int32)
    d = int(raw[0])
    return raw.reshape(-1, d + 1)[:, 1:].copy().view(dtype)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default=os.path.join(ROOT, "..", "shared", "datasets"))
    p.add_argument("--faiss", default=os.path.join(ROOT, "..", "shared", "peers", "faiss-1.15"),
                   help="folder holding the faiss package (empty: the installed one)")
    p.add_argument("--only", default="", help="factory strings separated by semicolons: print only these cases")
    a = p.parse_args()
    if a.faiss:
        sys.path.insert(0, a.faiss)
    import faiss
    import numpy as np
    faiss.omp_set_num_threads(1)
    print("dataset\tfactory\tmetric\tnprobe\tkfactor\tefsearch\trecall_at_10\tfaiss_version")
    only = set(a.only.split(";")) if a.only else None
    for case in CASES:
        name, factory, nprobe, kfactor = case[:4]
        efsearch = case[4] if len(case) > 4 else 0
        if only is not None and factory not in only:
            continue
        b, q, g, metric = FILES[name]
        base = read_vecs(os.path.join(a.datasets, b), np.float32)
        queries = read_vecs(os.path.join(a.datasets, q), np.float32)
        gt = read_vecs(os.path.join(a.datasets, g), np.int32)
        if metric == "cosine":
            faiss.normalize_L2(base)
            faiss.normalize_L2(queries)
        index = faiss.index_factory(base.shape[1], factory,
                                    faiss.METRIC_INNER_PRODUCT if metric == "cosine" else faiss.METRIC_L2)
        index.train(base)
        index.add(base)
        if nprobe:
            ivf = faiss.extract_index_ivf(index)
            ivf.nprobe = nprobe
        if kfactor:
            faiss.downcast_index(index).k_factor = kfactor
        if efsearch:
            faiss.ParameterSpace().set_index_parameter(
                index, "quantizer_efSearch" if factory.startswith("IVF") else "efSearch", efsearch)
        _, ids = index.search(queries, 10)
        hits = sum(len(set(ids[i]) & set(gt[i, :10])) for i in range(len(ids)))
        print(f"{name}\t{factory}\t{metric}\t{nprobe}\t{kfactor}\t{efsearch}\t{hits / (10 * len(ids)):.4f}\t{faiss.__version__}", flush=True)


if __name__ == "__main__":
    main()
