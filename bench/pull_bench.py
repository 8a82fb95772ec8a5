"""Pull benchmark: C-MOVE of one CT series from Orthanc into our listener vs dcmtk.

    python -m bench.pull_bench [--n 500] [--repeat 2] [--no-chunked] [--open] [--profile]

Builds N 512x512 16-bit CT slices (new UIDs), loads them into a fresh Orthanc (storescu),
then in the same run:

(a) ours: ``scu.move`` of the series from Orthanc into our listener, running as its
    own process (``python -m pacs_bridge.dicom.listener``), as in production: admitting
    only Orthanc's AE title from its address and only the study being moved (ADR 0006;
    the production listener's snapshot of active imports is re-read once a second, not
    measured here). ``--open`` runs it without admission;
(b) dcmtk: ``movescu`` of the same series into ``storescp``.

Every peer runs with ``TCP_NODELAY=1``. Prints the time, files/s and the ratio
ours/dcmtk (best and median of ``--repeat`` runs each, alternating). Received files are
deleted after each run: 265 MB a run would otherwise pile up as dirty pages until the
kernel's background writeback starts and slows whichever runs next.
``--profile`` runs our listener (last run) with each thread under cProfile and prints
the top functions.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from pacs_bridge.dicom import scu
from pacs_bridge.dicom.sample_data import build_ct_series, demo_uid
from pacs_bridge.dicom.spool import Spool
from tests.peers import OrthancPeer, free_port, peer_env, run_orthanc, wait_for_port

ROOT = Path(__file__).resolve().parents[1]


def _count(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file())


# The listener with every association thread under cProfile (python -m cProfile only
# sees the main thread, which just waits in the server loop); stats of the threads that
# finished are written on SIGINT.
_PROFILED_LISTENER = """
import cProfile, pstats, sys, threading
finished = []
run = threading.Thread.run
def profiled(self):
    profile = cProfile.Profile()
    profile.enable()
    try:
        run(self)
    finally:
        profile.disable()
        finished.append(profile)
threading.Thread.run = profiled
out = sys.argv.pop(1)
from pacs_bridge.dicom.listener import main
try:
    main(sys.argv[1:])
except KeyboardInterrupt:
    pass
finally:
    if finished:
        stats = pstats.Stats(finished[0])
        for profile in finished[1:]:
            stats.add(profile)
        stats.dump_stats(out)
