"""A run's training wall time, kept on disk across kills and resumes, with stopped time left out.

A study's queue is paused with SIGSTOP while CI or a benchmark needs the machine, and a stopped
process's clocks keep running: measured naively, a run paused for 20 minutes reports 20 minutes
more than it trained. The clock thread ticks once a second; a gap between ticks far longer than
that means the process was stopped (or the machine suspended), so the gap counts as paused.
"""

import os
import threading
import time

from tfnfrl import jsonio

# How often the file is rewritten: a kill -9 (or a session's end) loses at most this much.
WRITE_SECONDS = 30.0
TICK_SECONDS = 1.0
# A tick this late was not delayed by a busy process (TF releases the GIL; Python switches
# threads every few milliseconds): the process was not running.
PAUSE_GAP_SECONDS = 10.0


class WallClock:
    """Keeps `path` holding {"seconds": active seconds, "paused_seconds": stopped seconds}, summed
    over every invocation of the run, rewritten every `interval` seconds from a daemon thread and at
    `stop()`, so a run killed with SIGKILL keeps its time.

    `clock` is the monotonic time source in seconds (injectable for tests).
    """

    def __init__(self, path, interval=WRITE_SECONDS, tick=TICK_SECONDS, pause_gap=PAUSE_GAP_SECONDS,
                 clock=time.monotonic):
        self._path, self._interval, self._tick_seconds, self._pause_gap = path, interval, tick, pause_gap
        self._clock = clock
        saved = jsonio.read_json(path) if os.path.exists(path) else {}
        self.earlier = saved.get("seconds", 0.0)
        self.paused_earlier = saved.get("paused_seconds", 0.0)
        self._start = self._last_tick = self._last_write = clock()
        self._paused = 0.0
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="study-wall-clock", daemon=True)
        self._thread.start()

    def tick(self):
        """Note the time; a gap since the last tick longer than `pause_gap` counts as paused."""
        with self._lock:
            now = self._clock()
            gap = now - self._last_tick
            if gap > self._pause_gap:
                self._paused += gap - self._tick_seconds
            self._last_tick = now
            return now

    def seconds(self):
        """Active seconds so far, over all invocations (up to the last tick's pause accounting)."""
        with self._lock:
            return self.earlier + self._clock() - self._start - self._paused

    def paused_seconds(self):
        """Seconds the process was seen stopped, over all invocations."""
        with self._lock:
            return self.paused_earlier + self._paused

    def _write(self):
        seconds = self.seconds()
        jsonio.write_json(self._path, {"seconds": seconds, "paused_seconds": self.paused_seconds()})
        return seconds

    def _loop(self):
        while not self._stopped.wait(self._tick_seconds):
            now = self.tick()
            if now - self._last_write >= self._interval:
                self._write()
                self._last_write = now

    def stop(self):
        """Stop the thread, account for a pause just ended, write the final seconds; returns them."""
        self._stopped.set()
        self._thread.join()
        self.tick()
        return self._write()
