"""`funnelsim bench`: the engine's speed against SimPy's own ceiling and the peer libraries.

`config` says what is measured and the targets, `mmc` runs the M/M/c queue by each contender,
`funnel` grows the baseline funnel to a size and measures it, `suite` runs it all in one sitting.
"""

from funnelsim.bench.config import QUICK, BenchConfig
from funnelsim.bench.funnel import scaled_baseline
from funnelsim.bench.suite import run_bench, write_bench

__all__ = ["QUICK", "BenchConfig", "run_bench", "scaled_baseline", "write_bench"]
