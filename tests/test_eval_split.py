"""``--split dev|test|all``: a fixed half split of the items by a salted hash of their ids."""
import argparse
import json
from collections import Counter
from pathlib import Path

import pytest

from skilldsl.cli import eval_cmd
from skilldsl.eval import EvalItem, EvalError, UsageError, read_dataset, run_eval
from skilldsl.eval.fake import FakeScorer
from skilldsl.eval.items import SPLIT_SALT, select_split as select, split_of

FIX = Path(__file__).parent / "fixtures" / "eval"


def _items(n: int, subsets=("x", "y")) -> list:
    return [EvalItem(id=f"{subsets[k % len(subsets)]}:{k}", subset=subsets[k % len(subsets)], kind="pair",
                     candidates=["p", "q"], label=0) for k in range(n)]


def test_split_is_a_fixed_function_of_the_id():
    # pinned values: a changed salt or hash would silently re-deal the held-out items
    assert SPLIT_SALT == "skilldsl-split-v1"
    assert [split_of(i) for i in ("0", "1", "2", "3", "Natural:0")] == ["test", "dev", "test", "test", "dev"]
    items = _items(40)
    assert [i.id for i in select(items, "dev")] == [i.id for i in select(list(reversed(items)), "dev")][::-1]


def test_dev_and_test_are_disjoint_halves_of_all():
    items = _items(2000)
    dev, test = select(items, "dev"), select(items, "test")
    assert {i.id for i in dev}.isdisjoint({i.id for i in test})
    assert sorted(i.id for i in dev + test) == sorted(i.id for i in select(items, "all"))
    per_subset = Counter(i.subset for i in dev)
    assert all(abs(per_subset[s] - 1000 / 2) < 60 for s in ("x", "y")), per_subset  # ~ Binomial(1000, 1/2)


def test_an_unknown_split_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown split 'train'"):
        select(_items(2), "train")


def test_split_applies_before_per_subset_and_limit():
    data = FIX / "pandalm" / "testset-v1.json"
    dev = read_dataset(data, split="dev")
    capped = read_dataset(data, split="dev", limit=1)
    assert len(dev.items) > 1 and capped.items == dev.items[:1] and capped.split == "dev"
    every = {i.id for i in read_dataset(data).items}
    halves = [{i.id for i in read_dataset(data, split=s).items} for s in ("dev", "test")]
    assert halves[0] | halves[1] == every and not halves[0] & halves[1]


def test_the_split_is_in_the_summary_and_the_checkpoint_header(tmp_path):
    data, ckpt = FIX / "pandalm" / "testset-v1.json", tmp_path / "c.jsonl"
    run = run_eval(FakeScorer("pairwise", name="judge"), data, split="test", checkpoint=str(ckpt), progress=False)
    assert run.summary["split"] == "test"
    assert json.loads(ckpt.read_text().splitlines()[0])["header"]["split"] == "test"
    with pytest.raises(EvalError, match="checkpoint was written with"):
        run_eval(FakeScorer("pairwise", name="judge"), data, split="dev", checkpoint=str(ckpt), resume=True,
                 progress=False)


def test_eval_cli_takes_split(capsys):
    parser = argparse.ArgumentParser(prog="skilldsl")
    eval_cmd.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["eval", "judge.skill", str(FIX / "pandalm" / "testset-v1.json"), "--split", "dev",
                              "--no-progress"])
    assert eval_cmd.execute(args, lambda path, **_: FakeScorer("pairwise", name="judge")) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["split"] == "dev" and summary["items"] == len(read_dataset(args.data, split="dev").items)
