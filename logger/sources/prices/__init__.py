"""Day-ahead electricity prices: what the market says, turned into `price_day_ahead` Points.

`a44` parses the ENTSO-E Transparency Platform's A44 publication document (and its "no matching
data" acknowledgement), `csv_import` the documented CSV format, `client` fetches A44 over HTTP
(token hygiene, retries, 401/429/503), `points` turns prices into Points. Pure except `client`.
"""
