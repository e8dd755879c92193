"""Clean worker processes: code that must not share a process with TensorFlow runs here.

Why: under `MUJOCO_GL=egl` with Mesa, building an OGBench manipulation env imports
`dm_control`, which opens an EGL display and so loads Mesa's DRI driver and its `libLLVM`
into the process, with their symbols global. TensorFlow bundles its own LLVM and exports
thousands of `llvm::` symbols; loaded afterwards, its libraries bind to Mesa's LLVM instead
and crash in their static initialisers (segfault, exit 139); loaded before, the process
aborts at exit (134). So envs live in other processes.

How: `Worker` starts `python -c "...worker_process.main()"` through `subprocess`, not
`multiprocessing`: multiprocessing's 'spawn' and 'forkserver' children re-import the
parent's `__main__` module (a launch script that imports TensorFlow at its top), which
would bring TensorFlow into the worker; 'fork' would copy a TensorFlow process. The child
imports only what its target needs. Parent and child talk over a socket pair wrapped in
`multiprocessing.connection.Connection` (pickled messages). The child's stdout goes to the
parent's stderr (fd 2), so worker prints never mix with the parent's stdout.

Failure handling (nothing hangs): a worker that dies closes its end of the socket, so the
parent's receive sees EOF at once and raises `WorkerError` with the exit code or signal;
a worker that does not answer within `timeout` seconds is killed and reported the same
way; an exception inside the worker is sent back (type, message, traceback) and re-raised
in the parent as `WorkerError`, the worker staying usable. The child ignores SIGINT (the
parent handles Ctrl-C and closes it) and exits when the parent goes away (EOF).

Protocol (`serve`): the parent sends `(command, args, kwargs)`; the worker answers
`("ok", result)` or `("error", text)`; `("close",)` ends the loop. `call_in_worker` runs
one function in a fresh worker and returns its result, passing large numpy arrays as raw
buffers (pickle protocol 5, out of band) rather than one huge pickle.
"""

import importlib
import os
import pickle
import signal
import socket
import subprocess
import sys
import traceback
from multiprocessing import connection as mp_connection

# The child's entry point: `python -c _BOOTSTRAP <fd>` (no `-m`, which would import this
# module twice: once as part of its package, once as __main__).
_BOOTSTRAP = ("import sys; from tfnfrl.envs import worker_process; "
              "worker_process.main(int(sys.argv[1]))")
# Seconds to wait for a worker to exit after "close" before killing it.
_CLOSE_WAIT = 5.0


class WorkerError(RuntimeError):
    """A worker process died, did not answer in time, or raised an exception."""


