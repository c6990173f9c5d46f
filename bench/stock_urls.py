"""The site's URLs plus the stock admin changelist of deleted tickets (bench.pages.StockDeletedTickets), for
the trash benchmarks: the baseline is served through the same middleware, session and user loading as the
trash page it is compared with, not called as a bare view (which left the whole request path out of the
baseline's side of the ratio). Not registered on the site: only this URL serves it."""

from django.contrib import admin
from django.urls import path

from bench.pages import STOCK_URL, StockDeletedTickets
from config.urls import handler403, handler404, handler500
from config.urls import urlpatterns as site_urlpatterns
from models_core.models import Ticket

_stock = StockDeletedTickets(Ticket, admin.site)

urlpatterns = [
    path(STOCK_URL.lstrip("/"), admin.site.admin_view(_stock.changelist_view)),
    *site_urlpatterns,
]

__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]
