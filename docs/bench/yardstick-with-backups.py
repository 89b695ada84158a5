#!/usr/bin/env python3
"""The batch yardstick (perf.py) with `loyalbatch backup` run back to back against the server for its whole
life, each backup deleted once written: what backups cost the normal path.

usage: YARDSTICKS=../shared/yardsticks python3 docs/bench/yardstick-with-backups.py BINARY cashback|customers
"""
import sys, runpy, subprocess, threading, os
YARDSTICKS = os.environ.get("YARDSTICKS", "../shared/yardsticks")
sys.path.insert(0, YARDSTICKS)
import lb
BIN = sys.argv.pop(1)
lb.build = lambda: BIN
backups = [0]
orig_start, orig_stop = lb.Server.start, lb.Server.stop
def start(self, *a, **k):
    r = orig_start(self, *a, **k)
    self._stop_bk = False
    def loop():
        n = 0
        while not self._stop_bk:
            to = os.path.join(self.dir, f"bk-{n}.db")
            p = subprocess.run([BIN, "backup", "--database-url", self.database_url, "--to", to], capture_output=True,
                               env=dict(os.environ, LOYALBATCH_LOG="warn"))
            if p.returncode == 0:
                backups[0] += 1
                os.remove(to)
            n += 1
    self._bk = threading.Thread(target=loop, daemon=True); self._bk.start()
    return r
def stop(self):
    self._stop_bk = True
    self._bk.join()
    orig_stop(self)
lb.Server.start, lb.Server.stop = start, stop
sys.argv[0] = "perf.py"
import atexit
atexit.register(lambda: print(f"backups taken during the run: {backups[0]}"))
runpy.run_path(os.path.join(YARDSTICKS, "perf.py"), run_name="__main__")
