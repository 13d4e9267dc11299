"""Use cases shared by the CLI, the flows and the portal: load, decide (core), save, in one place."""
