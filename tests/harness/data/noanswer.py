# JsonLinesProcess test child: reads one request, then closes stdout and exits 0 without answering.
import sys

sys.stdin.readline()
sys.stderr.write("noanswer.py: nothing to say\n")
sys.exit(0)
