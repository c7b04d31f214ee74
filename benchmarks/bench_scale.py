"""Scale-out: ``--workers 2`` against ``--workers 1``, the default against
the threaded path, and the driver's memory on 1M SA-1B-style masks.

Each row runs in its own process. ``--workers 1`` is one process and one
thread, the baseline of every speed-up. Rows 1 and 2 run three times with
each number of workers, alternated, and show medians.

1. SA-1B-style folders of hi-res masks (TACO's real masks, images up to
   4000x3000, 300 and 1,000 files of 100 masks): ``tfdp score`` whole
   process.
2. COCO train2017-sized file (859k small polygons, built by
   make_coco_scale.py): the measuring part (the engine's hook: pack the
   polygons, ship them, measure, return the shapes; local cluster start and
   shutdown included), with the CPU the driver and each worker spent in
   it, and ``coco.measure`` around it, whose validation of every record
   runs in the driver. Loading the JSON is not timed.
3. TACO (8,334 hi-res annotations): the default ``tfdp prune`` against the
   threaded path (the same command, measuring on its thread pool whatever
   the size of the work, where the default chooses the engine), whole
   process, five runs each, alternated; the outputs must be identical.
4. SA-1B-style folders of VOC's real masks, 2,500 and 10,000 files (250k and
   1M masks, unique ids): ``tfdp score -o scores.parquet --workers 2``:
   masks per second per worker, and the driver's peak memory at both sizes.
5. The fixed cost of a local cluster of two workers: importing Dask,
   starting the cluster (its workers ready to take tasks), closing it.
6. The machine's own ceiling: the same single-threaded work (measuring the
   COCO sample's polygons, over and over) in one process alone, then in
   two processes at once. Two cores shared with other tenants, or sharing
   caches and memory bandwidth, run two busy processes each slower than
   one alone, so no engine gets 2x here; this bounds every speed-up above.

Generated data goes to the repository's ignored out/ folder.

Usage: python benchmarks/bench_scale.py [--skip-coco]
"""

import argparse
import filecmp
import os
import re
import resource
import statistics
import subprocess
import time

from common import DATA, HERE, ROOT, python, require_data, run_process

OUT = os.path.join(ROOT, "out")
#: Runs of each TACO command, alternated
TACO_RUNS = 5
#: Runs of each speed-up row with 1 and with 2 workers, alternated: single
#: runs vary from one to the next by 10 % and more
SPEEDUP_RUNS = 3

TACO = require_data(DATA + "/taco-unofficial/annotations_unofficial.json")
VOC = require_data(DATA + "/voc2012-instances/instances_train.json")
COCO_SAMPLE = require_data(DATA + "/coco2017-sample/instances.json")
#: Passes over the COCO sample's polygons per probe process
PROBE_PASSES = 80

# the command, reporting this process's own peak memory (not its workers')
COMMAND = (
    "import resource, sys\n"
    "from tfdp.cli import main\n"
    "status = main(sys.argv[1:])\n"
    "print('DRIVER_PEAK_MIB %.1f' % (resource.getrusage("
    "resource.RUSAGE_SELF).ru_maxrss / 1024))\n"
    "sys.exit(status)\n"
)

# times coco.measure (validation included) and, within it, the measuring
# hook: packing, shipping, measuring and returning the shapes
MEASURE = (
    "import resource, sys, time\n"
    "from tfdp import coco, inputs\n"
    "from tfdp.runner import Runner\n"
    "def cpu():\n"
    "    usage = resource.getrusage(resource.RUSAGE_SELF)\n"
    "    return usage.ru_utime + usage.ru_stime\n"
    "if __name__ == '__main__':\n"
    "    # read as the command reads it, and with the cyclic garbage\n"
    "    # collector off, as the command runs\n"
    "    import gc\n"
    "    gc.disable()\n"
    "    _, data = inputs.input_format([sys.argv[1]])\n"
    "    hook = [0.0, 0.0]\n"
    "    start = time.perf_counter()\n"
    "    with Runner(workers=int(sys.argv[2])) as runner:\n"
    "        def timed(jobs, progress=None):\n"
    "            begin, begin_cpu = time.perf_counter(), cpu()\n"
    "            try:\n"
    "                return runner.measure_coco_jobs(jobs, progress)\n"
    "            finally:\n"
    "                hook[0] += time.perf_counter() - begin\n"
    "                hook[1] += cpu() - begin_cpu\n"
    "        shapes = coco.measure(data, source=sys.argv[1],\n"
    "                              measure_jobs=timed)\n"
    "        workers = (sorted(runner.engine.client.run(cpu).values())\n"
    "                   if runner.engine.name == 'cluster' else [])\n"
    "    print('MEASURE_S %.3f' % (time.perf_counter() - start))\n"
    "    print('HOOK_S %.3f' % hook[0])\n"
    "    print('HOOK_DRIVER_CPU_S %.3f' % hook[1])\n"
    "    print('WORKERS_CPU_S ' + ' '.join('%.3f' % w for w in workers))\n"
)

