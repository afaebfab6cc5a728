"""Fixtures for the reliability tests (bad inputs, outputs that cannot be written, fuzzing)."""
from __future__ import annotations

import random

import pytest


def _mutate_lines(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    for _ in range(rng.randint(1, 3)):
        if not lines:
            break
        i = rng.randrange(len(lines))
        chars = list(lines[i])
        op = rng.randrange(6)
        if op == 0 and chars:
            del chars[rng.randrange(len(chars))]
        elif op == 1:
            chars.insert(rng.randrange(len(chars) + 1), rng.choice(",x.-9 n=[]\t\0\xe9"))
        elif op == 2 and chars:
            chars[rng.randrange(len(chars))] = rng.choice("0,;-=")
        elif op == 3:
            lines.insert(i, lines[i])  # duplicate
        elif op == 4:
            lines[i], lines[-1] = lines[-1], lines[i]  # out of order
        else:
            chars = chars[: rng.randrange(len(chars) + 1)]  # cut short (a truncated file)
        lines[i] = "".join(chars)
    return "\n".join(lines)


@pytest.fixture(scope="session")
def mutate_lines():
    """``mutate_lines(text, rng)``: 1-3 random damages to the lines of a text file: a character
    deleted, inserted or replaced, a line duplicated, moved to the end, or cut short."""
    return _mutate_lines
