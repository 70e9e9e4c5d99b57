"""The gate states n and 95 % Wilson intervals, and refuses to decide on too few frozen examples."""
from __future__ import annotations

import pytest

from ml.retrain import epochs_for, gate, wilson_interval


def _score(correct: int, n: int) -> dict:
    return {"n": n, "accuracy": correct / n if n else 0.0, "tp": correct, "tn": 0, "fp": 0, "fn": n - correct}


def test_wilson_interval_matches_the_textbook_figures():
    assert wilson_interval(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_too_few_frozen_examples_keep_the_live_model_whatever_the_figures():
    result = gate({"base": _score(50, 50), "corrections": _score(12, 12)},
                  {"base": _score(50, 50), "corrections": _score(6, 12)}, tolerance=0.02, min_frozen=30)
    assert not result.passed
    assert result.reason == "not enough frozen examples yet (12 of 30 needed): the live model stays"
    assert "frozen corrections, n=12: live 0.50 (95 % CI 0.25-0.75)" in result.report
    assert result.n == {"base": 50, "corrections": 12} and result.corrections_delta is None


def test_enough_frozen_examples_are_judged_with_their_intervals():
    better = gate({"base": _score(49, 50), "corrections": _score(30, 32)},
                  {"base": _score(50, 50), "corrections": _score(20, 32)}, tolerance=0.02, min_frozen=30,
                  base_set="guard set")
    assert better.passed and better.corrections_delta == pytest.approx(0.3125)
    assert better.intervals["candidate"]["corrections"] == list(wilson_interval(30, 32))
    worse = gate({"base": _score(40, 50), "corrections": _score(30, 32)},
                 {"base": _score(50, 50), "corrections": _score(20, 32)}, tolerance=0.02, min_frozen=30,
                 base_set="guard set")
    assert not worse.passed and "worse on the guard set" in worse.reason


def test_a_small_set_still_gets_its_minimum_of_steps():
    assert epochs_for(88, epochs=4, min_steps=60) == 30  # 2 batches of 64
    assert epochs_for(10_000, epochs=4, min_steps=60) == 4
