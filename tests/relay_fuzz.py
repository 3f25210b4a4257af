"""Bodies for the shop relay's endpoints: true outcomes, and random or mutated
ones as a fuzzer (or an attacker with a token) would post them.

Pure Python: used by the back-end fuzz test and by bench/fuzz_relay.py."""

import json
import random

from ..caisse_ap import (
    ExchangeResult,
    Outcome,
    PaymentRequest,
    encode_fields,
    interpret_answer,
    relay_wire,
)

REQUEST_TAGS = {"CZ": "0320", "CJ": "012345678901", "CA": "01", "CD": "0", "CE": "978"}


def _exchange(requested, answer):
    request = PaymentRequest(amount=requested, currency_numeric=978)
    result = interpret_answer(request, encode_fields(answer))
    outcome = Outcome.SUCCESS if result.status.value == "success" else Outcome.FAILURE
    return relay_wire.to_json(
        ExchangeResult(
            outcome=outcome,
            result=result,
            error="",
            request_frame=request.encode(),
            answer_frame=encode_fields(answer),
            sent=True,
            duration=1.5,
        )
    )


def approval(requested):
    """The relay's post of a card approval of ``requested`` minor units."""
    request = PaymentRequest(amount=requested, currency_numeric=978)
    answer = dict(request.fields())
    answer.update(AE="10", AC="123456", AA="497010######1234", CC="001", CI="1")
    return _exchange(requested, answer)


def failure(requested):
    """The relay's post of a refusal (AF=04)."""
    request = PaymentRequest(amount=requested, currency_numeric=978)
    answer = dict(request.fields())
    answer.update(AE="01", AF="04")
    return _exchange(requested, answer)


SCALARS = (
    None,
    True,
    False,
    0,
    -1,
    1,
    2**63,
    -(2**70),
    1.5,
    1e308,
    "",
    "x",
    "\x00",
    "é" * 3,
    "A" * 5000,
    "NaN",
    "success",
    "failure",
    "not_sent",
    "1234",
    "4970101234561234",
)


def random_value(rng, depth=0):
    """Any JSON value, nested a little."""
    roll = rng.random()
    if depth > 3 or roll < 0.6:
        return rng.choice(SCALARS)
    if roll < 0.8:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = ["outcome", "result", "claim", "transaction_id", "wait", "ok", "x"]
    return {
        rng.choice(keys): random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))
    }


def _leaves(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    yield path


def mutate(rng, body):
    """``body`` with one random change: a value replaced, a key removed or
    added, a type changed (a JSON round trip: the original is left alone)."""
    body = json.loads(json.dumps(body))
    paths = [path for path in _leaves(body) if path]
    if not paths:
        return random_value(rng)
    path = rng.choice(paths)
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    action = rng.random()
    if action < 0.6:
        parent[last] = random_value(rng)
    elif action < 0.8 and isinstance(parent, dict):
        del parent[last]
    elif isinstance(parent, dict):
        parent[rng.choice(["extra", "AA", "status", "claim"])] = random_value(rng)
    else:
        parent[last] = [parent[last]]
    return body


def raw_garbage(rng):
    """Bytes that are rarely JSON, and JSON that Python reads but is no JSON."""
    choices = (
        b"",
        b"{",
        b"[]",
        b"null",
        b'{"wait": NaN}',
        b'{"wait": Infinity}',
        b"\xff\xfe{}",
        b"[" * 5000 + b"]" * 5000,
        json.dumps({"transaction_id": 1}).encode()[:-1],
        bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 64))),
    )
    return rng.choice(choices)


def bodies(rng, valid, count):
    """``count`` bodies (dicts, or bytes to post as they are) near ``valid``."""
    for index in range(count):
        kind = index % 4
        if kind == 0:
            yield mutate(rng, valid)
        elif kind == 1:
            yield mutate(rng, mutate(rng, valid))
        elif kind == 2:
            yield random_value(rng)
        else:
            yield raw_garbage(rng)


def seeded(seed):
    return random.Random(seed)
