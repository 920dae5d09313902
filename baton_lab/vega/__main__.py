"""`python -m baton_lab.vega JOBS FOLDER PNG`: one figure-export worker (see `_export`)."""

import sys

from ._export import main

main(sys.argv[1:])
