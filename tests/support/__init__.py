"""What every test area shares: waiting on a condition (`eventually`), starting services on port 0 (`services`), and
request builders (`requests`)."""
