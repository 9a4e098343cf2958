"""A signed-in dashboard client: what a browser does with its cookie and forms' CSRF tokens."""

from __future__ import annotations

import re

import httpx

CSRF = re.compile(r'name="csrf" value="([^"]*)"')


def csrf_in(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


class Dashboard:
    """``http`` with a session cookie, and its session's CSRF token."""

    def __init__(self, http: httpx.AsyncClient, csrf: str) -> None:
        self.http = http
        self.csrf = csrf

    @classmethod
    async def sign_in(cls, http: httpx.AsyncClient, token: str) -> Dashboard:
        form = await http.get("/dashboard/login")
        answer = await http.post(
            "/dashboard/login", data={"csrf": csrf_in(form.text), "token": token}
        )
        assert answer.status_code == 303, answer.text
        return cls(http, csrf_in((await http.get("/dashboard/keys")).text))

    async def get(self, path: str, **params: str) -> httpx.Response:
        return await self.http.get(f"/dashboard{path}", params=params)

    async def post(self, path: str, **fields: str) -> httpx.Response:
        """A form sent as the page would send it, with the session's CSRF token."""
        return await self.http.post(f"/dashboard{path}", data={"csrf": self.csrf, **fields})
