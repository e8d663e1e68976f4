copy of tap_builder/runtime/http.py
