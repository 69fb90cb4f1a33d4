# JsonLinesProcess test child: never reads its stdin, never answers, ignores EOF; must be killed.
import time

time.sleep(3600)
