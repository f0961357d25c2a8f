"""Pieces of benchmarks/peers_speed.py: the child processes it times, process-tree memory
polling, the per-stage cost of indexing one track, and the no-op re-index.

Every number is CPU seconds (user + system, of a process and all the processes it waited
for) unless it says wall: on a shared 2-core machine CPU time moves far less with the
load than wall time does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

CHILD = r"""
import json, os, resource, sys, tempfile, time
from pathlib import Path

def cpu():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

system, files, spawned = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3])
workers, windows, onnx_path = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6] or None
if system == "bliss":
    import multiprocessing as mp
    import bliss_audio

    def one(f):
        try:
            bliss_audio.Song(f)
            return 1
        except Exception as e:
            print("bliss failed", f, e, file=sys.stderr)
            return 0
    ready_wall, ready_cpu = time.time(), cpu()
    t0 = time.perf_counter()
    with mp.get_context("fork").Pool(workers) as pool:
        ok = sum(pool.imap_unordered(one, files, chunksize=1))
        pool.close(); pool.join()
    extra = {}
else:
    from genrerec import index_library, load_model
    import genrerec.engine.index as gi
    runtime = system.split("-")[1]  # "genrerec-onnx", "genrerec-torch", "genrerec-int8"
    model = load_model(onnx_path, runtime="onnx") if onnx_path else load_model(runtime=runtime)
    assert model.runtime_name == ("torch" if runtime == "torch" else "onnx"), model.runtime_name
    commit, build = [0.0], [0.0]
    real_commit, real_build = gi._commit, gi.build_vector_index
    def timed(box, fn):
        def wrap(*a, **k):
            t = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                box[0] += time.process_time() - t
        return wrap
    gi._commit, gi.build_vector_index = timed(commit, real_commit), timed(build, real_build)
    ready_wall, ready_cpu = time.time(), cpu()
    t0 = time.perf_counter()
    lib = Path(tempfile.mkdtemp(prefix="genrerec-speed-")) / "lib"
    lib.mkdir()
    for i, f in enumerate(files):
        os.symlink(f, lib / f"{i:03d}{Path(f).suffix}")
    s = index_library(lib, lib.parent / "db", model=model, workers=workers, show_progress=False,
                      follow_external_links=True, max_windows=windows)
    ok = s.indexed
    from genrerec.library.catalog import Catalog
    cat = Catalog(Path(s.db_dir) / "catalog.sqlite", create=False)
    import numpy as np
    embs = {os.readlink(lib / os.fsdecode(p)): (np.frombuffer(e, "float32").tolist(),
                                                 np.frombuffer(g, "float32").tolist())
            for p, e, g in cat.db.execute("SELECT path, embedding, genres FROM tracks WHERE status='ok'")}
    extra = {"commit_cpu": commit[0], "faiss_cpu": build[0], "failed": s.failed}
    if os.environ.get("SPEED_VECTORS"):
        Path(os.environ["SPEED_VECTORS"]).write_text(json.dumps(embs))
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "cpu": cpu() - ready_cpu, "ok": ok, "startup_wall": ready_wall - spawned,
                  "startup_cpu": ready_cpu, **extra}))
