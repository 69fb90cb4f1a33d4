# JsonLinesProcess test child: answers every request with its own argv (after the script) and cwd.
import json
import os
import sys

for line in sys.stdin:
    request = json.loads(line)
    answer = {"id": request.get("id"), "argv": sys.argv[1:], "cwd": os.getcwd()}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
