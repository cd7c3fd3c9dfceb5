"""Run a command and record its wall time and peak resident memory (wait4) as JSON.

    python _rusage_exec.py RESULT.json COMMAND [ARGS...]

Used as Brian2's ``run_cmd_unix`` so that the standalone binary's own peak memory is measured,
apart from the Python process that generated it. Exits with the command's status.
"""

import json
import os
import sys
import time

out, cmd = sys.argv[1], sys.argv[2:]
t = time.perf_counter()
pid = os.posix_spawn(cmd[0], cmd, dict(os.environ))
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - t
with open(out, "w") as f:
    json.dump({"wall_s": wall, "maxrss_kb": usage.ru_maxrss, "user_s": usage.ru_utime, "sys_s": usage.ru_stime}, f)
sys.exit(os.waitstatus_to_exitcode(status))
