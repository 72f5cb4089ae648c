"""The operator dashboard: server-rendered pages over ``billpay.ops`` (served at ``/dashboard``)."""
