"""Training jobs in worker processes on this machine's CPU cores (runner.run_local's pool).

On a CPU, one process per core at one thread each beats one process with a thread per core:
a fused job's tensors are small (64 contexts per slot), so intra-op threads spend much of a
step waiting on each other (docs/BENCHMARKS.md 8). The jobs are independent, so `workers`
processes take them longest first, each as soon as it is free; the parent records and
freezes every job's outputs as it arrives, exactly as the one-process loop does.

Workers are spawned (not forked: a fork of a process whose OpenMP threads have run can hang)
and inherit the environment, so a --data-dir reaches their loaders.
"""
from __future__ import annotations

import multiprocessing
import queue
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from . import fusion
from .errors import BuildError

_PROGRESS = None  # the worker's end of the progress queue


def _start_worker(threads: int, progress_queue) -> None:
    global _PROGRESS
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    torch.set_num_threads(threads)
    _PROGRESS = progress_queue


def _train(number: int, job: fusion.Job, units: list) -> tuple[list, float]:
    def progress(done: int, total: int) -> None:
        _PROGRESS.put((number, done, total))

    return fusion.timed_run_job(job, units, progress)


def job_cost(job: fusion.Job, units: list) -> float:
    """A rough size of a job: seeds x steps of its lanes (a solo unit: its seeds x its
    steps, or x its largest checkpoint)."""
    if job.solo:
        config = units[job.units[0]].config
        steps = config.get("steps") or max(config.get("checkpoints") or [1])
        return len(units[job.units[0]].seeds) * float(steps)
    return sum(job.plan.seed_count(lane) * float(lane.config.get("steps", 1))
               for lane in job.lanes)


def run_jobs(jobs: list[fusion.Job], units: list, workers: int, threads: int,
             on_done, on_progress=None) -> None:
    """Train `jobs` in `workers` processes of `threads` torch threads each.
    on_done(job, outputs, seconds) runs here, in the parent, as each job finishes;
    on_progress(job, done, total) as workers report steps, and (job, None, None) at its end.
    A failed job (or a worker killed, e.g. out of memory: BrokenProcessPool) stops the pool
    and its error is raised here; so is Ctrl-C, which only this process handles. Either way
    the workers are stopped at once, not after their current job."""
    # solo units first (their cost is hard to guess: the estimators take minutes on few
    # steps), then the fused jobs largest first, so that the last to start are small
    order = sorted(range(len(jobs)), key=lambda i: (not jobs[i].solo, -job_cost(jobs[i], units)))
    context = multiprocessing.get_context("spawn")
    reports = context.Queue()
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                               initargs=(threads, reports))
    try:
        pending = {pool.submit(_train, i, jobs[i], units): i for i in order}
        while pending:
            _drain(reports, jobs, on_progress)
            for future in [f for f in pending if f.done()]:
                i = pending.pop(future)
                try:
                    outputs, seconds = future.result()  # a worker's error is raised here
                except BrokenProcessPool as err:
                    raise BuildError(
                        f"a training process ended abruptly ({err}); it may have run out of "
                        "memory (see `dmesg`): build again with fewer --workers. Every "
                        "experiment frozen before it is kept.") from err
                if on_progress:
                    on_progress(jobs[i], None, None)
                on_done(jobs[i], outputs, seconds)
    except BaseException:
        # Python 3.14 has pool.terminate_workers(); before it, the pool's own process table
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _drain(reports, jobs: list, on_progress) -> None:
    """Pass on the workers' step reports; waits up to 0.1 s for the first."""
    timeout = 0.1
    while True:
        try:
            number, done, total = reports.get(timeout=timeout)
        except queue.Empty:
            return
        timeout = 0
        if on_progress:
            on_progress(jobs[number], done, total)
