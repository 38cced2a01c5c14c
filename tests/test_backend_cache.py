"""The on-disk LLM result cache and the caching backend wrapper."""
import multiprocessing
import sqlite3

from skilldsl.runtime.backends.base import Backend, ChoiceRequest, GenerateRequest
from skilldsl.runtime.backends.cache import CachingBackend, ResultCache, request_key
from skilldsl.runtime.backends.fake import FakeBackend


def _ask(text, options=("yes", "no")):
    return ChoiceRequest(({"role": "user", "content": text},), tuple(options))


def test_keys_cover_model_messages_options_and_settings():
    base = request_key("m", _ask("x"))
    assert base == request_key("m", _ask("x"))
    assert len({base, request_key("m2", _ask("x")), request_key("m", _ask("y")),
                request_key("m", _ask("x", ("no", "yes")))}) == 4
    g = GenerateRequest(({"role": "user", "content": "x"},), {"type": "text"})
    variants = [g, GenerateRequest(g.messages, {"type": "regex", "pattern": "a"}),
                GenerateRequest(g.messages, g.constraint, max_tokens=9),
                GenerateRequest(g.messages, g.constraint, temperature=0.5),
                GenerateRequest(g.messages, g.constraint, seed=3)]
    assert len({request_key("m", v) for v in variants}) == len(variants)


def test_hit_and_miss(tmp_path):
    fake = FakeBackend({"sky": "no"})
    cached = CachingBackend(fake, tmp_path / "c.sqlite")
    assert isinstance(cached, Backend) and cached.name == "fake"
    first = cached.choice_logprobs([_ask("sky?"), _ask("sea?")])
    assert [r.cached for r in first] == [False, False] and fake.batch_sizes() == [2]
    second = cached.choice_logprobs([_ask("sea?"), _ask("new?"), _ask("sky?")])
    assert [r.cached for r in second] == [True, False, True]
    assert fake.batch_sizes() == [2, 1]  # only the miss reached the model, in one call
    assert second[2].logprobs == first[0].logprobs and second[0].logprobs == first[1].logprobs
    assert (cached.hits, cached.misses) == (2, 3)


def test_duplicates_in_a_wave_are_computed_once(tmp_path):
    fake = FakeBackend()
    out = CachingBackend(fake, tmp_path / "c.sqlite").choice_logprobs([_ask("a"), _ask("b"), _ask("a")])
    assert fake.batch_sizes() == [2]
    assert out[0] == out[2]


def test_persists_across_instances_and_generations(tmp_path):
    path = tmp_path / "c.sqlite"
    req = GenerateRequest(({"role": "user", "content": "n?"},), {"type": "regex", "pattern": "[0-9]"})
    CachingBackend(FakeBackend(texts={"n?": "7"}), path).generate([req])
    fake = FakeBackend(texts={"n?": "8"})
    [again] = CachingBackend(fake, path).generate([req])
    assert again.text == "7" and again.cached and fake.n_calls() == 0


def test_disabled_passes_through(tmp_path):
    fake = FakeBackend()
    cached = CachingBackend(fake, tmp_path / "c.sqlite", enabled=False)
    cached.choice_logprobs([_ask("a")])
    cached.choice_logprobs([_ask("a")])
    assert fake.n_calls() == 2 and not (tmp_path / "c.sqlite").exists()


def test_a_file_that_is_not_a_database_is_set_aside_and_rebuilt(tmp_path, capsys):
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"this is not a sqlite database" * 100)
    fake = FakeBackend()
    [res] = CachingBackend(fake, path).choice_logprobs([_ask("a")])
    assert not res.cached and fake.n_calls() == 1
    (aside,) = tmp_path.glob("c.sqlite.corrupt-*")
    assert aside.read_bytes() == b"this is not a sqlite database" * 100  # kept, for a look
    (warning,) = capsys.readouterr().err.splitlines()
    assert warning.startswith(f"warning: the LLM result cache {path} is damaged") and str(aside) in warning
    [again] = CachingBackend(fake, path).choice_logprobs([_ask("a")])  # a later run is served again
    assert again.cached and fake.n_calls() == 1


def test_a_truncated_database_is_set_aside_when_sqlite_notices(tmp_path, capsys):
    path = tmp_path / "c.sqlite"
    store = ResultCache(path)
    store.put_many([(f"k{i}", {"v": "x" * 200}) for i in range(2000)])
    store.close()
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)
    fake = FakeBackend()
    CachingBackend(fake, path).choice_logprobs([_ask("a")])  # the miss is stored: sqlite reads the damage
    assert len(list(tmp_path.glob("c.sqlite.corrupt-*"))) == 1 and "is damaged" in capsys.readouterr().err
    [again] = CachingBackend(fake, path).choice_logprobs([_ask("a")])
    assert again.cached and fake.n_calls() == 1


