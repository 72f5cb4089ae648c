"""The dashboard's Charts page: volume, success rate and latency over time."""
