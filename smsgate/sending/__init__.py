"""Send: the road's first five steps. `submit` validates, renders, applies `policy` and persists (with
`bulk_insert` for many); `tasks` and `dispatch` claim due messages after commit; `routing` picks the carrier
chain and the outcome; `resilience` holds the Redis breakers and rate limits. Receipts are smsgate.tracking's."""
