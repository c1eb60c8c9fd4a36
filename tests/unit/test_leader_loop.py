"""`LeaderLoop` stops when cancelled, even when a step swallowed the cancellation (as
Python 3.11's `asyncio.wait_for` does when the awaited call completes just then)."""

from __future__ import annotations

import asyncio

from chanalytics.coordination.leader import Fence, LeaderLoop
from chanalytics.coordination.lease import LocalLock


def test_stop_ends_the_loop_when_a_step_swallows_the_cancellation() -> None:
    steps = [0]
    swallowed = [0]
    third = asyncio.Event()

    async def step(fence: Fence) -> None:
        steps[0] += 1
        if steps[0] == 3:
            third.set()
        await fence()
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:  # what wait_for does on 3.11 in that race
            swallowed[0] += 1

    async def scenario() -> None:
        loop = LeaderLoop(LocalLock(), step, interval=0.0, name="test")
        loop.start()
        await third.wait()
        await asyncio.wait_for(loop.stop(), timeout=5)

    asyncio.run(scenario())
    assert swallowed[0] == 1  # the cancellation arrived inside the step, and was dropped
