"""The testbed: a simulated Jullix box (`simulator`) and a private InfluxDB 1.x server
(`influxd`), for the demo, the tests and the benchmarks.

It imports nothing of the product (standard library only, plus what the simulator serves with),
so it can never share a bug with the code it tests; the product imports it only from the
`simulate` and `demo` commands.
"""