"""


def tree_pids(root: int) -> list[int]:
    """root and every process below it (from /proc/*/stat)."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                fields = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def tree_memory_mb(root: int) -> tuple[float, float]:
    """(RSS, PSS) of the process tree in MB: PSS shares pages among the processes that map
    them, so forked workers are not counted twice for what they share with their parent."""
    rss = pss = 0
    for p in tree_pids(root):
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            pass
    return rss / 1024, pss / 1024


def run_child(system: str, files: list[Path], root: Path, workers: int = 2, windows: int = 16,
              onnx_path: Path | None = None, vectors: Path | None = None) -> dict:
    """One timed run in a fresh interpreter, its process tree's memory polled every 50 ms."""
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "")}
    env.pop("GENREREC_RUNTIME", None)
    if not env["OMP_NUM_THREADS"]:
        env.pop("OMP_NUM_THREADS")
    if vectors:
        env["SPEED_VECTORS"] = str(vectors)
    load0 = os.getloadavg()[0]
    proc = subprocess.Popen([sys.executable, "-c", CHILD, system, json.dumps([str(f) for f in files]),
                             repr(time.time()), str(workers), str(windows), str(onnx_path or "")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root, env=env)
    peak = [0.0, 0.0]
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            rss, pss = tree_memory_mb(proc.pid)
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
            done.wait(0.05)

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    out, err = proc.communicate()
    done.set()
    th.join()
    if proc.returncode != 0:
        raise SystemExit(f"{system} failed: {err[-2000:]}")
    r = json.loads(out.strip().splitlines()[-1])
    r.update(peak_rss_mb=peak[0], peak_pss_mb=peak[1], load_before=load0, load_after=os.getloadavg()[0])
    return r


STAGES = r"""
import json, os, sys, time
os.environ.setdefault("OMP_NUM_THREADS", "1")
from genrerec import load_model
from genrerec.models.inference import decode_windows, windows_to_specs
files, windows, onnx_path = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3] or None
out = {}
t = time.process_time(); w = time.perf_counter()
models = {"onnx": load_model(runtime="onnx", threads=1)}
out["load_model_onnx_cpu"] = time.process_time() - t
x = None
decode = feats = 0.0
specs = []
for f in files:
    t = time.process_time(); wavs, dur = decode_windows(f, models["onnx"].features, windows); decode += time.process_time() - t
    t = time.process_time(); s = windows_to_specs(f, wavs, models["onnx"].features); feats += time.process_time() - t
    specs.append(s)
out.update(decode=decode / len(files), features=feats / len(files), windows=sum(len(s) for s in specs) / len(files))
t = time.process_time(); models["onnx"].runtime.session(); out["onnx_session_cpu"] = time.process_time() - t
if onnx_path:
    models["int8"] = load_model(onnx_path, runtime="onnx", threads=1)
    models["int8"].runtime.session()
import_t = time.process_time()
models["torch"] = load_model(runtime="torch")
out["load_model_torch_cpu"] = time.process_time() - import_t
models["torch"].set_threads(1)
for name, m in models.items():
    m.infer_windows(specs[0])
    t = time.process_time()
    for s in specs:
        m.infer_windows(s)
    out[f"inference_{name}"] = (time.process_time() - t) / len(files)
print(json.dumps(out))
"""


def stages(files: list[Path], root: Path, windows: int = 16, onnx_path: Path | None = None) -> dict:
    """Per-track CPU s of each stage, in one process, one thread, on the same files."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    r = subprocess.run([sys.executable, "-c", STAGES, json.dumps([str(f) for f in files]), str(windows),
                        str(onnx_path or "")], capture_output=True, text=True, cwd=root, env=env)
    if r.returncode != 0:
        raise SystemExit(f"stages failed: {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


NOOP = r"""
import json, resource, sys, time
from genrerec import index_library, load_model
lib, db = sys.argv[1], sys.argv[2]
t = time.perf_counter(); c = time.process_time()
model = load_model()
s = index_library(lib, db, model=model, show_progress=False)
print(json.dumps({"wall": time.perf_counter() - t, "cpu": time.process_time() - c, "indexed": s.indexed,
                  "unchanged": s.unchanged, "ok": s.total_ok, "failed": len(s.failed)}))
"""


def noop_reindex(root: Path, work: Path, n: int = 1000, repeats: int = 5, before: Path | None = None) -> dict:
    """A library of n small synthetic files (3.5 s of noise and a tone: one patch each), indexed once, then
    re-indexed with nothing changed `repeats` times, each in a fresh process: wall and CPU
    of `load_model()` + `index_library()` (scan, diff, search-index rebuild), and wall of
    the whole `genrerec index` command (interpreter start-up and imports included). With
    `before`, the same no-op runs with that checkout's code too, interleaved, for a before/after."""
    import numpy as np
    import soundfile as sf

    lib = work / "noop-lib"
    db = work / "noop-db"
    rng = np.random.default_rng(0)
    for i in range(n):
        p = lib / f"a{i // 50:02d}" / f"t{i:04d}.wav"
        if not p.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
            t = np.arange(56000) / 16000
            x = 0.2 * np.sin(2 * np.pi * rng.uniform(100, 2000) * t) + 0.05 * rng.standard_normal(t.size)
            sf.write(str(p), x.astype(np.float32), 16000)
    env = {**os.environ, "PYTHONPATH": str(root)}
    first = subprocess.run([sys.executable, "-c", NOOP, str(lib), str(db)], capture_output=True, text=True, env=env,
                           cwd=root)
    if first.returncode != 0:
        raise SystemExit(f"no-op index failed: {first.stderr[-2000:]}")
    runs, cli, old = [], [], []
    db_before = work / "noop-db-before"  # its own copy: the old code's writes must not touch the catalog timed after
    if before is not None:
        import shutil

        shutil.rmtree(db_before, ignore_errors=True)
        shutil.copytree(db, db_before)
    for _ in range(repeats):
        if before is not None:  # the same no-op with another checkout's code (the code before a change), interleaved
            r = subprocess.run([sys.executable, "-c", NOOP, str(lib), str(db_before)], capture_output=True, text=True,
                               env={**env, "PYTHONPATH": str(before)}, cwd=before)
            old.append({**json.loads(r.stdout.strip().splitlines()[-1]), "load": os.getloadavg()[0]})
        load = os.getloadavg()[0]
        r = subprocess.run([sys.executable, "-c", NOOP, str(lib), str(db)], capture_output=True, text=True, env=env,
                           cwd=root)
        runs.append({**json.loads(r.stdout.strip().splitlines()[-1]), "load": load})
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "genrerec", "index", str(lib), "--db", str(db)], capture_output=True,
                       env=env, cwd=root, check=True)
        cli.append(time.perf_counter() - t)
    return {"tracks": n, "first": json.loads(first.stdout.strip().splitlines()[-1]), "runs": runs, "cli_wall": cli,
            "seconds_per_file": 3.5, "before": old, "before_root": str(before) if before else None}
