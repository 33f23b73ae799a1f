"""Who may sign up: the signup policy, access requests, platform signup invites and signup quotas."""
