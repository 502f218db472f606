"""会籍接转: membership transfer between unions by a certificate with a one-time code (domain.md §5)."""
