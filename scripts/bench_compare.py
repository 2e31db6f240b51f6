#!/usr/bin/python3
"""Recall-versus-throughput benchmark of Quiver against FAISS (and Quiver's Spark jobs).

Run through scripts/bench-compare, which installs the peers first. For every dataset and index
family it sweeps nprobe (and kFactor for RFlat) with `quiver bench` (index-core, one thread) and
with FAISS (`faiss_bench.py`: FAISS 1.15.0 built for AVX-512 from ../shared/peers/faiss-1.15, or the
build --faiss-path / QUIVER_FAISS_PATH names; one thread, same data and parameters), and
for some datasets searches the same index through the Spark jobs on local[2]. It writes:

  target/bench-compare/points.csv              every point
  docs/bench/<dataset>.csv                     the points of each dataset
  docs/bench/<dataset>-recall-qps.png          recall@10 against QPS (log scale), one plot per dataset
  docs/benchmarks.md                           a summary appended: QPS ratios at equal recall@10,
                                               JMH kernel results, and a JFR profile of the family
                                               where Quiver is furthest behind
"""
import argparse
import csv
import datetime
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUIVER = os.path.join(ROOT, "scripts", "quiver")
FAISS_PATH = os.environ.get("QUIVER_FAISS_PATH",
                            os.path.normpath(os.path.join(ROOT, "..", "shared", "peers", "faiss-1.15")))
FAISS = ["/usr/bin/python3", os.path.join(ROOT, "scripts", "faiss_bench.py"), "--faiss-path", FAISS_PATH]
COLUMNS = ["dataset", "system", "family", "factory", "metric", "nprobe", "kfactor", "recall_at_1", "recall_at_k",
           "qps", "train_s", "add_s", "bytes_per_vector", "threads"]


def log(msg):
    print(f"[bench-compare {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run_json(cmd, env=None, logfile=None):
    """Runs a command and returns the JSON objects it prints, one per stdout line."""
    e = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    if env:
        e.update(env)
    with open(logfile or os.devnull, "a") as err:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=e, cwd=ROOT)
    if p.returncode != 0:
        raise SystemExit(f"bench-compare: {' '.join(cmd)} exited {p.returncode} (log: {logfile})")
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]


