"""NLI training data: XNLI (15 parallel languages) and English SNLI/SICK, split by pair id, cross-language mixing."""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from indexer.nli.base import LABELS

logger = logging.getLogger(__name__)

XNLI_LANGUAGES = ("ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh")
_LABEL_IDS = {name: i for i, name in enumerate(LABELS)}
# SNLI is distributed tokenised ("packages ."); undo the spaces the tokeniser added.
_DETOK = [
    (re.compile(r" ([.,!?;:)%])"), r"\1"),
    (re.compile(r"([(]) "), r"\1"),
    (re.compile(r" (n't|'s|'re|'ll|'d|'m|'ve)\b"), r"\1"),
]


@dataclass(frozen=True)
class NliPair:
    """One labelled premise/hypothesis pair.

    ``group`` is the key that keeps translations together when splitting (``xnli:<id>``); ``lang`` is
    ``"de"`` for a monolingual pair and ``"de-en"`` (premise-hypothesis) for a cross-language one.
    """

    premise: str
    hypothesis: str
    label: int
    lang: str
    group: str


def read_xnli(
    xnli_dir: Path, languages: tuple[str, ...] = XNLI_LANGUAGES, max_ids: int | None = None
) -> list[NliPair]:
    """Read ``xnli_validation_<lang>.tsv`` files (header ``id premise hypothesis label``).

    Args:
        xnli_dir: folder holding the TSV files.
        languages: language codes to read.
        max_ids: keep only the first ``max_ids`` ids of each language (tiny runs and tests).

    Returns:
        The pairs, language by language.

    Raises:
        FileNotFoundError: if a language's file is missing.
    """
    pairs = []
    for lang in languages:
        path = Path(xnli_dir) / f"xnli_validation_{lang}.tsv"
        lines = path.read_text(encoding="utf-8").splitlines()[1:]
        for line in lines[:max_ids]:
            pair_id, premise, hypothesis, label = line.split("\t")
            pairs.append(NliPair(premise, hypothesis, int(label), lang, f"xnli:{pair_id}"))
    return pairs


def _detokenize(text: str) -> str:
    text = text.strip()
    for pattern, repl in _DETOK:
        text = pattern.sub(repl, text)
    return text


def read_nli_en(nli_en_dir: Path, max_pairs: int | None = None) -> list[NliPair]:
    """Read SNLI dev+test (``snli/s1|s2|labels.<split>``) and SICK (``sick/SICK.txt``).

    Args:
        nli_en_dir: the ``nli-en`` folder.
        max_pairs: keep at most this many pairs of each source (tiny runs and tests).

    Returns:
        English pairs labelled in :data:`LABELS` order.
    """
    root, pairs = Path(nli_en_dir), []
    for split in ("dev", "test"):
        columns = [
            (root / "snli" / f"{name}.{split}").read_text(encoding="utf-8").splitlines()
            for name in ("s1", "s2", "labels")
        ]
        rows = list(zip(*columns, strict=True))[:max_pairs]
        pairs += [
            NliPair(_detokenize(p), _detokenize(h), _LABEL_IDS[y.strip()], "en", f"snli:{split}:{i}")
            for i, (p, h, y) in enumerate(rows)
        ]
    sick = (root / "sick" / "SICK.txt").read_text(encoding="utf-8").splitlines()[1:]
    for line in sick[:max_pairs]:
        pair_id, premise, hypothesis, _, label = line.split("\t")
        pairs.append(NliPair(premise, hypothesis, _LABEL_IDS[label.strip().lower()], "en", f"sick:{pair_id}"))
    return pairs