"""


def _wait_files(folder: Path, n: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while _count(folder) < n and time.monotonic() < deadline:
        time.sleep(0.01)


def ours(orthanc_node: scu.Node, orthanc: OrthancPeer, study: str, series: str, n: int,
         work: Path, chunked: bool, profile: bool, admission: bool = True) -> float:  # fmt: skip
    spool_dir = work / f"spool-{uuid.uuid4().hex[:6]}"
    port = free_port()
    args = ["--port", str(port), "--spool", str(spool_dir)]
    if admission:
        args += [
            "--allow-peer",
            f"{orthanc.aet}@127.0.0.1",
            "--allow-study",
            f"{orthanc.aet}:{study}",
        ]
    if profile:
        cmd = [sys.executable, "-c", _PROFILED_LISTENER, str(work / "listener.prof"), *args]
    else:
        cmd = [sys.executable, "-m", "pacs_bridge.dicom.listener", *args]
    if not chunked:
        cmd.append("--no-chunked")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=peer_env())
    try:
        wait_for_port(port, proc)
        orthanc.register_modality("teachfile", "TEACHFILE", "127.0.0.1", port)
        start = time.perf_counter()
        result = scu.move(
            orthanc_node, destination_ae="TEACHFILE", study_instance_uid=study,
            series_instance_uids=[series],
        )  # fmt: skip
        elapsed = time.perf_counter() - start
        files = Spool(spool_dir).files_for_series(series)
        if result.completed != n or len(files) != n:
            raise SystemExit(f"ours: {result} and {len(files)} files, expected {n}")
        return elapsed
    finally:
        proc.send_signal(2)  # SIGINT: let cProfile write its output
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(spool_dir, ignore_errors=True)  # before the kernel writes it back


def dcmtk(orthanc: OrthancPeer, study: str, series: str, n: int, work: Path) -> float:
    out = work / f"storescp-{uuid.uuid4().hex[:6]}"
    out.mkdir()
    port = free_port()
    proc = subprocess.Popen(
        ["storescp", "-aet", "STORESCP", "-od", str(out), str(port)], env=peer_env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, proc)
        orthanc.register_modality("storescp", "STORESCP", "127.0.0.1", port)
        start = time.perf_counter()
        subprocess.run(
            ["movescu", "-aet", "MOVER", "-aec", orthanc.aet, "-aem", "STORESCP", "-S",
             "-k", "QueryRetrieveLevel=SERIES", "-k", f"StudyInstanceUID={study}",
             "-k", f"SeriesInstanceUID={series}", "127.0.0.1", str(orthanc.dicom_port)],
            check=True, env=peer_env(), capture_output=True,
        )  # fmt: skip
        elapsed = time.perf_counter() - start
        _wait_files(out, n)
        if _count(out) != n:
            raise SystemExit(f"dcmtk: {_count(out)} files arrived, expected {n}")
        return elapsed
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(out, ignore_errors=True)


def report(times: dict[str, list[float]], n: int, mode: str) -> None:
    best = {k: min(v) for k, v in times.items()}
    median = {k: statistics.median(v) for k, v in times.items()}
    print(f"\nC-MOVE of {n} CT slices 512x512 from Orthanc, {len(times['ours'])} runs each:")
    for key, label in (("ours", f"ours (our listener, {mode})"), ("dcmtk", "dcmtk (storescp)")):
        print(
            f"  {label:32s} best {best[key]:.2f} s = {n / best[key]:.0f} files/s,"
            f" median {median[key]:.2f} s = {n / median[key]:.0f} files/s"
        )
    print(
        f"  ratio ours/dcmtk: {best['ours'] / best['dcmtk']:.2f}x (best),"
        f" {median['ours'] / median['dcmtk']:.2f}x (median)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-chunked", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--open", action="store_true", help="our listener without admission")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    if not shutil.which("storescp") or (
        not shutil.which("Orthanc") and not Path("/usr/sbin/Orthanc").exists()
    ):
        raise SystemExit("needs Orthanc and dcmtk (storescu, storescp, movescu)")

    work = Path(tempfile.mkdtemp(prefix="pull-bench-"))
    try:
        label = f"bench-{uuid.uuid4().hex}"
        start = time.perf_counter()
        paths = build_ct_series(work / "ct", args.n, size=512, label=label)
        mb = sum(p.stat().st_size for p in paths) / 1e6
        print(
            f"built {args.n} CT slices 512x512 ({mb:.0f} MB) in {time.perf_counter() - start:.1f} s"
        )
        study, series = demo_uid(f"{label}/study"), demo_uid(f"{label}/series/2")
        with run_orthanc(work / "orthanc") as orthanc:
            start = time.perf_counter()
            subprocess.run(
                ["storescu", "-aec", orthanc.aet, "+sd", "127.0.0.1", str(orthanc.dicom_port),
                 str(work / "ct")],
                check=True, env=peer_env(), capture_output=True,
            )  # fmt: skip
            print(f"loaded into Orthanc with storescu in {time.perf_counter() - start:.1f} s")
            node = scu.Node(orthanc.aet, "127.0.0.1", orthanc.dicom_port, timeout=60)
            times: dict[str, list[float]] = {"ours": [], "dcmtk": []}
            for i in range(args.repeat):
                chunked = not args.no_chunked
                profile = args.profile and i == args.repeat - 1
                times["ours"].append(
                    ours(
                        node,
                        orthanc,
                        study,
                        series,
                        args.n,
                        work,
                        chunked,
                        profile,
                        admission=not args.open,
                    )
                )
                times["dcmtk"].append(dcmtk(orthanc, study, series, args.n, work))
                print(
                    f"run {i + 1}: ours {times['ours'][-1]:.2f} s, dcmtk {times['dcmtk'][-1]:.2f} s"
                )
        mode = "chunked" if not args.no_chunked else "in memory"
        report(times, args.n, mode + (", open" if args.open else ", admission"))
        if args.profile:
            import pstats

            pstats.Stats(str(work / "listener.prof")).sort_stats("tottime").print_stats(25)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("TCP_NODELAY", "1")
    main()
