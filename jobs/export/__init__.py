"""Run folders exported for other tools: what a run's folder says, in the form another tool reads.

:mod:`jobs.export.runs` reads the runs (through the views' strict readers,
so a damaged run is one warning, never a crash) into plain series of
numbers and parameters; each tool's module writes them its way
(:mod:`jobs.export.tensorboard`). Nothing here trains or imports TensorFlow,
and nothing writes into a run or sweep folder.
"""
