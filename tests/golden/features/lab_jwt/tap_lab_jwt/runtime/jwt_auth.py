copy of tap_builder/runtime/jwt_auth.py
