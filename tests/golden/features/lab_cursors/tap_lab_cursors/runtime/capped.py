copy of tap_builder/runtime/capped.py
