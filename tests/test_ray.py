"""``skilldsl.ray`` and ``skilldsl score --ray`` on a local Ray with 2 CPUs: the Ray run equals
the local run row for row, a killed actor loses and repeats no row, the CLI writes what a plain
run writes. Skipped when Ray is not installed (``pip install 'skilldsl[ray]'``), except the
one-line error a user without Ray sees."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import skilldsl
from skilldsl.cli import main

ROOT = Path(__file__).resolve().parent.parent
ray_only = pytest.mark.ray

# right and wrong final answers against references: every row decided by verifiers, no judge
MATH_ROWS = [{"id": f"m{i}", "prompt": f"What is {i} + {i}?",
              "response": f"{i} + {i} = {2 * i + (i % 3 == 0)}. The answer is {2 * i + (i % 3 == 0)}.",
              "reference": str(2 * i)} for i in range(1, 25)]
MATH_ROWS[5]["response"] = "I would rather not say."  # no final answer: 0 from the reference, still no judge

# In-process verifiers (isolate=False): one exits the process it runs in -- the actor -- the first
# time it meets a marked response (it claims the arm file by renaming it, so only once), or every
# time it meets a poisoned one; one raises.
PLUGIN = '''
import os
from skilldsl.verifiers import verifier

ARM = {arm!r}

@verifier("raytest.survives", params=("response: text",), isolate=False)
def survives(response):
    if "POISON" in response:
        os._exit(1)  # every time: as a native crash or the kernel's OOM killer would
    if "KILL" in response:
        try:
            os.rename(ARM, ARM + ".fired")
        except FileNotFoundError:
            pass  # fired once already (or not armed): answer like any other row
        else:
            os._exit(1)
    return "good" in response

@verifier("raytest.raises", params=("response: text",), isolate=False)
def raises(response):
    if "BOOM" in response:
        raise ValueError("this row's evaluation fails")
    return True
'''

PROBE_SKILL = ROOT / "tests" / "fixtures" / "ray" / "ray_probe.skill"  # checks raytest.survives and raytest.raises

PROBE_ROWS = [{"id": f"p{i}", "prompt": "Say something.",
               "response": ("good " if i % 2 else "bad ") + ("KILL" if i == 12 else "BOOM" if i == 7 else "")}
              for i in range(1, 21)]


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    ray.init(num_cpus=2, include_dashboard=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def probe(tmp_path_factory, ray_local) -> dict:
    """The probe skill, its plugin (imported in this process too) and the arm file's path."""
    folder = tmp_path_factory.mktemp("ray_probe")
    arm = folder / "kill.arm"
    plugin = folder / "raytest_plugin.py"
    plugin.write_text(PLUGIN.format(arm=str(arm)), encoding="utf-8")
    from skilldsl.compiler import import_plugins

    import_plugins([str(plugin)])
    return {"skill": str(PROBE_SKILL), "plugin": str(plugin), "arm": arm}


def _jsonl(path: Path, rows: list, extra_lines: tuple = ()) -> str:
    lines = [json.dumps(r) for r in rows]
    for index, text in extra_lines:
        lines.insert(index, text)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _same_rows(ray_records: list, local: list) -> None:
    """Row for row: ids, rewards, statuses, reasons, reward ids and every evidence's verdict."""
    assert len(ray_records) == len(local)
    for got, want in zip(ray_records, local):
        assert {k: got[k] for k in ("reward", "status", "reason", "reward_id")} == \
               {k: want[k] for k in ("reward", "status", "reason", "reward_id")}
        assert {n: (t["status"], t["value"], t["reason"]) for n, t in got["trace"].items()} == \
               {n: (t["status"], t["value"], t["reason"]) for n, t in want["trace"].items()}


def _without_times(record: dict) -> dict:
    """A result line without its timings (the only fields two honest runs may differ in)."""
    out = {k: v for k, v in record.items() if k != "seconds"}
    out["trace"] = {n: {k: v for k, v in t.items() if k != "seconds"} for n, t in record["trace"].items()}
    return out


