"""Annotate on a Dask cluster: the coding moves to worker processes, nothing else changes.

The driver (the `themekit annotate` process) streams the input exactly as a single-process
run does, through `annotate_file`: it parses the records, sends bad ones to the errors
file with their line numbers, counts and checks ids, and writes the output through the
same atomic or checkpoint writers, so every promise of a single-process run holds. Only
the good records travel: in partitions of `partition_size` records, submitted in input
order with at most `IN_FLIGHT_PER_WORKER` partitions per worker at a time (the driver's
memory stays flat whatever the corpus's size), and their coded lines are written back in
the same order. Streaming from the driver instead of handing workers byte ranges works for
every input the single-process run reads (CSV with multi-line cells, .gz/.zst, Parquet,
stdin), and parsing a record costs a few microseconds against the milliseconds its coding
takes.

Each worker builds the pipeline once from a `PipelineSpec` (the settings, not a pickled
pipeline: a model stays on disk and the encoder loads at the first document) and keeps it.
A worker that dies has its partitions run again elsewhere (Dask's
`distributed.scheduler.allowed-failures`, 3 by default); a partition that raises is tried
`RETRIES` more times. A partition that still fails stops the job with a `ClusterError`,
and the output is not written.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spacy.language import Language
from spacy.util import minibatch

from themekit.annotate import code_records
from themekit.codebook import load_codebook
from themekit.errors import ClusterError, SettingError, ThemekitError
from themekit.io.records import Record, json_line
from themekit.nlp.pipeline import build_pipeline

if TYPE_CHECKING:
    from distributed import Client, Future

DEFAULT_PARTITION_SIZE = 512
"""Records per task: large enough that Dask's per-task cost (a few milliseconds) is lost
in the coding, small enough that the progress bar moves and a retry repeats little. A
partition is always whole `nlp.pipe` batches (see `ClusterCoder`)."""
IN_FLIGHT_PER_WORKER = 2
"""Partitions submitted but not yet written, per worker: one coding, one waiting, so no
worker idles while the driver writes; more only holds more records in memory."""
RETRIES = 2
"""Further tries of a partition whose task raised (a worker's death is counted by Dask's
own `allowed-failures` instead)."""
DASK_EXTRA = "pip install 'themekit[dask]'"


@dataclass(frozen=True)
class PipelineSpec:
    """What each worker builds its pipeline from: `build_pipeline`'s settings, with the
    codebook and model as absolute paths (or the codebook as a name a plugin registers), so
    that a worker on another machine builds the same pipeline from a shared file system.
    `torch_threads` caps torch's threads in each worker process."""

    codebook: str
    model: str | None = None
    combine: str | None = None
    quantize: bool = False
    rules_only: bool = False
    torch_threads: int | None = 1

    @classmethod
    def of(cls, codebook: str, model: str | Path | None = None, **settings: Any) -> PipelineSpec:
        """The spec of the pipeline `build_pipeline(load_codebook(codebook), model, ...)`
        builds here, paths made absolute."""
        if Path(codebook).is_file():
            codebook = str(Path(codebook).resolve())
        return cls(codebook, str(Path(model).resolve()) if model else None, **settings)

    def build(self) -> Language:
        if self.torch_threads and not self.rules_only:
            import torch

            torch.set_num_threads(self.torch_threads)
        return build_pipeline(load_codebook(self.codebook), self.model, combine=self.combine,
                              quantize=self.quantize, rules_only=self.rules_only)


_PIPELINES: dict[PipelineSpec, Language] = {}
_LOCK = threading.Lock()


def code_partition(spec: PipelineSpec, records: list[Record], text_field: str, redact: bool,
                   batch_size: int) -> list[str]:
    """The task a worker runs: the records coded into output lines, by the pipeline this
    worker process built for `spec` at its first task. One partition codes at a time in a
    process (a worker given several threads gains nothing: torch has them)."""
    with _LOCK:
        try:
            nlp = _PIPELINES.get(spec)
            if nlp is None:
                nlp = _PIPELINES[spec] = spec.build()
            return [json_line(data) for data in code_records(
                nlp, records, text_field=text_field, redact=redact, batch_size=batch_size)]
        except ThemekitError as exc:  # a file missing on this machine, a plugin not installed
            # re-raised with its message only: every error type pickles back to the driver
            raise ClusterError(f"on worker {_worker_address()}: {exc}") from None


def _worker_address() -> str:
    from distributed import get_worker

    try:
        return get_worker().address
    except ValueError:  # not in a worker (called directly)
        return f"pid {os.getpid()}"