def test_a_file_another_process_set_aside_first_is_not_moved_twice(tmp_path, capsys):
    path = tmp_path / "c.sqlite"
    late, first = ResultCache(path), ResultCache(path)
    late.put_many([("old", {"v": 0})])  # both are connected to the file when it is found damaged
    first.get_many(["old"])
    damage = sqlite3.DatabaseError("database disk image is malformed")
    first._set_aside(damage)  # the first to notice moves it and starts a new cache
    first.put_many([("new", {"v": 1})])
    late._set_aside(damage)  # the second finds a file it did not open: nothing to move
    aside = [p for p in tmp_path.glob("c.sqlite.corrupt-*") if not p.name.endswith(("-wal", "-shm"))]
    assert len(aside) == 1 and path.exists()
    assert capsys.readouterr().err.count("is damaged") == 1
    assert late.get_many(["new", "old"]) == {"new": {"v": 1}}  # and it uses the new one from now on


def test_a_value_that_does_not_parse_is_one_miss(tmp_path):
    path = tmp_path / "c.sqlite"
    ResultCache(path).put_many([("a", {"v": 1}), ("b", {"v": 2})])
    sqlite3.connect(path, isolation_level=None).execute("UPDATE results SET value = '{cut' WHERE key = 'a'")
    assert ResultCache(path).get_many(["a", "b"]) == {"b": {"v": 2}}


def _writer(path, start):
    store = ResultCache(path)
    for i in range(start, start + 50):
        store.put_many([(f"k{i}", {"v": i})])


def test_concurrent_processes_write_safely(tmp_path):
    path = tmp_path / "c.sqlite"
    ResultCache(path).put_many([("seed", {"v": -1})])
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, n * 50)) for n in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    store = ResultCache(path)
    assert len(store) == 151
    assert store.get_many(["k0", "k149", "nope"]) == {"k0": {"v": 0}, "k149": {"v": 149}}
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_errors_are_passed_on_but_never_cached(tmp_path):
    from skilldsl.runtime.backends.base import RequestError

    script = {"bad": RequestError("refused")}
    fake = FakeBackend(lambda prompt, options: script.get(prompt, "yes"))
    cached = CachingBackend(fake, tmp_path / "c.sqlite")
    bad, good = cached.choice_logprobs([_ask("bad"), _ask("good")])
    assert bad.error == "refused" and good.error is None
    assert len(cached.store) == 1  # only the good answer was stored
    script.clear()  # whatever made it fail is fixed: the request reaches the model again
    again, good_again = cached.choice_logprobs([_ask("bad"), _ask("good")])
    assert again.error is None and not again.cached and good_again.cached
    assert fake.batch_sizes() == [2, 1]


def test_a_new_prompt_encoding_never_serves_results_of_the_old_one(monkeypatch):
    """Results cached before the control-token fix held verdicts of injected prompts: the key
    names the encoding, so they are never served again."""
    from skilldsl.runtime.backends import base, cache

    request = base.ChoiceRequest(({"role": "user", "content": "x<|im_end|>"},), ("yes", "no"))
    before = cache.request_key("m", request)
    monkeypatch.setattr(cache, "PROMPT_ENCODING", cache.PROMPT_ENCODING + "-next")  # whatever comes next
    assert cache.request_key("m", request) != before


def test_keys_cover_how_a_long_prompt_is_cut(tmp_path):
    """The same messages cut to another length are another request: the skill's prompt budget, the
    context and the truncation policy each decide the cut (prompt_policy, part of the key)."""
    from skilldsl.runtime.backends.hf import TransformersBackend

    settings = [{}, {"max_context": 4096}, {"max_context": 2048}, {"max_prompt_tokens": 512}, {"truncate": "left"}]
    policies = {TransformersBackend("org/x", device="cpu", dtype="float32", **s).prompt_policy for s in settings}
    assert len(policies) == len(settings)
    path = tmp_path / "c.sqlite"
    for policy in sorted(policies):
        fake = FakeBackend()
        fake.prompt_policy = policy
        [result] = CachingBackend(fake, path).choice_logprobs([_ask("a long prompt")])
        assert not result.cached and fake.n_calls() == 1  # never served another policy's answer
