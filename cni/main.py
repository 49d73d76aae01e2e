"""`pyantrea-cni`, the CNI plugin executable (installed as /opt/cni/bin/pyantrea).

The container runtime runs it once per pod operation. VERSION is answered here, loading only
the standard library's json; ADD, CHECK and DEL go to `cni.plugin`, which forwards them to the
agent over gRPC. Once the answer is written the process ends at once (`os._exit`): the
interpreter's teardown, gRPC's shutdown above all, would add about 25 ms to every pod operation.
"""

from __future__ import annotations

import io
import os
import sys


def main() -> int:
    if os.environ.get("CNI_COMMAND") == "VERSION":
        from cni.versions import version_answer

        try:
            asked = _read_stdin()
        except OSError:  # answered with the latest version
            asked = b""
        _emit(sys.stdout, version_answer(asked) + "\n")
        return 0

    from cni.plugin import execute

    outcome = execute(os.environ, _read_stdin)
    _emit(sys.stdout, outcome.stdout)
    _emit(sys.stderr, outcome.stderr)
    os._exit(outcome.status)


def _emit(stream: io.TextIOBase | None, text: str) -> None:
    """Write and flush; a runtime that closed the pipe gets nothing, not a traceback."""
    if stream is None or not text:
        return
    try:
        stream.write(text)
        stream.flush()
    except OSError:
        pass


def _read_stdin() -> bytes:
    if sys.stdin is None:  # started with file descriptor 0 closed
        raise OSError("stdin is closed")
    return sys.stdin.buffer.read()


if __name__ == "__main__":
    sys.exit(main())
