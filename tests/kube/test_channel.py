"""pyantrea_kube.channel: a producer thread hands items to the event loop in order, in batches, bounded."""

from __future__ import annotations

import asyncio
import threading

import pytest

from pyantrea_kube.channel import BatchChannel, ChannelClosed


def test_items_arrive_in_order_and_in_batches():
    async def scenario() -> list[list[int]]:
        channel: BatchChannel[int] = BatchChannel(asyncio.get_running_loop(), capacity=1000)
        producer = threading.Thread(target=lambda: [channel.put(i) for i in range(500)], name="test-producer")
        producer.start()
        batches: list[list[int]] = []
        while sum(map(len, batches)) < 500:
            batches.append(await channel.get_batch())
        await asyncio.to_thread(producer.join)
        return batches

    batches = asyncio.run(scenario())
    assert [item for batch in batches for item in batch] == list(range(500))
    assert len(batches) < 500


def test_full_channel_blocks_the_producer_until_drained():
    async def scenario() -> tuple[bool, list[int]]:
        channel: BatchChannel[int] = BatchChannel(asyncio.get_running_loop(), capacity=2)
        third_put = threading.Event()

        def produce() -> None:
            channel.put(1)
            channel.put(2)
            channel.put(3)
            third_put.set()

        producer = threading.Thread(target=produce, name="test-producer")
        producer.start()
        # The producer cannot finish its third put while two items wait in a channel of two.
        blocked = not await asyncio.to_thread(third_put.wait, 0.2)
        first = await channel.get_batch()
        await asyncio.to_thread(producer.join)
        second = await channel.get_batch()
        return blocked, first + second

    blocked, items = asyncio.run(scenario())
    assert blocked
    assert items == [1, 2, 3]


def test_close_releases_a_blocked_producer():
    async def scenario() -> list[str]:
        channel: BatchChannel[int] = BatchChannel(asyncio.get_running_loop(), capacity=1)
        outcome: list[str] = []

        def produce() -> None:
            channel.put(1)
            try:
                channel.put(2)  # blocks: the channel is full and nobody drains it
                outcome.append("put")
            except ChannelClosed:
                outcome.append("closed")

        producer = threading.Thread(target=produce, name="test-producer")
        producer.start()
        await asyncio.to_thread(producer.join, 0.1)
        channel.close()
        await asyncio.to_thread(producer.join)
        return outcome

    assert asyncio.run(scenario()) == ["closed"]


def test_put_after_close_raises():
    async def scenario() -> None:
        channel: BatchChannel[int] = BatchChannel(asyncio.get_running_loop(), capacity=4)
        channel.close()
        with pytest.raises(ChannelClosed):
            channel.put(1)

    asyncio.run(scenario())


def test_capacity_must_be_positive():
    async def scenario() -> None:
        with pytest.raises(ValueError, match="capacity"):
            BatchChannel(asyncio.get_running_loop(), capacity=0)

    asyncio.run(scenario())
