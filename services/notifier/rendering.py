"""Messages rendered in worker processes: an offer's email (its QR code above all) is pure
Python work that would otherwise hold the event loop, and the consumer, the SMTP connections
and Kafka's acknowledgements wait on that loop. A worker renders while the loop goes on, on
another core when there is one.

Workers start on first use (a replay that mails nothing starts none) and end with the
notifier: each watches the process that started it and exits once that is gone (a kill -9
leaves no worker behind). A pool whose worker died is made again, and that message rendered
on the loop; with NOTIFIER_RENDER_PROCESSES=0 every message is.

A worker flattens the message too (what DATA carries: see adapters/smtp.py's FlatMessage):
that is the other half of a message's pure Python work, and the loop then takes back a few
bytes rather than unpickling a tree of parts and headers.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from email.message import EmailMessage
from typing import Any

from services.notifier.adapters.smtp import FlatMessage


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _worker_started(parent: int) -> None:
    threading.Thread(target=_exit_with, args=(parent,), name="parent", daemon=True).start()


def _rendered_flat(render: Callable[..., EmailMessage], *args: Any) -> EmailMessage:
    """In a worker: the message, flattened (one the mailer could not send is left as it is,
    for the mailer to say why)."""
    message = render(*args)
    try:
        return FlatMessage.of(message)
    except ValueError:
        return message


class Renderer:
    def __init__(self, processes: int) -> None:
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self._processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_started,
                initargs=(os.getpid(),),
            )
        return self._pool

    async def __call__(self, render: Callable[..., EmailMessage], *args: Any) -> EmailMessage:
        """`render(*args)`, in a worker (render and its arguments are pickled), flattened."""
        if self._processes == 0:
            return render(*args)
        pool = self._started()
        try:
            return await asyncio.get_running_loop().run_in_executor(
                pool, _rendered_flat, render, *args
            )
        except BrokenProcessPool:
            if self._pool is pool:
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            return render(*args)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
