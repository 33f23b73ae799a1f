"""Service accounts and the client-credentials grant."""
