"""/monday/: the board map pages of a Monday.com connection."""

from django.urls import path

from integrations.monday import views

urlpatterns = [
    path("<int:pk>/maps/", views.maps, name="monday-maps"),
    path("<int:pk>/maps/<slug:record_type>/", views.edit_map, name="monday-map-edit"),
    path("<int:pk>/maps/<slug:record_type>/delete/", views.delete_map, name="monday-map-delete"),
    path("<int:pk>/items/<str:item_id>/", views.item, name="monday-item"),
]
