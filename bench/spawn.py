"""Run one command as the child of this small process and report what it cost.

Usage: ``python -I -S spawn.py RESULT.json COMMAND [ARG ...]``

Why a separate launcher: Linux carries a process's peak RSS across ``exec``, so a
tap forked straight from the benchmark process would report the benchmark's own
size (tens of MB) as its peak whenever that is larger. Started with ``-I -S``,
this launcher stays under 10 MB, below every contender, so the ``wait4`` peak RSS
of its child is the tap's own.

The child inherits stdin, stdout and stderr. Wall time (``perf_counter`` around
spawn and reap), user and system CPU, peak RSS (KB) and the wait status are
written to RESULT.json after the child exits.
"""

from __future__ import annotations

import os
import sys
import time


def main() -> None:
    """Spawn, reap with ``wait4``, write the result file."""
    result_path, command = sys.argv[1], sys.argv[2:]
    started = time.perf_counter()
    pid = os.posix_spawn(command[0], command, os.environ)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    import json  # after the child ran: keeps the launcher small while it runs

    result = {
        "wall_s": wall,
        "user_s": usage.ru_utime,
        "sys_s": usage.ru_stime,
        "max_rss_kb": usage.ru_maxrss,
        "exit_code": os.waitstatus_to_exitcode(status),
    }
    with open(result_path, "w", encoding="utf-8") as out:  # noqa: PTH123 - no pathlib import
        json.dump(result, out)


if __name__ == "__main__":
    main()
