"""The Dask engine of zoolib: zoo generation (zoolib.generate) and the book's experiments run their tasks
on `dask_client()`, an embedded LocalCluster of single-threaded worker processes (one per core), or the
cluster whose scheduler address is given (`$ZOOLIB_SCHEDULER`, `make ... SCHEDULER=tcp://host:8786`).

A local worker imports TensorFlow when it starts, with its stderr muted for the import only: TensorFlow
prints start-up notices from C++ at import (absl's "All log messages before absl::InitializeLog() ...",
oneDNN's "custom operations are on"), which would otherwise reach the terminal once per worker. An error
of the import still raises, and everything a worker writes after it is shown.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading

SCHEDULER_ENV = "ZOOLIB_SCHEDULER"  # a Dask scheduler address (tcp://host:8786) for generation and experiments


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None):
    """A Dask client: of the cluster at `scheduler` (default $ZOOLIB_SCHEDULER), else of a LocalCluster of
    `workers` single-threaded processes (default one per core) that start TensorFlow quietly."""
    from dask.distributed import Client, LocalCluster

    scheduler = scheduler or os.environ.get(SCHEDULER_ENV)
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    n = workers or os.cpu_count() or 1
    with _main_script_not_rerun(), contextlib.ExitStack() as stack:
        with _ctrl_c_for_this_process_only():
            cluster = stack.enter_context(LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",  # loopback, any port
                silence_logs=logging.ERROR))
        client = stack.enter_context(Client(cluster))
        client.register_worker_callbacks(setup=quiet_tensorflow_start)  # every worker, restarted ones too
        yield client


def quiet_tensorflow_start() -> None:
    """A local worker's start: import TensorFlow with fd 2 on /dev/null (see the module's docstring), its C++
    INFO lines off ($TF_CPP_MIN_LOG_LEVEL 1 unless set)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    quiet_import("tensorflow")


def quiet_import(module: str) -> None:
    """Import `module` with this process's stderr file descriptor pointed at /dev/null meanwhile (C and C++
    libraries write there directly); a failing import still raises its Python exception."""
    if module in sys.modules:
        return
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        __import__(module)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


@contextlib.contextmanager
def _ctrl_c_for_this_process_only():
    """Start worker processes with SIGINT ignored (an ignored signal stays ignored in a spawned process, and
    Python then installs no KeyboardInterrupt handler there), so that Ctrl-C, which the terminal sends to
    every process of the command, stops this one alone: it closes the cluster, and the workers print no
    KeyboardInterrupt tracebacks. Only the main thread can set a handler; a Ctrl-C in the second or so
    the workers take to start is ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _main_script_not_rerun():
    """While the block runs, spawned processes do not run the parent's main script again.

    Dask starts local workers with multiprocessing's "spawn", which re-runs `python SCRIPT.py`'s script
    in every new process (as `__mp_main__`): a page run as a script would start a cluster inside each
    worker ("bootstrapping phase"). With `__main__.__file__` hidden, spawn starts workers as it does under
    Jupyter, whose `__main__` has no file; tasks are zoolib functions, imported by name. A main module
    run with `-m` is re-imported by name and its `if __name__ == "__main__"` guard holds, so it stays.
    """
    main = sys.modules.get("__main__")
    script = getattr(main, "__file__", None) if getattr(main, "__spec__", None) is None else None
    if script is None:
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = script
