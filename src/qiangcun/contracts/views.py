"""Pages of contracts and receivables."""
