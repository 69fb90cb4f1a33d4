# JsonLinesProcess test child: answers every request {"id": ..., ...} with {"id": ..., "echo": request}.
# --flood: first writes 1 MiB to stderr (the client must drain it, or this child would block).
import json
import sys

if "--flood" in sys.argv:
    for _ in range(1024):
        sys.stderr.write("x" * 1023 + "\n")
    sys.stderr.flush()
for line in sys.stdin:
    request = json.loads(line)
    sys.stdout.write(json.dumps({"id": request.get("id"), "echo": request}) + "\n")
    sys.stdout.flush()
