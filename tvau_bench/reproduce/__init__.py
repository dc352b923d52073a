"""``tvau-bench reproduce``: the paper's tables regenerated end to end as measured runs."""
