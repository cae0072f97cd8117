"""``b24nb sandbox`` from a shell: the first line is a working webhook URL."""

from __future__ import annotations

import signal
import subprocess
import sys

import requests


def test_cli_prints_the_webhook_url_first_and_serves_until_interrupted():
    proc = subprocess.Popen(
        [sys.executable, "-m", "b24nb.cli", "sandbox", "--deals", "60", "--orders", "70",
         "--no-limits", "--no-latency", "--seed", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/")
        assert "/rest/1/" in url
        body = requests.post(url + "crm.deal.list", json={}, timeout=10).json()
        assert body["total"] >= 60
        orders = requests.post(url + "sale.order.list", json={}, timeout=10).json()
        assert orders["total"] == 70
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0
