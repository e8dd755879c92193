"""The study wall clock: on disk while the run trains, summed over resumes, stopped time left out."""

import os
import time

from tfnfrl import jsonio
from tfnfrl.training import wall_clock


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_the_clock_is_on_disk_while_the_run_trains_so_a_kill_keeps_it(tmp_path):
    path = str(tmp_path / "study_wall.json")
    clock = wall_clock.WallClock(path, interval=0.01, tick=0.005)
    for _ in range(500):  # The thread writes without stop(): what a SIGKILL would leave.
        if os.path.exists(path) and jsonio.read_json(path)["seconds"] > 0:
            break
        time.sleep(0.01)
    on_disk = jsonio.read_json(path)["seconds"]
    assert on_disk > 0
    final = clock.stop()
    assert final >= on_disk and jsonio.read_json(path)["seconds"] == final
    resumed = wall_clock.WallClock(path, interval=60)
    assert resumed.earlier == final and resumed.stop() >= final


def test_a_long_gap_between_ticks_counts_as_paused_not_as_training(tmp_path):
    path = str(tmp_path / "study_wall.json")
    fake = FakeClock()
    # A tick an hour long keeps the thread idle: the test ticks by hand.
    clock = wall_clock.WallClock(path, interval=3600, tick=1.0, pause_gap=10.0, clock=fake)
    for _ in range(5):  # 5 s of training, ticking on time.
        fake.now += 1.0
        clock.tick()
    fake.now += 8.0  # A slow tick, under the gap: still training.
    clock.tick()
    fake.now += 600.0  # SIGSTOP for ~10 minutes: the next tick comes 600 s late.
    clock.tick()
    fake.now += 2.0
    seconds = clock.stop()
    # 5 + 8 + (one tick's worth of the 600-s gap) + 2 s trained; 599 s paused.
    assert seconds == 16.0 and clock.paused_seconds() == 599.0
    assert jsonio.read_json(path) == {"seconds": 16.0, "paused_seconds": 599.0}
    # A resumed run adds to both.
    resumed = wall_clock.WallClock(path, interval=3600, tick=1.0, pause_gap=10.0, clock=fake)
    fake.now += 3.0
    resumed.tick()
    fake.now += 100.0  # Stopped, then killed: stop() itself accounts for the gap since the last tick.
    assert resumed.stop() == 16.0 + 4.0 and resumed.paused_seconds() == 599.0 + 99.0


def test_a_pause_right_before_stop_is_still_left_out(tmp_path):
    fake = FakeClock()
    clock = wall_clock.WallClock(str(tmp_path / "w.json"), interval=3600, tick=1.0, pause_gap=10.0, clock=fake)
    fake.now += 1200.0
    assert clock.stop() == 1.0 and clock.paused_seconds() == 1199.0
