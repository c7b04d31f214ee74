"""Which engine measures a run, and how the work is cut into tasks.

A :class:`Runner` is created by the command from ``--workers`` and
``--scheduler`` and lives for one run. It picks the engine when it first
sees how much there is to measure:

- ``--workers 1``: in this process, one thread: the baseline;
- ``--scheduler ADDRESS`` (or ``TFDP_SCHEDULER``): that Dask cluster;
- ``--workers N`` (N > 1): a local Dask cluster of N single-threaded worker
  processes;
- by default: a local Dask cluster with one worker per core (when Dask is
  installed), unless the estimated single-process work is under
  :data:`CLUSTER_MIN_SECONDS`
  (starting the workers would cost more than they save). Such small runs
  stay in this process, on a few threads when the objects are large
  (:data:`THREADS_MIN_MEAN_AREA`), where OpenCV's work outweighs the
  Python work that holds the GIL, and on one thread otherwise. Dask is not
  imported then. :func:`tfdp.coco.measure` always measures so by default
  (``local_cluster=False``).

- :class:`Runner`: the engine of one run; measures a COCO file's
  instances in packed chunks (:mod:`tfdp.packed`)
- :func:`chunk_bounds`: how items are cut into tasks
"""

import math

from tfdp import packed
from tfdp.engine import cluster_installed, default_workers, make_engine

#: Estimated seconds of single-process measuring below which the default
#: run stays in this process: starting a local cluster, and its workers'
#: imports of OpenCV, would cost more than the workers save
CLUSTER_MIN_SECONDS = 5.0

#: Estimated single-thread cost of measuring one COCO instance: a fixed part
#: (Python work per record, validation included) and a part that grows with
#: its box (OpenCV's rasterising), fitted on many small polygons (a COCO
#: train2017-sized file) and on hi-res ones (TACO); they only choose an
#: engine, so a rough fit does
SECONDS_PER_INSTANCE = 70e-6
SECONDS_PER_BOX_PIXEL = 2.5e-10

#: Estimated single-thread cost per byte of SA-1B-style JSON (read, decode
#: the RLE masks, trace them): the size of a folder's files is known before
#: anything is read, and the cost follows it closely (fitted the same way)
SECONDS_PER_JSON_BYTE = 250e-9

#: Mean box area (pixels) from which threads pay in this process: below it,
#: per-instance Python work, which holds the GIL, outweighs OpenCV's
THREADS_MIN_MEAN_AREA = 100_000

#: Threads of the in-process engine for large objects
MAX_THREADS = 4

#: Bounds of a task: instances, and total box area in pixels. Each task
#: costs the driver of a local cluster some Dask work beside the workers, so
#: tasks are large; the box area bounds the rasterising work of a task, so
#: that hi-res instances make more, smaller tasks that finish together
MAX_CHUNK_INSTANCES = 32768
MIN_CHUNK_INSTANCES = 256
MAX_CHUNK_BOX_PIXELS = 200_000_000

#: Tasks per worker to aim for, so that the last tasks finish together
TASKS_PER_WORKER = 8

#: Measured chunks fetched from a cluster at once: each fetch is a round
#: trip, and a chunk's shapes are small (20 bytes per instance), so several
#: per request save round trips for little memory
RESULTS_PER_REQUEST = 16


