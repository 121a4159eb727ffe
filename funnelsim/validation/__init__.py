"""The validation suite: bundled scenarios whose answers are known from theory or field studies.

A case is an ordinary scenario file under scenarios/validation/, a measurement of one
replication's records (`measurements`), and checks against reference values (`references`:
funnelsim/theory.py's closed forms, or published studies) with a stated tolerance. `verify`
(`suite`) runs every replication, summarises each measurement with a 95% interval and judges it
(`judging`, where the pass rule is written); report/verification.py writes docs/validation.md.
`decay_fit` fits the bundled decay curve to the published lead-response ratios.
"""

from funnelsim.validation.cases import CASES, case_scenario, select_cases
from funnelsim.validation.judging import QUICK_TOLERANCE_FACTOR, Case, Check, CheckResult, judge
from funnelsim.validation.suite import VerifyResult, verify

__all__ = [
    "CASES",
    "QUICK_TOLERANCE_FACTOR",
    "Case",
    "Check",
    "CheckResult",
    "VerifyResult",
    "case_scenario",
    "judge",
    "select_cases",
    "verify",
]