def datasets(quick, work, shared):
    """(name, metric, base, query, gt, nlist, m, nprobes, families, spark) for each dataset present."""
    out = []
    big = os.path.join(shared, "bigann10k")
    nps_small = [1, 4, 16, 64] if quick else [1, 2, 4, 8, 16, 32, 64]
    if os.path.isdir(big):
        out.append(dict(name="bigann10k", metric="l2", base=f"{big}/bigann10k_base.fvecs",
                        query=f"{big}/siftsmall_query100.fvecs", gt=f"{big}/bigann10k_siftsmallq100_gt100.ivecs",
                        nlist=100, m=16, nprobes=nps_small, spark=True))
    else:
        log(f"skipped bigann10k: {big} is absent")
    glove = os.path.join(shared, "glove25")
    if os.path.isdir(glove):
        out.append(dict(name="glove25", metric="cosine", base=f"{glove}/glove25_base.fvecs",
                        query=f"{glove}/glove25_query.fvecs", gt=f"{glove}/glove25_gt100_angular.ivecs",
                        nlist=100, m=5, nprobes=nps_small, spark=False))
    else:
        log(f"skipped glove25: {glove} is absent")
    gens = [("gen200k-128", 200_000, 128, 256, 16)] if quick else [
        ("gen1m-128", 1_000_000, 128, 1024, 16), ("gen1m-96", 1_000_000, 96, 1024, 16),
        ("gen10m-32", 10_000_000, 32, 4096, 8)]
    for name, n, d, nlist, m in gens:
        base = os.path.join(work, f"{name}.fvecs")
        query = os.path.join(work, f"{name}_q.fvecs")
        if not os.path.exists(base):
            log(f"generating {name}: {n} x {d}, 1000 latent clusters, seed 1234")
            subprocess.run([QUIVER, "generate-vecs", "--n", str(n), "--d", str(d), "--clusters", "1000", "--seed",
                            "1234", "--out", base, "--nq", "1000", "--query-out", query], check=True, cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        nps = [1, 4, 16, 64] if quick else [1, 2, 4, 8, 16, 32, 64, 128]
        entry = dict(name=name, metric="l2", base=base, query=query, gt=None, nlist=nlist, m=m, nprobes=nps,
                     spark=(name == "gen1m-128"))
        if name == "gen10m-32":
            entry["families"] = ["IVF-Flat", "IVF-PQ"]
        out.append(entry)
    return out


def families(ds, quick):
    """(family, factory, nprobes or None, kfactors or None) for a dataset."""
    n, m, nps = ds["nlist"], ds["m"], ds["nprobes"]
    kfs = [2, 8] if quick else [1, 2, 4, 8, 16]
    fams = [("Flat", "Flat", None, None), ("IVF-Flat", f"IVF{n},Flat", nps, None),
            ("IVF-PQ", f"IVF{n},PQ{m}", nps, None), ("IVF-SQ8", f"IVF{n},SQ8", nps, None),
            ("IVF-PQ-RFlat", f"IVF{n},PQ{m},RFlat", nps, kfs)]
    wanted = ds.get("families")
    return [f for f in fams if wanted is None or f[0] in wanted]


def point_row(ds, system, family, j, threads):
    return {
        "dataset": ds["name"], "system": system, "family": family, "factory": j.get("factory", "").replace(",", ";"),
        "metric": ds["metric"], "nprobe": j.get("nprobe") if j.get("nprobe") is not None else "",
        "kfactor": j.get("kfactor", ""), "recall_at_1": j.get("recall_at_1", ""), "recall_at_k": j["recall_at_k"],
        "qps": j["qps"], "train_s": j.get("train_s", ""), "add_s": j.get("add_s", ""),
        "bytes_per_vector": j.get("bytes_per_vector", ""), "threads": threads,
    }


def sweep(ds, quick, work, rows):
    for family, factory, nps, kfs in families(ds, quick):
        args = ["--factory", factory, "--metric", ds["metric"], "--base", ds["base"], "--query", ds["query"],
                "--threads", "1", "--repeat", "3" if quick or not ds["gt"] else "5"]
        if ds["gt"]:
            args += ["--gt", ds["gt"]]
        if nps:
            args += ["--nprobe", ",".join(str(x) for x in nps)]
        if kfs:
            args += ["--kfactor", ",".join(str(x) for x in kfs)]
        log(f"{ds['name']} {factory}: quiver")
        for j in run_json([QUIVER, "bench"] + args, logfile=os.path.join(work, "quiver.log")):
            rows.append(point_row(ds, "quiver", family, j, 1))
        log(f"{ds['name']} {factory}: faiss")
        for j in run_json(FAISS + args, logfile=os.path.join(work, "faiss.log")):
            rows.append(point_row(ds, "faiss", family, j, 1))


def spark_points(ds, quick, work, rows):
    """The same kind of index built and searched by the Spark jobs on local[2] (both cores)."""
    if not ds["gt"] and ds["name"] != "gen1m-128":
        return
    base_pq = os.path.join(work, f"{ds['name']}-base.parquet")
    q_pq = os.path.join(work, f"{ds['name']}-q.parquet")
    slog = os.path.join(work, "spark.log")
    master = ["--master", "local[2]"]
    for src, dst in ((ds["base"], base_pq), (ds["query"], q_pq)):
        if not os.path.exists(dst):
            run_json([QUIVER, "convert", "--input", src, "--output", dst] + master, logfile=slog)
    fams = [("IVF-Flat", f"IVF{ds['nlist']},Flat")] if quick else [
        ("IVF-Flat", f"IVF{ds['nlist']},Flat"), ("IVF-PQ", f"IVF{ds['nlist']},PQ{ds['m']}")]
    nps = [1, 4, 16] if quick else [1, 4, 16, 64]
    for family, factory in fams:
        idx = os.path.join(work, f"{ds['name']}-{factory.replace(',', '_')}-idx")
        log(f"{ds['name']} {factory}: Spark jobs on local[2]")
        built = run_json([QUIVER, "index", "--input", base_pq, "--output", idx, "--factory", factory, "--metric",
                          ds["metric"], "--seed", "1234", "--overwrite"] + master, logfile=slog)[-1]
        for npb in nps:
            args = [QUIVER, "evaluate", "--index", idx, "--queries", q_pq, "--k", "10", "--nprobe", str(npb)] + master
            if ds["gt"]:
                args += ["--ground-truth", ds["gt"]]
            else:
                args += ["--sample", "1000"]
            e = run_json(args, logfile=slog)[-1]
            e["factory"] = factory
            e["train_s"] = built.get("train_s", "")
            e["add_s"] = round(built.get("encode_s", 0) + built.get("write_s", 0), 3)
            rows.append(point_row(ds, "quiver-spark", family, e, 2))


# MLlib settings that gave no point (cancelled at the budget, or failed): (dataset, params, what happened)
LSH_NOTES = []


def lsh_points(ds, quick, work, rows):
    """Spark MLlib's BucketedRandomProjectionLSH as a batch k-NN search (L2 only), on local[2]."""
    if ds["metric"] != "l2":
        return
    base_pq = os.path.join(work, f"{ds['name']}-base.parquet")
    q_pq = os.path.join(work, f"{ds['name']}-q.parquet")
    cfgs = "0.25,4;1.0,4;1.0,16" if quick else "0.5,8;1.0,8;2.0,16"
    args = [QUIVER, "bench-join", "--master", "local[2]", "--base", base_pq, "--queries", q_pq, "--k", "10",
            "--lsh", cfgs, "--budget-s", "300" if quick else "240", "--work", os.path.join(work, "lsh")]
    if ds["gt"]:
        args += ["--ground-truth", ds["gt"]]
    log(f"{ds['name']}: MLlib BucketedRandomProjectionLSH on local[2]")
    for j in run_json(args, logfile=os.path.join(work, "spark.log")):
        if "recall_at_k" in j:
            j["factory"] = j["params"]
            rows.append(point_row(ds, "mllib-brp", "LSH", j, 2))
        else:
            log(f"  {j['params']}: {j.get('result')}")
            LSH_NOTES.append((ds["name"], j["params"], j.get("result")))


def faiss_qps_at(curve, recall):
    """FAISS's QPS at a recall@10, log-linear between the two measured points around it."""
    pts = sorted(curve)
    for (r0, q0), (r1, q1) in zip(pts, pts[1:]):
        if r0 <= recall <= r1:
            if r1 == r0:
                return max(q0, q1)
            t = (recall - r0) / (r1 - r0)
            return math.exp(math.log(q0) + t * (math.log(q1) - math.log(q0)))
    return None


def pareto(points):
    """The points no other point beats on both recall and QPS."""
    out = []
    for r, q in sorted(points, key=lambda p: (-p[0], -p[1])):
        if not out or q > out[-1][1]:
            out.append((r, q))
    return sorted(out)


def ratios(rows):
    """{(dataset, family): [(recall, quiver qps, faiss qps at that recall, ratio)]} on Pareto curves."""
    by = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["system"] in ("quiver", "faiss"):
            by[(r["dataset"], r["family"])][r["system"]].append((float(r["recall_at_k"]), float(r["qps"])))
    out = {}
    for key, s in by.items():
        q, f = pareto(s.get("quiver", [])), pareto(s.get("faiss", []))
        pts = []
        for rec, qps in q:
            fq = faiss_qps_at(f, rec)
            if fq:
                pts.append((rec, qps, fq, qps / fq))
        out[key] = (pts, q, f)
    return out


def jmh(work, quick):
    jar = os.path.join(ROOT, "benchmarks", "target", "benchmarks.jar")
    res = os.path.join(work, "jmh.json")
    args = ["-wi", "1", "-i", "2", "-w", "1", "-r", "1", "-f", "1"] if quick else ["-wi", "3", "-i", "5", "-w", "1",
                                                                                 "-r", "1", "-f", "1"]
    log("JMH kernels")
    with open(os.path.join(work, "jmh.log"), "w") as lf:
        subprocess.run(["java", "-jar", jar, "Benchmarks", *args, "-jvmArgsAppend",
                        "--add-modules=jdk.incubator.vector -Xmx4g", "-rf", "json", "-rff", res],
                       check=True, stdout=lf, stderr=lf, cwd=ROOT)
    out = []
    for r in json.load(open(res)):
        params = ", ".join(f"{k}={v}" for k, v in sorted(r.get("params", {}).items()))
        out.append((r["benchmark"].rsplit(".", 2)[-2] + "." + r["benchmark"].rsplit(".", 1)[1], params,
                    r["primaryMetric"]["score"], r["primaryMetric"]["scoreUnit"]))
    return out


def profile(ds, family, factory, nprobe, kfactor, work):
    """JFR execution samples of one `quiver bench` run: the methods on top of the stack, by share."""
    jfr = os.path.join(work, "profile.jfr")
    args = [QUIVER, "bench", "--factory", factory, "--metric", ds["metric"], "--base", ds["base"], "--query",
            ds["query"], "--threads", "1", "--repeat", "20"]
    if nprobe:
        args += ["--nprobe", str(nprobe)]
    if kfactor:
        args += ["--kfactor", str(kfactor)]
    if ds["gt"]:
        args += ["--gt", ds["gt"]]
    log(f"JFR profile of {ds['name']} {factory} nprobe {nprobe} kfactor {kfactor}")
    run_json(args, env={"QUIVER_JAVA_OPTS": f"-XX:StartFlightRecording=filename={jfr},settings=profile"},
             logfile=os.path.join(work, "profile.log"))
    p = subprocess.run(["jfr", "print", "--events", "jdk.ExecutionSample", "--json", jfr], stdout=subprocess.PIPE,
                       text=True, check=True)
    events = json.loads(p.stdout)["recording"]["events"]
    top = Counter()
    for e in events:
        frames = e["values"]["stackTrace"]["frames"]
        # the searches only: samples inside an index's search (on whichever thread runs it)
        if frames and any(f["method"]["name"] in ("search", "searchPreassigned")
                          or f["method"]["name"].startswith("lambda$search") for f in frames):
            m = frames[0]["method"]
            top[m["type"]["name"].replace("/", ".").rsplit(".", 1)[-1] + "." + m["name"]] += 1
    total = sum(top.values()) or 1
    return total, [(name, n / total) for name, n in top.most_common(8)]


def behind_profiles(sets, rows, rat, quick, work, most=6):
    """Profiles every family whose median QPS ratio is below 1 (the furthest behind first, at most
    `most`), each at its Quiver point nearest recall 0.9."""
    behind = []
    for (dsn, fam), (pts, _, _) in rat.items():
        if pts:
            med = statistics.median(p[3] for p in pts)
            if med < 1.0:
                behind.append((med, dsn, fam, pts))
    out = []
    for med, dsn, fam, pts in sorted(behind)[:most]:
        ds = next(d for d in sets if d["name"] == dsn)
        factory = next(f[1] for f in families(ds, quick) if f[0] == fam)
        rec = min(pts, key=lambda p: abs(p[0] - 0.9))[0]
        r = next(r for r in rows if r["dataset"] == dsn and r["family"] == fam and r["system"] == "quiver"
                 and float(r["recall_at_k"]) == rec)
        npb = int(r["nprobe"]) if r["nprobe"] != "" else None
        kf = float(r["kfactor"]) if r["kfactor"] != "" else None
        out.append((dsn, factory, npb, kf, med) + profile(ds, fam, factory, npb, kf, work))
    return out


def read_points(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def profile_section(profiles):
    lines = []
    for dsn, factory, npb, kf, med, total, top in profiles:
        lines.append(f"### Where the time goes: {dsn}, {factory}, nprobe {npb}"
                     f"{'' if kf is None else f', kFactor {kf:g}'} (median ratio {med:.2f})\n")
        lines.append(f"JFR (`settings=profile`) during `quiver bench` of this index, {total} execution samples "
                     f"taken during its searches; methods on top of the stack:\n")
        lines.append("| method | share of samples |")
        lines.append("|---|---|")
        for name, share in top:
            lines.append(f"| `{name}` | {share * 100:.1f}% |")
        lines.append("")
    return lines


def write_csv(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow(r)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller generated data and sweeps (under 10 minutes)")
    ap.add_argument("--datasets", default=os.environ.get("QUIVER_DATASETS", os.path.join(ROOT, "..", "shared",
                                                                                          "datasets")))
    ap.add_argument("--no-spark", action="store_true", help="skip the Spark jobs points")
    ap.add_argument("--no-docs", action="store_true", help="write under target/ only (no docs/ changes)")
    ap.add_argument("--profile-only", action="store_true",
                    help="profile the families behind FAISS in target/bench-compare/points.csv and print the section")
    a = ap.parse_args()
    start = time.time()
    work = os.path.join(ROOT, "target", "bench-compare")
    os.makedirs(work, exist_ok=True)
    if a.profile_only:
        sets = datasets(a.quick, work, a.datasets)
        print("\n".join(profile_section(behind_profiles(sets, read_points(os.path.join(work, "points.csv")),
                                                         ratios(read_points(os.path.join(work, "points.csv"))),
                                                         a.quick, work))))
        return
    docs = os.path.join(work, "docs") if a.no_docs else os.path.join(ROOT, "docs")
    rows = []
    sets = datasets(a.quick, work, a.datasets)
    for ds in sets:
        sweep(ds, a.quick, work, rows)
        if ds["spark"] and not a.no_spark:
            for points in (spark_points, lsh_points):
                try:
                    points(ds, a.quick, work, rows)
                except SystemExit as e:  # a failed Spark run costs its points, not the whole benchmark
                    log(f"{ds['name']}: {points.__name__} failed, its points are missing: {e}")
        write_csv(os.path.join(work, "points.csv"), rows)
    for ds in sets:
        write_csv(os.path.join(docs, "bench", f"{ds['name']}.csv"), [r for r in rows if r["dataset"] == ds["name"]])
    log("plots")
    suffix = "1 thread (Spark: local[2])"
    subprocess.run(["java", "-cp", os.path.join(ROOT, "benchmarks", "target", "benchmarks.jar"),
                    "io.quiver.bench.RecallQpsPlot", "--csv", os.path.join(work, "points.csv"), "--out-dir",
                    os.path.join(docs, "bench"), "--title-suffix", suffix], check=True, cwd=ROOT)
    kernels = jmh(work, a.quick)
    rat = ratios(rows)
    # every family where Quiver is behind FAISS (median ratio below 1), over every dataset
    prof = behind_profiles(sets, rows, rat, a.quick, work)
    elapsed = time.time() - start
    md = summary(a, sets, rows, rat, kernels, prof, elapsed, docs)
    with open(os.path.join(docs, "benchmarks.md"), "a") as f:
        f.write(md)
    print(md)
    log(f"done in {elapsed / 60:.1f} min")


def summary(a, sets, rows, rat, kernels, prof, elapsed, docs):
    env = dict(os.environ)
    if FAISS_PATH != "system":
        env["PYTHONPATH"] = FAISS_PATH
    faiss_v = subprocess.run(["/usr/bin/python3", "-c",
                              "import faiss; print(faiss.__version__, '(' + faiss.get_compile_options().strip() + ')')"],
                             stdout=subprocess.PIPE, text=True, env=env).stdout.strip()
    java_v = subprocess.run(["java", "-version"], stderr=subprocess.PIPE, text=True).stderr.splitlines()[0]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)
    lines = [f"\n## {datetime.date.today()}: recall vs QPS against FAISS (`scripts/bench-compare"
             f"{' --quick' if a.quick else ''}`)\n",
             f"Machine: {os.cpu_count()} cores ({cpu}), {mem} GiB; {java_v}; FAISS {faiss_v} from "
             f"{FAISS_PATH}, OpenBLAS; Spark 4.1.0 embedded. Quiver (index-core) and FAISS on one thread each, same data, same "
             f"parameters, in the same run; `quiver-spark` is the Spark jobs on local[2] (both cores), searching an "
             f"index built by `quiver index` (its QPS includes Spark's job overhead). The run took "
             f"{elapsed / 60:.1f} minutes. Every point is in docs/bench/<dataset>.csv.\n",
             "Ratios are Quiver's QPS over FAISS's QPS at the same recall@10, FAISS interpolated "
             "log-linearly between its two measured points around each Quiver point (Pareto points only, "
             "within FAISS's measured recall range).\n"]
    for ds in sets:
        lines.append(f"### {ds['name']} ({ds['metric']})\n")
        lines.append(f"![{ds['name']}](bench/{ds['name']}-recall-qps.png)\n")
        lines.append("| family | Quiver / FAISS QPS at equal recall@10 (median, min..max) | Quiver points inside FAISS's recall range | best recall@10 "
                     "Quiver / FAISS | bytes per vector Quiver / FAISS |")
        lines.append("|---|---|---|---|---|")
        for fam in ["Flat", "IVF-Flat", "IVF-PQ", "IVF-SQ8", "IVF-PQ-RFlat"]:
            key = (ds["name"], fam)
            if key not in rat:
                continue
            pts, q, f = rat[key]
            bq = [r for r in rows if r["dataset"] == ds["name"] and r["family"] == fam]
            byt = lambda s: next((r["bytes_per_vector"] for r in bq if r["system"] == s and r["bytes_per_vector"]
                                  != ""), "")
            best = f"{max(p[0] for p in q):.3f} / {max(p[0] for p in f):.3f}" if q and f else ""
            if pts:
                rs = [p[3] for p in pts]
                ratio = f"{statistics.median(rs):.2f} ({min(rs):.2f}..{max(rs):.2f})"
            elif fam == "Flat" and q and f:
                ratio = f"{q[0][1] / f[0][1]:.2f} (exact search, one point each)"
            else:
                ratio = "no overlap of the recall ranges"
            lines.append(f"| {fam} | {ratio} | {len(pts)} | {best} | {byt('quiver')} / {byt('faiss')} |")
        sp = [r for r in rows if r["dataset"] == ds["name"] and r["system"] in ("quiver-spark", "mllib-brp")]
        if sp:
            lines.append("")
            lines.append("On Spark, local[2]: " + "; ".join(
                (f"Quiver {r['family']} nprobe {r['nprobe']}" if r["system"] == "quiver-spark"
                 else f"MLlib BRP LSH ({r['factory'].replace(';', ',')})")
                + f": recall@10 {float(r['recall_at_k']):.3f} at {float(r['qps']):.0f} q/s" for r in sp))
        notes = [n for n in LSH_NOTES if n[0] == ds["name"]]
        if notes:
            lines.append("")
            lines.append("MLlib BRP LSH settings without a point: " + "; ".join(f"{p}: {res}" for _, p, res in notes))
        lines.append("")
    lines.append("### Kernels (JMH)\n")
    lines.append("| benchmark | params | score | unit |")
    lines.append("|---|---|---|---|")
    for name, params, score, unit in kernels:
        lines.append(f"| {name} | {params} | {score:.3f} | {unit} |")
    lines.append("")
    lines += profile_section(prof)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
