"""Platform operators: the users granted ``platform:operate`` by an explicit, audited grant."""
