"""A stand-in editor for the collector tests, run through a link named ``timeline-studio``.

Reads one command per line on stdin and answers one line on stdout:
  spawn NAME MODE [ARG]  start ``<bin dir>/NAME`` (a python link) as a child; MODE is
                         ``idle``, ``burn`` (busy loop) or ``write`` (write ARG bytes to a file,
                         fsync, then idle); answers the child's pid once it is ready
  spawn-sh NAME          start ``sh -c '<bin dir>/NAME ...; :'`` so NAME is a grandchild;
                         answers the shell's pid
  wait PID               reap that child; answers ``reaped``
Children idle by reading their stdin, so they exit when this process dies.
"""

import os
import subprocess
import sys

BIN = sys.argv[1]  # the folder holding the links (timeline-studio, ffmpeg...)

CHILD = {
    "idle": "import sys\nprint('ready', flush=True)\nsys.stdin.read()",
    "burn": "print('ready', flush=True)\nwhile True: pass",
    "write": (
        "import os, sys\n"
        "with open(sys.argv[1], 'wb') as f:\n"
        "    f.write(b'x' * int(sys.argv[2])); f.flush(); os.fsync(f.fileno())\n"
        "print('ready', flush=True)\n"
        "sys.stdin.read()"
    ),
}


def main() -> None:
    children: dict[int, subprocess.Popen[bytes]] = {}
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "spawn":
            name, mode, *rest = args
            extra = [os.path.join(BIN, f"{name}.out"), *rest] if mode == "write" else []
            child = subprocess.Popen(
                [os.path.join(BIN, name), "-c", CHILD[mode], *extra],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            )
            assert child.stdout is not None
            child.stdout.readline()
            children[child.pid] = child
            print(child.pid, flush=True)
        elif cmd == "spawn-sh":
            inner = f"{os.path.join(BIN, args[0])} -c 'import sys; sys.stdin.read()'; :"
            child = subprocess.Popen(["/bin/sh", "-c", inner], stdin=subprocess.PIPE)
            children[child.pid] = child
            print(child.pid, flush=True)
        elif cmd == "wait":
            children.pop(int(args[0])).wait()
            print("reaped", flush=True)


main()
