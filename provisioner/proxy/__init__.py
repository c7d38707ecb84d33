"""The reverse proxy (Caddy) in front of every instance.

settings     where Caddy's admin API is, its ports, internal CA or ACME
config       routes, and the whole Caddy JSON configuration that serves them
pages        what the proxy answers for a suspended, starting or unknown instance
caddy        the admin API client: read the running configuration, load a new one
routing      routes derived from the instances; sync (load when different); the ask check
domains      customers' own names: validation, and <instance>.<base domain>
repository   the instance_domains table
custom_domains  attaching and removing a customer's own names
cli          dockyard proxy sync | domains
"""