def peak_memory() -> int:
    """This process's peak resident memory in bytes (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class ClusterCoder:
    """The `coder` of `annotate_file` that codes on a Dask cluster: good records in,
    coded output lines out, in input order.

    `partition_size` is rounded up to whole batches of `batch_size`, so that each worker
    batches the records exactly as one process would: the model encodes a batch's texts
    padded together, and a score can move in its last digit (0.1563 or 0.1562) with the
    texts it was batched with."""

    def __init__(self, client: Client, spec: PipelineSpec, *, text_field: str = "text",
                 redact: bool = False, batch_size: int = 256,
                 partition_size: int = DEFAULT_PARTITION_SIZE) -> None:
        self.client = client
        self.spec = spec
        self.text_field = text_field
        self.redact = redact
        self.batch_size = batch_size
        self.partition_size = -(-partition_size // batch_size) * batch_size

    def __call__(self, records: Iterator[Record]) -> Iterator[str]:
        pending: deque[tuple[int, int, Future]] = deque()
        try:
            for part in minibatch(records, size=self.partition_size):
                pending.append((part[0].line, part[-1].line, self.client.submit(
                    code_partition, self.spec, part, self.text_field, self.redact,
                    self.batch_size, retries=RETRIES, pure=False)))
                while len(pending) >= self._in_flight():
                    yield from self._result(*pending.popleft())
            while pending:
                yield from self._result(*pending.popleft())
        finally:  # stopped early (an error, Ctrl-C): drop the partitions still queued
            if pending:
                with contextlib.suppress(Exception):
                    self.client.cancel([future for *_, future in pending])

    def _in_flight(self) -> int:
        """Asked per partition, so a cluster that grows while the job runs gets used."""
        return IN_FLIGHT_PER_WORKER * max(1, len(self.client.scheduler_info()["workers"]))

    def _result(self, first: int, last: int, future: Future) -> list[str]:
        from distributed import KilledWorker

        try:
            return future.result()
        except KilledWorker as exc:
            raise ClusterError(
                f"input lines {first}-{last}: every worker that coded them "
                f"died ({exc.allowed_failures + 1} tries, the last on "
                f"{exc.last_worker.address}; Dask's distributed.scheduler.allowed-failures), "
                "so the job stopped and wrote no output; the workers' logs say why (often "
                "memory: see docs/scaling.md)") from exc
        except OSError as exc:  # the connection to the scheduler is gone
            raise ClusterError(f"lost the Dask scheduler while coding input lines "
                               f"{first}-{last} ({exc}); no output was "
                               "written") from exc

    def describe(self) -> str:
        """The cluster in a line: its workers, its scheduler and its dashboard, if any."""
        info = self.client.scheduler_info()
        dashboard = (f", dashboard {self.client.dashboard_link}"
                     if "dashboard" in info.get("services", {}) else "")
        return (f"Dask: {len(info['workers'])} worker(s), scheduler "
                f"{self.client.scheduler.address}{dashboard}")

    def peak_memory(self) -> dict[str, int]:
        """Each worker's peak resident memory in bytes, by worker address."""
        return self.client.run(peak_memory)


def require_dask() -> None:
    """Fail before any work when the dask extra is not installed."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ClusterError(f"coding on Dask workers needs the dask extra: {DASK_EXTRA}") \
            from None


LOCAL_WORKER_PRELOAD = ["distributed", "themekit.distributed", "spacy_transformers"]
"""What the process that local workers are forked from imports once: spaCy, themekit, and
spacy-transformers with torch (which `spacy.blank` imports through spaCy's registries)."""


def start_local_worker_parent() -> None:
    """Start, now, the process that the workers of a local cluster are forked from (a
    multiprocessing forkserver), so that it imports what `LOCAL_WORKER_PRELOAD` names
    while this process builds its own pipeline; each worker then starts with those imports
    done instead of repeating them (seconds each). The forkserver is single-threaded and
    has run nothing but imports, so forking it is safe where forking this process (its
    event-loop thread, torch's threads) is not. Runs once per process."""
    import multiprocessing.forkserver

    import dask
    from distributed.utils import get_mp_context

    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        get_mp_context().set_forkserver_preload(LOCAL_WORKER_PRELOAD)  # after Dask's own
    multiprocessing.forkserver.ensure_running()


@contextlib.contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None) -> Iterator[Client]:
    """A client of the running cluster whose scheduler is at `scheduler`, or else of a new
    cluster of `workers` processes (one thread each) on this machine, stopped on leaving."""
    require_dask()
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler)  # waits distributed.comm.timeouts.connect
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") \
                from exc
        with client:
            yield client
        return
    if not workers or workers < 1:
        raise SettingError("workers", f"a local cluster needs at least one worker, got {workers}")
    start_local_worker_parent()
    # workers (and the nanny's restarts of them) forked from the forkserver; a free port for
    # the dashboard (when bokeh is installed), not a clash with another job
    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                         dashboard_address=":0", silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        yield client


@contextlib.contextmanager
def cluster_coder(spec: PipelineSpec, *, workers: int | None = None,
                  scheduler: str | None = None, partition_size: int | None = None,
                  **settings: Any) -> Iterator[ClusterCoder]:
    """A `ClusterCoder` on the cluster `dask_client` gives for `workers` or `scheduler`;
    `settings` are its text_field, redact and batch_size."""
    with dask_client(workers, scheduler) as client:
        yield ClusterCoder(client, spec, partition_size=partition_size or DEFAULT_PARTITION_SIZE,
                           **settings)
