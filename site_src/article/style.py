"""The article's colours, line styles and labels: one place for both figure modules."""
from __future__ import annotations

METHOD_LABELS = {
    "supervised": "supervised (cross-entropy on labels)",
    "q_random": "Q-regression, random actions",
    "pg_random": "vanilla PG, random actions (naive log-prob)",
    "pg_random_stable": "vanilla PG, random actions",
    "pg_onpolicy": "vanilla PG, on-policy",
    "ppo_random": "PPO, random actions",
    "is_random": "importance-weighted PG, random actions",
}
# Okabe-Ito hues (colour-blind safe; no yellow, unreadable on white), each with its own line
# style so that no two methods differ by colour alone; the two off-policy PG variants, naive
# and stable, get far-apart hues.
METHOD_COLOURS = {
    "supervised": "#8c8c8c", "q_random": "#56B4E9", "pg_random": "#CC79A7",
    "pg_random_stable": "#E69F00", "pg_onpolicy": "#009E73", "ppo_random": "#D55E00",
    "is_random": "#0072B2",
}
METHOD_DASHES = {
    "supervised": "dash", "q_random": "dashdot", "pg_random": "dot", "pg_random_stable": "solid",
    "pg_onpolicy": "solid", "ppo_random": "longdash", "is_random": "longdashdot",
}
ACCURACY_TITLE = "greedy accuracy"   # the greedy action on held-out digits, as the captions say
# the dial's and the estimators' methods drawn in the colours and line styles of their rows
DIAL_LABELS = {"pg": ("vanilla PG", METHOD_COLOURS["pg_random_stable"],
                      METHOD_DASHES["pg_random_stable"]),
               "ppo": ("PPO", METHOD_COLOURS["ppo_random"], METHOD_DASHES["ppo_random"]),
               "is": ("importance-weighted PG", METHOD_COLOURS["is_random"],
                      METHOD_DASHES["is_random"])}
ESTIMATOR_LABELS = {"pg_onpolicy": ("vanilla PG, on-policy", METHOD_COLOURS["pg_onpolicy"]),
                    "pg_offpolicy": ("vanilla PG, random actions",
                                     METHOD_COLOURS["pg_random_stable"]),
                    "is": ("importance-weighted PG, random actions",
                           METHOD_COLOURS["is_random"]),
                    "ppo": ("PPO, random actions", METHOD_COLOURS["ppo_random"])}
