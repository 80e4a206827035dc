"""Answer boxes: instant feedback on an exercise, without a kernel, from its Python checker.

When the book is built, :func:`answer_box` asks an exercise's checker about every answer it
is given (the right one and the mistakes the checker recognises) and embeds the checker's own
verdicts in the page, so that the static page answers as the checker would: "correct", the
checker's hint for a known mistake, or "not yet" for any other answer.

The page must not give the answer away, so each known answer is stored only as
``SHA-256(salt, 1, answer)``, and its feedback is XOR-ed with a key stream
``SHA-256(salt, 0, answer, block)``: only typing that answer reveals what the checker says
about it. (A determined reader can still try every small number; the aim is that the answer
cannot be read off the page source, not secrecy.) The browser side is ``answer.js``, which
hashes in plain JavaScript (``crypto.subtle`` is missing from file:// pages).

Answers are compared in a canonical text form (:func:`canonical`), the same in Python and in
the browser: numbers rounded to ``decimals`` places, a list as comma-separated numbers, a
set of options sorted.
"""

from __future__ import annotations

import base64
import hashlib
import html
import itertools
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cnncourse._checks import check_float, check_int, check_sequence, describe

__all__ = ["KINDS", "canonical", "AnswerBox", "answer_box"]

KINDS = ("number", "list", "choice", "set")
"""What an answer box asks for: one number, a short list of numbers, one option, a set of options."""

_SCRIPT = (Path(__file__).resolve().parent / "answer.js").read_text(encoding="utf-8")


