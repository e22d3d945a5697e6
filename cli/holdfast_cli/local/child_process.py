"""A child process that does not outlive this one: Java must stop even if Python is killed.

``atexit`` handlers do not run on SIGKILL; on Linux the kernel can send the child a signal
when its parent dies instead (``prctl(PR_SET_PDEATHSIG)``), set between fork and exec.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable


def parent_death_signal_setter() -> Callable[[], None] | None:
    """On Linux, a ``preexec_fn`` that makes the kernel send SIGTERM to the child when
    this process dies (even by SIGKILL, where ``atexit`` never runs); else ``None``.

    The signal fires when the *thread* that spawned the child exits, so it is only used
    when starting from the main thread.
    """
    if not sys.platform.startswith("linux"):
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def set_pdeathsig() -> None:  # runs in the child between fork and exec
        prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return set_pdeathsig
