# JsonLinesProcess test child: answers every request with the wrong id (id + 1).
import json
import sys

for line in sys.stdin:
    request = json.loads(line)
    sys.stdout.write(json.dumps({"id": request["id"] + 1}) + "\n")
    sys.stdout.flush()
