copy of tap_builder/runtime/concurrency.py
