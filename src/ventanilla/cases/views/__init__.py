"""Pages of the transaction engine: the applicant's (applicant.py), the officials' (officials.py) and the
public page of each online service (service_pages.py)."""
