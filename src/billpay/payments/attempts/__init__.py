"""Attempts, the payment's second state machine: one provider and one provider reference.

``outcome`` names where an attempt stands, ``requests`` builds the request an attempt sends,
``repository`` holds every statement on ``payment_attempts``.
"""
