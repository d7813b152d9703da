"""The standalone controller process behind `ion-rollout controller`.

Same controller as inside the gateways, competing for the same lease, so running it next to
gateways is safe: one of them decides at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time

from common.logging import configure_logging, get_logger
from common.settings import load_settings
from rollout.metrics import RolloutMetrics
from rollout.notify import build_notifier
from rollout.settings import RolloutSettings
from rollout.store import open_store
from rollout.wiring import build_controller, build_service


async def controller_main(*signals: signal.Signals) -> int:
    settings = load_settings(RolloutSettings)
    configure_logging("INFO")
    log = get_logger("rollout.runner")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    store = await asyncio.to_thread(
        open_store, settings.store_url, **settings.store_options(settings.store_wait_seconds)
    )
    notifier = build_notifier(settings)
    service = build_service(
        settings, store, clock=time.time, notifier=notifier, metrics=RolloutMetrics()
    )
    controller = build_controller(settings, service, clock=time.time)
    log.info("rollout.controller_started", store=str(settings.store_url), holder=controller.holder)
    task = asyncio.create_task(controller.run())
    await stop.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await controller.release()
    await notifier.aclose()
    store.close()
    log.info("rollout.controller_stopped", holder=controller.holder)
    return 0
