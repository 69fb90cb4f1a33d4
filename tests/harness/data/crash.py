# JsonLinesProcess test child: reads one request, writes a lot to stderr, then exits with status 3.
import sys

sys.stdin.readline()
for i in range(500):
    sys.stderr.write("crash.py: filler line %d of the early log that must scroll out\n" % i)
sys.stderr.write("crash.py: model exploded while scoring\n")
sys.stderr.flush()
sys.exit(3)