# the threaded path: the same command, measuring on its thread pool whatever
# the size of the work, where the default chooses an engine
THREADED = (
    "import sys\n"
    "from tfdp import cli, runner\n"
    "from tfdp.engine import default_workers\n"
    "def thread_pool(self, seconds, mean_box_area):\n"
    "    return 'local', min(runner.MAX_THREADS, default_workers())\n"
    "runner.Runner._choose = thread_pool\n"
    "sys.exit(cli.main(sys.argv[1:]))\n"
)


# the fixed cost of a local cluster of two workers, in a process of its own
CLUSTER_COST = (
    "import resource, time\n"
    "def cpu():\n"
    "    usage = resource.getrusage(resource.RUSAGE_SELF)\n"
    "    return usage.ru_utime + usage.ru_stime\n"
    "if __name__ == '__main__':\n"
    "    start = time.perf_counter()\n"
    "    from tfdp.engine.cluster import ClusterEngine\n"
    "    imported = time.perf_counter()\n"
    "    engine = ClusterEngine(2)\n"
    "    started = time.perf_counter()\n"
    "    workers_cpu = sorted(engine.client.run(cpu).values())\n"
    "    engine.close()\n"
    "    closed = time.perf_counter()\n"
    "    print('CLUSTER %.3f %.3f %.3f %.3f %.3f' % (imported - start,\n"
    "          started - imported, closed - started, *workers_cpu))\n"
)

# the ceiling probe: single-threaded measuring of real small polygons, from
# a start time shared by the processes that run at once
PROBE = (
    "import sys, time\n"
    "import cv2\n"
    "from tfdp import coco\n"
    "from tfdp.segmentation import measure_segmentation\n"
    "cv2.setNumThreads(1)\n"
    "data = coco.load_json(sys.argv[1])\n"
    "size = {i['id']: (i['width'], i['height']) for i in data['images']}\n"
    "jobs = [(a['segmentation'],) + size[a['image_id']]\n"
    "        for a in data['annotations']\n"
    "        if isinstance(a['segmentation'], list) and a['segmentation']]\n"
    "time.sleep(max(0.0, float(sys.argv[3]) - time.time()))\n"
    "start = time.perf_counter()\n"
    "for _ in range(int(sys.argv[2])):\n"
    "    for segmentation, width, height in jobs:\n"
    "        measure_segmentation(segmentation, width, height)\n"
    "print('PROBE_S %.3f' % (time.perf_counter() - start))\n"
)


