# JsonLinesProcess test child: answers every request with a JSON array instead of an object.
import sys

for line in sys.stdin:
    sys.stdout.write("[1, 2, 3]\n")
    sys.stdout.flush()
