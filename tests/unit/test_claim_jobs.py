"""A claim round: a job whose claim ran out with nobody else holding it goes on; one another runner took stops here."""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from application.fleet import ClaimJobs
from domain.jobs import JobStatus


class Leases:
    """Claims as the Redis leases keep them: one owner per job id."""

    def __init__(self) -> None:
        self.owners: dict[str, str] = {}

    async def claim(self, job_id: str, owner: str) -> bool:
        if job_id in self.owners:
            return False
        self.owners[job_id] = owner
        return True

    async def renew(self, job_ids: set[str], owner: str) -> set[str]:
        return {j for j in job_ids if self.owners.get(j) == owner}

    async def release(self, job_id: str, owner: str) -> None:
        if self.owners.get(job_id) == owner:
            del self.owners[job_id]


class Runner:
    def __init__(self) -> None:
        self.running: set[str] = set()

    def schedule(self, job_id: str) -> None:
        self.running.add(job_id)

    def stop(self, job_id: str) -> None:
        self.running.discard(job_id)


class Jobs:
    def __init__(self, ids: list[str]) -> None:
        self.ids = ids

    async def with_status(self, statuses: Iterable[JobStatus]) -> list[Any]:
        return [SimpleNamespace(id=i) for i in self.ids]


async def test_a_claim_lost_to_another_runner_stops_the_job_here_and_one_that_ran_out_goes_on() -> None:
    leases, runner = Leases(), Runner()
    claim = ClaimJobs(Jobs(["j1", "j2"]), leases, runner, "node-a")  # type: ignore[arg-type]
    assert await claim() == 2 and runner.running == {"j1", "j2"}

    del leases.owners["j1"]  # j1's lease ran out while Redis was away; nobody took it
    leases.owners["j2"] = "node-b"  # j2's ran out and node B claimed it
    await claim()
    assert runner.running == {"j1"} and claim.running == {"j1"}
    assert leases.owners == {"j1": "node-a", "j2": "node-b"}  # node B's claim is left alone


async def test_a_node_handing_its_jobs_back_takes_no_new_one() -> None:
    leases, runner = Leases(), Runner()
    claim = ClaimJobs(Jobs([]), leases, runner, "node-a")  # type: ignore[arg-type]
    assert await claim.take("j1") is True and runner.running == {"j1"}
    claim.taking = False
    assert await claim.take("j2") is False
    assert runner.running == {"j1"} and "j2" not in leases.owners


async def test_a_claim_that_returns_after_the_hand_back_began_is_let_go() -> None:
    leases, runner = Leases(), Runner()
    claim = ClaimJobs(Jobs([]), leases, runner, "node-a")  # type: ignore[arg-type]
    granted = leases.claim

    async def claim_during_hand_back(job_id: str, owner: str) -> bool:
        claim.taking = False  # SIGTERM's hand-back starts while this claim is out
        return await granted(job_id, owner)

    leases.claim = claim_during_hand_back  # type: ignore[method-assign]
    assert await claim.take("j1") is False
    assert runner.running == set() and leases.owners == {}
