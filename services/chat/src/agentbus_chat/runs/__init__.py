"""Chat runs: quota, conversation lease, the agent run, stream frames, cancel, usage."""
