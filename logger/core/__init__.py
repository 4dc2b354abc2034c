"""The bottom layer: Point and line protocol, Belgian time, backoff, durations, problem counting.

Standard library only, no I/O: everything above may import it, it imports nothing of the product.
"""
