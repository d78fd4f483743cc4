"""What every assignment's checks share: calling student code safely and explaining failures."""
from __future__ import annotations

import random
from typing import Any, Callable, Iterable


class CheckFailed(AssertionError):
    """A check that found a wrong answer; the message says which input and what was expected."""


def describe_call(fn_name: str, args: tuple = (), kwargs: dict | None = None) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in (kwargs or {}).items()]
    return f"{fn_name}({', '.join(parts)})"


def call(student_fn: Callable, *args, **kwargs) -> Any:
    """Call the student's function; turn "not written yet" and crashes into readable failures."""
    call_text = describe_call(getattr(student_fn, "__name__", "your function"), args, kwargs)
    try:
        return student_fn(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailed(f"{call_text}: not implemented yet (it still raises NotImplementedError)") from None
    except Exception as err:  # noqa: BLE001 - any crash in student code is a failed check, with its cause
        raise CheckFailed(f"{call_text} raised {type(err).__name__}: {err}") from err


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
