"""Locust user for ion-canary: the original load test's mix, aimed at the gateway (or a service).

Tasks are weighted like the original: chat 5, health 1, docs 2. Each simulated user has its own
user id, sent as `X-User-Id` and in the chat body, so the gateway keeps that user on one side and
the canary percentage shows in the traffic split. Messages come from `loadtest.workload`.

A chat fails in the report unless it is 200 with a JSON body that has `content`; health and docs
fail on any non-2xx. At exit the `<prefix>_stats.csv` is rewritten from the final numbers:
Locust refreshes it only once a second, so the file would otherwise miss the last second and
disagree with the console summary. Run it through `python -m loadtest.run`, or directly with
`locust -f loadtest/locustfile.py --host http://127.0.0.1:8080`. Never import this module from
tests or tools: importing Locust monkey-patches the process with gevent.
"""

from __future__ import annotations

import csv
import random

from locust import HttpUser, between, events, task
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

from loadtest.workload import TASK_WEIGHTS, chat_body, next_user_id, pick_message


class IonUser(HttpUser):
    """One client of the stable gateway URL."""

    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.user_id = next_user_id()
        self.rng = random.Random(self.user_id)
        self.client.headers["X-User-Id"] = self.user_id

    @task(TASK_WEIGHTS["chat"])
    def chat(self) -> None:
        body = chat_body(pick_message(self.rng), self.user_id)
        with self.client.post("/chat", json=body, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
            elif "content" not in _json_or_empty(response):
                response.failure("200 without 'content' in the body")

    @task(TASK_WEIGHTS["health"])
    def health(self) -> None:
        self.client.get("/health")

    @task(TASK_WEIGHTS["docs"])
    def docs(self) -> None:
        self.client.get("/docs")


def _json_or_empty(response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@events.init.add_listener
def _on_init(environment, **_kwargs) -> None:
    environment.events.quit.add_listener(lambda **_: write_final_stats(environment))


def write_final_stats(environment) -> None:
    """Rewrite `<prefix>_stats.csv` with the final totals (runs after the users have stopped)."""
    prefix = getattr(environment.parsed_options, "csv_prefix", None)
    if not prefix:
        return
    with open(f"{prefix}_stats.csv", "w", encoding="utf-8", newline="") as handle:
        StatsCSV(environment, PERCENTILES_TO_REPORT).requests_csv(csv.writer(handle))
