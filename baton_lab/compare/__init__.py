"""Did the change help? Two arms — two loops, or before/after a change within the same loops — compared
over the whole metric catalogue with small-sample effects, false-discovery-rate control across the
catalogue, pre-registered verdicts per research question and, for a before/after split, an interrupted
time series of the primary endpoints.

    import baton_lab as bl
    lab = bl.open()
    c = lab.compare(split="2026-06-15")              # or a="ns1,ns2", b="ns3"; before=/after= dates
    c.verdicts; c.effects                            # per question; per metric row (polars)
"""

from .arms import SPLIT_KINDS, Arm, ArmError, parse_spec
from .comparison import (ALPHA, QUESTIONS, VERDICT_RULE, Comparison, NothingToCompare, QuestionVerdict, compare,
                         effects_table, kind_of, measure_arm)
from .format import section_table

__all__ = ["ALPHA", "QUESTIONS", "SPLIT_KINDS", "VERDICT_RULE", "Arm", "ArmError", "Comparison", "NothingToCompare",
           "QuestionVerdict", "compare", "effects_table", "kind_of", "measure_arm", "parse_spec", "section_table"]
