"""What every assignment's checks share: calling student code safely and explaining failures."""
from __future__ import annotations

import random
from typing import Any, Callable, Iterable


class CheckFailed(AssertionError):
    """A check that found a wrong answer; the message says which input and what was expected."""


def _short(value: Any) -> str:
    """A value as it should appear in a message: tensors by shape, not by their contents."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        torch = None
    if torch is not None and isinstance(value, torch.Tensor):
        return f"<tensor of shape {tuple(value.shape)}>"
    return repr(value)


def describe_call(fn_name: str, args: tuple = (), kwargs: dict | None = None) -> str:
    parts = [_short(a) for a in args] + [f"{k}={_short(v)}" for k, v in (kwargs or {}).items()]
    return f"{fn_name}({', '.join(parts)})"


def call_as(text: str, student_fn: Callable, *args, **kwargs) -> Any:
    """Call the student's code, described as ``text`` in messages; turn "not written yet" and
    crashes into readable failures."""
    try:
        return student_fn(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailed(f"{text}: not implemented yet (it still raises NotImplementedError)") from None
    except Exception as err:  # noqa: BLE001 - any crash in student code is a failed check, with its cause
        raise CheckFailed(f"{text} raised {type(err).__name__}: {err}") from err


def call(student_fn: Callable, *args, **kwargs) -> Any:
    """``call_as`` with the call itself as the description, e.g. ``output_size(size=5, ...)``."""
    text = describe_call(getattr(student_fn, "__name__", "your function"), args, kwargs)
    return call_as(text, student_fn, *args, **kwargs)


def expect_equal(student_fn: Callable, reference_fn: Callable, cases: Iterable[tuple[tuple, dict]],
                 what: str = "", tol: float | None = None) -> int:
    """Compare ``student_fn`` with ``reference_fn`` on every ``(args, kwargs)`` case. Returns the count."""
    n = 0
    for args, kwargs in cases:
        expected = reference_fn(*args, **kwargs)
        got = call(student_fn, *args, **kwargs)
        text = describe_call(getattr(student_fn, "__name__", "your function"), args, kwargs)
        if tol is None:
            ok = type(got) is not bool and got == expected
        else:
            ok = isinstance(got, (int, float)) and abs(got - expected) <= tol
        if not ok:
            hint = f" ({what})" if what else ""
            raise CheckFailed(f"{text} returned {got!r}, expected {expected!r}{hint}")
        n += 1
    return n


def rng(seed: int | None) -> random.Random:
    """Random cases: fixed for visible tests, fresh (seed None) for hidden ones."""
    return random.Random(seed)
