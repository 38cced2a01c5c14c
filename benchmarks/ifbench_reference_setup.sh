#!/usr/bin/env bash
# Recreate the reference venv for the IFBench differential test (re-runnable; idempotent).
#
#   bash benchmarks/ifbench_reference_setup.sh [VENV]            # default /work/venv-ifbench
#   IFBENCH_GIT=/path/to/allenai+IFBench/repo bash benchmarks/ifbench_reference_setup.sh
#
# What it builds (nothing here is a runtime dependency of skilldsl):
# - a Python 3.11 venv with the checker dependencies pinned to allenai/IFBench's uv.lock at db69a6f05689
#   (nltk 3.9.2, emoji 2.15.0, syllapy 0.7.2, ...), plus `if-verifiable==0.1.2` from PyPI (--no-deps:
#   `datasets` is only needed to download data, not to check);
# - the official checker itself: `ifbench/` exported from a git copy of allenai/IFBench at commit
#   db69a6f05689 (the data's commit; the authority). if-verifiable 0.1.2 ships an OLDER copy that differs
#   in 15 checkers and in the sentence splitter (see /work/notes/ifbench_reference.md), so it is
#   installed only for comparison; benchmarks/ifbench_reference.py uses the `ifbench` package;
# - NLTK data offline: `punkt_tab` and `stopwords` are NLTK's own files as bundled in the PyPI wheel
#   llama-index-core 0.14.25 (llama_index/core/_static/nltk_cache/), extracted to VENV/nltk_data (on
#   nltk's default search path for that interpreter). `averaged_perceptron_tagger_eng` (used only by
#   words:start_verb via nltk.pos_tag) is on no registry reachable here: that id's official verdict is
#   recorded only where the official returns before tagging;
# - VENV/share/ifbench/: the repo's 294 model responses (sample_output.jsonl) and its recorded
#   verdicts on them (eval_results_{strict,loose}.jsonl) at that commit.
set -euo pipefail

VENV="${1:-/work/venv-ifbench}"
PYTHON="${PYTHON:-python3.11}"
IFBENCH_GIT="${IFBENCH_GIT:-/work/.mirror/allenai+IFBench/repo}"
IFBENCH_COMMIT="db69a6f05689"
NLTK_WHEEL="llama-index-core==0.14.25"

die() { echo "ifbench_reference_setup: $*" >&2; exit 1; }

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
    || die "$VENV is not a Python 3.11 venv"
PIP=("$VENV/bin/pip" install -q --disable-pip-version-check)
"${PIP[@]}" --no-deps "if-verifiable==0.1.2"
# Versions from allenai/IFBench uv.lock at db69a6f05689 (the versions the official results were made with).
"${PIP[@]}" "nltk==3.9.2" "emoji==2.15.0" "syllapy==0.7.2" "langdetect==1.0.9" \
    "immutabledict==4.2.2" "absl-py==2.3.1" "regex==2025.11.3"

SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# NLTK data from a PyPI wheel (no network beyond PyPI here).
"$VENV/bin/pip" download -q --disable-pip-version-check --no-deps "$NLTK_WHEEL" -d "$TMP"
"$VENV/bin/python" - "$TMP" "$VENV/nltk_data" <<'EOF'
import pathlib, sys, zipfile
wheel = next(pathlib.Path(sys.argv[1]).glob("llama_index_core-*.whl"))
out = pathlib.Path(sys.argv[2])
prefix = "llama_index/core/_static/nltk_cache/"
wanted = ("tokenizers/punkt_tab/", "corpora/stopwords/")
n = 0
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        rel = name[len(prefix):] if name.startswith(prefix) else ""
        if rel.startswith(wanted) and not name.endswith("/"):
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(z.read(name))
            n += 1
print(f"nltk_data: {n} files from {wheel.name} -> {out}")
EOF

# The official checker at the data's commit.
if git --git-dir="$IFBENCH_GIT" cat-file -e "$IFBENCH_COMMIT^{commit}" 2>/dev/null; then
    rm -rf "$SITE/ifbench"
    git --git-dir="$IFBENCH_GIT" archive "$IFBENCH_COMMIT" ifbench | tar -x -C "$SITE"
    echo "$IFBENCH_COMMIT" > "$SITE/ifbench/COMMIT"
    # The repo's 294 model responses (data/sample_output.jsonl): real text for the differential run.
    mkdir -p "$VENV/share/ifbench"
    git --git-dir="$IFBENCH_GIT" show "$IFBENCH_COMMIT:data/sample_output.jsonl" > "$VENV/share/ifbench/sample_output.jsonl"
    # ...and the repo's own verdicts on them: ifbench_reference.py checks its harness against these.
    for mode in strict loose; do
        git --git-dir="$IFBENCH_GIT" show "$IFBENCH_COMMIT:eval/eval_results_$mode.jsonl" \
            > "$VENV/share/ifbench/eval_results_$mode.jsonl"
    done
    echo "official ifbench/ at $IFBENCH_COMMIT -> $SITE/ifbench"
else
    die "no git copy of allenai/IFBench with commit $IFBENCH_COMMIT at IFBENCH_GIT=$IFBENCH_GIT" \
        "(clone the public repo and point IFBENCH_GIT at its .git)"
fi

# Smoke test: imports offline, sentence tokenizer and stop words load, one checker runs.
"$VENV/bin/python" - <<'EOF'
import nltk
nltk.download = lambda *a, **k: False  # never reach the network; missing data must fail loudly
from ifbench import instructions_registry, instructions_util
assert len([k for k in instructions_registry.INSTRUCTION_DICT if ":" in k and not k.startswith(
    ("keywords:", "language:", "length_constraints:", "detectable_", "combination:", "startend:",
     "change_case:", "punctuation:"))]) == 58
assert instructions_util.split_into_sentences("One. Two.") == ["One.", "Two."]
assert "the" in nltk.corpus.stopwords.words("english")
try:
    nltk.data.find("taggers/averaged_perceptron_tagger_eng")
    print("tagger: present")
except LookupError:
    print("tagger: averaged_perceptron_tagger_eng absent (words:start_verb recorded only where untagged)")
print("ok: official IFBench checker ready")
EOF
