"""LoopClients: one client per event loop, closed on that loop while it shuts down."""

from __future__ import annotations

import asyncio
import threading

from langchain_openrouter_fenic.wire.loop_clients import LoopClients


class _Client:
    def __init__(self) -> None:
        self.closed_on: asyncio.AbstractEventLoop | None = None


def _clients() -> tuple[LoopClients[_Client], list[_Client]]:
    made: list[_Client] = []

    def make() -> _Client:
        made.append(_Client())
        return made[-1]

    async def close(client: _Client) -> None:
        await asyncio.sleep(0)  # a real close awaits its connections
        client.closed_on = asyncio.get_running_loop()

    return LoopClients(make, close), made


def test_each_asyncio_run_gets_a_client_closed_on_its_own_loop_at_shutdown() -> None:
    clients, made = _clients()
    loops: list[asyncio.AbstractEventLoop] = []

    async def use() -> None:
        loops.append(asyncio.get_running_loop())
        first = clients.get()
        assert clients.get() is first and len(clients) == 1
        await asyncio.gather(*(asyncio.sleep(0) for _ in range(3)))
        assert clients.get() is first

    for _ in range(3):
        asyncio.run(use())
        assert len(clients) == 0
    assert len(made) == 3
    assert [c.closed_on for c in made] == loops


def test_concurrent_loops_in_threads_each_have_their_own() -> None:
    clients, made = _clients()
    seen: list[_Client] = []
    alive_at_once: list[int] = []
    barrier = threading.Barrier(4, action=lambda: alive_at_once.append(len(clients)))

    async def use() -> None:
        seen.append(clients.get())
        await asyncio.to_thread(barrier.wait, 10)  # all four loops are alive at once here

    threads = [threading.Thread(target=asyncio.run, args=(use(),)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert alive_at_once == [4]
    assert len({id(c) for c in seen}) == 4 and len(clients) == 0
    assert all(c.closed_on is not None for c in made)


def test_a_loop_closed_without_finalising_is_released_when_another_loop_asks() -> None:
    clients, made = _clients()
    loop = asyncio.new_event_loop()

    async def get() -> _Client:
        return clients.get()

    loop.run_until_complete(get())
    loop.close()  # no shutdown_asyncgens(): nothing ran on that loop at its end
    assert len(clients) == 1
    asyncio.run(get())
    assert len(clients) == 0  # the stale one was released, the new one closed at shutdown
    assert made[0].closed_on is None and made[1].closed_on is not None
