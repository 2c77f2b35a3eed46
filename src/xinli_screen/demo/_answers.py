"""Answer model of the district scenario: latent severity -> item codes of one form.

Each pupil has a latent severity ``z`` (standard normal, with a small group shifted up); each
domain (the eight MHT content scales, depression, anxiety) mixes ``z`` with its own noise.
Answers follow a graded logistic model: the chance of reaching level k of an item is
``1 / (1 + exp(-a (theta - b_k)))``. Positively worded DSRSC items are answered on the
reversed scale (a well pupil answers 经常有 to "I look forward to things"). The MHT lie items
follow a separate, independent tendency. Critical items are not drawn here: the scenario sets
them explicitly, so their number is controlled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xinli_screen.instrument.registry import load_instrument

__all__ = ["FORMS", "SKIP", "FormItems", "careless_answers", "draw_answers", "form_items",
           "lie_score", "set_lie"]

#: Instruments of each form, in question order (first question 7).
FORMS = {"primary": ("mht", "dsrsc", "scared"), "junior": ("mht", "phqa", "scared")}
#: The 问卷星 text of a skipped question.
SKIP = "(跳过)"
#: Number of latent domains: MHT content scales 0-7, depression 8, anxiety 9.
N_DOMAINS = 10
#: Base difficulty (latent units) of the first level of an item, by instrument.
_BASE = {"mht": 1.8, "dsrsc": 1.0, "scared": 1.9, "phqa": 1.2}
#: Steps between levels of a polytomous item.
_STEP = 1.15
_SLOPE = 1.0


@dataclass(frozen=True)
class FormItems:
    """The items of one form, in question order, with what the answer model needs.

    Attributes
    ----------
    ids : list of str
        Item ids (``mht_001`` ...), question ``7 + k`` for position ``k``.
    instrument : ndarray of str
    labels : list of list of str
        Option text by code (index = code).
    top : ndarray of int
        Highest code of each item.
    reverse : ndarray of bool
        Positively worded item (answered on the reversed scale).
    domain : ndarray of int
        Latent domain of each item; -1 for the MHT lie items and -2 for the critical items
        (set by the scenario, not drawn).
    difficulty : ndarray, shape (n_items, 3)
        Thresholds of levels 1-3 (NaN beyond the item's top code).
    lie : ndarray of int
        Positions of the MHT lie items.
    critical : dict item id -> position
    scored : ndarray of int
        Positions of items in a non-optional scale (a sheet is complete when all are answered).
    """

    ids: list[str]
    instrument: np.ndarray
    labels: list[list[str]]
    top: np.ndarray
    reverse: np.ndarray
    domain: np.ndarray
    difficulty: np.ndarray
    lie: np.ndarray
    critical: dict[str, int]
    scored: np.ndarray

    def position(self, item_id: str) -> int:
        """Position (0-based) of an item; its question number is ``7 + position``."""
        return self.ids.index(item_id)


def form_items(form: str, rng: np.random.Generator) -> FormItems:
    """Items of ``form`` (``primary`` or ``junior``) with drawn item difficulties."""
    ids: list[str] = []
    inst_of: list[str] = []
    labels: list[list[str]] = []
    top: list[int] = []
    reverse: list[bool] = []
    domain: list[int] = []
    scored: set[str] = set()
    critical: list[str] = []
    lie: list[str] = []
    for name in FORMS[form]:
        inst = load_instrument(name)
        content = {}
        for k, scale in enumerate(s for s in inst.scales if s.role != "validity"
                                  and not s.is_composite):
            for item in scale.items:
                content[item] = k
        for scale in inst.scales:
            if not scale.optional and not scale.is_composite:
                scored.update(scale.items)
            if scale.role == "validity":
                lie.extend(scale.items)
        critical += [c.item for c in inst.critical_items]
        for item in inst.items:
            options = sorted(inst.response_scale_of(item).options, key=lambda o: o.code)
            ids.append(item.id)
            inst_of.append(name)
            labels.append([o.label.zh for o in options])
            top.append(int(options[-1].code))
            reverse.append(bool(item.reverse_keyed))
            if name == "mht":
                domain.append(content.get(item.id, -1))
            else:
                domain.append(8 if name in ("dsrsc", "phqa") else 9)
    for item in critical:  # PHQ-A 9, 12, 13, MHT 85, 97, DSRSC 10: set by the scenario
        domain[ids.index(item)] = -2
    n = len(ids)
    first = np.array([_BASE[i] for i in inst_of]) + rng.uniform(-0.45, 0.45, n)
    steps = np.arange(3) * _STEP
    difficulty = first[:, None] + steps[None, :]
    difficulty[np.arange(3)[None, :] >= np.array(top)[:, None]] = np.nan
    return FormItems(ids=ids, instrument=np.array(inst_of), labels=labels,
                     top=np.array(top), reverse=np.array(reverse), domain=np.array(domain),
                     difficulty=difficulty, lie=np.array([ids.index(i) for i in lie]),
                     critical={i: ids.index(i) for i in critical},
                     scored=np.array(sorted(ids.index(i) for i in scored)))


def draw_answers(rng: np.random.Generator, items: FormItems, theta: np.ndarray,
                 lie_theta: np.ndarray) -> np.ndarray:
    """Item codes, shape (n_pupils, n_items), float; critical items are 0 here.

    Parameters
    ----------
    theta : ndarray, shape (n_pupils, N_DOMAINS)
        Latent level of each domain.
    lie_theta : ndarray, shape (n_pupils,)
        Tendency to answer the MHT lie items 是.
    """
    n = len(theta)
    level = np.where(items.domain[None, :] >= 0, theta[:, np.clip(items.domain, 0, None)],
                     lie_theta[:, None])
    u = rng.random((n, len(items.ids)))
    codes = np.zeros((n, len(items.ids)))
    for k in range(3):
        b = items.difficulty[:, k]
        with np.errstate(invalid="ignore"):
            p = 1.0 / (1.0 + np.exp(-_SLOPE * (level - b[None, :])))
        codes += np.where(np.isnan(b)[None, :], False, u < p)
    codes = np.where(items.reverse[None, :], items.top[None, :] - codes, codes)
    codes[:, items.domain == -2] = 0.0
    return codes


def careless_answers(rng: np.random.Generator, items: FormItems, n: int) -> np.ndarray:
    """Answers of pupils clicking through: half the first option throughout, half at random."""
    straight = rng.random(n) < 0.5
    random = np.floor(rng.random((n, len(items.ids))) * (items.top[None, :] + 1))
    codes = np.where(straight[:, None], 0.0, random)
    codes[:, items.domain == -2] = 0.0
    return codes


def lie_score(items: FormItems, codes: np.ndarray) -> np.ndarray:
    """MHT lie scale (number of lie items answered 是; skipped items count 0)."""
    return np.nansum(codes[:, items.lie], axis=1)


def set_lie(rng: np.random.Generator, items: FormItems, codes: np.ndarray,
            high: np.ndarray) -> None:
    """In place: rows in ``high`` get 7-10 lie items 是; all other rows at most 6."""
    over = lie_score(items, codes) > 6
    for row in np.flatnonzero(high | over):
        answered = items.lie[~np.isnan(codes[row, items.lie])]
        yes = answered[codes[row, answered] == 1]
        if high[row]:
            want = int(rng.integers(7, 11))
            if len(yes) < want:
                no = answered[codes[row, answered] == 0]
                codes[row, rng.choice(no, size=min(want - len(yes), len(no)),
                                      replace=False)] = 1.0
        elif len(yes) > 6:
            codes[row, rng.choice(yes, size=len(yes) - 6, replace=False)] = 0.0
