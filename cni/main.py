"""`pyantrea-cni`, the CNI plugin executable (installed as /opt/cni/bin/pyantrea).

The container runtime runs it once per pod operation. VERSION is answered here, loading only
the standard library's json; ADD, CHECK and DEL go to `cni.plugin`, which forwards them to the
agent over gRPC.
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    if os.environ.get("CNI_COMMAND") == "VERSION":
        from cni.versions import version_answer

        try:
            asked = _read_stdin()
        except OSError:  # answered with the latest version
            asked = b""
        sys.stdout.write(version_answer(asked) + "\n")
        return 0

    from cni.plugin import execute

    outcome = execute(os.environ, _read_stdin)
    sys.stdout.write(outcome.stdout)
    sys.stderr.write(outcome.stderr)
    return outcome.status


def _read_stdin() -> bytes:
    if sys.stdin is None:  # started with file descriptor 0 closed
        raise OSError("stdin is closed")
    return sys.stdin.buffer.read()


if __name__ == "__main__":
    sys.exit(main())
