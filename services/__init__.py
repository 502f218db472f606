"""Domain services beside the engine: accounts and organisations, reports, the register import, attachments.

They use the engine's public names (`workflow`) and are used by the edges (`web/`, the command line, the
benchmarks); the engine itself knows nothing of them.
"""
