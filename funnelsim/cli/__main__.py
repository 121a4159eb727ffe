"""`python -m funnelsim.cli`: the same command as the `funnelsim` console script."""

from funnelsim.cli import main

main()
