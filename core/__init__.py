"""Pure domain: no database, network, Prefect or clock in here (DESIGN §3)."""
