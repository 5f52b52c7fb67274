"""Settings for benchmarks: production settings plus a hello-world view to compare against."""

from smsgate.settings import *  # noqa: F403

ROOT_URLCONF = "bench.hello_urls"