class Runner(object):
    """Holds the engine of one run (see the module's documentation).

    Args:
        workers (None): worker processes; None for the default (all cores
            when the work pays for them)
        scheduler (None): a Dask scheduler address
        progress (None): a callable ``progress(done, total)``
        local_cluster (True): whether the default may start a local
            cluster; when False, it always measures in this process
        count_pixels (True): whether to count the mask pixels of COCO
            instances (the report's size buckets need them, scores do not);
            when False, their counts are -1
    """

    def __init__(
        self,
        workers=None,
        scheduler=None,
        progress=None,
        local_cluster=True,
        count_pixels=True,
    ):
        self.workers = workers
        self.scheduler = scheduler
        self.progress = progress
        self.local_cluster = local_cluster
        self.count_pixels = count_pixels
        self.engine = None

    def engine_for(self, seconds, mean_box_area=0.0):
        """The engine for an amount of work, started on first use.

        Args:
            seconds: the estimated single-thread seconds of the work
            mean_box_area (0.0): the mean box area of its instances

        Returns:
            an :class:`tfdp.engine.Engine`
        """
        name, threads = self._choose(seconds, mean_box_area)
        current = self.engine
        if current is not None:
            if current.name == "cluster" or name == "local":
                return current
            current.close()
        self.engine = make_engine(
            name,
            workers=self.workers,
            scheduler=self.scheduler,
            threads=threads,
        )
        return self.engine

    def _choose(self, seconds, mean_box_area):
        if self.workers == 1:
            return "local", 1
        if self.scheduler or self.workers:
            return "cluster", 1
        cores = default_workers()
        if (
            self.local_cluster
            and cores > 1
            and seconds >= CLUSTER_MIN_SECONDS
            and cluster_installed()
        ):
            return "cluster", 1
        if mean_box_area >= THREADS_MIN_MEAN_AREA:
            return "local", min(MAX_THREADS, cores)
        return "local", 1

    def close(self):
        """Closes the engine (shuts a local cluster down)."""
        engine, self.engine = self.engine, None
        if engine is not None:
            engine.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def measure_coco_jobs(self, jobs, progress=None):
        """Measures the eligible annotations of a COCO file.

        The measuring hook of :func:`tfdp.coco.measure`.

        Args:
            jobs: a list of ``(position, image index, category index,
                annotation id, width, height, segmentation, box area)``
            progress (None): a callable ``progress(done, total)``; the
                runner's own by default

        Returns:
            a :class:`tfdp.packed.MeasuredChunk` of the jobs, in order
        """
        if not jobs:
            return packed.MeasuredChunk.zeros(0)
        areas = [job[7] for job in jobs]
        total_area = float(sum(areas))
        seconds = (
            len(jobs) * SECONDS_PER_INSTANCE
            + total_area * SECONDS_PER_BOX_PIXEL
        )
        engine = self.engine_for(seconds, total_area / len(jobs))
        bounds = chunk_bounds(areas, engine.workers)
        handles = engine.map(
            packed.chunk_shapes,
            (pack_jobs(jobs[a:b], self.count_pixels) for a, b in bounds),
            weights=[b - a for a, b in bounds],
            progress=progress or self.progress,
        )
        return packed.MeasuredChunk.concatenate(
            engine.results(handles, batch=RESULTS_PER_REQUEST)
        )


def pack_jobs(jobs, count_pixels):
    """Packs jobs of :func:`tfdp.coco.measure` (see
    :meth:`Runner.measure_coco_jobs`) as one
    :class:`tfdp.packed.PackedSegmentations`."""
    return packed.pack(
        [job[6] for job in jobs],
        [job[4] for job in jobs],
        [job[5] for job in jobs],
        count_pixels,
    )


def chunk_bounds(costs, workers):
    """Cuts items into contiguous tasks.

    Each task has at most :data:`MAX_CHUNK_INSTANCES` items and, unless it
    has a single item, at most :data:`MAX_CHUNK_BOX_PIXELS` of cost; there
    are about :data:`TASKS_PER_WORKER` tasks per worker when the items
    allow it.

    Args:
        costs: per-item costs (box areas)
        workers: how many tasks run at once

    Returns:
        a list of ``(start, end)``
    """
    n = len(costs)
    size = math.ceil(n / max(1, workers * TASKS_PER_WORKER))
    size = max(MIN_CHUNK_INSTANCES, min(MAX_CHUNK_INSTANCES, size))
    total = float(sum(costs))
    budget = max(total / max(1, workers * TASKS_PER_WORKER), 1.0)
    budget = min(budget, MAX_CHUNK_BOX_PIXELS)
    bounds = []
    start = 0
    cost = 0.0
    for i, c in enumerate(costs):
        if i > start and (i - start >= size or cost + c > budget):
            bounds.append((start, i))
            start, cost = i, 0.0
        cost += c
    if start < n:
        bounds.append((start, n))
    return bounds
