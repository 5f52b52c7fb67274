"""The product's URLs plus /hello, the baseline of the ingest benchmark (never in production)."""

from django.http import HttpResponse
from django.urls import path

from smsgate.urls import urlpatterns as product_urls


def hello(request):
    return HttpResponse("hello")


urlpatterns = [path("hello", hello), *product_urls]
