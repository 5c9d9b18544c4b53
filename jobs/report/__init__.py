"""``seqjobs report``: a Markdown page with PNG plots of one or more sweeps.

The parts, one job each: :mod:`jobs.report.data` turns run folders into the
tables the plots need (through :mod:`jobs.monitor.collect`),
:mod:`jobs.report.plots` draws them with matplotlib,
:mod:`jobs.report.markdown` formats tables and samples, and
:mod:`jobs.report.build` puts the page together. Importing this package imports
neither matplotlib nor TensorFlow, so the CLI stays fast.
"""
