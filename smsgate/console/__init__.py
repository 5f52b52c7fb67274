"""Watch: what operators and monitors see of the road. The admin's dashboard (`dashboard` queries,
`dashboard_view`, `dashboard_charts`), the message log (`message_admin`, `admin_filters`), statistics (`stats`,
also served by the API), carrier balances, and the /health and /metrics endpoints. Apps hand it their own
figures through registries (campaigns: clicks per variant), so it imports no app."""
