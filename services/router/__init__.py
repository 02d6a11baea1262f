"""The router: picks the cheapest qualified model for each chat request and keeps answering when providers fail."""