def split_by_group(pairs: list[NliPair], holdout: float, seed: int = 0) -> tuple[list[NliPair], list[NliPair]]:
    """Split pairs so that all translations of one id fall on the same side.

    Args:
        pairs: the pairs to split.
        holdout: fraction of groups held out (0 keeps everything for training).
        seed: seed of the group permutation.

    Returns:
        (train, held_out).
    """
    groups = sorted({p.group for p in pairs})
    order = np.random.default_rng(seed).permutation(len(groups))
    held = {groups[i] for i in order[: round(holdout * len(groups))]}
    return [p for p in pairs if p.group not in held], [p for p in pairs if p.group in held]


def sample_languages(pairs: list[NliPair], per_group: int, seed: int = 0) -> list[NliPair]:
    """Keep ``per_group`` random translations of each id (all when it has fewer).

    The translations of one id teach the same example again; a subset keeps most of the signal for
    a fraction of the compute.

    Args:
        pairs: monolingual pairs, several languages per group.
        per_group: translations kept per group.
        seed: sampling seed.

    Returns:
        The kept pairs, in their original order.
    """
    by_group: dict[str, list[int]] = defaultdict(list)
    for i, pair in enumerate(pairs):
        by_group[pair.group].append(i)
    rng, keep = np.random.default_rng(seed), set()
    for group in sorted(by_group):
        members = by_group[group]
        keep.update(rng.choice(members, size=min(per_group, len(members)), replace=False).tolist())
    return [p for i, p in enumerate(pairs) if i in keep]


def cross_language_pairs(
    pairs: list[NliPair], per_group: int, seed: int = 0, hypothesis_lang: str | None = None
) -> list[NliPair]:
    """Mix languages within each id: premise in language A, hypothesis in language B (A != B).

    The translations of one XNLI pair share its label, so any combination is a labelled pair, and it is
    the product's own case (an English claim against a German passage).

    Args:
        pairs: monolingual pairs, several languages per group.
        per_group: cross-language pairs drawn for each group.
        seed: sampling seed.
        hypothesis_lang: take every hypothesis from this language (the product's English claim), when the group has it.

    Returns:
        New pairs with ``lang`` = ``"<premise lang>-<hypothesis lang>"``.
    """
    by_group: dict[str, list[NliPair]] = defaultdict(list)
    for pair in pairs:
        by_group[pair.group].append(pair)
    rng, out = np.random.default_rng(seed), []
    for group in sorted(by_group):
        members = by_group[group]
        fixed = [m for m in members if m.lang == hypothesis_lang]
        if len(members) < 2 or (hypothesis_lang and not fixed):
            continue
        for _ in range(per_group):
            a, b = rng.choice(len(members), size=2, replace=False)
            prem, hyp = members[a], members[b]
            if fixed:
                others = [m for m in members if m.lang != hypothesis_lang]
                prem, hyp = others[rng.integers(len(others))], fixed[0]
            out.append(replace(prem, hypothesis=hyp.hypothesis, lang=f"{prem.lang}-{hyp.lang}"))
    return out


#: Sets in ``nli-more`` that translate XNLI-dev items, in XNLI-dev id order: file stem -> ids missing from the file.
XNLI_TRANSLATIONS = {"kornli": (2390,), "myxnli": (), "cxnli_hr": ()}


