"""Plain-Python core of the after-sales assistant (never imports rasa_sdk)."""
