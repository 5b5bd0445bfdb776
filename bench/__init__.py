"""`make bench`: seeds synthetic listings spread like French towns on SpatiaLite and PostGIS,
times the mile search and the 5 nearest (raw SQL, service, Flask view), HTTP through
gunicorn, and the map page's weight; prints a table and writes bench/results.json.

Run as `python -m bench`; settings come from the environment (see bench.config).
"""
