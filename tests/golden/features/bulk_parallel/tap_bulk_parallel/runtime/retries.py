copy of tap_builder/runtime/retries.py
