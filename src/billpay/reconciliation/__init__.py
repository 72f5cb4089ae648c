"""Reconciliation: billpay's books against themselves, the providers and the Stellar network;
operators' adjusting entries; settlement statements."""
