"""The edge gateway: one stable URL, MD5-bucket routing, a fast streaming proxy."""
