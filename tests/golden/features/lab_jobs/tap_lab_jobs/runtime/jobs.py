copy of tap_builder/runtime/jobs.py