def _package_root():
    """The directory holding the `tfnfrl` package (put on the child's PYTHONPATH)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def function_name(function):
    """'module:qualname' of a module-level function (how a worker finds it)."""
    name = f"{function.__module__}:{function.__qualname__}"
    if "<" in function.__qualname__ or function.__module__ == "__main__":
        raise ValueError(
            f"Worker targets must be module-level functions of an importable module; "
            f"received {name}."
        )
    return name


def resolve_function(name):
    """The function named 'module:qualname'."""
    module_name, qualname = name.split(":")
    target = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def describe_exit(returncode):
    """'exit code 1' / 'killed by signal SIGKILL' (+ a hint for segfaults)."""
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        text = f"killed by signal {name}"
        if -returncode == signal.SIGSEGV:
            text += (" (a segmentation fault; under MUJOCO_GL=egl this is what TensorFlow and "
                     "Mesa's EGL driver in one process do)")
        return text
    return f"exit code {returncode}"


def send_large(conn, obj):
    """Sends `obj` with its numpy arrays as raw out-of-band buffers (pickle protocol 5)."""
    buffers = []
    header = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    raws = [buffer.raw() for buffer in buffers]
    conn.send((header, [raw.nbytes for raw in raws]))
    for raw in raws:
        conn.send_bytes(raw)


def recv_large(conn):
    """Receives what `send_large` sent; arrays come back writable."""
    header, sizes = conn.recv()
    buffers = []
    for size in sizes:
        buffer = bytearray(size)
        conn.recv_bytes_into(buffer)
        buffers.append(buffer)
    return pickle.loads(header, buffers=buffers)


class Worker:
    """One clean Python process running `target(conn, *args)` (see the module docstring).

    Args:
      target: 'module:function' of a module-level function taking (conn, *args); it runs
        in the child after the child has put the parent's sys.path entries on its own.
      args: picklable arguments.
      name: how errors name this worker, e.g. "env worker 1 of cube-single-play-v0".
    """

    def __init__(self, target, args=(), name="worker"):
        self.name = name
        parent_socket, child_socket = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [_package_root()] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _BOOTSTRAP, str(child_socket.fileno())],
                pass_fds=(child_socket.fileno(),),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=sys.__stderr__.fileno() if sys.__stderr__ else subprocess.DEVNULL,
            )
        finally:
            child_socket.close()  # The child holds the only other end: its death means EOF here.
        self.conn = mp_connection.Connection(parent_socket.detach())
        self.send(target, [p for p in sys.path if p], args)

    @property
    def pid(self):
        return self.process.pid

    def send(self, *message, what=None):
        """Sends one message; a dead worker raises WorkerError (naming `what` the command was for)."""
        try:
            self.conn.send(message)
        except (OSError, ValueError) as error:  # BrokenPipe / closed connection.
            raise self._died(f"receiving the command for {what}" if what else "receiving a command") from error

    def _died(self, what):
        try:
            returncode = self.process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            returncode = None
        return WorkerError(f"{self.name} [pid {self.pid}] died ({describe_exit(returncode)}) "
                           f"while {what}.")

    def receive(self, timeout, what, large=False):
        """The worker's next answer; raises WorkerError if it died, timed out or failed.

        Args:
          timeout: seconds to wait (None: forever; a dead worker is still seen at once).
          what: what the worker is doing, for the error message ("stepping env indices [3]").
          large: the answer was sent with `send_large`.
        """
        if not mp_connection.wait([self.conn], timeout):
            self.kill()
            raise WorkerError(f"{self.name} [pid {self.pid}] did not answer within {timeout} s "
                              f"while {what}; it was killed.")
        try:
            status, payload = recv_large(self.conn) if large else self.conn.recv()
        except (EOFError, OSError) as error:
            raise self._died(what) from error
        if status == "error":
            raise WorkerError(f"{self.name} failed while {what}: {payload}")
        return payload

    def close(self, wait=_CLOSE_WAIT):
        """Asks the worker to exit, kills it if it does not within `wait` seconds."""
        if self.process.poll() is None:
            try:
                self.conn.send(("close",))
            except (OSError, ValueError):
                pass
            try:
                self.process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                self.kill()
        self.conn.close()

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def error_text(error):
    """The "Type: message" of `error` plus the current traceback, as workers report it."""
    return f"{type(error).__name__}: {error}\n--- worker traceback ---\n{traceback.format_exc()}"


def serve(conn, handler):
    """The worker's command loop: `handler.<command>(*args, **kwargs)` for each message.

    Answers ("ok", result) or ("error", text); returns on ("close",) or when the parent
    is gone. Only public methods of `handler` can be called.
    """
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "close":
            return
        command, args, kwargs = message
        try:
            if command.startswith("_"):
                raise ValueError(f"Unknown worker command {command!r}.")
            result = getattr(handler, command)(*args, **kwargs)
        except Exception as error:  # pylint: disable=broad-except
            conn.send(("error", error_text(error)))
            continue
        conn.send(("ok", result))


def _call_once(conn, function, args):
    """Worker target of `call_in_worker`: runs `function(*args)` and sends the result."""
    try:
        result = ("ok", resolve_function(function)(*args))
    except Exception as error:  # pylint: disable=broad-except
        result = ("error", error_text(error))
    send_large(conn, result)


def call_in_worker(function, *args, timeout=None, name=None):
    """Runs `function(*args)` in a fresh clean worker process and returns its result.

    Args:
      function: a module-level function (it is imported by name in the worker).
      *args: picklable arguments.
      timeout: seconds to wait for the result (None: no limit; death is still seen at once).
      name: how errors name the worker.

    Returns:
      The function's (picklable) result; numpy arrays travel as raw buffers.

    Raises:
      WorkerError: the function raised (its type, message and traceback are in the message),
        or the worker died or timed out.
    """
    target = function_name(function)
    worker = Worker(function_name(_call_once), (target, args), name=name or f"worker for {target}")
    try:
        return worker.receive(timeout, f"running {target}", large=True)
    finally:
        worker.close()


def main(fd):
    """The child's entry point (see _BOOTSTRAP): set up, then run the target."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn = mp_connection.Connection(fd)
    try:
        target, parent_path, args = conn.recv()
    except (EOFError, OSError):
        return
    sys.path.extend(p for p in parent_path if p not in sys.path)
    # An import error here ends the child with its traceback on stderr; the parent sees EOF.
    resolve_function(target)(conn, *args)
