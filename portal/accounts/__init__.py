"""Who may sign in to the portal: customers, operators and finance, and their API tokens."""
