"""Leaderboard: the paper's reported tables as data, admitted per-sample runs, and the rebuilt tables.

Modules: ``layouts`` (the three paper tables' columns), ``reported`` (``leaderboard/reported/*.csv``), ``store``
(``leaderboard add``: validate and store runs), ``render`` (README.md, tables.tex, CSVs, chart from logs),
``compare`` (paired bootstrap between two runs), ``baselines`` and ``vllm_flags`` (``baselines list`` and the
checked ``vllm serve`` command lines), ``cli`` (the ``leaderboard`` and ``baselines`` command groups).
"""
