copy of tap_builder/runtime/pool.py
