"""The chaos soak: ``python -m bench.chaos --payments N --seed S`` (see ``billpay.chaos``)."""

from billpay.chaos.main import main

if __name__ == "__main__":
    raise SystemExit(main())
