"""The job layer: submission (service), the scheduler, the child-process runner, the kinds.

Routes call :mod:`app.jobs.service`; only :mod:`app.jobs.runner` and
:mod:`app.jobs.kinds`, inside spawned child processes, run the library's training.
"""
