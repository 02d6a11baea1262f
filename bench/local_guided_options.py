"""How to guide CTranslate2 4.8 without a logits-processor hook: the options, measured on the real model.

    python -m bench.local_guided_options [--repeat N]

For a few constrained answers (a pattern, a JSON Schema, a label set) it times, per answer:
- free: unguided greedy generation of the same number of tokens (the ceiling);
- speculative: what the service does (guided.py): greedy decoding at full speed, each token checked, a refused
  token corrected from the step's logits and the sequence resumed (one prefill per correction);
- forward_batch: step-wise `forward_batch` over the whole sequence, masked argmax (no KV cache between steps);
- alternatives: per step, `generate_batch(max_length=1, return_alternatives=True, num_hypotheses=8)`, the first
  allowed alternative (a prefill per step);
- score_batch: a label set by scoring each label as the whole answer (what Score does) against the same label
  set as a guided choice;
- outlines-core (only if importable; it is not a dependency): the time to build its token index over the
  49,152-token vocabulary for the same pattern and schema, which must happen before the first token.
Results go to docs/local-inference.md ("Guided decoding: the options, measured").
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from services.local_inference.api import (
    ChatTurn,
    ChoiceConstraint,
    EngineOptions,
    GuidedDecoder,
    GuidedTask,
    LocalModel,
    RegexConstraint,
    schema_regex,
)

ORDER = (
    "Extract the order number. Reply with the order number only.\nText: Your order AB-12345 has shipped.",
    r"[A-Z]{2}-\d{5}",
)
SCHEMA = {
    "type": "object",
    "properties": {"product": {"type": "string"}, "price": {"type": "number"}, "quantity": {"type": "integer"}},
    "required": ["product", "price", "quantity"],
}
CSV = (
    "Turn this CSV row (product,price,quantity) into a JSON object with those keys. Reply with JSON only.\n"
    "Row: onions,2.7,7"
)
LABELS = ["sports", "politics", "technology", "business", "health"]
TOPIC = "What is the topic of this headline?\nHeadline: The striker scored twice in the final."


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


class Options:
    def __init__(self, model: LocalModel) -> None:
        self.model = model
        self.decoder = GuidedDecoder(model)
        self.texts = model.token_texts()

    def prompt(self, text: str) -> list[int]:
        return self.model.prompt_ids([ChatTurn("user", text)])

    def free(self, prompt: list[int], tokens: int) -> int:
        self.model._live().generate_batch(
            [self.model._tokens(prompt)], max_length=tokens, min_length=tokens, include_prompt_in_result=False
        )
        return tokens

    def speculative(self, prompt: list[int], constraint: Any) -> tuple[str, int]:
        task = GuidedTask(prompt, constraint, 64)
        self.decoder.run([task])
        return self.decoder.text(task), len(task.ids)

    def _walk(self, constraint: Any, state: Any, order: Any) -> tuple[int, Any]:
        for candidate in order:
            token = int(candidate)
            if token in self.model.end_ids:
                if constraint.accepts(state):
                    return token, None
                continue
            text = self.texts[token]
            nxt = None if text is None else constraint.advance(state, text)
            if nxt is not None:
                return token, nxt
        raise RuntimeError("nothing allowed")

    def forward_batch(self, prompt: list[int], constraint: Any) -> tuple[str, int]:
        ids: list[int] = []
        state = constraint.start()
        while len(ids) < 64:
            logits = np.asarray(self.model._live().forward_batch([self.model._tokens(prompt + ids)]))[0, -1]
            token, state = self._walk(constraint, state, np.argsort(-logits))
            if state is None:
                break
            ids.append(token)
            if constraint.complete(state):
                break
        return str(self.model.tokenizer.decode(ids)), len(ids)

    def alternatives(self, prompt: list[int], constraint: Any) -> tuple[str, int]:
        ids: list[int] = []
        state = constraint.start()
        while len(ids) < 64:
            result = self.model._live().generate_batch(
                [self.model._tokens(prompt + ids)],
                max_length=1,
                include_prompt_in_result=False,
                num_hypotheses=8,
                return_alternatives=True,
                end_token=[],
            )[0]
            order = [result.sequences_ids[i][0] for i in range(len(result.sequences_ids))]
            try:
                token, state = self._walk(constraint, state, order)
            except RuntimeError:
                return "(no allowed token among the top 8)", len(ids)
            if state is None:
                break
            ids.append(token)
            if constraint.complete(state):
                break
        return str(self.model.tokenizer.decode(ids)), len(ids)

    def score(self, prompt: list[int], labels: list[str]) -> str:
        answers = [self.model.answer_ids(label) for label in labels]
        sums = self.model.score([prompt + a for a in answers], [len(a) for a in answers])
        return labels[int(np.argmax(sums))]


def outlines_index(model: LocalModel, texts: list[str | None], regexes: dict[str, str]) -> dict[str, float]:
    try:
        from outlines_core import Index, Vocabulary  # type: ignore[import-not-found]
    except ImportError:
        return {}
    eos = min(model.end_ids)
    mapping: dict[str, list[int]] = {}
    for token_id, text in enumerate(texts):
        if text is not None and token_id != eos:
            mapping.setdefault(text, []).append(token_id)
    vocabulary = Vocabulary(eos, mapping)
    out = {}
    for name, regex in regexes.items():
        started = time.perf_counter()
        Index(regex, vocabulary)
        out[name] = time.perf_counter() - started
    return out


def measure(options: Options, prompt: list[int], constraint: Any, repeat: int, *, labels: bool) -> dict[str, Any]:
    row: dict[str, Any] = {}
    spec_s, (text, tokens) = timed(lambda: options.speculative(prompt, constraint), repeat)
    row["speculative"] = {"ms": round(spec_s * 1e3), "tokens": tokens, "answer": text}
    free_s, _ = timed(lambda: options.free(prompt, tokens), repeat)
    row["free"] = {"ms": round(free_s * 1e3), "tokens": tokens}
    fwd_s, (text, n) = timed(lambda: options.forward_batch(prompt, constraint), 1)
    row["forward_batch"] = {"ms": round(fwd_s * 1e3), "tokens": n, "answer": text}
    alt_s, (text, n) = timed(lambda: options.alternatives(prompt, constraint), 1)
    row["alternatives"] = {"ms": round(alt_s * 1e3), "tokens": n, "answer": text}
    if labels:
        score_s, label = timed(lambda: options.score(prompt, LABELS), repeat)
        row["score_batch"] = {"ms": round(score_s * 1e3), "answer": label}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from services.local_inference.api import ensure_smollm2

    model = LocalModel(ensure_smollm2(), EngineOptions(intra_threads=2))
    options = Options(model)
    cases = {
        "pattern": (options.prompt(ORDER[0]), RegexConstraint(ORDER[1])),
        "json_schema": (options.prompt(CSV), RegexConstraint(schema_regex(SCHEMA))),
        "labels": (options.prompt(TOPIC), ChoiceConstraint(LABELS)),
    }
    rows: dict[str, dict[str, Any]] = {}
    for name, (prompt, constraint) in cases.items():
        rows[name] = measure(options, prompt, constraint, args.repeat, labels=name == "labels")
    built = outlines_index(model, options.texts, {"pattern": ORDER[1], "json_schema": schema_regex(SCHEMA)})
    for name, seconds in built.items():
        rows[name]["outlines_core_index_build"] = {"ms": round(seconds * 1e3)}
    model.close()
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
