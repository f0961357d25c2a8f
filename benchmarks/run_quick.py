#!/usr/bin/env python
"""`make bench`: every benchmark in its quick mode (minutes, results under
docs/benchmarks/quick/, not committed). The full runs, which write the committed
results, are `python benchmarks/<name>.py` with no flag:

    gtzan_accuracy.py   ~1.5 h   trains seed CNN, compact CNN, ResNet18 + MFCC baseline
    retrieval.py        ~45 min  2-fold block CV models (CNN, ResNet18), neighbours on held-out clips
    ablations.py        ~25 min  other seed, pitch/tempo augmentation, ensembles, MFCC fusion (2-fold CV)
    temperature.py      ~3 min   after retrieval.py (reuses its fold models); --model resnet18 too
    speed.py            ~10 min  downloads ~320 MB of Debian game music (3 packages) once
    scale.py            ~15 min  FAISS at 10k / 100k / 1M vectors
    reliability_report.py ~4 min runs tests/reliability, writes docs/reliability.md
    summary.py          seconds  headline numbers vs targets (summary.md); --rerun DIR compares with a rerun
"""

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
failed = []
for script in ["gtzan_accuracy.py", "retrieval.py", "ablations.py", "temperature.py", "speed.py", "scale.py"]:
    t0 = time.time()
    rc = subprocess.run([sys.executable, str(HERE / script), "--quick"]).returncode
    print(f"== {script} --quick: exit {rc} in {time.time() - t0:.0f} s", flush=True)
    if rc:
        failed.append(script)
if not failed:  # the headline table of the quick results, to check summary.py end to end too
    quick = HERE.parent / "docs" / "benchmarks" / "quick"
    rc = subprocess.run([sys.executable, str(HERE / "summary.py"), "--results", str(quick)],
                        stdout=subprocess.DEVNULL).returncode
    print(f"== summary.py --results {quick}: exit {rc}", flush=True)
    failed += ["summary.py"] if rc else []
sys.exit(1 if failed else 0)
