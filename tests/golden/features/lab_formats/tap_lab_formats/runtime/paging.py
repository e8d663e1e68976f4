copy of tap_builder/runtime/paging.py
