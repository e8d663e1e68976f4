copy of tap_builder/runtime/auth.py
