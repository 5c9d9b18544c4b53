"""The training / validation / test split of a text, one definition for the Markov chains and the char-LSTM.

Both character-level tasks cut their text here, so that a chain and an LSTM
given the same corpus and fractions train on, choose on and report on the
same characters: their figures stay a paired comparison
(``tests/test_test_split.py`` checks it). Of ``n`` symbols,

* the test part is the last ``test_fraction``: ``[int(n * (1 - test)), n)``,
  never trained on nor used for any choice, scored once at the end;
* validation the ``val_fraction`` just before it:
  ``[int(n * (1 - val - test)), int(n * (1 - test)))``, what epochs, orders
  and searches are chosen by;
* training everything before that.

The boundaries are the old two-way split's formula, ``int(n * (1 - val))``,
with ``test`` subtracted, so ``test_fraction`` 0 -- the default, and what a
run made before the option existed did -- is that split to the symbol:
validation runs to the end of the text and there is no test part.

Nothing here imports numpy: the task configs use the option and the check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seqtasks.config import option
from seqtasks.errors import UserError


def test_fraction_option() -> Any:
    """``--test-fraction`` of a text task: off (0) by default, so older run folders keep their meaning."""
    return option(
        0.0,
        "Last fraction of the text held out as test text: never trained on nor used for any choice, "
        "scored once at the end (0: no test split). Validation is the --val-fraction just before it.",
    )


def check_fractions(val_fraction: float, test_fraction: float) -> None:
    """Refuse a test fraction outside [0, 1), or one that with validation leaves no training text.

    ``val_fraction`` itself is checked by each task's config, as it was
    before the test split existed.
    """
    if not 0.0 <= test_fraction < 1.0:
        raise UserError(f"--test-fraction must be in [0, 1) (got {test_fraction})")
    if not val_fraction + test_fraction < 1.0:
        raise UserError(
            f"--val-fraction {val_fraction} and --test-fraction {test_fraction} leave no training text: "
            "their sum must be below 1"
        )


@dataclass(frozen=True)
class TextSplit:
    """How a text of ``total`` symbols is cut: ``[0, train_end)``, ``[train_end, val_end)``, ``[val_end, total)``."""

    total: int
    val_fraction: float
    test_fraction: float

    @property
    def train_end(self) -> int:
        """Where training ends and validation begins (the old two-way split's formula, less the test part)."""
        return int(self.total * (1.0 - self.val_fraction - self.test_fraction))

    @property
    def val_end(self) -> int:
        """Where validation ends and the test part begins (``total`` without a test split)."""
        return int(self.total * (1.0 - self.test_fraction))

    @property
    def train(self) -> slice:
        """The training symbols."""
        return slice(0, self.train_end)

    @property
    def val(self) -> slice:
        """The validation symbols."""
        return slice(self.train_end, self.val_end)

    @property
    def test(self) -> slice:
        """The test symbols (empty without a test split)."""
        return slice(self.val_end, self.total)

    def check(self, need: int, needs: str, name: str, unit: str, fix: str) -> "TextSplit":
        """This split, or one :class:`UserError` line when the text is too short for it.

        Training must hold more than ``need`` symbols (``needs`` says why,
        naming the option: ``--maxlen 40``, ``order 3``), validation at least
        one, and the test part at least one when ``--test-fraction`` asks for one.
        """
        train, val, test = self.train_end, self.val_end - self.train_end, self.total - self.val_end
        if train <= need or val < 1 or (self.test_fraction > 0 and test < 1):
            fractions = f"--val-fraction {self.val_fraction:g}" + (
                f" and --test-fraction {self.test_fraction:g}" if self.test_fraction > 0 else ""
            )
            raise UserError(
                f"{name} has {self.total} {unit}s, which {fractions} split into training {train}, validation {val}"
                f"{f', test {test}' if self.test_fraction > 0 else ''}: training needs more than {needs} and every "
                f"held-out part at least one; {fix}"
            )
        return self