def probe(processes):
    """Seconds of the probe in each of ``processes`` processes run at
    once."""
    begin = str(time.time() + 2.0)  # after every process has loaded
    procs = [
        subprocess.Popen(
            python("-c", PROBE, COCO_SAMPLE, str(PROBE_PASSES), begin),
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    outputs = [p.communicate()[0] for p in procs]
    if any(p.returncode for p in procs):
        raise SystemExit("benchmark step failed: the ceiling probe")
    return [value("PROBE_S", text) for text in outputs]


def load():
    return os.getloadavg()[0]


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_output(args):
    """Runs a command; returns (seconds, CPU seconds, its stdout).

    The CPU seconds are the command's and its workers' (every process it
    waited for), so they show what the other tenants of a loaded machine
    took away from the wall time.
    """
    cpu = children_cpu()
    start = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(
            "benchmark step failed: %s\n%s"
            % (" ".join(args), result.stderr[-2000:])
        )
    return seconds, children_cpu() - cpu, result.stdout


def value(pattern, text):
    return float(re.search(pattern + r" ([0-9.]+)", text).group(1))


def tfdp(*argv):
    return python("-c", COMMAND, *[str(a) for a in argv])


def make_folder(name, files, masks, source=None):
    folder = os.path.join(OUT, name)
    if not os.path.isdir(folder) or len(os.listdir(folder)) != files:
        print("building %s ..." % folder, flush=True)
        run_process(
            python(
                os.path.join(HERE, "make_sa1b.py"),
                folder,
                str(files),
                str(masks),
            )
            + ([source] if source else [])
        )
    return folder


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--skip-coco",
        action="store_true",
        help="leave out the COCO train2017-sized rows",
    )
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    rows = []
    loads = [load()]

    # 1. hi-res SA-1B-style folders, whole process: starting the local
    # cluster is a fixed cost, so two sizes
    for name, files in (("sa1b-taco-30k", 300), ("sa1b-taco-100k", 1000)):
        folder = make_folder(name, files, 100)
        times, cpus = {1: [], 2: []}, {1: [], 2: []}
        for run in range(SPEEDUP_RUNS):
            for workers in (1, 2):
                print(
                    "SA-1B-style hi-res folder, %d files, --workers %d, "
                    "run %d ..." % (files, workers, run + 1),
                    flush=True,
                )
                out = os.path.join(OUT, "%s-scores-%d.csv" % (name, workers))
                seconds, cpu, _ = timed_output(
                    tfdp(
                        "score",
                        folder,
                        "-o",
                        out,
                        "--overwrite",
                        "--workers",
                        workers,
                    )
                )
                times[workers].append(seconds)
                cpus[workers].append(cpu)
            same = filecmp.cmp(
                os.path.join(OUT, "%s-scores-1.csv" % name),
                os.path.join(OUT, "%s-scores-2.csv" % name),
                shallow=False,
            )
            assert same, "the outputs of --workers 1 and 2 differ"
        rows.append(
            (
                "SA-1B-style hi-res folder (%d files, %dk TACO masks), "
                "whole `tfdp score`" % (files, files // 10),
                times,
                same,
                cpus,
            )
        )
        loads.append(load())

    # 2. COCO train2017-sized file
    if not args.skip_coco:
        big = os.path.join(OUT, "coco-train-sized.json")
        if not os.path.exists(big):
            print("building %s ..." % big, flush=True)
            run_process(python(os.path.join(HERE, "make_coco_scale.py"), big))
        measure, hook = {1: [], 2: []}, {1: [], 2: []}
        cpus, hook_cpu = {1: [], 2: []}, {1: [], 2: []}
        for run in range(SPEEDUP_RUNS):
            for workers in (1, 2):
                print(
                    "COCO train2017 size, measuring, --workers %d, run %d "
                    "..." % (workers, run + 1),
                    flush=True,
                )
                _, cpu, text = timed_output(
                    python("-c", MEASURE, big, str(workers))
                )
                cpus[workers].append(cpu)
                measure[workers].append(value("MEASURE_S", text))
                hook[workers].append(value("HOOK_S", text))
                hook_cpu[workers].append(
                    (
                        value("HOOK_DRIVER_CPU_S", text),
                        [
                            float(w)
                            for w in text.split("WORKERS_CPU_S")[1].split()
                        ],
                    )
                )
        rows.append(
            (
                "COCO train2017 size (859k polygons), measuring: "
                "pack, ship, measure, return",
                hook,
                None,
                None,
            )
        )
        rows.append(
            (
                "COCO train2017 size, `coco.measure` (validation "
                "included; CPU: the whole process, loading included)",
                measure,
                None,
                cpus,
            )
        )
        loads.append(load())

    # 3. TACO: the default against the threaded path, five runs each,
    # alternated, as one run of each is within the other's noise
    print(
        "TACO: the threaded path and the default, 5 runs each ...",
        flush=True,
    )
    threaded_out = os.path.join(OUT, "taco-threaded.json")
    default_out = os.path.join(OUT, "taco-default.json")
    threaded_runs, default_runs = [], []
    for _ in range(TACO_RUNS):
        threaded_runs.append(
            timed_output(
                python(
                    "-c",
                    THREADED,
                    "prune",
                    TACO,
                    "-o",
                    threaded_out,
                    "--keep-ratio",
                    "0.7",
                    "--overwrite",
                )
            )[0]
        )
        default_runs.append(
            timed_output(
                tfdp(
                    "prune",
                    TACO,
                    "-o",
                    default_out,
                    "--keep-ratio",
                    "0.7",
                    "--overwrite",
                )
            )[0]
        )
    threaded_s = statistics.median(threaded_runs)
    default_s = statistics.median(default_runs)
    taco_same = filecmp.cmp(threaded_out, default_out, shallow=False)
    loads.append(load())

    # 4. 250k and 1M masks on two workers: rate and driver memory
    scale = []
    for name, files in (("sa1b-voc-250k", 2500), ("sa1b-voc-1m", 10000)):
        folder = make_folder(name, files, 100, VOC)
        print(
            "%s: tfdp score -o scores.parquet --workers 2 ..." % name,
            flush=True,
        )
        seconds, cpu, text = timed_output(
            tfdp(
                "score",
                folder,
                "-o",
                os.path.join(OUT, name + ".parquet"),
                "--overwrite",
                "--workers",
                "2",
            )
        )
        masks = int(re.search(r"wrote (\d+) eligible", text).group(1))
        scale.append(
            (name, files, masks, seconds, cpu, value("DRIVER_PEAK_MIB", text))
        )
        loads.append(load())

    # 5. what a local cluster costs, whatever the work
    cluster = [
        float(v)
        for v in timed_output(python("-c", CLUSTER_COST))[2]
        .split("CLUSTER")[1]
        .split()
    ]

    # 6. the machine's ceiling, three times each way
    print(
        "the machine's ceiling: one process, then two at once ...", flush=True
    )
    alone = [probe(1)[0] for _ in range(3)]
    together = [statistics.mean(probe(2)) for _ in range(3)]
    ceiling = 2 * statistics.median(alone) / statistics.median(together)
    loads.append(load())

    print()
    print(
        "load average (1 min) during the runs: %s on %d cores"
        % (", ".join("%.1f" % x for x in loads), os.cpu_count())
    )
    print()
    print(
        "Medians of %d runs each, alternated; the speed-up is the ratio "
        "of the medians, with the range of the runs' own ratios (run k "
        "with 1 worker over run k with 2)" % SPEEDUP_RUNS
    )
    print()
    print(
        "| run | --workers 1 (s) | --workers 2 (s) | speed-up (range) | "
        "CPU s, 1 / 2 workers | identical outputs |"
    )
    print("|---|---:|---:|---:|---:|---|")
    for name, times, same, cpus in rows:
        ratios = [a / b for a, b in zip(times[1], times[2])]
        print(
            "| %s | %.1f | %.1f | %.2fx (%.2f-%.2f) | %s | %s |"
            % (
                name,
                statistics.median(times[1]),
                statistics.median(times[2]),
                speed_up(times),
                min(ratios),
                max(ratios),
                "%.1f / %.1f"
                % (statistics.median(cpus[1]), statistics.median(cpus[2]))
                if cpus
                else "",
                "" if same is None else same,
            )
        )
    print()
    print(
        "TACO hi-res file, whole `tfdp prune --keep-ratio 0.7`, median "
        "(range) of %d alternated runs: the threaded path %.2f s "
        "(%.2f-%.2f), default %.2f s (%.2f-%.2f), %.2fx; identical: %s"
        % (
            TACO_RUNS,
            threaded_s,
            min(threaded_runs),
            max(threaded_runs),
            default_s,
            min(default_runs),
            max(default_runs),
            threaded_s / default_s,
            taco_same,
        )
    )
    print()
    print(
        "| SA-1B-style folder (VOC masks) | files | masks | time (s) | "
        "masks/s per worker | masks per CPU s | driver peak (MiB) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, files, masks, seconds, cpu, peak in scale:
        print(
            "| %s | %d | %d | %.1f | %.0f | %.0f | %.0f |"
            % (
                name,
                files,
                masks,
                seconds,
                masks / seconds / 2,
                masks / cpu,
                peak,
            )
        )
    print()
    print(
        "a local cluster of 2 workers: importing Dask %.2f s, starting "
        "it %.2f s, closing it %.2f s; each worker's CPU time at start "
        "%.2f s and %.2f s" % tuple(cluster)
    )
    if not args.skip_coco:
        print()
        for k in range(SPEEDUP_RUNS):
            print(
                "COCO train2017 size, measuring, run %d: CPU of the "
                "process %.1f s with --workers 1; with --workers 2, the "
                "driver's %.1f s and its workers' %s s (the workers' "
                "start included)"
                % (
                    k + 1,
                    hook_cpu[1][k][0],
                    hook_cpu[2][k][0],
                    " and ".join("%.1f" % w for w in hook_cpu[2][k][1]),
                )
            )
    print()
    print(
        "driver peak memory, 1M masks over 250k masks: %.2fx "
        "(goal: flat)" % (scale[1][5] / scale[0][5])
    )
    print()
    print(
        "the machine's ceiling: the same single-threaded work takes "
        "%.2f s in one process alone (%s) and %.2f s in each of two at "
        "once (%s): two processes do %.2fx the work of one, the most any "
        "2-worker speed-up can reach here"
        % (
            statistics.median(alone),
            ", ".join("%.2f" % x for x in alone),
            statistics.median(together),
            ", ".join("%.2f" % x for x in together),
            ceiling,
        )
    )
    for name, times, _, _ in rows:
        print(
            "speed-up %s: %.2fx (goal: at least 1.7x; %.0f %% of the "
            "machine's ceiling)"
            % (name, speed_up(times), 100 * speed_up(times) / ceiling)
        )


def speed_up(times):
    """The ratio of the median times with 1 and 2 workers."""
    return statistics.median(times[1]) / statistics.median(times[2])


if __name__ == "__main__":
    main()
