copy of tap_builder/runtime/errors.py
