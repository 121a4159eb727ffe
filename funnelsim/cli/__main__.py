"""`python -m funnelsim.cli`: the same command as the `funnelsim` console script."""

from funnelsim.cli import app

app()
