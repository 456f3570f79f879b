"""The deploy kit brought up for real on loopback: nginx with deploy/nginx.conf in front of
Daphne workers on unix sockets, as deploy/systemd/ starts them. Used by the kit's tests and
by the hosted load benchmark."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support import ROOT, app_environment, free_port, manage, wait_until_healthy

NGINX = "/usr/sbin/nginx"


@dataclass
class Deployment:
    base: str  # https, through nginx
    plain: str  # the http server that only redirects
    env: dict[str, str]
    workers: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    sockets: dict[int, Path] = field(default_factory=dict)

    def worker_by_pid(self, pid: int) -> int:
        return next(number for number, process in self.workers.items() if process.pid == pid)

    def kill(self, number: int) -> None:
        self.workers[number].send_signal(signal.SIGKILL)
        self.workers[number].wait(10)

    def client(self, **options: object) -> httpx.Client:
        """A browser-like client: it trusts the test certificate and sends the Origin a
        browser would, which Django's CSRF check asks for on HTTPS."""
        return httpx.Client(base_url=self.base, verify=False, headers={"Origin": self.base}, **options)  # type: ignore[arg-type]

    def async_client(self, **options: object) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base, verify=False, headers={"Origin": self.base}, **options)  # type: ignore[arg-type]


def insecure_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def site_config(workdir: Path, https_port: int, http_port: int, workers: int) -> str:
    """deploy/nginx.conf with this machine's ports, folders and worker count; every line
    replaced must exist, so the kit and its test cannot drift apart."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    replacements = {
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "listen [::]:443 ssl;": "",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "/run/troubleshooter/": f"{workdir}/run/",
        "/srv/troubleshooter/staticfiles/": f"{workdir}/staticfiles/",
        "/etc/ssl/troubleshooter/": f"{workdir}/tls/",
    }
    for old, new in replacements.items():
        assert old in text, f"deploy/nginx.conf no longer has {old!r}"
        text = text.replace(old, new)
    upstreams = "".join(
        f"    server unix:{workdir}/run/worker-{n}.sock max_fails=3 fail_timeout=5s;\n" for n in range(1, workers + 1)
    )
    lines = [line for line in text.splitlines(keepends=True) if "worker-" not in line or "server unix:" not in line]
    text = "".join(lines).replace("upstream troubleshooter {\n", "upstream troubleshooter {\n" + upstreams, 1)
    return text


def main_config(workdir: Path) -> str:
    return f"""
user root;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    access_log {workdir}/nginx-access.log;
    client_body_temp_path {workdir}/nginx-temp/body;
    proxy_temp_path {workdir}/nginx-temp/proxy;
    fastcgi_temp_path {workdir}/nginx-temp/fastcgi;
    uwsgi_temp_path {workdir}/nginx-temp/uwsgi;
    scgi_temp_path {workdir}/nginx-temp/scgi;
    include {workdir}/site.conf;
}}
"""


def write_nginx(workdir: Path, https_port: int, http_port: int, workers: int) -> Path:
    (workdir / "nginx-temp").mkdir(exist_ok=True)
    (workdir / "tls").mkdir(exist_ok=True)
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-keyout", str(workdir / "tls" / "privkey.pem"), "-out", str(workdir / "tls" / "fullchain.pem")],
        capture_output=True, text=True,
    )
    assert made.returncode == 0, made.stderr
    (workdir / "site.conf").write_text(site_config(workdir, https_port, http_port, workers))
    conf = workdir / "nginx.conf"
    conf.write_text(main_config(workdir))
    return conf


def worker_command(socket_dir: Path, number: int) -> list[str]:
    """The ExecStart of deploy/systemd/troubleshooter@.service for worker `number`, with this
    machine's Python and socket folder: the test runs what the unit runs."""
    unit = (ROOT / "deploy" / "systemd" / "troubleshooter@.service").read_text()
    start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    words = start.removeprefix("ExecStart=").replace("%i", str(number)).split()
    assert words[0] == "/srv/troubleshooter/venv/bin/daphne", start
    return [sys.executable, "-m", "daphne", *(word.replace("/run/troubleshooter/", f"{socket_dir}/")
                                              for word in words[1:])]


def start_worker(env: dict[str, str], socket_dir: Path, number: int, log: Path) -> subprocess.Popen[bytes]:
    """One worker as troubleshooter@N.service starts it."""
    socket_path = socket_dir / f"worker-{number}.sock"
    socket_path.unlink(missing_ok=True)
    with log.open("w") as output:
        process = subprocess.Popen(worker_command(socket_dir, number), cwd=ROOT, env=env, stdout=output,
                                   stderr=subprocess.STDOUT)
    transport = httpx.HTTPTransport(uds=str(socket_path))
    wait_until_healthy(process, log, httpx.Client(transport=transport, base_url="http://localhost"))
    return process


@contextmanager
def kit_deployment(workdir: Path, database: str, redis: str, workers: int = 2,
                   **settings: str) -> Iterator[Deployment]:
    """Migrate and collect static files (troubleshooter-setup.service), start the workers
    and nginx; everything is stopped when the block ends."""
    https_port, http_port = free_port(), free_port()
    base = f"https://127.0.0.1:{https_port}"
    (workdir / "run").mkdir(exist_ok=True)
    env = app_environment(
        workdir, DATABASE_URL=database, REDIS_URL=redis, BEHIND_TLS_PROXY="1", TRUSTED_PROXY_COUNT="1",
        COLLECTED_STATIC="1", STATIC_ROOT=str(workdir / "staticfiles"), ALLOWED_HOSTS="127.0.0.1,localhost",
        CSRF_TRUSTED_ORIGINS=base, **settings,
    )
    for command in (["migrate", "--noinput", "-v", "0"], ["collectstatic", "--noinput", "-v", "0"]):
        done = manage(env, *command)
        assert done.returncode == 0, done.stderr
    conf = write_nginx(workdir, https_port, http_port, workers)
    checked = subprocess.run([NGINX, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    deployment = Deployment(base=base, plain=f"http://127.0.0.1:{http_port}", env=env)
    with ExitStack() as stack:
        for number in range(1, workers + 1):
            socket_path = workdir / "run" / f"worker-{number}.sock"
            process = start_worker(env, workdir / "run", number, workdir / f"worker-{number}.log")
            stack.callback(_stop, process)
            deployment.workers[number] = process
            deployment.sockets[number] = socket_path
        nginx = subprocess.Popen([NGINX, "-c", str(conf), "-g", "daemon off;"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stack.callback(_stop, nginx)
        deadline = time.monotonic() + 10
        while True:
            try:
                if httpx.get(f"{base}/healthz/", verify=False, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if nginx.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start: {(workdir / 'nginx-error.log').read_text()[-2000:]}")
            time.sleep(0.1)
        yield deployment


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def nginx_available() -> bool:
    return os.access(NGINX, os.X_OK)
