copy of tap_builder/runtime/incremental.py