@ray_only
def test_ray_dataset_equals_local_row_for_row(ray_local, tmp_path: Path) -> None:
    import skilldsl.ray as on_ray

    dataset = ray_local.data.from_items(MATH_ROWS)
    results = on_ray.score(dataset, "math_answer", num_workers=2, batch_size=4).materialize()  # one run, read 3 ways
    got = list(on_ray.records(results))
    local = [r.to_dict() for r in skilldsl.load("math_answer").score(MATH_ROWS)]
    assert [r["id"] for r in got] == [r["id"] for r in MATH_ROWS]
    _same_rows(got, local)
    assert {r["status"] for r in got} == {"ok"} and {r["reward"] for r in got} == {0.0, 1.0}
    assert not any(r["trace"]["judge"]["status"] == "ok" for r in got)  # decided without the judge
    on_ray.write(results, str(tmp_path / "out.parquet"))
    on_ray.write(results, str(tmp_path / "out_json"))
    table = ray_local.data.read_parquet(str(tmp_path / "out.parquet")).to_pandas()
    assert sorted(table["id"]) == sorted(r["id"] for r in MATH_ROWS)
    assert dict(zip(table["id"], table["reward"])) == {row["id"]: r["reward"] for row, r in zip(MATH_ROWS, local)}
    written = [json.loads(line) for f in sorted((tmp_path / "out_json").iterdir()) for line in f.read_text().splitlines()]
    by_id = {r["id"]: on_ray.result_fields(r) for r in written}
    assert len(written) == len(MATH_ROWS) and len(by_id) == len(MATH_ROWS)
    assert [_without_times(by_id[row["id"]]) for row in MATH_ROWS] == [_without_times(r) for r in local]


@ray_only
def test_cli_ray_writes_what_a_plain_run_writes(ray_local, tmp_path: Path, capsys) -> None:
    # an unreadable line and a line that is no sample each keep their place as an error line
    data = _jsonl(tmp_path / "rows.jsonl", MATH_ROWS, extra_lines=((3, "{not json"), (9, json.dumps({"id": "m2"}))))
    plain, on_ray = tmp_path / "plain.jsonl", tmp_path / "ray.jsonl"
    assert main(["score", "math_answer", data, "-o", str(plain), "--no-progress"]) == 1
    code = main(["score", "math_answer", data, "--ray", "--workers", "2", "--batch-size", "4", "-o", str(on_ray),
                 "--no-progress"])
    assert code == 1, capsys.readouterr().err
    want = [json.loads(line) for line in plain.read_text().splitlines()]
    got = [json.loads(line) for line in on_ray.read_text().splitlines()]
    assert [list(r) for r in got] == [list(r) for r in want]  # the same fields, in the same order
    assert [_without_times(r) for r in got] == [_without_times(r) for r in want]
    assert [r["status"] for r in got].count("error") == 2
    assert "scored 26 samples" in capsys.readouterr().err


@ray_only
def test_killed_actor_loses_and_repeats_no_row(ray_local, probe: dict) -> None:
    """Hostile: a response that kills the actor scoring it (an in-process verifier exits) earns
    what the local run gives it, and no other row moves, vanishes or comes twice."""
    import skilldsl.ray as on_ray

    skill = skilldsl.load(probe["skill"])
    local = [r.to_dict() for r in skill.score(PROBE_ROWS)]  # not armed: nothing exits here
    probe["arm"].write_text("armed", encoding="utf-8")
    rows = [(i + 1, row) for i, row in enumerate(PROBE_ROWS)]
    got = list(on_ray.score_lines(rows, probe["skill"], plugins=[probe["plugin"]], num_workers=2, batch_size=3))
    assert not probe["arm"].exists() and Path(str(probe["arm"]) + ".fired").exists()  # an actor did die
    assert [r["line"] for r in got] == list(range(1, len(PROBE_ROWS) + 1))
    assert [r["id"] for r in got] == [r["id"] for r in PROBE_ROWS]
    _same_rows(got, local)
    boom = got[6]  # a row whose evaluation raised: its own error, scored by a living actor
    assert boom["status"] == "error" and "this row's evaluation fails" in boom["reason"]
    assert got[11]["reward"] == 0.0 and got[11]["status"] == "ok"  # the killer earns nothing for it


