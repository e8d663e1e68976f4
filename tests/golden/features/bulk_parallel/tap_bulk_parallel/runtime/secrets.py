copy of tap_builder/runtime/secrets.py
