"""The async API and cross-request batching (skilldsl/runtime/batching.py, Skill.ascore...).

Concurrent callers share runtime batches, and each must get exactly its own Results, in order:
a batch that hands one caller another's row (or loses or repeats one) would pay a policy for
someone else's response. Every result is checked against a direct ``Skill.score`` of the same
samples. No model loads: a verifier-only skill, or the scripted fake backend whose judge answer
depends on an id in the prompt, so every judged sample has its own reward.
"""
from __future__ import annotations

import asyncio
import gc
import random
import re
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import skilldsl
from skilldsl.runtime.backends.fake import FakeBackend
from skilldsl.runtime.batching import ScoreBatcher, batcher_for

from _runtime_support import forbid_backend

SKILLS = Path(__file__).resolve().parent.parent / "skills"


def by_id(text: str, options: list) -> float:
    """The judge's P(first option): its own value for every ``id-N`` in the prompt."""
    ids = [int(n) for n in re.findall(r"id-(\d+)", text)]
    return ((sum(ids) * 37) % 89 + 5) / 100 if ids else 0.5


def judged(n: int) -> dict:
    """A sample without a reference: the judge decides, with a reward of its own."""
    return {"prompt": f"Problem id-{n}", "response": f"The answer is {n}."}


def checked(n: int) -> dict:
    """A sample the reference decides (right for even ``n``, wrong for odd)."""
    return {"prompt": f"Problem {n}", "response": f"The answer is {n}.", "reference": str(n + n % 2)}


def bad(n: int):
    """Samples the runtime must turn into an error Result of their own row."""
    return [{"prompt": f"id-{n}"}, n, {"prompt": "p", "response": n}][n % 3]


def math_skill(backend=None):
    return skilldsl.load(SKILLS / "math_answer.skill", backend=backend)


def run(awaitable):
    """Run in a new event loop; a hang (a caller never answered) fails instead of blocking the suite."""
    async def bounded():
        return await asyncio.wait_for(awaitable, 60)

    return asyncio.run(bounded())


def plain(result) -> dict:
    """A Result as data, without the wall-clock times that differ from run to run."""
    d = result.to_dict()
    d.pop("seconds")
    for trace in d["trace"].values():
        trace.pop("seconds")
    return d


def same(results, expected) -> bool:
    return [plain(r) for r in results] == [plain(r) for r in expected]


def raised(call) -> tuple:
    """(exception type, message) of ``call()`` (an awaitable's is awaited)."""
    try:
        out = call()
        if asyncio.iscoroutine(out):
            run(out)
    except Exception as exc:  # noqa: BLE001 - what the test compares
        return type(exc), str(exc)
    raise AssertionError("no exception")


# -- each caller gets exactly its own results ---------------------------------------------


def _mixed_requests(rng: random.Random, callers: int) -> list[list]:
    kinds = [judged, judged, checked, bad]
    ids = iter(range(10_000))
    return [[rng.choice(kinds)(next(ids)) for _ in range(rng.randint(0, 11))] for _ in range(callers)]


async def _call_at_random_times(batcher: ScoreBatcher, requests: list, rng: random.Random) -> list:
    async def caller(samples, delay):
        await asyncio.sleep(delay)
        return await batcher.score(samples)

    return await asyncio.gather(*(caller(r, rng.random() * 0.02) for r in requests))


