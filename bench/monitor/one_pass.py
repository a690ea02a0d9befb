"""One monitor pass in a process of its own, so that its peak memory is its own:
``python -m bench.monitor.one_pass URL [--full]`` prints one JSON line (the pass's report,
``maxrss_mib``: the process's peak resident set after the pass, ``baseline_mib``: the same
before it, after the imports and opening the store; ``cpu_seconds``: the pass's user and
system CPU time in this process, which a busy machine inflates less than the wall time).

The peak is the kernel's high-water mark of this process's memory (``VmHWM`` in
``/proc/self/status``), not ``getrusage``'s ``ru_maxrss``: after ``exec`` Linux carries the
parent's high-water mark into ``ru_maxrss``, so a child of the benchmark (which holds the
generated week in memory) would report the parent's size.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

from liveops.services.monitoring import run_monitor
from liveops.store import open_store


def _rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: KiB or bytes


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--service", default=None)
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()
    store = open_store(args.url, upgrade=False)
    baseline = _rss_mib()
    cpu0 = _cpu_s()
    t0 = time.perf_counter()
    report = run_monitor(store, None, args.service, full=args.full)
    wall = time.perf_counter() - t0
    cpu = _cpu_s() - cpu0
    store.close()
    out = {
        "seconds": wall,
        "cpu_seconds": cpu,  # this process only: not PostgreSQL's server processes
        "services": [s.__dict__ for s in report.services],
        "baseline_mib": baseline,
        "maxrss_mib": _rss_mib(),
    }
    print(json.dumps(out, default=str))
    return 0 if report.ran else 1


if __name__ == "__main__":
    sys.exit(main())
