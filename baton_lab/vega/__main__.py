"""`python -m baton_lab.vega PNG VL_VERSION`: one figure-export worker, jobs as JSON lines on stdin (see `_export`)."""

import sys

from ._export import main

main(sys.argv[1:])
