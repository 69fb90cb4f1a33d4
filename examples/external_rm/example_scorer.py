#!/usr/bin/env python3
"""Example external reward model for caig-bench: a JSON-lines scorer (Python 3 stdlib only).

Protocol (one JSON object per line, UTF-8, on stdin/stdout; see README.md):

  request  (stdin):  {"id": 7,
                      "product": {"product_id": "...", "category": "...", "title": "...",
                                  "attributes": {...}},
                      "left":  {"image": "/abs/path/left.png"},
                      "right": {"image": "/abs/path/right.png"}}
  answer   (stdout): {"id": 7, "p_left": 0.62, "ctr_left": 0.031, "ctr_right": 0.024}

  * Answer every request with exactly one line, in request order, carrying the request's "id".
    p_left is the probability that the left creative gets the higher CTR (in [0, 1]); ctr_left
    and ctr_right are the predicted click-through rates of each creative.
  * Flush stdout after every answer. The harness may send many requests before reading answers,
    so read and answer one line at a time (never read all of stdin first).
  * Write nothing but answers to stdout: logs, warnings and progress go to stderr.
  * Exit 0 when stdin reaches EOF. On an error, write a message to stderr and exit non-zero: the
    harness reports the exit status and the end of stderr.
  * The process is started directly (no shell), with the arguments given in the experiment.

The "model" is a placeholder heuristic: a PNG's file size stands in for its amount of detail, and
the more detailed image is assumed to be clicked more. Replace score_pair() with your own model.
"""
import json
import math
import os
import sys

SCALE = 4096.0  # bytes of file-size difference that move p_left from 0.5 to about 0.73


def sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def image_size(side, request):
    path = request[side]["image"]
    try:
        return os.path.getsize(path)
    except OSError as e:
        raise RuntimeError("request id %s: cannot read the %s image: %s" % (request.get("id"), side, e))


def ctr_from_size(size):
    # Between 1% and 5%, rising with file size (log-scaled around 20 KB).
    return 0.01 + 0.04 * sigmoid(math.log((size + 1.0) / 20000.0))


def score_pair(request):
    size_left = image_size("left", request)
    size_right = image_size("right", request)
    return {
        "id": request["id"],
        "p_left": sigmoid((size_left - size_right) / SCALE),
        "ctr_left": ctr_from_size(size_left),
        "ctr_right": ctr_from_size(size_right),
    }


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = score_pair(json.loads(line))
        except (ValueError, KeyError, TypeError, RuntimeError) as e:
            sys.stderr.write("example_scorer: bad request %r: %s\n" % (line[:200], e))
            return 2
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
