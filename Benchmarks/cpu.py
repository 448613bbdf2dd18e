#!/usr/bin/env python3
"""make bench: CPU time per command of each process over one figure, from two snapshots of
`<name> <utime+stime ticks>` lines (/proc/<pid>/stat) taken before and after it.

  cpu.py BEFORE AFTER COMMANDS CLK_TCK     # prints one JSON line"""
import json, sys

before = dict(line.split() for line in open(sys.argv[1]))
after = dict(line.split() for line in open(sys.argv[2]))
commands, tick_ms = int(sys.argv[3]), 1000 / int(sys.argv[4])
per = {name.removeprefix("bench-"): round((int(after[name]) - int(before.get(name, 0))) * tick_ms / commands, 3) for name in after}
print(json.dumps({"commands": commands, "cpu_ms_per_command": per, "total_ms_per_command": round(sum(per.values()), 3)}))
