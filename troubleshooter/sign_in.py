"""Signing in from the deployment's single sign-on: a header its proxy sets, or OpenID Connect.

Plain username and password sign-in is Django's own (accounts/login/).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.backends import RemoteUserBackend
from django.contrib.auth.models import Group
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import sync_and_async_middleware
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

logger = logging.getLogger(__name__)

Handler = Callable[[HttpRequest], Any]


def _meta_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


def from_trusted_proxy(request: HttpRequest) -> bool:
    address = str(request.META.get("REMOTE_ADDR") or "")
    if not address:  # a unix socket's peer has no address
        return bool(settings.AUTH_PROXY_UNIX_SOCKETS)
    try:
        peer = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    return any(peer in network for network in settings.AUTH_PROXY_NETWORKS)


class TrustedHeaderBackend(RemoteUserBackend):
    """Users named by the proxy's header; the first sign-in creates the account."""

    create_unknown_user = True


def _signed_in_by_header(request: HttpRequest) -> bool:
    backend = request.session.get(auth.BACKEND_SESSION_KEY, "")
    return bool(backend) and backend.endswith("TrustedHeaderBackend")


def sign_in_from_header(request: HttpRequest) -> None:
    """Believe the header only on a connection from one of the deployment's proxies, and
    take it out of the request in every case, so nothing further on reads a forged one."""
    if not settings.AUTH_TRUSTED_HEADER:
        return
    name = request.META.pop(_meta_key(settings.AUTH_TRUSTED_HEADER), "").strip()
    trusted = from_trusted_proxy(request)
    if name and not trusted:
        logger.warning("ignored %s from %s, which is not a trusted proxy",
                       settings.AUTH_TRUSTED_HEADER, request.META.get("REMOTE_ADDR"))
        return
    user = request.user
    if not name:
        # The proxy vouches for every request; without its word a header session ends.
        if trusted and user.is_authenticated and _signed_in_by_header(request):
            auth.logout(request)
        return
    if user.is_authenticated and user.get_username() == name:
        return
    signed_in = auth.authenticate(request, remote_user=name)
    if signed_in is not None:
        request.user = signed_in
        auth.login(request, signed_in)


@sync_and_async_middleware
def trusted_header_sign_in(get_response: Handler) -> Handler:
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponse:
            if settings.AUTH_TRUSTED_HEADER:
                await sync_to_async(sign_in_from_header)(request)
            response: HttpResponse = await get_response(request)
            return response

        markcoroutinefunction(middleware)
        return middleware

    def sync_middleware(request: HttpRequest) -> HttpResponse:
        sign_in_from_header(request)
        response: HttpResponse = get_response(request)
        return response

    return sync_middleware


class OpenIdBackend(OIDCAuthenticationBackend):  # type: ignore[misc]
    """OpenID Connect users get readable names (the provider's preferred_username or email,
    not a hash), and join the teams (Django groups) that the provider's `groups` claim
    names and that already exist here: the provider may list hundreds of groups, and only
    the ones an admin made into teams matter."""

    def create_user(self, claims: dict[str, Any]) -> Any:
        user = self.UserModel.objects.create_user(self._username(claims), email=claims.get("email", ""))
        self._join_teams(user, claims)
        return user

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        self._join_teams(user, claims)
        return user

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        return self.UserModel.objects.filter(username=self._username(claims))

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(self._username(claims))

    @staticmethod
    def _username(claims: dict[str, Any]) -> str:
        return str(claims.get("preferred_username") or claims.get("email") or "")[:150]

    @staticmethod
    def _join_teams(user: Any, claims: dict[str, Any]) -> None:
        names = claims.get("groups")
        if isinstance(names, list):
            user.groups.set(Group.objects.filter(name__in=[str(name) for name in names]))
