"""The task supervisor: names tasks, logs crashes and unexpected exits at once, stops everything."""

from __future__ import annotations

import asyncio
import logging

import pytest

from pyantrea_daemon.tasks import Supervisor, TaskFailed

log = logging.getLogger("test.tasks")


async def forever(started: asyncio.Event, stopped: list[str], name: str) -> None:
    started.set()
    try:
        await asyncio.Event().wait()
    finally:
        stopped.append(name)


async def crash_after(started: asyncio.Event) -> None:
    await started.wait()
    raise RuntimeError("lost the OVSDB connection")


def test_a_crash_is_logged_and_ends_the_others(caplog: pytest.LogCaptureFixture) -> None:
    stopped: list[str] = []

    async def main() -> None:
        started = asyncio.Event()
        with pytest.raises(TaskFailed) as caught:
            async with Supervisor(logger=log) as tasks:
                tasks.spawn(forever(started, stopped, "node-watch"), name="node-watch")
                tasks.spawn(crash_after(started), name="ovsdb-monitor")
                assert tasks.names == ["node-watch", "ovsdb-monitor"]
                await tasks.wait()
        assert caught.value.name == "ovsdb-monitor"
        assert isinstance(caught.value.error, RuntimeError)
        assert str(caught.value) == "task 'ovsdb-monitor' crashed: RuntimeError('lost the OVSDB connection')"
        assert tasks.names == []

    with caplog.at_level(logging.DEBUG, logger="test.tasks"):
        asyncio.run(main())
    assert stopped == ["node-watch"]
    (crash,) = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert crash.getMessage() == "task ovsdb-monitor crashed: RuntimeError('lost the OVSDB connection')"
    assert crash.exc_info is not None


def test_the_crash_is_logged_before_anyone_waits(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        started = asyncio.Event()
        started.set()
        async with Supervisor(logger=log) as tasks:
            task = tasks.spawn(crash_after(started), name="worker")
            await asyncio.wait([task])
            assert [r.getMessage() for r in caplog.records] == [
                "task worker crashed: RuntimeError('lost the OVSDB connection')"
            ]

    with caplog.at_level(logging.ERROR, logger="test.tasks"):
        asyncio.run(main())


def test_an_unexpected_exit_is_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    async def returns() -> None:
        return None

    async def main() -> None:
        async with Supervisor(logger=log) as tasks:
            tasks.spawn(returns(), name="informer")
            with pytest.raises(TaskFailed, match="task 'informer' exited unexpectedly"):
                await tasks.wait()

    with caplog.at_level(logging.ERROR, logger="test.tasks"):
        asyncio.run(main())
    assert [r.getMessage() for r in caplog.records] == ["task informer exited unexpectedly"]


def test_a_finishable_task_may_return() -> None:
    async def main() -> None:
        done = asyncio.Event()

        async def once() -> None:
            done.set()

        async with Supervisor(logger=log) as tasks:
            task = tasks.spawn(once(), name="stale-flow-cleanup", finishable=True)
            await task
            assert done.is_set()
            assert tasks.names == []
            wait = asyncio.create_task(tasks.wait())
            await asyncio.sleep(0)
            assert not wait.done()
            wait.cancel()

    asyncio.run(main())


def test_stop_cancels_every_task_and_refuses_new_ones() -> None:
    stopped: list[str] = []

    async def main() -> None:
        started = asyncio.Event()
        tasks = Supervisor(logger=log)
        for name in ("a", "b", "c"):
            tasks.spawn(forever(started, stopped, name), name=name)
        await started.wait()
        await tasks.stop()
        assert sorted(stopped) == ["a", "b", "c"]
        coro = forever(started, stopped, "late")
        with pytest.raises(RuntimeError, match="cannot spawn 'late': the supervisor is stopping"):
            tasks.spawn(coro, name="late")

    asyncio.run(main())


def test_a_task_cancelled_by_someone_else_is_a_failure() -> None:
    async def main() -> None:
        started = asyncio.Event()
        async with Supervisor(logger=log) as tasks:
            task = tasks.spawn(forever(started, [], "watch"), name="watch")
            await started.wait()
            task.cancel()
            with pytest.raises(TaskFailed, match="task 'watch' exited unexpectedly"):
                await tasks.wait()

    asyncio.run(main())


def test_tasks_run_under_their_names() -> None:
    async def main() -> None:
        names: list[str] = []

        async def record() -> None:
            current = asyncio.current_task()
            assert current is not None
            names.append(current.get_name())

        async with Supervisor(logger=log) as tasks:
            await tasks.spawn(record(), name="agent-info-reporter", finishable=True)
        assert names == ["agent-info-reporter"]

    asyncio.run(main())
