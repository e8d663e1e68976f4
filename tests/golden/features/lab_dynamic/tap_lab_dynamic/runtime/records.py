copy of tap_builder/runtime/records.py