def _read_more_tsv(path: Path) -> list[tuple[str, str, int, str]]:
    """Rows (premise, hypothesis, label id, lang) of one ``nli-more`` file (tab-separated, no quoting, header)."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        premise, hypothesis, label, lang, _split = line.split("\t")
        rows.append((premise, hypothesis, _LABEL_IDS[label], lang))
    return rows


def read_xnli_translations(more_dir: Path, names: tuple[str, ...] = tuple(XNLI_TRANSLATIONS)) -> list[NliPair]:
    """Read the ``nli-more`` translations of XNLI-dev items, grouped under their XNLI ids (``xnli:<id>``).

    Keeping them in the XNLI id groups puts every translation of an id on the same side of the train/held-out split.

    Args:
        more_dir: the ``nli-more`` folder.
        names: file stems to read (keys of :data:`XNLI_TRANSLATIONS`).

    Returns:
        The pairs, with the XNLI id as their group.
    """
    pairs = []
    for name in names:
        missing = set(XNLI_TRANSLATIONS[name])
        ids = (i for i in range(10**6) if i not in missing)
        for (premise, hypothesis, label, lang), pair_id in zip(_read_more_tsv(Path(more_dir) / f"{name}.tsv"), ids):
            pairs.append(NliPair(premise, hypothesis, label, lang, f"xnli:{pair_id}"))
    return pairs


def read_more(more_dir: Path, caps: dict[str, int], seed: int = 0) -> list[NliPair]:
    """Read ``nli-more`` sources, each randomly capped, with groups ``<source>:<row>``.

    Args:
        more_dir: the ``nli-more`` folder.
        caps: file stem -> most pairs kept (0 or absent: the source is not read).
        seed: sampling seed.

    Returns:
        The kept pairs, source by source in sorted order.
    """
    pairs = []
    for name in sorted(caps):
        if not caps[name]:
            continue
        rows = _read_more_tsv(Path(more_dir) / f"{name}.tsv")
        keep = np.sort(np.random.default_rng(seed).permutation(len(rows))[: caps[name]])
        pairs += [NliPair(*rows[i], f"{name}:{i}") for i in keep.tolist()]
    return pairs


def cap_groups(pairs: list[NliPair], caps: dict[str, int], seed: int = 0) -> list[NliPair]:
    """Keep at most ``caps[prefix]`` random pairs of each group prefix (``snli``, ``sick``); others are kept whole.

    Args:
        pairs: the pairs.
        caps: group prefix -> most pairs kept.
        seed: sampling seed.

    Returns:
        The kept pairs, in their original order.
    """
    by_prefix: dict[str, list[int]] = defaultdict(list)
    for i, pair in enumerate(pairs):
        by_prefix[pair.group.split(":")[0]].append(i)
    rng, keep = np.random.default_rng(seed), set()
    for prefix in sorted(by_prefix):
        members = by_prefix[prefix]
        cap = caps.get(prefix, len(members))
        keep.update(np.asarray(members)[rng.permutation(len(members))[:cap]].tolist())
    return [p for i, p in enumerate(pairs) if i in keep]


def held_out_pairs(xnli_dir: Path, options: dict, max_ids: int | None = None) -> list[NliPair]:
    """The held-out XNLI pairs of a trained model, re-made from the fraction and seed of its training options.

    Args:
        xnli_dir: folder of ``xnli_validation_<lang>.tsv``.
        options: the ``training.options`` of the model's config (``languages``, ``holdout``, ``split_seed``).
        max_ids: read only the first N ids per language (quick runs).

    Returns:
        Held-out pairs of every language.
    """
    pairs = read_xnli(xnli_dir, tuple(options["languages"].split(",")), max_ids)
    return split_by_group(pairs, options["holdout"], options["split_seed"])[1]


def cross_pairs(held: list[NliPair]) -> list[NliPair]:
    """Foreign premise with the English hypothesis of the same id (the product's case: English claim, other text).

    Args:
        held: held-out monolingual pairs.

    Returns:
        Pairs labelled ``<lang>-en``.
    """
    english = {p.group: p.hypothesis for p in held if p.lang == "en"}
    return [
        NliPair(p.premise, english[p.group], p.label, f"{p.lang}-en", p.group)
        for p in held
        if p.lang != "en" and p.group in english
    ]


def calibration_split(held: list[NliPair], seed: int = 1) -> tuple[list[NliPair], list[NliPair]]:
    """Halve the held-out ids: the first half calibrates the probabilities, the second half evaluates the badges.

    Args:
        held: held-out pairs (every translation of an id stays on one side).
        seed: seed of the id permutation.

    Returns:
        (calibration pairs, evaluation pairs).
    """
    evaluation, calibration = split_by_group(held, 0.5, seed)
    return calibration, evaluation
