# JsonLinesProcess test child: answers the first request with a line that is not JSON.
import sys

sys.stdin.readline()
sys.stdout.write("loading model weights... done\n")
sys.stdout.flush()
for line in sys.stdin:
    pass