def test_concurrent_callers_get_exactly_their_own_results():
    rng = random.Random(9)
    requests = _mixed_requests(rng, 48)
    batched, direct = FakeBackend(choices=by_id), FakeBackend(choices=by_id)
    batcher = ScoreBatcher(math_skill(batched), max_rows=16, max_wait=0.002)
    got = run(_call_at_random_times(batcher, requests, rng))
    reference = math_skill(direct)
    for samples, results in zip(requests, got):
        assert same(results, reference.score(samples))
    # nothing lost, nothing asked twice: the judge saw exactly the prompts of a direct run
    assert sorted(batched.prompts()) == sorted(direct.prompts())
    total = sum(map(len, requests))
    assert batcher.stats["rows"] == total and batcher.stats["requests"] == len(requests)
    assert batcher.stats["batches"] >= -(-total // 16) and batcher.pending_rows == 0


def test_concurrent_callers_of_a_verifier_only_skill(monkeypatch):
    forbid_backend(monkeypatch, "the reference decides every sample here")
    rng = random.Random(4)
    requests = [[checked(rng.randrange(1000)) for _ in range(rng.randint(1, 9))] for _ in range(40)]
    skill = math_skill()
    batcher = ScoreBatcher(skill, max_rows=12, max_wait=0.002)
    got = run(_call_at_random_times(batcher, requests, rng))
    reference = math_skill()
    for samples, results in zip(requests, got):
        assert [r.reward for r in results] == [float(s["reference"] == str(int(s["response"][14:-1])))
                                               for s in samples]
        assert same(results, reference.score(samples))
    assert skill.loaded_backends == []


def test_a_bad_sample_errs_only_its_own_row_in_a_shared_batch():
    fake = FakeBackend(choices=by_id)
    batcher = ScoreBatcher(math_skill(fake), max_rows=64)

    async def main():
        return await asyncio.gather(batcher.score([judged(1)]), batcher.score([bad(0), bad(1), bad(2)]),
                                    batcher.score([judged(2), checked(3)]))

    first, broken, last = run(main())
    assert batcher.stats["batches"] == 1
    assert [r.status for r in broken] == ["error"] * 3 and all(r.reason for r in broken)
    assert first[0].status == "ok" and [r.status for r in last] == ["ok", "ok"]
    assert same(first + last, math_skill(FakeBackend(choices=by_id)).score([judged(1), judged(2), checked(3)]))


# -- batching ----------------------------------------------------------------------------------


def test_concurrent_requests_share_one_runtime_batch():
    fake = FakeBackend(choices=by_id)
    batcher = ScoreBatcher(math_skill(fake), max_rows=64, max_wait=0.05)
    requests = [[judged(3 * c + j) for j in range(3)] for c in range(10)]

    async def main():
        return await asyncio.gather(*(batcher.score(r) for r in requests))

    got = run(main())
    assert batcher.stats == {"batches": 1, "rows": 30, "requests": 10}
    assert fake.batch_sizes("choice_logprobs") == [30]  # one backend call for ten callers
    direct = math_skill(FakeBackend(choices=by_id))
    assert all(same(results, direct.score(r)) for r, results in zip(requests, got))


def test_a_request_larger_than_max_rows_is_split_and_returned_in_order():
    fake = FakeBackend(choices=by_id)
    batcher = ScoreBatcher(math_skill(fake), max_rows=8)
    big, small = [judged(n) for n in range(20)], [judged(n) for n in range(100, 103)]

    async def main():
        return await asyncio.gather(batcher.score(big), batcher.score(small))

    got_big, got_small = run(main())
    assert fake.batch_sizes("choice_logprobs") == [8, 8, 7]  # small fills the third batch
    direct = math_skill(FakeBackend(choices=by_id))
    assert same(got_big, direct.score(big)) and same(got_small, direct.score(small))
    assert batcher.stats == {"batches": 3, "rows": 23, "requests": 2}


def test_the_window_waits_for_later_callers_and_a_full_batch_starts_at_once():
    fake = FakeBackend(choices=by_id)
    batcher = ScoreBatcher(math_skill(fake), max_rows=4, max_wait=60)

    async def main():
        early = asyncio.create_task(batcher.score([judged(1), judged(2)]))
        await asyncio.sleep(0.01)  # the early caller's rows wait in the window
        late = await batcher.score([judged(3), judged(4)])  # fills the batch: it starts now, not in 60 s
        return await early, late

    early, late = run(main())
    assert fake.batch_sizes("choice_logprobs") == [4]
    direct = math_skill(FakeBackend(choices=by_id))
    assert same(early + late, direct.score([judged(n) for n in (1, 2, 3, 4)]))


def test_an_empty_request_returns_at_once():
    batcher = ScoreBatcher(math_skill(FakeBackend()))
    assert run(batcher.score([])) == []
    assert batcher.stats == {"batches": 0, "rows": 0, "requests": 1}


# -- faults ------------------------------------------------------------------------------------


def _blocking_fake():
    """A fake whose judge waits (in the worker thread) until the test releases it."""
    entered, release = threading.Event(), threading.Event()

    def choose(text, options):
        entered.set()
        if not release.wait(10):
            raise RuntimeError("never released")
        return by_id(text, options)

    return FakeBackend(choices=choose), entered, release


def test_a_cancelled_caller_does_not_break_the_batch():
    fake, entered, release = _blocking_fake()
    batcher = ScoreBatcher(math_skill(fake), max_rows=4, max_wait=0)
    a, b, c = [judged(0), judged(1)], [judged(2), judged(3)], [judged(4), judged(5)]

    async def main():
        tasks = [asyncio.create_task(batcher.score(r)) for r in (a, b, c)]  # a, b: one batch; c: next
        await asyncio.to_thread(entered.wait, 10)
        assert batcher.pending_rows == 6
        tasks[1].cancel()  # b's client goes away while its rows are being scored
        tasks[2].cancel()  # c's while its rows still wait
        await asyncio.sleep(0)
        assert batcher.pending_rows == 4  # c's rows are dropped; the batch of a and b runs on
        release.set()
        got_a = await tasks[0]
        for task in tasks[1:]:
            with pytest.raises(asyncio.CancelledError):
                await task
        return got_a, await batcher.score([judged(6)])  # still serving

    got_a, later = run(main())
    direct = math_skill(FakeBackend(choices=by_id))
    assert same(got_a, direct.score(a)) and same(later, direct.score([judged(6)]))
    assert not fake.saw("id-4") and not fake.saw("id-5")  # c's rows were never scored
    assert fake.batch_sizes("choice_logprobs") == [4, 1] and batcher.pending_rows == 0


def test_a_runtime_that_raises_errs_that_batch_and_the_batcher_goes_on():
    skill = math_skill(FakeBackend(choices=by_id))
    real, sizes = skill._run, []

    def raises_once(samples):
        sizes.append(len(samples))
        if len(sizes) == 1:
            raise RuntimeError("runtime bug")
        return real(samples)

    skill._run = raises_once
    batcher = ScoreBatcher(skill, max_rows=4, max_wait=0)
    first, split, last = [judged(n) for n in range(3)], [judged(3), judged(4)], [judged(5)]

    async def main():
        failed = await asyncio.gather(batcher.score(first), batcher.score(split), batcher.score(last),
                                      return_exceptions=True)
        return failed, await batcher.score([judged(6), judged(7)])

    failed, later = run(main())
    # batch 1 is first + split's first row: both callers get the exception; split's second row
    # is then dropped (its caller has its answer), and last is scored in batch 2
    assert [str(x) for x in failed[:2]] == ["runtime bug", "runtime bug"]
    assert all(isinstance(x, RuntimeError) for x in failed[:2])
    direct = math_skill(FakeBackend(choices=by_id))
    assert same(failed[2], direct.score(last)) and same(later, direct.score([judged(6), judged(7)]))
    assert sizes == [4, 1, 2] and batcher.pending_rows == 0


def test_scoring_runs_in_a_worker_thread_not_on_the_event_loop():
    released, seen = threading.Event(), []

    def choose(text, options):
        seen.append((threading.get_ident(), released.wait(10)))  # True only if the loop kept running
        return "yes"

    skill = math_skill(FakeBackend(choices=choose))

    async def main():
        task = asyncio.create_task(skill.ascore([judged(1)]))
        await asyncio.sleep(0.01)
        released.set()
        return threading.get_ident(), await task

    loop_thread, results = run(main())
    assert results[0].status == "ok"
    assert seen and all(thread != loop_thread and was_released for thread, was_released in seen)


def test_one_batch_of_a_skill_at_a_time_across_event_loops():
    guard, active, peaks = threading.Lock(), [0], []

    def choose(text, options):
        with guard:
            active[0] += 1
            peaks.append(active[0])
        time.sleep(0.002)
        with guard:
            active[0] -= 1
        return by_id(text, options)

    skill = math_skill(FakeBackend(choices=choose))
    start = threading.Barrier(2)

    def in_own_loop(first_id: int):
        async def callers():
            return await asyncio.gather(*(skill.ascore([judged(first_id + i)]) for i in range(10)))

        start.wait(10)
        return run(callers())

    with ThreadPoolExecutor(2) as pool:
        got = list(pool.map(in_own_loop, (0, 100)))
    assert max(peaks) == 1  # the two loops' batches never overlapped in the backend
    direct = math_skill(FakeBackend(choices=by_id))
    for first_id, results in zip((0, 100), got):
        assert same([r[0] for r in results], direct.score([judged(first_id + i) for i in range(10)]))


def test_a_skill_gets_a_batcher_per_event_loop_and_a_batcher_keeps_to_its_loop():
    skill = math_skill(FakeBackend(choices=by_id))

    async def score_and_batcher():
        return await skill.ascore([judged(1)]), batcher_for(skill)

    first, first_batcher = run(score_and_batcher())
    second, second_batcher = run(score_and_batcher())  # a new loop: no primitive shared
    assert first_batcher is not second_batcher and same(first, second)
    assert first_batcher.max_rows == skill.batch_size
    problem = raised(lambda: first_batcher.score([judged(2)]))
    assert problem == (RuntimeError, "this ScoreBatcher belongs to another event loop: make one per loop "
                                     "(Skill.ascore does)")


def test_aclose_finishes_what_is_queued_then_refuses():
    fake = FakeBackend(choices=by_id)
    batcher = ScoreBatcher(math_skill(fake), max_rows=64, max_wait=60)  # only aclose starts the batch
    requests = [[judged(n)] for n in range(5)]

    async def main():
        tasks = [asyncio.create_task(batcher.score(r)) for r in requests]
        await asyncio.sleep(0)
        await batcher.aclose()
        assert batcher.pending_rows == 0 and batcher.stats["batches"] == 1  # done before aclose returned
        with pytest.raises(RuntimeError, match="closed"):
            await batcher.score([judged(9)])
        return await asyncio.gather(*tasks)

    got = run(main())
    direct = math_skill(FakeBackend(choices=by_id))
    assert all(same(results, direct.score(r)) for r, results in zip(requests, got))


@pytest.mark.parametrize("options", [{"max_rows": 0}, {"max_rows": 2.5}, {"max_rows": True},
                                     {"max_wait": -1}, {"max_wait": float("nan")}])
def test_batcher_settings_are_checked(options):
    with pytest.raises(ValueError, match="max_rows|max_wait"):
        ScoreBatcher(math_skill(FakeBackend()), **options)


# -- Skill.ascore / acompare / arank mirror score / compare / rank -----------------------------


def test_ascore_and_arank_match_score_and_rank():
    skill = math_skill(FakeBackend(choices=by_id))
    samples = [judged(1), checked(2), bad(0), checked(3)]
    assert same(run(skill.ascore(iter(samples))), skill.score(samples))
    candidates = ["The answer is id-1.", "The answer is id-2.", "id-3"]
    assert same([run(skill.arank("Problem", candidates))], [skill.rank("Problem", candidates)])
    listwise = skilldsl.load(SKILLS / "best_of_n.skill", backend=FakeBackend(choices=by_id))
    candidates = ["The answer is 4.", "So 4.", "It is 5.", "It is 6."]
    assert same([run(listwise.arank("2+2? id-1", candidates))], [listwise.rank("2+2? id-1", candidates)])


def test_acompare_matches_compare():
    pair = skilldsl.load(SKILLS / "pairwise_judge.skill", backend=FakeBackend(choices=by_id))
    got = run(pair.acompare("Which? id-3", "first id-1", "second id-2"))
    assert same([got], [pair.compare("Which? id-3", "first id-1", "second id-2")])
    assert got.status == "ok"


def test_the_async_forms_raise_what_the_sync_forms_raise():
    pointwise = math_skill(FakeBackend())
    pairwise = skilldsl.load(SKILLS / "pairwise_judge.skill", backend=FakeBackend())
    cases = [
        (lambda: pointwise.score(None), lambda: pointwise.ascore(None)),
        (lambda: pointwise.compare("p", "a", "b"), lambda: pointwise.acompare("p", "a", "b")),
        (lambda: pairwise.rank("p", ["a", "b"]), lambda: pairwise.arank("p", ["a", "b"])),
    ]
    for sync, async_ in cases:
        assert raised(async_) == raised(sync)


def test_a_skill_used_asynchronously_can_still_be_freed():
    skill = math_skill(FakeBackend(choices=by_id))
    run(skill.ascore([judged(1)]))
    gone = weakref.ref(skill)
    del skill
    gc.collect()
    assert gone() is None  # the batcher registry keeps no skill (with its model) alive
