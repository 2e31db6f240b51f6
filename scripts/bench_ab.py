#!/usr/bin/env python3
"""Quiver against FAISS in alternating rounds on the same arguments, for a noisy machine.

Each round runs `scripts/quiver bench` (once per Quiver variant) and `scripts/faiss_bench.py`
with the same arguments, one after the other; every process trains its own index and sweeps the
given nprobe (and HNSW efSearch) values. The report gives, per nprobe and efSearch, the median
recall@10 and QPS over the rounds, the median build time (train + add), the ratio at the same
setting, and the ratio at equal recall (FAISS's median curve interpolated
log-linearly between its two measured points around Quiver's recall).

The peer is FAISS 1.15.0 built for this CPU (AVX-512), ../shared/peers/faiss-1.15 relative to the
repository root, unless --faiss-path (or QUIVER_FAISS_PATH) names another build; `--second-peer
system` also runs Debian's python3-faiss (1.7.3, GENERIC) in every round and reports Quiver's
ratio against it too. The report names every peer's faiss.__version__ and get_compile_options().

  /usr/bin/python3 scripts/bench_ab.py --rounds 3 [--variant NAME=ARGS ...] [--faiss-path DIR]
      [--second-peer DIR|system] -- BENCH ARGS
  e.g. ... --variant table=--use-precomputed-table=1 -- --factory IVF1024,PQ16 --base b.fvecs \\
       --query q.fvecs --nprobe 4,16,64 --threads 1 --repeat 5
"""
import argparse, json, math, os, statistics, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FAISS = os.path.normpath(os.path.join(ROOT, "..", "shared", "peers", "faiss-1.15"))


def run(cmd):
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         env=dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")).stdout
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")]


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        sys.exit("bench_ab.py: give the bench arguments after --")
    cut = argv.index("--")
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--variant", action="append", default=[],
                   help="NAME=ARGS: another Quiver run with extra bench arguments, e.g. table=--use-precomputed-table=1")
    p.add_argument("--faiss-path", default=os.environ.get("QUIVER_FAISS_PATH", DEFAULT_FAISS),
                   help="folder holding the peer's faiss package (default ../shared/peers/faiss-1.15); "
                   "'system' takes Debian's python3-faiss")
    p.add_argument("--second-peer", metavar="DIR|system",
                   help="a second FAISS build run in every round, e.g. 'system' for Debian's 1.7.3")
    a = p.parse_args(argv[:cut])
    bench = argv[cut + 1:]
    variants = [("quiver", [])] + [(v.split("=", 1)[0], v.split("=", 1)[1].split()) for v in a.variant]
    peers = [("faiss", a.faiss_path)] + ([("faiss2", a.second_peer)] if a.second_peer else [])
    runs = {name: [] for name, _ in variants + peers}
    faiss_bench = ["/usr/bin/python3", os.path.join(ROOT, "scripts", "faiss_bench.py")]
    for r in range(a.rounds):
        for name, extra in variants:
            runs[name].append(run([os.path.join(ROOT, "scripts", "quiver"), "bench"] + bench
                                  + expand(extra)))
            print(f"round {r + 1} {name}: " + " ".join(f"{point(x)}:{x['qps']:.0f}" for x in runs[name][-1]),
                  file=sys.stderr)
        for name, path in peers:
            runs[name].append(run(faiss_bench + ["--faiss-path", path] + bench))
            print(f"round {r + 1} {name} {runs[name][-1][0]['faiss_version']}: "
                  + " ".join(f"{point(x)}:{x['qps']:.0f}" for x in runs[name][-1]), file=sys.stderr)

    def medians(name):
        by = {}
        for rnd in runs[name]:
            for x in rnd:
                by.setdefault(point(x), []).append(x)
        return {npb: (statistics.median(x["recall_at_k"] for x in xs), statistics.median(x["qps"] for x in xs), xs[0])
                for npb, xs in sorted(by.items(), key=lambda kv: [int(t) if t.isdigit() else -1 for t in kv[0].split("/")])}

    def build_s(name):
        return statistics.median(rnd[0]["train_s"] + rnd[0]["add_s"] for rnd in runs[name])

    def faiss_at(curve, recall):
        for r0, q0 in curve:
            if r0 == recall:
                return q0
        for (r0, q0), (r1, q1) in zip(curve, curve[1:]):
            if r0 <= recall <= r1:
                t = 0 if r1 == r0 else (recall - r0) / (r1 - r0)
                return math.exp(math.log(q0) + t * (math.log(q1) - math.log(q0)))
        return None

    print(f"{a.rounds} alternating rounds, medians; arguments: `{' '.join(bench)}`; Quiver kernels "
          f"{runs['quiver'][0][0].get('kernels', '?')}")
    for name, path in peers:
        first = runs[name][0][0]
        print()
        print(f"Peer: FAISS {first['faiss_version']} ({first['faiss_compile_options']}), `--faiss-path {path}`")
        print()
        f = medians(name)
        curve = sorted((rec, qps) for rec, qps, _ in f.values())
        print(f"Build (train + add), median: Quiver {build_s('quiver'):.2f} s, FAISS {first['faiss_version']} "
              f"{build_s(name):.2f} s, ratio {build_s(name) / build_s('quiver'):.2f}x (FAISS time / Quiver time)")
        print()
        print(f"| Quiver run | nprobe/efSearch | Quiver recall@10 | FAISS {first['faiss_version']} recall@10 | Quiver QPS "
              f"| FAISS {first['faiss_version']} QPS | ratio, same nprobe | ratio, equal recall "
              f"| Quiver bytes per vector |")
        print("|---|---|---|---|---|---|---|---|---|")
        for vname, _ in variants:
            for npb, (rec, qps, x) in medians(vname).items():
                frec, fqps, _ = f[npb]
                at = faiss_at(curve, rec)
                eq = f"{qps / at:.2f}" if at else "outside FAISS's range"
                print(f"| {vname} | {npb} | {rec:.4f} | {frec:.4f} | {qps:.0f} | {fqps:.0f} | {qps / fqps:.2f} | {eq} "
                      f"| {x.get('bytes_per_vector', '-')} |")


def point(x):
    """A search setting: nprobe, with efSearch when given (nprobe/efSearch)."""
    return f"{x['nprobe']}/{x['ef_search']}" if x.get("ef_search") else str(x["nprobe"])


def expand(extra):
    out = []
    for x in extra:
        out.extend(x.split("=", 1) if x.startswith("--") and "=" in x else [x])
    return out


if __name__ == "__main__":
    main()
