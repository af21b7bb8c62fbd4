"""The house-prices sample pipeline (standard library only)."""
