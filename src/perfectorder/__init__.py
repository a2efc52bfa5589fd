"""Perfect Order: an order management system that measures how often each order is perfect."""

__version__ = "0.1.0"
