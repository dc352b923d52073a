"""The main job: the whole system end to end on the embedded synthetic default (``tvau-bench demo``)."""