def _number(value: object, decimals: int) -> str:
    x = float(value)  # type: ignore[arg-type]
    if not math.isfinite(x):
        raise ValueError(f"an answer must be a finite number, got {value!r}")
    text = f"{x:.{decimals}f}"
    if decimals > 0:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def canonical(answer: object, kind: str, decimals: int = 0) -> str:
    """The text an answer is hashed as (``answer.js`` computes the same from what is typed).

    Parameters
    ----------
    answer
        A number (``"number"``), a sequence of numbers (``"list"``), an option
        (``"choice"``) or a collection of options (``"set"``).
    kind
        One of ``KINDS``.
    decimals
        Decimal places numbers are rounded to (0: whole numbers).

    Examples
    --------
    >>> canonical(13, "number"), canonical(0.70, "number", 2), canonical((32, 6, 6), "list")
    ('13', '0.7', '32,6,6')
    >>> canonical({"sharpen", "box blur"}, "set")
    'box blur,sharpen'
    """
    decimals = check_int(decimals, "decimals", minimum=0)
    if kind == "number":
        return _number(answer, decimals)
    if kind == "list":
        return ",".join(_number(v, decimals) for v in answer)  # type: ignore[union-attr]
    if kind == "choice":
        return str(answer)
    if kind == "set":
        return ",".join(sorted(str(a) for a in answer))  # type: ignore[union-attr]
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def _sha(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def _seal(salt: str, answer: str, correct: bool, message: str) -> tuple[str, str]:
    plain = (("1" if correct else "0") + message).encode("utf-8")
    stream = b"".join(_sha(f"{salt}\x00{answer}\x00{i}") for i in range(math.ceil(len(plain) / 32)))
    cipher = bytes(p ^ k for p, k in zip(plain, stream))
    return _sha(f"{salt}\x01{answer}").hex(), base64.b64encode(cipher).decode("ascii")


def _generic(message: str, answer: str) -> str:
    """The message with the answer's own text taken out, to spot a checker's catch-all hint."""
    return message.replace(answer, "{}")


@dataclass(frozen=True)
class AnswerBox:
    """An answer box, displayed as HTML (see :func:`answer_box`).

    Attributes
    ----------
    exercise
        Name of the exercise (from the checker's feedback).
    kind, decimals, options
        What the box asks for.
    salt
        The salt of its hashes (derived from the exercise, so builds are reproducible).
    entries
        ``{hash: sealed feedback}`` for every answer the box recognises.
    n_correct, n_hints
        How many recognised answers are right, and how many are known mistakes.
    """

    exercise: str
    kind: str
    decimals: int
    options: tuple[str, ...]
    salt: str
    entries: dict[str, str]
    n_correct: int
    n_hints: int
    label: str

    def feedback(self, answer: object) -> tuple[str, str]:
        """What the page answers to ``answer``: ``("correct" | "hint" | "unknown", message)``.

        Decodes the embedded entries exactly as ``answer.js`` does (tests use it).
        """
        text = canonical(answer, self.kind, self.decimals)
        key = _sha(f"{self.salt}\x01{text}").hex()
        if key not in self.entries:
            return "unknown", ""
        cipher = base64.b64decode(self.entries[key])
        stream = b"".join(_sha(f"{self.salt}\x00{text}\x00{i}") for i in range(math.ceil(len(cipher) / 32)))
        plain = bytes(c ^ k for c, k in zip(cipher, stream)).decode("utf-8")
        return ("correct" if plain[0] == "1" else "hint"), plain[1:]

    def _input_html(self) -> str:
        if self.kind in ("number", "list"):
            mode = "decimal" if self.decimals or self.kind == "list" else "numeric"
            return (f'<input type="text" inputmode="{mode}" autocomplete="off" '
                    f'aria-label="{html.escape(self.label)}" class="cnc-answer-input">')
        kind = "radio" if self.kind == "choice" else "checkbox"
        name = "cnc-" + self.salt
        return "".join(f'<label class="cnc-answer-option"><input type="{kind}" name="{name}" '
                       f'value="{html.escape(o)}"> {html.escape(o)}</label>' for o in self.options)

    def _repr_html_(self) -> str:
        invalid = {"number": "Type one number.", "list": "Type numbers separated by commas.",
                   "set": "Tick the options you choose.", "choice": "Choose one answer."}[self.kind]
        return (
            f'<div class="cnc-answer" data-exercise="{html.escape(self.exercise)}" '
            f'data-kind="{self.kind}" data-decimals="{self.decimals}" '
            f'data-salt="{self.salt}" data-invalid="{html.escape(invalid)}" '
            f"data-entries='{html.escape(json.dumps(self.entries, sort_keys=True))}'>"
            f'<div class="cnc-answer-label">{html.escape(self.label)}</div>'
            f'<div class="cnc-answer-fields">{self._input_html()}'
            f'<button type="button" class="cnc-answer-check">Check</button></div>'
            f'<div class="cnc-answer-feedback" role="status" aria-live="polite"></div>'
            f"<noscript>This answer box needs JavaScript; the notebook's checker works without it."
            f"</noscript></div><script>{_SCRIPT}</script>"
        )

    def __repr__(self) -> str:
        return (f"AnswerBox({self.exercise!r}: {self.kind}, {self.n_correct} right answer(s), "
                f"{self.n_hints} known mistake(s))")


def answer_box(checker: Callable[[object], object], candidates: Iterable[object] | None = None, *,
               kind: str = "number", decimals: int = 0, options: Sequence[str] = (),
               label: str = "Your answer:") -> AnswerBox:
    """An answer box that answers as ``checker`` does, for the page to show (no kernel needed).

    ``checker`` is called on every candidate answer when the book is built. An answer it
    accepts is stored as right; an answer it rejects with a hint of its own is stored with
    that hint; an answer it rejects with its catch-all hint (the same words as for an absurd
    answer) is left out, so the page says "not yet" for it, as for every answer not tried.

    Parameters
    ----------
    checker
        A checker of ``cnncourse.exercises``, called as ``checker(answer)`` and returning a
        :class:`~cnncourse.exercises.feedback.Feedback` (``passed``, ``message``); bind the
        exercise's other arguments with a ``lambda`` or ``functools.partial``.
    candidates
        The answers to ask the checker about. Default: for ``"choice"`` every option, for
        ``"set"`` every subset of the options; for ``"number"`` and ``"list"`` it is
        required (e.g. ``range(100)``: whole numbers from 0 to 99).
    kind
        One of ``KINDS``.
    decimals
        Decimal places typed numbers are rounded to before they are compared.
    options
        The options of a ``"choice"`` or ``"set"`` box.
    label
        The prompt above the box.

    Raises
    ------
    ValueError
        For an unknown kind, missing options or candidates, a candidate of a ``"number"`` or
        ``"list"`` box that is not finite, candidates of which the checker accepts none (the
        box could never say "correct"), or a checker that raises on a candidate.
    TypeError
        When ``checker`` is not callable or does not return a verdict with ``passed`` and
        ``message``; when ``candidates`` or ``options`` is not a sequence, or a candidate of a
        ``"number"`` or ``"list"`` box is not a number (or a sequence of numbers).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if not callable(checker):
        raise TypeError(f"checker must be callable, got {type(checker).__name__}")
    if isinstance(decimals, bool) or not isinstance(decimals, int):
        raise TypeError(f"decimals must be an int from 0 to 6, got {decimals!r}")
    if not 0 <= decimals <= 6:
        raise ValueError(f"decimals must be an int from 0 to 6, got {decimals!r}")
    options = tuple(str(o) for o in check_sequence(options, "options", minimum=0))
    if kind in ("choice", "set") and not options:
        raise ValueError(f"a {kind!r} box needs options, got none")
    if candidates is None:
        if kind == "choice":
            candidates = options
        elif kind == "set":
            if len(options) > 10:
                raise ValueError(f"a 'set' box tries every subset: at most 10 options, got {len(options)}")
            candidates = [set(c) for n in range(len(options) + 1) for c in itertools.combinations(options, n)]
        else:
            raise ValueError(f"a {kind!r} box needs candidates (the answers to ask the checker about), "
                             "got None")
    candidates = check_sequence(candidates, "candidates", minimum=0)
    if kind == "number":  # canonical() reads them as numbers
        check_sequence(candidates, "candidates", minimum=0, item=check_float)
    elif kind == "list":
        check_sequence(candidates, "candidates", minimum=0,
                       item=lambda answer, name: check_sequence(answer, name, item=check_float))

    def verdict(answer: object, what: str = "the candidate"):
        try:
            fb = checker(answer)
        except Exception as exc:  # a checker must answer every candidate
            raise ValueError(f"checker {describe(checker)} raised {type(exc).__name__} on "
                             f"{what} {answer!r}: {exc}") from exc
        if not hasattr(fb, "passed") or not hasattr(fb, "message"):
            raise TypeError(f"checker must return a Feedback (passed, message), got {type(fb).__name__} "
                            f"from {describe(checker)}")
        return fb

    # The checker's catch-all hint, from an answer no one gives (99991 prints alike with :g).
    catch_all = None
    if kind in ("number", "list") and candidates:
        absurd = 99991 if kind == "number" else [99991] * len(list(candidates[0]))
        text = canonical(absurd, kind, decimals)
        absurd_message = verdict(absurd, "the probe of its catch-all hint").message
        catch_all = _generic(_generic(absurd_message, text.replace(",", ", ")), text)
    exercise = ""
    entries: dict[str, str] = {}
    salt = ""
    n_correct = n_hints = 0
    for answer in candidates:
        fb = verdict(answer)
        exercise = exercise or str(getattr(fb, "exercise", ""))
        if not salt:
            salt = hashlib.sha256(f"cnncourse answer box: {exercise}: {label}".encode()).hexdigest()[:16]
        text = canonical(answer, kind, decimals)
        if fb.passed is None:
            continue
        if not fb.passed and catch_all is not None:
            generic = _generic(_generic(fb.message, text.replace(",", ", ")), text)
            if fb.message == absurd_message or generic == catch_all:
                continue
        key, sealed = _seal(salt, text, bool(fb.passed), fb.message)
        if key not in entries:
            entries[key] = sealed
            n_correct += bool(fb.passed)
            n_hints += not fb.passed
    if n_correct == 0:
        raise ValueError(f"the checker accepts none of the {len(candidates)} candidates of exercise "
                         f"{exercise!r}: include the right answer")
    return AnswerBox(exercise, kind, decimals, options, salt, entries, n_correct, n_hints, label)
