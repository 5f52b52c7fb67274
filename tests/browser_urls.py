"""The real URLs plus /test-login/<user id>, which logs that user in and goes to ?next: only for browser tests."""

from django.contrib.auth import get_user_model, login
from django.shortcuts import redirect
from django.urls import path

from smsgate.urls import urlpatterns as real_urlpatterns


def test_login(request, user_id):
    login(request, get_user_model().objects.get(pk=user_id), backend="django.contrib.auth.backends.ModelBackend")
    return redirect(request.GET["next"])


urlpatterns = [path("test-login/<int:user_id>", test_login), *real_urlpatterns]
