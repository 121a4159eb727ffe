"""Refit the bundled two-speed decay curve to the published lead-response ratios.

    python benchmarks/fit_decay.py [--reps 4] [--seed 20260105]

Simulates the two lead-response validation cases (scenarios/validation/lead-response*.yaml),
fits the curve to the qualification ratios by first-call bucket (funnelsim/validation/decay_fit.py),
and prints the parameters for baseline.yaml's `sales.decay`, the ratios next to the published
ones with their log residuals, and the compromise a fit to all four figures would make.
Rerun it after any change to how the desk times first calls.
"""

from __future__ import annotations

import argparse

from funnelsim.experiment.runner import DEFAULT_SEED
from funnelsim.validation import decay_fit


def _table(fit: decay_fit.DecayFit) -> list[str]:
    lines = [f"  {'ratio':48} {'published':>10} {'curve':>8} {'log resid.':>10} {'weight':>6}"]
    for ratio in decay_fit.PUBLISHED:
        published = ("> " if ratio.at_least else "") + f"{ratio.value:g}x"
        lines.append(
            f"  {ratio.label:48} {published:>10} {fit.ratios[ratio.key]:>7.2f}x "
            f"{fit.residuals[ratio.key]:>+10.3f} {fit.weights[ratio.key]:>6g}"
        )
    return lines


def _curve(fit: decay_fit.DecayFit) -> str:
    c = fit.curve
    return (
        f"fast: {{share: {c.fast_share:.3f}, half_life: {c.fast_half_life_hours * 60:.2f}min}}, "
        f"slow: {{half_life: {c.slow_half_life_hours:.1f}h}}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=4, help="replications of each validation case")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    samples = decay_fit.collect_calls(reps=args.reps, seed=args.seed)
    print(f"first calls: {', '.join(f'{s.case} {len(s.delay):,}' for s in samples)}")
    bundled = decay_fit.fit_two_speed(samples, decay_fit.BUNDLED_WEIGHTS)
    print("\nbundled fit (qualification ratios):  decay: {" + _curve(bundled) + "}")
    print("\n".join(_table(bundled)))
    every = decay_fit.fit_two_speed(samples)
    print("\nfit to all four figures, equal weights:  decay: {" + _curve(every) + "}")
    print("\n".join(_table(every)))


if __name__ == "__main__":
    main()
