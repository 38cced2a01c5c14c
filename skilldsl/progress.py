"""The one progress bar of long work (``Skill.score`` batches, ``skilldsl eval`` items): tqdm on
stderr, so stdout stays for results."""
from __future__ import annotations

import sys

__all__ = ["progress_bar"]


def progress_bar(total: int, *, unit: str = "sample", desc: "str | None" = None, initial: int = 0,
                 enabled: bool = True):
    """A tqdm bar on stderr (a disabled one when ``enabled`` is false: same calls, no output)."""
    from tqdm import tqdm  # only when there is long work to show

    return tqdm(total=total, initial=initial, desc=desc, unit=unit, file=sys.stderr, disable=not enabled,
                dynamic_ncols=True, smoothing=0.1)
