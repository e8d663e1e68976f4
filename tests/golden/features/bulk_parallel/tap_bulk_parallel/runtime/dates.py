copy of tap_builder/runtime/dates.py
