# JsonLinesProcess test child: exits with status 5 without reading anything.
import sys

sys.stderr.write("exit_now.py: refusing to work\n")
sys.exit(5)