@ray_only
def test_a_row_that_always_kills_its_actor_is_its_own_error(ray_local, probe: dict) -> None:
    """Hostile: a response that kills every process scoring it is retried until it has killed its
    actor ROW_DEATHS times alone, then is that row's error; the rest of its batch and of the run is
    scored as locally, nothing lost or repeated. Before the Attempts ledger, Ray retried it forever."""
    import skilldsl.ray as on_ray

    poison = 9  # line 10, in the batch of lines 10-12
    rows = [dict(r, response="good POISON") if i == poison else r for i, r in enumerate(PROBE_ROWS)]
    local = [r.to_dict() for r in skilldsl.load(probe["skill"]).score(rows[:poison] + rows[poison + 1:])]
    numbered = [(i + 1, row) for i, row in enumerate(rows)]
    got = _within(300, lambda: list(on_ray.score_lines(numbered, probe["skill"], plugins=[probe["plugin"]],
                                                       num_workers=2, batch_size=3)))
    assert [r["line"] for r in got] == list(range(1, len(rows) + 1))
    killer = got[poison]
    assert killer["status"] == "error" and killer["reward"] is None
    assert f"line 10: the process scoring this row died {on_ray.ROW_DEATHS} times with it alone" in killer["reason"]
    _same_rows(got[:poison] + got[poison + 1:], local)


def _within(seconds: float, run):
    """``run()``, failing the test (not hanging the suite) when it has not returned in ``seconds``."""
    import threading

    out: list = []
    worker = threading.Thread(target=lambda: out.append(run()), daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        pytest.fail(f"no result in {seconds:g} s: the run retries forever")
    assert out, "the run raised (see the thread's traceback above)"
    return out[0]


@ray_only
def test_gpus_only_for_a_skill_that_runs_a_model(ray_local) -> None:
    import skilldsl.ray as on_ray

    judge, verifiers = skilldsl.program("pairwise_judge"), skilldsl.program("code_tests")
    assert on_ray.asks_model(judge) and not on_ray.asks_model(verifiers)
    assert on_ray._gpus_per_actor(verifiers, None) == 0
    assert on_ray._gpus_per_actor(judge, None) == (1 if ray_local.cluster_resources().get("GPU", 0) >= 1 else 0)
    assert on_ray._gpus_per_actor(judge, 0.5) == 0.5


@ray_only
def test_unknown_backend_fails_before_any_actor(ray_local) -> None:
    import skilldsl.ray as on_ray
    from skilldsl.runtime.backends.registry import BackendConfigError

    with pytest.raises(BackendConfigError):
        on_ray.score(MATH_ROWS, "math_answer", backend="no-such-engine")


@ray_only
def test_address_where_no_cluster_answers_is_one_line_error(monkeypatch, tmp_path: Path, capsys) -> None:
    """Hostile: ``--address`` naming a port nothing listens on (ray.init alone retries it for
    minutes) is a one-line error at once, and no Ray is started or joined."""
    import socket

    ray = pytest.importorskip("ray")
    monkeypatch.setattr(ray, "is_initialized", lambda: False)  # as in a fresh `skilldsl score` process
    monkeypatch.setattr(ray, "init", lambda *a, **k: pytest.fail("ray.init was called"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"  # closed again: refused
    data = _jsonl(tmp_path / "rows.jsonl", MATH_ROWS[:2])
    assert main(["score", "math_answer", data, "--ray", "--address", address, "--no-progress"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: cannot start or join Ray at {address}: no answer within 10 s (Connection refused)"]


def test_without_ray_one_line_error(monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    data = _jsonl(tmp_path / "rows.jsonl", MATH_ROWS[:2])
    assert main(["score", "math_answer", data, "--ray", "--no-progress"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: Ray is not installed: pip install 'skilldsl[ray]'"]


def test_ray_options_need_ray(tmp_path: Path, capsys) -> None:
    data = _jsonl(tmp_path / "rows.jsonl", MATH_ROWS[:2])
    assert main(["score", "math_answer", data, "--workers", "2"]) == 1
    assert capsys.readouterr().err.strip() == "error: --address and --workers go with --ray"
